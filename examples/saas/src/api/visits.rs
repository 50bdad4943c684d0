//! Visits: the signup funnel, from the landing page to a subscription.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use business_metrics::{DeviceType, Dimension, FunnelContext};
use serde::{Deserialize, Serialize};

use super::{label, parse_enum, terms, VisitId};
use crate::definitions::{Plan, SignupStep};
use crate::error::AppError;
use crate::json::JsonBody;
use crate::state::AppState;
use crate::subscriptions::Subscription;
use crate::visits::Visit;

/// `POST /api/visits`: a visitor lands.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CreateVisit {
    /// Traffic source (`google_ads`, `direct`, ...).
    pub source: String,
    /// `mobile`, `desktop`, `tablet` or `other`.
    pub device_type: String,
    /// A/B variant; `control` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_variant: Option<String>,
}

/// `201` answer to [`CreateVisit`].
#[derive(Debug, Deserialize, Serialize)]
pub struct VisitCreated {
    /// The new visit's id.
    pub visit_id: String,
}

/// `POST /api/visits/{id}/steps`.
#[derive(Debug, Deserialize, Serialize)]
pub struct StepRequest {
    /// `signup_started`, `email_verified`, `workspace_created` or `first_project`.
    pub step: String,
}

/// `POST /api/visits/{id}/subscribe` (and the terms of a trial's conversion).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SubscribeRequest {
    /// `starter`, `team`, `business` or `enterprise`.
    pub plan: String,
    /// The sales region.
    pub region: String,
    /// ISO 4217 code on the price list; `USD` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Seats paid for.
    pub seats: u64,
}

/// `201` answer to a subscription (from a visit or a trial).
#[derive(Debug, Deserialize, Serialize)]
pub struct SubscriptionStarted {
    /// The new subscription's id.
    pub subscription_id: String,
    /// What a month costs, in minor units of `currency`.
    pub monthly_amount_minor: u64,
    /// The currency.
    pub currency: String,
}

/// `POST /api/visits`: starts a signup and records `landing_view`.
pub async fn create_visit(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<CreateVisit>,
) -> Result<(StatusCode, Json<VisitCreated>), AppError> {
    let device_type: DeviceType = parse_enum("device_type", &req.device_type)?;
    label(&state, Dimension::Source, &req.source)?;
    let mut visitor = FunnelContext::new(&req.source, device_type);
    if let Some(v) = &req.experiment_variant {
        label(&state, Dimension::ExperimentVariant, v)?;
        visitor = visitor.with_experiment_variant(v);
    }
    let signup = state.metrics().signup(&visitor)?;
    let visit_id = state.visits().insert(Visit {
        signup: signup.clone(),
        arrived: SystemTime::now(),
    })?;
    // Counted once the visit is stored: a visit refused for room records nothing.
    signup.step(SignupStep::LandingView);
    Ok((StatusCode::CREATED, Json(VisitCreated { visit_id })))
}

/// `POST /api/visits/{id}/steps`
pub async fn record_step(
    State(state): State<AppState>,
    VisitId(id): VisitId,
    JsonBody(req): JsonBody<StepRequest>,
) -> Result<StatusCode, AppError> {
    let step: SignupStep = parse_enum("step", &req.step)?;
    match step {
        SignupStep::LandingView => Err(AppError::invalid(
            "step",
            "landing_view is recorded by POST /api/visits",
        )),
        SignupStep::Subscribed => Err(AppError::invalid(
            "step",
            "subscribed is recorded by POST /api/visits/{id}/subscribe",
        )),
        _ => {
            state.visits().get(&id)?.signup.step(step);
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

/// `POST /api/visits/{id}/fail`: the signup failed (a bounced e-mail, an error
/// page); records `signup_error` and closes the visit.
pub async fn fail_visit(
    State(state): State<AppState>,
    VisitId(id): VisitId,
) -> Result<StatusCode, AppError> {
    state.visits().remove(&id)?.signup.failed();
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/visits/{id}/subscribe`: charges the first month, starts the
/// subscription and completes the signup (`subscribed`, a `subscription`
/// conversion). A failed payment records `signup_error` and closes the visit.
pub async fn subscribe(
    State(state): State<AppState>,
    VisitId(id): VisitId,
    JsonBody(req): JsonBody<SubscribeRequest>,
) -> Result<(StatusCode, Json<SubscriptionStarted>), AppError> {
    state.visits().get(&id)?;
    let plan: Plan = parse_enum("plan", &req.plan)?;
    let terms = terms(
        &state,
        plan,
        &req.region,
        req.currency.as_deref(),
        req.seats,
    )?;
    // Claimed: a second subscribe of the same visit finds nothing.
    let visit = state.visits().remove(&id)?;
    if let Err(failure) = state.charge() {
        visit.signup.failed();
        return Err(AppError::PaymentFailed(failure.message()));
    }
    let subscription = Subscription {
        plan,
        region: terms.region,
        seat_price: terms.seat_price,
        seats: req.seats,
        customer_since: visit.arrived,
    };
    let month = subscription.monthly_amount();
    let subscription_id = match state.subscriptions().start(subscription, state.metrics()) {
        Ok(sid) => sid,
        Err(e) => {
            state.visits().restore(&id, visit);
            return Err(e);
        }
    };
    visit.signup.completed()?;
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
