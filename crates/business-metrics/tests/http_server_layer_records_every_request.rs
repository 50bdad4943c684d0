//! `HttpServerMetricsLayer` on a real axum server, added with `Router::layer` after
//! the routes and the fallback: every request is recorded on
//! `http.server.request.duration` with the exact attributes of the OpenTelemetry
//! HTTP semantic conventions, matched ones with their route template, unmatched
//! ones without one. Requests are raw HTTP/1.x over a loopback socket, so the
//! protocol version is the client's choice.
#![cfg(feature = "http-server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{any, get};
use axum::Router;
use business_metrics::http_server::{
    HttpServerMetricsLayer, HTTP_SERVER_REQUEST_DURATION, REQUEST_DURATION_BUCKETS,
};
use opentelemetry::StringValue;
use support::{Exported, Harness, Point};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn matched_path(parts: &Parts) -> Option<StringValue> {
    let path = parts.extensions.get::<MatchedPath>()?;
    Some(path.as_str().to_owned().into())
}

fn app(layer: HttpServerMetricsLayer) -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "a user" }))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "failed") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(60)).await;
                "done"
            }),
        )
        .route("/any", any(|| async { "any method" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page") })
        .layer(layer.with_route(matched_path))
}

/// A harness and the app served on an ephemeral loopback port. The listener is
/// bound before this returns, so connections queue until the server accepts them.
async fn serve() -> (Harness, SocketAddr) {
    let harness = Harness::new();
    let layer = HttpServerMetricsLayer::new_from_provider(&harness.provider);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(layer)).await.unwrap() });
    (harness, addr)
}

/// Sends one raw request and returns the response's status code. The request is
/// recorded before the server writes the response, so it is in the next
/// collection.
async fn request(addr: SocketAddr, method: &str, path: &str, version: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head =
        format!("{method} {path} HTTP/{version}\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    status.parse().unwrap()
}

fn durations(harness: &Harness) -> Exported {
    harness
        .collect()
        .remove(HTTP_SERVER_REQUEST_DURATION.name)
        .expect("http.server.request.duration was recorded")
}

/// The attributes of a GET over HTTP/1.1 with `more`, sorted.
fn attrs(method: &str, version: &str, more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = [
        ("http.request.method", method),
        ("url.scheme", "http"),
        ("network.protocol.version", version),
    ]
    .iter()
    .chain(more)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    all.sort();
    all
}

fn count(point: &Point) -> u64 {
    match point {
        Point::Histogram { count, .. } => *count,
        other => panic!("not a histogram point: {other:?}"),
    }
}

/// Every point's attributes and count.
fn counts(exported: &Exported) -> Vec<(Vec<(String, String)>, u64)> {
    exported
        .points
        .iter()
        .map(|(attrs, point)| (attrs.clone(), count(point)))
        .collect()
}

#[tokio::test]
async fn the_instrument_is_a_histogram_in_seconds_with_the_advised_buckets() {
    let (harness, addr) = serve().await;
    assert_eq!(request(addr, "GET", "/users/7", "1.1").await, 200);

    let exported = durations(&harness);
    assert_eq!(exported.shape, "histogram");
    assert_eq!(exported.unit, "s");
    assert_eq!(exported.description, "Duration of HTTP server requests");
    for point in exported.points.values() {
        let Point::Histogram { bounds, counts, .. } = point else {
            panic!("not a histogram point: {point:?}");
        };
        assert_eq!(bounds, REQUEST_DURATION_BUCKETS);
        assert_eq!(
            REQUEST_DURATION_BUCKETS,
            [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
        );
        assert_eq!(counts.len(), REQUEST_DURATION_BUCKETS.len() + 1);
    }
}

#[tokio::test]
async fn a_matched_route_is_recorded_with_its_template_never_the_raw_path() {
    let (harness, addr) = serve().await;
    assert_eq!(request(addr, "GET", "/users/7", "1.1").await, 200);
    assert_eq!(request(addr, "GET", "/users/8", "1.1").await, 200);

    assert_eq!(
        counts(&durations(&harness)),
        [(
            attrs(
                "GET",
                "1.1",
                &[
                    ("http.response.status_code", "200"),
                    ("http.route", "/users/{id}")
                ]
            ),
            2
        )]
    );
}

#[tokio::test]
async fn an_unknown_path_is_recorded_as_a_404_without_a_route() {
    let (harness, addr) = serve().await;
    assert_eq!(request(addr, "GET", "/no/such/page", "1.1").await, 404);
    assert_eq!(request(addr, "POST", "/users", "1.1").await, 404);

    assert_eq!(
        counts(&durations(&harness)),
        [
            (
                attrs("GET", "1.1", &[("http.response.status_code", "404")]),
                1
            ),
            (
                attrs("POST", "1.1", &[("http.response.status_code", "404")]),
                1
            ),
        ]
    );
}

#[tokio::test]
async fn a_server_error_carries_its_status_code_as_error_type() {
    let (harness, addr) = serve().await;
    assert_eq!(request(addr, "GET", "/fail", "1.1").await, 500);
    assert_eq!(request(addr, "GET", "/users/1", "1.1").await, 200);

    assert_eq!(
        counts(&durations(&harness)),
        [
            (
                attrs(
                    "GET",
                    "1.1",
                    &[
                        ("error.type", "500"),
                        ("http.response.status_code", "500"),
                        ("http.route", "/fail"),
                    ]
                ),
                1
            ),
            (
                attrs(
                    "GET",
                    "1.1",
                    &[
                        ("http.response.status_code", "200"),
                        ("http.route", "/users/{id}"),
                    ]
                ),
                1
            ),
        ]
    );
}

#[tokio::test]
async fn http_1_0_and_http_1_1_requests_are_told_apart() {
    let (harness, addr) = serve().await;
    assert_eq!(request(addr, "GET", "/users/7", "1.0").await, 200);
    assert_eq!(request(addr, "GET", "/users/7", "1.1").await, 200);
    assert_eq!(request(addr, "GET", "/users/7", "1.1").await, 200);

    let route = [
        ("http.response.status_code", "200"),
        ("http.route", "/users/{id}"),
    ];
    assert_eq!(
        counts(&durations(&harness)),
        [
            (attrs("GET", "1.0", &route), 1),
            (attrs("GET", "1.1", &route), 2),
        ]
    );
}

#[tokio::test]
async fn an_unknown_method_is_recorded_as_other() {
    let (harness, addr) = serve().await;
    assert_eq!(request(addr, "PURGE", "/any", "1.1").await, 200);
    assert_eq!(request(addr, "PATCH", "/any", "1.1").await, 200);

    let route = [("http.response.status_code", "200"), ("http.route", "/any")];
    assert_eq!(
        counts(&durations(&harness)),
        [
            (attrs("PATCH", "1.1", &route), 1),
            (attrs("_OTHER", "1.1", &route), 1),
        ]
    );
}

#[tokio::test]
async fn the_duration_covers_the_handler() {
    let (harness, addr) = serve().await;
    assert_eq!(request(addr, "GET", "/slow", "1.1").await, 200);

    let exported = durations(&harness);
    let point = exported
        .point(&[
            ("http.request.method", "GET"),
            ("url.scheme", "http"),
            ("network.protocol.version", "1.1"),
            ("http.response.status_code", "200"),
            ("http.route", "/slow"),
        ])
        .expect("the slow request");
    let Point::Histogram { counts, sum, .. } = point else {
        panic!("not a histogram point: {point:?}");
    };
    // The handler sleeps 60 ms: nothing lands in the buckets up to 50 ms.
    let up_to_50ms = REQUEST_DURATION_BUCKETS
        .iter()
        .take_while(|b| **b <= 0.05)
        .count();
    assert_eq!(up_to_50ms, 4);
    assert!(
        counts.iter().take(up_to_50ms).all(|c| *c == 0),
        "{counts:?}"
    );
    assert_eq!(counts.iter().sum::<u64>(), 1);
    assert!(*sum >= 0.06, "{sum}");
}
