//! One error type for every handler; it becomes a JSON response naming the field.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use business_metrics::RecordError;
use serde_json::json;

/// What an id in a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// A visit in the signup funnel.
    Visit,
    /// A trial not converted yet.
    Trial,
    /// An active subscription.
    Subscription,
}

impl Resource {
    /// The field an unknown id is reported on.
    pub fn field(self) -> &'static str {
        match self {
            Self::Visit => "visit_id",
            Self::Trial => "trial_id",
            Self::Subscription => "subscription_id",
        }
    }

    /// What the store holds, in a message.
    fn noun(self) -> &'static str {
        match self {
            Self::Visit => "open visit",
            Self::Trial => "open trial",
            Self::Subscription => "active subscription",
        }
    }
}

/// Why a request failed. Never carries internals into the response.
#[derive(Debug)]
pub enum AppError {
    /// Malformed JSON, a missing field or a value of the wrong type (400).
    BadRequest {
        /// The offending field, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// Well-formed but refused: an unknown plan, a bad seat count (422).
    Invalid {
        /// The offending field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// No such visit, trial or subscription (404).
    Unknown(Resource),
    /// The API has no such path (404).
    NoSuchRoute,
    /// The path exists, but not with this method (405).
    MethodNotAllowed,
    /// The body exceeds the limit (413).
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not `application/json` (415).
    UnsupportedMediaType,
    /// A store is full (503).
    TooMany(Resource),
    /// The payment was declined or failed (500, so the failure shows on dashboards).
    PaymentFailed(&'static str),
    /// A fault of the service itself (500); the log, not the response, has details.
    Internal,
}

impl AppError {
    /// A 422 for a field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The status code this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unknown(_) | Self::NoSuchRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooMany(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::PaymentFailed(_) | Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<RecordError> for AppError {
    /// A refused event: its field when the input caused it, a 500 otherwise.
    fn from(e: RecordError) -> Self {
        let field = match &e {
            RecordError::EmptyValue { dimension } | RecordError::ValueTooLong { dimension, .. } => {
                dimension.as_str()
            }
            RecordError::UnknownValue { attribute, .. } => attribute,
            RecordError::UnknownCurrency { .. } => "currency",
            RecordError::InvalidAmount { .. } => "seats",
            RecordError::InvalidDuration { .. } => "started_at",
            _ => return Self::Internal,
        };
        Self::invalid(field, e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            Self::BadRequest { field, message } => json!({ "error": message, "field": field }),
            Self::Invalid { field, message } => json!({ "error": message, "field": field }),
            Self::Unknown(resource) => json!({
                "error": format!("no {} has this id", resource.noun()),
                "field": resource.field(),
            }),
            Self::NoSuchRoute => json!({ "error": "the API has no such path", "field": null }),
            Self::MethodNotAllowed => {
                json!({ "error": "this path does not accept this method", "field": null })
            }
            Self::PayloadTooLarge { limit } => {
                json!({ "error": format!("request body is larger than {limit} bytes"), "field": null })
            }
            Self::UnsupportedMediaType => {
                json!({ "error": "send the body as application/json", "field": null })
            }
            Self::TooMany(resource) => json!({
                "error": format!("too many {}s; retry later", resource.noun()),
                "field": null,
            }),
            Self::PaymentFailed(reason) => json!({ "error": reason, "field": null }),
            Self::Internal => json!({ "error": "internal error", "field": null }),
        };
        (status, Json(body)).into_response()
    }
}
