//! Trials: registered when they start, converted to paid subscriptions days later.

use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use business_metrics::{DeviceType, Dimension};
use serde::{Deserialize, Serialize};

use super::{label, parse_enum, terms, SubscriptionStarted, TrialId};
use crate::definitions::Plan;
use crate::error::{AppError, Resource};
use crate::json::JsonBody;
use crate::state::AppState;
use crate::subscriptions::Subscription;
use crate::trials::{Trial, TRIAL_LENGTH};

/// `POST /api/trials`: the billing system reports a trial that started.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CreateTrial {
    /// The plan tried: `starter`, `team`, `business` or `enterprise`.
    pub plan: String,
    /// Where the customer came from.
    pub source: String,
    /// `mobile`, `desktop`, `tablet` or `other`.
    pub device_type: String,
    /// A/B variant; `control` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_variant: Option<String>,
    /// When the trial started, in seconds since the Unix epoch; now when absent.
    /// At most 30 days ago.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
}

/// `201` answer to [`CreateTrial`].
#[derive(Debug, Deserialize, Serialize)]
pub struct TrialCreated {
    /// The new trial's id.
    pub trial_id: String,
}

/// `POST /api/trials/{id}/convert`: the terms of the paid subscription (the plan
/// is the trial's).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ConvertTrial {
    /// The sales region.
    pub region: String,
    /// ISO 4217 code on the price list; `USD` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Seats paid for.
    pub seats: u64,
}

fn started_at(given: Option<u64>, now: SystemTime) -> Result<SystemTime, AppError> {
    let Some(secs) = given else {
        return Ok(now);
    };
    let at = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .filter(|at| *at <= now)
        .ok_or_else(|| AppError::invalid("started_at", "started_at is in the future"))?;
    if now.duration_since(at).unwrap_or_default() > TRIAL_LENGTH {
        return Err(AppError::invalid(
            "started_at",
            format!(
                "started_at is more than {} days ago: that trial is over",
                TRIAL_LENGTH.as_secs() / 86_400
            ),
        ));
    }
    Ok(at)
}

/// `POST /api/trials`: registers a trial and counts it on `saas.trials_started`.
pub async fn create_trial(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<CreateTrial>,
) -> Result<(StatusCode, Json<TrialCreated>), AppError> {
    let plan: Plan = parse_enum("plan", &req.plan)?;
    let device_type: DeviceType = parse_enum("device_type", &req.device_type)?;
    // The trial keeps what the label policy returned (trimmed, capped), never the
    // raw value: its memory is bounded by the policy's length limit.
    let source = label(&state, Dimension::Source, &req.source)?;
    let experiment_variant = req
        .experiment_variant
        .as_deref()
        .map(|v| label(&state, Dimension::ExperimentVariant, v))
        .transpose()?;
    let trial = Trial {
        plan,
        source,
        device_type,
        experiment_variant,
        started_at: started_at(req.started_at, SystemTime::now())?,
    };
    let trial_id = state.trials().insert(trial)?;
    state.metrics().trial_started(plan)?;
    Ok((StatusCode::CREATED, Json(TrialCreated { trial_id })))
}

/// `POST /api/trials/{id}/convert`: charges the first month, starts the
/// subscription and records a `trial_to_paid` conversion taking the trial's age.
/// A failed payment leaves the trial open.
pub async fn convert_trial(
    State(state): State<AppState>,
    TrialId(id): TrialId,
    JsonBody(req): JsonBody<ConvertTrial>,
) -> Result<(StatusCode, Json<SubscriptionStarted>), AppError> {
    let now = SystemTime::now();
    let plan = state.trials().get(&id)?.plan;
    let terms = terms(
        &state,
        plan,
        &req.region,
        req.currency.as_deref(),
        req.seats,
    )?;
    // Claimed: a second conversion of the same trial finds nothing.
    let trial = state.trials().remove(&id)?;
    if trial.is_expired(now) {
        return Err(AppError::Unknown(Resource::Trial));
    }
    if let Err(failure) = state.charge() {
        state.trials().restore(&id, trial);
        return Err(AppError::PaymentFailed(failure.message()));
    }
    let subscription = Subscription {
        plan,
        region: terms.region,
        seat_price: terms.seat_price,
        seats: req.seats,
        customer_since: trial.started_at,
    };
    let month = subscription.monthly_amount();
    let subscription_id = match state.subscriptions().start(subscription, state.metrics()) {
        Ok(sid) => sid,
        Err(e) => {
            state.trials().restore(&id, trial);
            return Err(e);
        }
    };
    state
        .metrics()
        .trial_converted(&trial.visitor(), trial.age(now).as_secs_f64())?;
    state.metrics().invoice_paid(plan, month)?;
    Ok((
        StatusCode::CREATED,
        Json(SubscriptionStarted {
            subscription_id,
            monthly_amount_minor: month.amount_minor,
            currency: month.currency.code().to_owned(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<SystemTime, AppError>) -> String {
        match r {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_trial_starts_now_or_within_the_last_30_days() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100 * 86_400);
        assert_eq!(started_at(None, now).unwrap(), now);
        let six_days_ago = 94 * 86_400;
        assert_eq!(
            started_at(Some(six_days_ago), now).unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(six_days_ago)
        );
        assert_eq!(field(started_at(Some(101 * 86_400), now)), "started_at");
        assert_eq!(field(started_at(Some(69 * 86_400), now)), "started_at");
        assert_eq!(field(started_at(Some(u64::MAX), now)), "started_at");
    }
}
