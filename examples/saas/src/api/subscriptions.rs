//! Subscriptions: seat changes, renewals, cancellations and feature usage.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use business_metrics::Dimension;
use serde::{Deserialize, Serialize};

use super::{label, parse_enum, SubscriptionId};
use crate::definitions::ChurnReason;
use crate::error::AppError;
use crate::json::JsonBody;
use crate::pricing::MAX_SEATS;
use crate::state::AppState;

/// `POST /api/subscriptions/{id}/seats`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SeatsRequest {
    /// The new number of seats.
    pub seats: u64,
}

/// `POST /api/subscriptions/{id}/cancel`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CancelRequest {
    /// `too_expensive`, `missing_features`, `switched_to_competitor`,
    /// `no_longer_needed` or `payment_failed`.
    pub reason: String,
}

/// `POST /api/subscriptions/{id}/features`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct FeatureRequest {
    /// The feature used.
    pub feature_name: String,
}

/// `201` answer to `POST /api/subscriptions/{id}/invoices`.
#[derive(Debug, Deserialize, Serialize)]
pub struct InvoicePaid {
    /// The amount charged, in minor units of `currency`.
    pub amount_minor: u64,
    /// The currency.
    pub currency: String,
}

/// `POST /api/subscriptions/{id}/seats`: updates MRR and seats.
pub async fn change_seats(
    State(state): State<AppState>,
    SubscriptionId(id): SubscriptionId,
    JsonBody(req): JsonBody<SeatsRequest>,
) -> Result<StatusCode, AppError> {
    if req.seats == 0 || req.seats > MAX_SEATS {
        return Err(AppError::invalid(
            "seats",
            format!("seats must be 1 to {MAX_SEATS}; cancel the subscription to end it"),
        ));
    }
    state
        .subscriptions()
        .change_seats(&id, req.seats, state.metrics())?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/subscriptions/{id}/cancel`: ends the subscription, counts the churn
/// and updates MRR and seats.
pub async fn cancel_subscription(
    State(state): State<AppState>,
    SubscriptionId(id): SubscriptionId,
    JsonBody(req): JsonBody<CancelRequest>,
) -> Result<StatusCode, AppError> {
    let reason: ChurnReason = parse_enum("reason", &req.reason)?;
    let ended = state.subscriptions().cancel(&id, state.metrics())?;
    state.metrics().churned(ended.plan, reason)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/subscriptions/{id}/invoices`: charges this month's invoice.
pub async fn pay_invoice(
    State(state): State<AppState>,
    SubscriptionId(id): SubscriptionId,
) -> Result<(StatusCode, Json<InvoicePaid>), AppError> {
    let subscription = state.subscriptions().get(&id)?;
    state
        .charge()
        .map_err(|failure| AppError::PaymentFailed(failure.message()))?;
    let amount = subscription.monthly_amount();
    state.metrics().invoice_paid(subscription.plan, amount)?;
    Ok((
        StatusCode::CREATED,
        Json(InvoicePaid {
            amount_minor: amount.amount_minor,
            currency: amount.currency.code().to_owned(),
        }),
    ))
}

/// `POST /api/subscriptions/{id}/features`: a use of a feature, by the
/// subscription's plan.
pub async fn record_feature(
    State(state): State<AppState>,
    SubscriptionId(id): SubscriptionId,
    JsonBody(req): JsonBody<FeatureRequest>,
) -> Result<StatusCode, AppError> {
    label(&state, Dimension::FeatureName, &req.feature_name)?;
    let subscription = state.subscriptions().get(&id)?;
    let is_new = subscription.is_new_customer(SystemTime::now());
    state
        .metrics()
        .feature_used(&req.feature_name, subscription.plan, is_new)?;
    Ok(StatusCode::NO_CONTENT)
}
