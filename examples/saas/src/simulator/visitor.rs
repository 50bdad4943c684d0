//! One simulated visitor: a signup through the funnel, or a trial that may convert,
//! and what a new customer then does.
//!
//! Every decision comes from the visitor's own seeded generator, drawn in the same
//! order whatever the timing, so a seed gives the same visitors. A response slower
//! than the visitor's patience (if they have one) makes them leave.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rand::rngs::SmallRng;
use rand::Rng;
use serde_json::{json, Value};

use super::report::{bump, Counters, PhaseCounters};
use crate::definitions::{ChurnReason, Plan, SignupStep};
use crate::pricing::MAX_SEATS;

/// Options with their probabilities, and what is chosen otherwise.
struct Choice<T: 'static> {
    options: &'static [(f64, T)],
    otherwise: T,
}

impl<T: Copy> Choice<T> {
    fn pick(&self, rng: &mut SmallRng) -> T {
        let mut x = rng.random::<f64>();
        for (p, value) in self.options {
            if x < *p {
                return *value;
            }
            x -= p;
        }
        self.otherwise
    }
}

/// Traffic sources and how well each converts (a factor on every step).
const SOURCES: Choice<(&str, f64)> = Choice {
    options: &[
        (0.35, ("google_ads", 1.0)),
        (0.25, ("direct", 1.05)),
        (0.15, ("newsletter", 1.1)),
    ],
    otherwise: ("social", 0.85),
};
const DEVICES: Choice<(&str, f64)> = Choice {
    options: &[(0.40, ("mobile", 0.85)), (0.10, ("tablet", 0.95))],
    otherwise: ("desktop", 1.0),
};
/// Regions and the currency each pays in.
const REGIONS: Choice<(&str, &str)> = Choice {
    options: &[
        (0.30, ("us_east", "USD")),
        (0.20, ("us_west", "USD")),
        (0.30, ("eu_central", "EUR")),
        (0.10, ("uk_south", "GBP")),
    ],
    otherwise: ("ap_southeast", "USD"),
};
const SIGNUP_PLANS: Choice<Plan> = Choice {
    options: &[
        (0.45, Plan::Starter),
        (0.35, Plan::Team),
        (0.15, Plan::Business),
    ],
    otherwise: Plan::Enterprise,
};
const TRIAL_PLANS: Choice<Plan> = Choice {
    options: &[(0.6, Plan::Team), (0.3, Plan::Business)],
    otherwise: Plan::Enterprise,
};
const FEATURES: Choice<&str> = Choice {
    options: &[
        (0.30, "dashboards"),
        (0.20, "api"),
        (0.20, "integrations"),
        (0.15, "exports"),
    ],
    otherwise: "automations",
};
const CHURN_REASONS: Choice<ChurnReason> = Choice {
    options: &[
        (0.35, ChurnReason::TooExpensive),
        (0.25, ChurnReason::MissingFeatures),
        (0.20, ChurnReason::SwitchedToCompetitor),
    ],
    otherwise: ChurnReason::NoLongerNeeded,
};

/// Each step after the landing view: the chance to go on from the step before,
/// in the `control` variant and with `guided_onboarding`.
const STEPS: [(SignupStep, f64, f64); 4] = [
    (SignupStep::SignupStarted, 0.45, 0.45),
    (SignupStep::EmailVerified, 0.80, 0.80),
    (SignupStep::WorkspaceCreated, 0.82, 0.92),
    (SignupStep::FirstProject, 0.65, 0.78),
];
/// The chance of subscribing after the first project.
const SUBSCRIBE: f64 = 0.35;
/// The chance that the confirmation e-mail bounces, failing the signup.
const BOUNCE: f64 = 0.03;
/// The share of arrivals that are trials the billing system registers.
const TRIAL_SHARE: f64 = 0.2;
/// The chance that a trial converts.
const TRIAL_CONVERTS: f64 = 0.45;

fn seat_range(plan: Plan) -> std::ops::RangeInclusive<u64> {
    match plan {
        Plan::Starter => 1..=3,
        Plan::Team => 3..=20,
        Plan::Business => 10..=60,
        Plan::Enterprise => 50..=400,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One visitor, with its own generator.
pub(super) struct Visitor {
    pub(super) client: reqwest::Client,
    pub(super) base: String,
    pub(super) think: Duration,
    pub(super) rng: SmallRng,
    pub(super) counters: Arc<Counters>,
    pub(super) during_incident: bool,
    /// The longest response the visitor waits for before leaving, if any.
    pub(super) patience: Option<Duration>,
    /// Whether the last response took longer than the patience.
    pub(super) lost_patience: bool,
}

impl Visitor {
    fn phase(&self) -> &PhaseCounters {
        if self.during_incident {
            &self.counters.incident
        } else {
            &self.counters.normal
        }
    }

    async fn pause(&mut self) {
        let factor = self.rng.random_range(0.5..1.5);
        if !self.think.is_zero() {
            tokio::time::sleep(self.think.mul_f64(factor)).await;
        }
    }

    /// Posts `body` (JSON, or none) to `path`; the status and body, or `None` when
    /// the request failed outright.
    async fn post(&mut self, path: &str, body: Option<Value>) -> Option<(u16, Value)> {
        let mut req = self.client.post(format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let start = Instant::now();
        let result = req.send().await;
        self.lost_patience = self.patience.is_some_and(|p| start.elapsed() > p);
        match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.json::<Value>().await.unwrap_or(Value::Null);
                Some((status, body))
            }
            Err(_) => {
                bump(&self.counters.http_errors);
                None
            }
        }
    }

    /// The body when the answer has status `want`; anything else is counted.
    async fn post_expecting(
        &mut self,
        path: &str,
        body: Option<Value>,
        want: u16,
    ) -> Option<Value> {
        match self.post(path, body).await {
            Some((status, body)) if status == want => Some(body),
            Some(_) => {
                bump(&self.counters.http_errors);
                None
            }
            None => None,
        }
    }

    /// Whether the visitor goes on, with chance `p`, unless the last response tried
    /// their patience.
    fn continues(&mut self, p: f64) -> bool {
        !self.lost_patience && self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    /// The visitor's journey.
    pub(super) async fn run(mut self) {
        if self.rng.random_bool(TRIAL_SHARE) {
            self.trial().await;
        } else {
            self.signup().await;
        }
    }

    async fn signup(&mut self) {
        let (source, source_factor) = SOURCES.pick(&mut self.rng);
        let (device, device_factor) = DEVICES.pick(&mut self.rng);
        let guided = self.rng.random_bool(0.5);
        let variant = if guided {
            "guided_onboarding"
        } else {
            "control"
        };
        let factor = source_factor * device_factor;
        let body =
            json!({ "source": source, "device_type": device, "experiment_variant": variant });
        let Some(created) = self.post_expecting("/api/visits", Some(body), 201).await else {
            return;
        };
        let Some(id) = created.get("visit_id").and_then(Value::as_str) else {
            return;
        };
        let visit = format!("/api/visits/{id}");
        self.phase().reach(SignupStep::LandingView);

        for (step, control, guided_p) in STEPS {
            let p = if guided { guided_p } else { control };
            if !self.continues(p * factor) {
                return;
            }
            self.pause().await;
            if step == SignupStep::EmailVerified && self.rng.random_bool(BOUNCE) {
                if self
                    .post_expecting(&format!("{visit}/fail"), None, 204)
                    .await
                    .is_some()
                {
                    bump(&self.phase().bounced);
                }
                return;
            }
            let body = json!({ "step": step.as_str() });
            if self
                .post_expecting(&format!("{visit}/steps"), Some(body), 204)
                .await
                .is_none()
            {
                return;
            }
            self.phase().reach(step);
        }

        if !self.continues(SUBSCRIBE * factor) {
            return;
        }
        let plan = SIGNUP_PLANS.pick(&mut self.rng);
        let (terms, seats) = self.terms(plan);
        let body = json!({ "plan": plan.as_str(), "region": terms.0, "currency": terms.1, "seats": seats });
        self.pause().await;
        match self.post(&format!("{visit}/subscribe"), Some(body)).await {
            Some((201, body)) => {
                self.phase().reach(SignupStep::Subscribed);
                if let Some(sid) = body.get("subscription_id").and_then(Value::as_str) {
                    self.customer(sid, seats).await;
                }
            }
            Some((500, _)) => bump(&self.phase().declined_signups),
            Some(_) => bump(&self.counters.http_errors),
            None => {}
        }
    }

    /// A region, its currency, and a number of seats for `plan`.
    fn terms(&mut self, plan: Plan) -> ((&'static str, &'static str), u64) {
        let region = REGIONS.pick(&mut self.rng);
        let seats = self.rng.random_range(seat_range(plan));
        (region, seats)
    }

    async fn trial(&mut self) {
        let plan = TRIAL_PLANS.pick(&mut self.rng);
        let (source, _) = SOURCES.pick(&mut self.rng);
        let (device, _) = DEVICES.pick(&mut self.rng);
        let variant = if self.rng.random_bool(0.5) {
            "guided_onboarding"
        } else {
            "control"
        };
        // Trials the billing system reports started up to two weeks ago.
        let hours_ago = self.rng.random_range(1..=14 * 24);
        let body = json!({
            "plan": plan.as_str(), "source": source, "device_type": device,
            "experiment_variant": variant, "started_at": unix_now().saturating_sub(hours_ago * 3600),
        });
        let Some(created) = self.post_expecting("/api/trials", Some(body), 201).await else {
            return;
        };
        let Some(id) = created.get("trial_id").and_then(Value::as_str) else {
            return;
        };
        let trial = format!("/api/trials/{id}");
        bump(&self.phase().trials);
        if !self.continues(TRIAL_CONVERTS) {
            return;
        }
        let (terms, seats) = self.terms(plan);
        let body = json!({ "region": terms.0, "currency": terms.1, "seats": seats });
        self.pause().await;
        match self.post(&format!("{trial}/convert"), Some(body)).await {
            Some((201, body)) => {
                bump(&self.phase().trial_conversions);
                if let Some(sid) = body.get("subscription_id").and_then(Value::as_str) {
                    self.customer(sid, seats).await;
                }
            }
            Some((500, _)) => bump(&self.phase().declined_conversions),
            Some(_) => bump(&self.counters.http_errors),
            None => {}
        }
    }

    /// A new customer: uses features, may change seats, pays a renewal, may cancel.
    async fn customer(&mut self, id: &str, seats: u64) {
        let subscription = format!("/api/subscriptions/{id}");
        let uses = self.rng.random_range(0..=4);
        for _ in 0..uses {
            self.pause().await;
            let feature = FEATURES.pick(&mut self.rng);
            let body = json!({ "feature_name": feature });
            if self
                .post_expecting(&format!("{subscription}/features"), Some(body), 204)
                .await
                .is_none()
            {
                return;
            }
            bump(&self.counters.feature_uses);
        }
        if self.rng.random_bool(0.25) {
            let new_seats = (seats * self.rng.random_range(50..=200) / 100).clamp(1, MAX_SEATS);
            self.pause().await;
            let body = json!({ "seats": new_seats });
            if self
                .post_expecting(&format!("{subscription}/seats"), Some(body), 204)
                .await
                .is_none()
            {
                return;
            }
            bump(&self.counters.seat_changes);
        }
        let reason = if self.rng.random_bool(0.35) {
            self.pause().await;
            match self.post(&format!("{subscription}/invoices"), None).await {
                Some((201, _)) => {
                    bump(&self.counters.invoices);
                    None
                }
                Some((500, _)) => {
                    bump(&self.counters.declined_invoices);
                    self.rng
                        .random_bool(0.5)
                        .then_some(ChurnReason::PaymentFailed)
                }
                Some(_) => {
                    bump(&self.counters.http_errors);
                    return;
                }
                None => return,
            }
        } else {
            None
        };
        let reason = match reason {
            Some(r) => r,
            None if self.rng.random_bool(0.08) => CHURN_REASONS.pick(&mut self.rng),
            None => return,
        };
        self.pause().await;
        let body = json!({ "reason": reason.as_str() });
        if self
            .post_expecting(&format!("{subscription}/cancel"), Some(body), 204)
            .await
            .is_some()
        {
            bump(&self.counters.churned);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn choices_follow_their_probabilities_and_fall_back_to_otherwise() {
        let mut rng = SmallRng::seed_from_u64(7);
        let picks: Vec<Plan> = (0..10_000).map(|_| SIGNUP_PLANS.pick(&mut rng)).collect();
        let share = |plan| picks.iter().filter(|p| **p == plan).count() as f64 / 10_000.0;
        assert!((share(Plan::Starter) - 0.45).abs() < 0.03);
        assert!((share(Plan::Enterprise) - 0.05).abs() < 0.02);
    }

    #[test]
    fn every_seat_range_fits_a_subscription() {
        for plan in Plan::ALL {
            let range = seat_range(*plan);
            assert!(*range.start() >= 1 && *range.end() <= MAX_SEATS);
        }
    }
}
