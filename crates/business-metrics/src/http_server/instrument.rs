//! The instrument the layer records, as the stable OpenTelemetry HTTP semantic
//! conventions define it: name, unit, advised buckets and attribute keys.

use crate::catalog::{InstrumentKind, MetricDescriptor, ValueType};

/// The bucket boundaries, in seconds, the semantic conventions advise for
/// `http.server.request.duration`.
pub const REQUEST_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The attribute keys of `http.server.request.duration`.
pub mod keys {
    /// The request method: a known method, else `_OTHER`.
    pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
    /// `http` or `https`.
    pub const URL_SCHEME: &str = "url.scheme";
    /// `1.0`, `1.1`, `2` or `3`.
    pub const NETWORK_PROTOCOL_VERSION: &str = "network.protocol.version";
    /// The response's status code; absent when the service failed without one.
    pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
    /// The route template (`/users/{id}`), never the raw path; absent when no
    /// route matched.
    pub const HTTP_ROUTE: &str = "http.route";
    /// The status code of a 5xx response, or the type of a service error.
    pub const ERROR_TYPE: &str = "error.type";
}

/// `http.server.request.duration`: everything about the instrument, including its
/// Prometheus spelling, `http_server_request_duration_seconds`.
///
/// It is not part of [`catalog::CATALOG`](crate::catalog::CATALOG), which lists the
/// business instruments that views, docs and generated rules are made from.
pub const HTTP_SERVER_REQUEST_DURATION: MetricDescriptor = MetricDescriptor {
    name: "http.server.request.duration",
    kind: InstrumentKind::Histogram,
    value_type: ValueType::F64,
    unit: "s",
    description: "Duration of HTTP server requests",
    attributes: &[
        keys::HTTP_REQUEST_METHOD,
        keys::URL_SCHEME,
        keys::NETWORK_PROTOCOL_VERSION,
        keys::HTTP_RESPONSE_STATUS_CODE,
        keys::HTTP_ROUTE,
        keys::ERROR_TYPE,
    ],
    buckets: REQUEST_DURATION_BUCKETS,
    owner: "platform",
    alert_threshold: None,
    prometheus_name: "http_server_request_duration_seconds",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::translated_prometheus_name;

    #[test]
    fn the_prometheus_name_is_the_translation_of_the_instrument() {
        assert_eq!(
            translated_prometheus_name(&HTTP_SERVER_REQUEST_DURATION),
            HTTP_SERVER_REQUEST_DURATION.prometheus_name
        );
    }

    #[test]
    fn buckets_ascend() {
        assert!(REQUEST_DURATION_BUCKETS.is_sorted_by(|a, b| a < b));
    }
}
