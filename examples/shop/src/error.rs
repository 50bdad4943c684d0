//! One error type for every handler; it becomes a JSON response naming the field.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use business_metrics::RecordError;
use serde_json::json;

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
    /// Well-formed but refused: an unknown enum value, a bad amount (422).
    Invalid {
        /// The offending field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// No open session has this id (404).
    UnknownSession,
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
    /// The session store is full (503).
    TooManySessions,
    /// The payment was declined or failed (500, as the checkout contract says).
    PaymentFailed(&'static str),
    /// Another request for the same order is being processed (409).
    OrderInProgress,
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
            Self::UnknownSession | Self::NoSuchRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManySessions => StatusCode::SERVICE_UNAVAILABLE,
            Self::PaymentFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::OrderInProgress => StatusCode::CONFLICT,
        }
    }
}

impl From<RecordError> for AppError {
    fn from(e: RecordError) -> Self {
        let field = match &e {
            RecordError::InvalidDuration { field, .. } => (*field).to_owned(),
            RecordError::InvalidAmount { .. } => "order_value_cents".to_owned(),
            RecordError::EmptyValue { dimension } | RecordError::ValueTooLong { dimension, .. } => {
                dimension.as_str().to_owned()
            }
            RecordError::UnknownCurrency { .. } => "currency".to_owned(),
            _ => "session_id".to_owned(),
        };
        Self::Invalid {
            field,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            Self::BadRequest { field, message } => json!({ "error": message, "field": field }),
            Self::Invalid { field, message } => json!({ "error": message, "field": field }),
            Self::UnknownSession => {
                json!({ "error": "no open session has this id", "field": "session_id" })
            }
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
            Self::TooManySessions => {
                json!({ "error": "too many open sessions; retry later", "field": null })
            }
            Self::PaymentFailed(reason) => json!({ "success": false, "error": reason }),
            Self::OrderInProgress => json!({
                "error": "another request for this order is being processed; retry",
                "field": "order_id"
            }),
        };
        (status, Json(body)).into_response()
    }
}
