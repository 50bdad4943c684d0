//! The HTTP API's handlers. They call only the instrumentation crate.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use business_metrics::{
    CheckoutStep, Currency, DeviceType, Dimension, EngagementContext, FunnelContext, Revenue,
    UserTier,
};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::json::JsonBody;
use crate::orders::Claim;
use crate::sessions::Session;
use crate::state::AppState;

/// The largest order the shop accepts, in cents ($1,000,000).
pub const MAX_ORDER_VALUE_CENTS: u64 = 100_000_000;
/// The longest user id accepted.
pub const MAX_USER_ID_LEN: usize = 128;
/// The longest order id accepted.
pub const MAX_ORDER_ID_LEN: usize = 64;

/// `POST /api/sessions`.
#[derive(Debug, Deserialize, Serialize, Clone)]
pub struct CreateSession {
    /// Traffic source (`google_ads`, `direct`, ...).
    pub source: String,
    /// `mobile`, `desktop`, `tablet` or `other`.
    pub device_type: String,
    /// A/B variant; `control` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_variant: Option<String>,
    /// `free`, `pro` or `enterprise`.
    pub user_tier: String,
    /// Whether the user signed up recently.
    pub is_new_user: bool,
    /// The page the session started on.
    pub entry_page: String,
    /// The sales region.
    pub region: String,
    /// The signed-in user, if any: counted in the active-user gauges, never a label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// `201` answer to [`CreateSession`].
#[derive(Debug, Deserialize, Serialize)]
pub struct SessionCreated {
    /// The new session's id.
    pub session_id: String,
}

/// `POST /api/sessions/{id}/steps`.
#[derive(Debug, Deserialize, Serialize)]
pub struct StepRequest {
    /// `cart_view`, `shipping_info`, `payment_info` or `order_review`.
    pub step: String,
}

/// `POST /api/checkout/complete`.
#[derive(Debug, Deserialize, Serialize, Clone)]
pub struct CompleteCheckout {
    /// The session placing the order.
    pub session_id: String,
    /// The order's id (echoed, never recorded). Checkout is idempotent by order id:
    /// a retry of a completed order answers as the first time (`200`) and records
    /// nothing; one arriving while the first is processed gets `409`; a declined
    /// payment can be retried with the same id.
    pub order_id: String,
    /// The order's value in minor units.
    pub order_value_cents: u64,
    /// ISO 4217 code; `USD` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Product category.
    pub product_category: String,
    /// Payment method.
    pub payment_method: String,
}

/// `200` answer to [`CompleteCheckout`].
#[derive(Debug, Deserialize, Serialize)]
pub struct CheckoutCompleted {
    /// Always `true`.
    pub success: bool,
    /// The order's id.
    pub order_id: String,
}

/// `POST /api/sessions/{id}/features`.
#[derive(Debug, Deserialize, Serialize)]
pub struct FeatureRequest {
    /// The feature used.
    pub feature_name: String,
}

/// `POST /api/sessions/{id}/milestones`.
#[derive(Debug, Deserialize, Serialize)]
pub struct MilestoneRequest {
    /// The milestone reached (recorded as `milestone_<name>`).
    pub milestone: String,
}

/// The session id in the path. A segment that is not valid UTF-8 once decoded
/// (`%FF`) names no session: it is refused like an unknown id, with a JSON 404.
#[derive(Debug)]
pub struct SessionId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SessionId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|_| AppError::UnknownSession)
    }
}

fn parse_enum<T: std::str::FromStr<Err = business_metrics::ParseEnumError>>(
    field: &str,
    value: &str,
) -> Result<T, AppError> {
    value
        .parse()
        .map_err(|e: business_metrics::ParseEnumError| AppError::invalid(field, e.to_string()))
}

/// Checks a free-form value against the label policy without recording anything.
fn check_label(state: &AppState, dimension: Dimension, value: &str) -> Result<(), AppError> {
    state
        .metrics()
        .label_policy()
        .apply(dimension, value)
        .map(drop)
        .map_err(AppError::from)
}

/// `POST /api/sessions`
pub async fn create_session(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<CreateSession>,
) -> Result<impl IntoResponse, AppError> {
    let device_type: DeviceType = parse_enum("device_type", &req.device_type)?;
    let user_tier: UserTier = parse_enum("user_tier", &req.user_tier)?;
    check_label(&state, Dimension::Source, &req.source)?;
    if let Some(v) = &req.experiment_variant {
        check_label(&state, Dimension::ExperimentVariant, v)?;
    }
    check_label(&state, Dimension::EntryPage, &req.entry_page)?;
    // The session keeps what the label policy returned (trimmed, capped), never the
    // raw value: its memory is bounded by the policy's length limit.
    let region = state
        .metrics()
        .label_policy()
        .apply(Dimension::Region, &req.region)?
        .into_owned();
    let user_id = match req.user_id.as_deref().map(str::trim) {
        Some(id) if id.is_empty() || id.len() > MAX_USER_ID_LEN => {
            return Err(AppError::invalid(
                "user_id",
                format!("user_id must be 1 to {MAX_USER_ID_LEN} bytes"),
            ))
        }
        other => other,
    };

    let metrics = state.metrics();
    let mut funnel = FunnelContext::new(&req.source, device_type);
    funnel.experiment_variant = req.experiment_variant.as_deref();
    // The session store keeps the run between requests: it owns its handles.
    let checkout = metrics.checkout(&funnel, metrics.now())?.into_owned();
    let engagement = metrics.engagement(
        &EngagementContext {
            user_tier,
            entry_page: &req.entry_page,
            is_new_user: req.is_new_user,
        },
        &funnel,
    )?;
    let session = Session::new(checkout, engagement, region);
    let session_id = state.sessions().insert(session)?;
    if let Some(user_id) = user_id {
        state
            .active_users()
            .seen(user_id, user_tier, std::time::Instant::now());
    }
    Ok((StatusCode::CREATED, Json(SessionCreated { session_id })))
}

/// `POST /api/sessions/{id}/steps`
pub async fn record_step(
    State(state): State<AppState>,
    SessionId(id): SessionId,
    JsonBody(req): JsonBody<StepRequest>,
) -> Result<StatusCode, AppError> {
    let step: CheckoutStep = parse_enum("step", &req.step)?;
    if step == CheckoutStep::OrderConfirmed {
        return Err(AppError::invalid(
            "step",
            "order_confirmed is recorded by POST /api/checkout/complete",
        ));
    }
    state.sessions().get(&id)?.checkout.step(step);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/checkout/complete`
pub async fn complete_checkout(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<CompleteCheckout>,
) -> Result<Json<CheckoutCompleted>, AppError> {
    let session = state.sessions().get(&req.session_id)?;
    let order_id = req.order_id.trim();
    if order_id.is_empty() || order_id.len() > MAX_ORDER_ID_LEN {
        return Err(AppError::invalid(
            "order_id",
            format!("order_id must be 1 to {MAX_ORDER_ID_LEN} bytes"),
        ));
    }
    if req.order_value_cents == 0 || req.order_value_cents > MAX_ORDER_VALUE_CENTS {
        return Err(AppError::invalid(
            "order_value_cents",
            format!("order_value_cents must be 1 to {MAX_ORDER_VALUE_CENTS}"),
        ));
    }
    let currency = match &req.currency {
        Some(code) => Currency::parse(code)?,
        None => Currency::USD,
    };
    check_label(&state, Dimension::ProductCategory, &req.product_category)?;
    check_label(&state, Dimension::PaymentMethod, &req.payment_method)?;

    // Idempotent by order id: a retried checkout gets the first answer and records
    // nothing.
    match state.orders().claim(order_id) {
        Claim::AlreadyCompleted => {
            return Ok(Json(CheckoutCompleted {
                success: true,
                order_id: order_id.to_owned(),
            }))
        }
        Claim::InProgress => return Err(AppError::OrderInProgress),
        Claim::New => {}
    }
    if let Err(failure) = state.charge() {
        state.orders().abandon(order_id);
        session.checkout.checkout_failed();
        return Err(AppError::PaymentFailed(failure.message()));
    }
    let revenue = Revenue::new(
        req.order_value_cents,
        &req.product_category,
        &req.payment_method,
        &session.region,
    )
    .with_currency(currency.code());
    if let Err(e) = session.checkout.purchase_completed(&revenue) {
        state.orders().abandon(order_id);
        return Err(e.into());
    }
    state.orders().complete(order_id);
    Ok(Json(CheckoutCompleted {
        success: true,
        order_id: order_id.to_owned(),
    }))
}

/// `POST /api/sessions/{id}/features`
pub async fn record_feature(
    State(state): State<AppState>,
    SessionId(id): SessionId,
    JsonBody(req): JsonBody<FeatureRequest>,
) -> Result<StatusCode, AppError> {
    check_label(&state, Dimension::FeatureName, &req.feature_name)?;
    state
        .sessions()
        .get(&id)?
        .engagement
        .feature_used(&req.feature_name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/sessions/{id}/milestones`
pub async fn record_milestone(
    State(state): State<AppState>,
    SessionId(id): SessionId,
    JsonBody(req): JsonBody<MilestoneRequest>,
) -> Result<StatusCode, AppError> {
    check_label(&state, Dimension::Milestone, &req.milestone)?;
    state
        .sessions()
        .get(&id)?
        .engagement
        .milestone(&req.milestone)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/sessions/{id}`
pub async fn end_session(
    State(state): State<AppState>,
    SessionId(id): SessionId,
) -> Result<StatusCode, AppError> {
    state.sessions().remove(&id)?.engagement.end()?;
    Ok(StatusCode::NO_CONTENT)
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
