//! Attribute values of one request, each read from a typed value of the `http`
//! crate. All are `&'static str` or integers, except a route the route function
//! allocates and the code of a 5xx status that no RFC defines.

use std::any::{type_name, TypeId};
use std::error::Error;

use http::uri::Scheme;
use http::{Method, StatusCode, Uri, Version};
use opentelemetry::Value;

/// The value of `http.request.method` and `error.type` outside the known set.
pub(super) const OTHER: &str = "_OTHER";

/// The `url.scheme` of requests whose URI names no scheme, as HTTP/1 requests in
/// origin form do. A request whose URI names `http` or `https` (HTTP/2 and HTTP/3
/// requests do) is recorded with that scheme instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UrlScheme {
    /// `http`, the default.
    #[default]
    Http,
    /// `https`: set it when the service terminates TLS itself.
    Https,
}

impl UrlScheme {
    /// The attribute value: `http` or `https`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// The scheme a request is recorded with.
    pub(super) fn of(self, uri: &Uri) -> &'static str {
        match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => Self::Https.as_str(),
            Some(s) if *s == Scheme::HTTP => Self::Http.as_str(),
            _ => self.as_str(),
        }
    }
}

/// `http.request.method`: one of the methods of RFC 9110 and RFC 5789 (`PATCH`),
/// else `_OTHER`, so a client cannot mint series with made-up methods.
pub(super) fn method(method: &Method) -> &'static str {
    match *method {
        Method::CONNECT => "CONNECT",
        Method::DELETE => "DELETE",
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::TRACE => "TRACE",
        _ => OTHER,
    }
}

/// `network.protocol.version`. `http::Version` has no other values today; it is
/// opaque, so a version it may add later is recorded as `_OTHER`.
pub(super) fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => OTHER,
    }
}

/// `http.response.status_code`.
pub(super) fn status_code(status: StatusCode) -> Value {
    Value::I64(i64::from(status.as_u16()))
}

/// `error.type` of a response: its status code for a 5xx, none otherwise.
pub(super) fn status_error_type(status: StatusCode) -> Option<Value> {
    if !status.is_server_error() {
        return None;
    }
    let known: &'static str = match status.as_u16() {
        500 => "500",
        501 => "501",
        502 => "502",
        503 => "503",
        504 => "504",
        505 => "505",
        506 => "506",
        507 => "507",
        508 => "508",
        510 => "510",
        511 => "511",
        _ => return Some(Value::from(status.as_str().to_owned())),
    };
    Some(Value::from(known))
}

/// `error.type` of a service error of type `E`: the type's name as
/// [`std::any::type_name`] spells it, or `_OTHER` for a boxed `dyn Error`
/// (tower's `BoxError`), whose type says nothing of the error.
pub(super) fn service_error_type<E: 'static>() -> &'static str {
    let id = TypeId::of::<E>();
    if id == TypeId::of::<Box<dyn Error + Send + Sync>>()
        || id == TypeId::of::<Box<dyn Error + Send>>()
        || id == TypeId::of::<Box<dyn Error>>()
    {
        OTHER
    } else {
        type_name::<E>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_keep_their_name_and_others_are_other() {
        assert_eq!(method(&Method::GET), "GET");
        assert_eq!(method(&Method::PATCH), "PATCH");
        let purge = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method(&purge), "_OTHER");
    }

    #[test]
    fn protocol_versions_are_spelled_as_the_conventions_ask() {
        let all = [
            Version::HTTP_09,
            Version::HTTP_10,
            Version::HTTP_11,
            Version::HTTP_2,
            Version::HTTP_3,
        ];
        assert_eq!(all.map(protocol_version), ["0.9", "1.0", "1.1", "2", "3"]);
    }

    #[test]
    fn a_uri_scheme_wins_over_the_configured_one() {
        let origin: Uri = "/users/7".parse().unwrap();
        let absolute: Uri = "https://example.com/users/7".parse().unwrap();
        assert_eq!(UrlScheme::Http.of(&origin), "http");
        assert_eq!(UrlScheme::Https.of(&origin), "https");
        assert_eq!(UrlScheme::Http.of(&absolute), "https");
    }

    #[test]
    fn only_server_errors_have_an_error_type() {
        assert_eq!(status_error_type(StatusCode::NOT_FOUND), None);
        assert_eq!(
            status_error_type(StatusCode::SERVICE_UNAVAILABLE),
            Some(Value::from("503"))
        );
        let unassigned = StatusCode::from_u16(599).unwrap();
        assert_eq!(status_error_type(unassigned), Some(Value::from("599")));
    }

    #[test]
    fn service_errors_are_named_by_type_unless_boxed() {
        assert_eq!(
            service_error_type::<std::io::Error>(),
            type_name::<std::io::Error>()
        );
        assert_eq!(
            service_error_type::<Box<dyn Error + Send + Sync>>(),
            "_OTHER"
        );
        assert_eq!(service_error_type::<Box<dyn Error>>(), "_OTHER");
    }
}
