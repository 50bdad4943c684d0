//! `HttpServerMetricsLayer` around plain tower services, without axum: a route
//! function names the route, a URI's scheme wins over the configured one, and a
//! service that fails is recorded with the error's type and no status code.
#![cfg(feature = "http-server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::convert::Infallible;
use std::error::Error;

use business_metrics::http_server::{HttpServerMetricsLayer, UrlScheme};
use business_metrics::HttpServerMetrics;
use http::request::Parts;
use http::{Request, Response, StatusCode, Version};
use opentelemetry::StringValue;
use support::{Harness, Point};
use tower::{service_fn, Layer, ServiceExt};

fn route(parts: &Parts) -> Option<StringValue> {
    match parts.uri.path() {
        "/healthz" => Some("/healthz".into()),
        path if path.starts_with("/orders/") => Some("/orders/{id}".into()),
        _ => None,
    }
}

fn count(harness: &Harness, attrs: &[(&str, &str)]) -> Option<u64> {
    let exported = harness.collect().remove("http.server.request.duration")?;
    match exported.point(attrs)? {
        Point::Histogram { count, .. } => Some(*count),
        other => panic!("not a histogram point: {other:?}"),
    }
}

/// Every attribute set recorded.
fn recorded(harness: &Harness) -> Vec<Vec<(String, String)>> {
    harness
        .collect()
        .remove("http.server.request.duration")
        .map(|e| e.points.into_keys().collect())
        .unwrap_or_default()
}

async fn ok(req: Request<()>) -> Result<Response<()>, Infallible> {
    let status = if req.uri().path() == "/healthz" {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut response = Response::new(());
    *response.status_mut() = status;
    Ok(response)
}

fn request(uri: &str, version: Version) -> Request<()> {
    Request::get(uri).version(version).body(()).unwrap()
}

#[tokio::test]
async fn a_route_function_names_the_route_of_a_plain_service() {
    let harness = Harness::new();
    let layer = HttpServerMetricsLayer::new_from_provider(&harness.provider).with_route(route);

    for (uri, version) in [
        ("/orders/81", Version::HTTP_11),
        ("/orders/82", Version::HTTP_2),
        ("/healthz", Version::HTTP_3),
        ("/unrouted", Version::HTTP_11),
    ] {
        layer
            .layer(service_fn(ok))
            .oneshot(request(uri, version))
            .await
            .unwrap();
    }

    let common = |version, code| {
        vec![
            ("http.request.method", "GET"),
            ("url.scheme", "http"),
            ("network.protocol.version", version),
            ("http.response.status_code", code),
        ]
    };
    let with_route = |version, code, route| {
        let mut attrs = common(version, code);
        attrs.push(("http.route", route));
        attrs
    };
    assert_eq!(
        count(&harness, &with_route("1.1", "202", "/orders/{id}")),
        Some(1)
    );
    assert_eq!(
        count(&harness, &with_route("2", "202", "/orders/{id}")),
        Some(1)
    );
    assert_eq!(
        count(&harness, &with_route("3", "200", "/healthz")),
        Some(1)
    );
    assert_eq!(count(&harness, &common("1.1", "202")), Some(1));
    assert_eq!(recorded(&harness).len(), 4);
}

#[tokio::test]
async fn without_a_route_function_no_request_has_a_route() {
    let harness = Harness::new();
    let service =
        HttpServerMetricsLayer::new_from_provider(&harness.provider).layer(service_fn(ok));
    service
        .oneshot(request("/orders/81", Version::HTTP_11))
        .await
        .unwrap();

    assert!(recorded(&harness)
        .iter()
        .all(|attrs| attrs.iter().all(|(k, _)| k != "http.route")));
    assert_eq!(recorded(&harness).len(), 1);
}

#[tokio::test]
async fn the_scheme_of_the_uri_wins_over_the_configured_one() {
    let harness = Harness::new();
    let layer = HttpServerMetricsLayer::new_from_provider(&harness.provider)
        .with_url_scheme(UrlScheme::Https);
    for uri in ["/a", "http://example.com/b"] {
        layer
            .layer(service_fn(ok))
            .oneshot(request(uri, Version::HTTP_2))
            .await
            .unwrap();
    }

    let attrs = |scheme| {
        [
            ("http.request.method", "GET"),
            ("url.scheme", scheme),
            ("network.protocol.version", "2"),
            ("http.response.status_code", "202"),
        ]
    };
    assert_eq!(count(&harness, &attrs("https")), Some(1));
    assert_eq!(count(&harness, &attrs("http")), Some(1));
}

#[tokio::test]
async fn a_service_error_is_recorded_with_its_type_and_no_status_code() {
    let harness = Harness::new();
    let layer = HttpServerMetricsLayer::new_from_provider(&harness.provider).with_route(route);
    let failing: HttpServerMetrics<_> = layer.layer(service_fn(|_: Request<()>| async {
        Err::<Response<()>, _>(std::io::Error::other("disk on fire"))
    }));
    let err = failing
        .oneshot(request("/orders/9", Version::HTTP_11))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "disk on fire");

    assert_eq!(
        count(
            &harness,
            &[
                ("http.request.method", "GET"),
                ("url.scheme", "http"),
                ("network.protocol.version", "1.1"),
                ("http.route", "/orders/{id}"),
                ("error.type", std::any::type_name::<std::io::Error>()),
            ]
        ),
        Some(1)
    );
}

#[tokio::test]
async fn a_boxed_error_is_recorded_as_other() {
    let harness = Harness::new();
    let layer = HttpServerMetricsLayer::new_from_provider(&harness.provider);
    let failing = layer.layer(service_fn(|_: Request<()>| async {
        Err::<Response<()>, Box<dyn Error + Send + Sync>>("timed out".into())
    }));
    failing
        .oneshot(request("/orders/9", Version::HTTP_11))
        .await
        .unwrap_err();

    assert_eq!(
        count(
            &harness,
            &[
                ("http.request.method", "GET"),
                ("url.scheme", "http"),
                ("network.protocol.version", "1.1"),
                ("error.type", "_OTHER"),
            ]
        ),
        Some(1)
    );
}

#[tokio::test]
async fn a_global_layer_is_a_no_op_without_a_provider() {
    let service = HttpServerMetricsLayer::new_global().layer(service_fn(ok));
    let response = service
        .oneshot(request("/healthz", Version::HTTP_11))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
