//! A JSON body extractor whose errors name the offending field.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The largest accepted request body, in bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Like `axum::Json`, but a refusal is an [`AppError`] that names the field.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// Parses a JSON object, reporting the path of the field that failed.
///
/// # Errors
/// [`AppError::BadRequest`]: not JSON, not an object, or a field missing or of
/// the wrong type (named in `field`).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| AppError::BadRequest {
            field: None,
            message: format!("the body is not valid JSON: {e}"),
        })?;
    if !value.is_object() {
        return Err(AppError::BadRequest {
            field: None,
            message: "the body must be a JSON object".to_owned(),
        });
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // serde reports a missing field on its parent; take its name from the message.
        let field = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
            .or_else(|| (path != ".").then_some(path));
        AppError::BadRequest { field, message }
    })
}

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(AppError::UnsupportedMediaType);
        }
        // Refuse a declared oversize body before reading any of it.
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > BODY_LIMIT as u64) {
            return Err(AppError::PayloadTooLarge { limit: BODY_LIMIT });
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge { limit: BODY_LIMIT }
                } else {
                    AppError::BadRequest {
                        field: None,
                        message: "could not read the request body".to_owned(),
                    }
                }
            })?;
        parse(&bytes).map(JsonBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Seats {
        plan: String,
        seats: u64,
    }

    fn field_of(body: &str) -> Option<String> {
        match parse::<Seats>(body.as_bytes()) {
            Err(AppError::BadRequest { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parse_errors_name_the_field() {
        assert_eq!(field_of(r#"{"plan":"team"}"#).as_deref(), Some("seats"));
        assert_eq!(
            field_of(r#"{"plan":"team","seats":-5}"#).as_deref(),
            Some("seats")
        );
        assert_eq!(
            field_of(r#"{"plan":"team","seats":2.5}"#).as_deref(),
            Some("seats")
        );
        assert_eq!(field_of(r#"{"plan":7,"seats":1}"#).as_deref(), Some("plan"));
        assert_eq!(field_of("not json"), None);
        assert_eq!(field_of("[1, 2]"), None);
    }
}
