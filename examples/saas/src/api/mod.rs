//! The HTTP API's handlers. They record only through [`SaasMetrics`](crate::metrics::SaasMetrics),
//! and only after every field has been checked, so a refused request records nothing.

mod subscriptions;
mod trials;
mod visits;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::Json;
use business_metrics::{Currency, Dimension, Money, ParseEnumError};

use crate::config::REGION;
use crate::definitions::Plan;
use crate::error::{AppError, Resource};
use crate::pricing::{priced_currency_codes, seat_price, MAX_SEATS};
use crate::state::AppState;

pub use subscriptions::{
    cancel_subscription, change_seats, pay_invoice, record_feature, CancelRequest, FeatureRequest,
    InvoicePaid, SeatsRequest,
};
pub use trials::{convert_trial, create_trial, ConvertTrial, CreateTrial, TrialCreated};
pub use visits::{
    create_visit, fail_visit, record_step, subscribe, CreateVisit, StepRequest, SubscribeRequest,
    SubscriptionStarted, VisitCreated,
};

macro_rules! path_id {
    ($(#[$meta:meta])* $name:ident => $resource:expr) => {
        $(#[$meta])*
        ///
        /// A segment that is not valid UTF-8 once decoded (`%FF`) names nothing: it is
        /// refused like an unknown id, with a JSON 404.
        #[derive(Debug)]
        pub struct $name(pub String);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AppError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                Path::<String>::from_request_parts(parts, state)
                    .await
                    .map(|Path(id)| Self(id))
                    .map_err(|_| AppError::Unknown($resource))
            }
        }
    };
}

path_id! {
    /// The visit id in the path.
    VisitId => Resource::Visit
}
path_id! {
    /// The trial id in the path.
    TrialId => Resource::Trial
}
path_id! {
    /// The subscription id in the path.
    SubscriptionId => Resource::Subscription
}

/// A value of a closed set, or a 422 naming the field and the choices.
fn parse_enum<T: std::str::FromStr<Err = ParseEnumError>>(
    field: &str,
    value: &str,
) -> Result<T, AppError> {
    value
        .parse()
        .map_err(|e: ParseEnumError| AppError::invalid(field, e.to_string()))
}

/// A free-form value as the label policy records it, without recording anything.
fn label(state: &AppState, dimension: Dimension, value: &str) -> Result<String, AppError> {
    state
        .metrics()
        .business()
        .label_policy()
        .apply(dimension, value)
        .map(|v| v.into_owned())
        .map_err(AppError::from)
}

/// What a subscription is sold on: the region (as recorded) and the price of a
/// seat, from the request's fields.
struct Terms {
    region: String,
    seat_price: Money,
}

fn terms(
    state: &AppState,
    plan: Plan,
    region: &str,
    currency: Option<&str>,
    seats: u64,
) -> Result<Terms, AppError> {
    if seats == 0 || seats > MAX_SEATS {
        return Err(AppError::invalid(
            "seats",
            format!("seats must be 1 to {MAX_SEATS}"),
        ));
    }
    let currency = match currency {
        Some(code) => Currency::parse(code)?,
        None => Currency::USD,
    };
    let seat_price = seat_price(plan, currency).ok_or_else(|| {
        AppError::invalid(
            "currency",
            format!(
                "{currency} is not on the price list; choose one of {}",
                priced_currency_codes()
            ),
        )
    })?;
    Ok(Terms {
        region: label(state, REGION, region)?,
        seat_price,
    })
}

/// Any path the API does not have.
pub async fn no_such_route() -> AppError {
    AppError::NoSuchRoute
}

/// A path the API has, with a method it does not accept.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// `GET /healthz`
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}
