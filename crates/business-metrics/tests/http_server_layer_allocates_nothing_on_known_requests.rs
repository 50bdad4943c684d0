//! Once a request's attribute set has been seen, the layer records the next one
//! like it without a heap allocation, when its route function returns
//! `&'static str` templates: a counting global allocator watches this test's
//! thread while the layered service is called and its future polled, for 2xx, 404
//! without a route, and 5xx with `error.type`.
#![cfg(feature = "http-server")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::convert::Infallible;
use std::future::{ready, Future};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use business_metrics::HttpServerMetricsLayer;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use opentelemetry::StringValue;
use support::counting_allocator::{allocations, Counting, WATCHED};
use support::{Harness, Point};
use tower::{service_fn, Layer, Service};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn route(parts: &Parts) -> Option<StringValue> {
    match parts.uri.path() {
        "/healthz" => Some("/healthz".into()),
        "/fail" => Some("/fail".into()),
        _ => None,
    }
}

fn handler(path: &str) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = match path {
        "/healthz" => StatusCode::OK,
        "/fail" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::NOT_FOUND,
    };
    response
}

/// One request of each kind, built before any counting.
fn requests() -> Vec<Request<()>> {
    ["/healthz", "/fail", "/no/such/page"]
        .into_iter()
        .flat_map(|path| {
            [Method::GET, Method::POST].into_iter().map(move |method| {
                Request::builder()
                    .method(method)
                    .uri(path)
                    .body(())
                    .unwrap()
            })
        })
        .collect()
}

#[test]
fn requests_of_known_attribute_sets_allocate_nothing() {
    let harness = Harness::new();
    let mut service = HttpServerMetricsLayer::new_from_provider(&harness.provider)
        .with_route(route)
        .layer(service_fn(|req: Request<()>| {
            ready(Ok::<_, Infallible>(handler(req.uri().path())))
        }));
    let mut cx = Context::from_waker(Waker::noop());
    let mut serve = |req: Request<()>| {
        assert!(service.poll_ready(&mut cx).is_ready());
        let future = pin!(service.call(req));
        let Poll::Ready(Ok(response)) = future.poll(&mut cx) else {
            panic!("a ready handler's response is ready");
        };
        response
    };

    // Warm-up: the first request of each attribute set creates its series.
    for req in requests() {
        serve(req);
    }
    let rounds: Vec<Vec<Request<()>>> = (0..500).map(|_| requests()).collect();
    WATCHED.with(|w| w.set(true));
    for round in rounds {
        for req in round {
            serve(req);
        }
    }
    WATCHED.with(|w| w.set(false));
    assert_eq!(allocations(), 0);

    // The counter works: a new attribute set allocates its series.
    let put = Request::put("/healthz").body(()).unwrap();
    WATCHED.with(|w| w.set(true));
    serve(put);
    WATCHED.with(|w| w.set(false));
    assert!(allocations() > 0);

    // Everything was recorded: 6 attribute sets 501 times each, and the PUT.
    let exported = harness
        .collect()
        .remove("http.server.request.duration")
        .unwrap();
    let mut counts: Vec<u64> = exported
        .points
        .values()
        .map(|point| match point {
            Point::Histogram { count, .. } => *count,
            other => panic!("not a histogram point: {other:?}"),
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 501, 501, 501, 501, 501, 501]);
}
