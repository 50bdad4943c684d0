//! A trial: a plan tried for up to 30 days before it is paid for.

use std::time::{Duration, SystemTime};

use business_metrics::{DeviceType, FunnelContext};

use crate::definitions::Plan;

/// How long a trial lasts; an older one has expired.
pub const TRIAL_LENGTH: Duration = Duration::from_secs(30 * 24 * 3600);

/// An open trial, kept in a [`Store`](crate::store::Store) until it converts or
/// expires.
#[derive(Debug)]
pub struct Trial {
    /// The plan tried.
    pub plan: Plan,
    /// Where the customer came from (checked against the label policy).
    pub source: String,
    /// The customer's device.
    pub device_type: DeviceType,
    /// The experiment variant the customer saw, if any.
    pub experiment_variant: Option<String>,
    /// When the trial started.
    pub started_at: SystemTime,
}

impl Trial {
    /// The customer, as the conversion records it.
    pub fn visitor(&self) -> FunnelContext<'_> {
        let ctx = FunnelContext::new(&self.source, self.device_type);
        match &self.experiment_variant {
            Some(v) => ctx.with_experiment_variant(v),
            None => ctx,
        }
    }

    /// How long the trial has run at `now` (zero if the clock went back).
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.started_at).unwrap_or_default()
    }

    /// Whether the trial is over at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.age(now) > TRIAL_LENGTH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trial_ages_from_its_start_and_expires_after_30_days() {
        let started_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let trial = Trial {
            plan: Plan::Team,
            source: "newsletter".to_owned(),
            device_type: DeviceType::Desktop,
            experiment_variant: None,
            started_at,
        };
        let six_days = Duration::from_secs(6 * 24 * 3600);
        assert_eq!(trial.age(started_at + six_days), six_days);
        assert_eq!(trial.age(SystemTime::UNIX_EPOCH), Duration::ZERO);
        assert!(!trial.is_expired(started_at + TRIAL_LENGTH));
        assert!(trial.is_expired(started_at + TRIAL_LENGTH + Duration::from_secs(1)));
        assert_eq!(trial.visitor().source, "newsletter");
        assert_eq!(trial.visitor().experiment_variant, None);
    }
}
