//! The Prometheus text exposition: rendering a registry, serving it on loopback the
//! way the project's bridge does, scraping it, and counting its series.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use axum::http::header;
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::runtime::Runtime;

/// `gather` and `TextEncoder`, as the project's bridge does per request.
pub fn render_registry(registry: &Registry) -> Vec<u8> {
    let families = registry.gather();
    let mut body = Vec::with_capacity(1 << 20);
    TextEncoder::new()
        .encode(&families, &mut body)
        .expect("text encoding");
    body
}

/// Serves `render()` at `/metrics` on a loopback port with axum on `runtime`.
pub fn serve_text(
    runtime: &Runtime,
    render: impl Fn() -> Vec<u8> + Send + Sync + 'static,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("local address");
    let render = Arc::new(render);
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let render = Arc::clone(&render);
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    render(),
                )
            }
        }),
    );
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        axum::serve(listener, app).await.expect("serve");
    });
    addr
}

/// `GET /metrics` over a fresh loopback connection, as a Prometheus scrape; returns
/// the body of a 200 answer and fails on anything else.
pub fn http_get(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to /metrics");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("send request");
    let mut raw = Vec::with_capacity(1 << 20);
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("http response");
    assert!(head.starts_with("HTTP/1.1 200"), "scrape failed: {head}");
    body.to_owned()
}

const PER_MINUTE: &str = "business_revenue_per_minute_cents";

/// What one exposition holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeriesCount {
    /// Distinct attribute sets of the `business_*` families the reference workload
    /// records (a histogram counts once).
    pub series: usize,
    /// Series of `business_revenue_per_minute_cents`, the gauge only this project
    /// derives (one per region that sold in the last 60 seconds).
    pub per_minute: usize,
    /// Sample lines of all families (buckets, sums and counts each count).
    pub samples: usize,
    /// Sample lines carrying `otel_metric_overflow="true"`.
    pub overflow: usize,
}

/// Counts the series of a text exposition.
pub fn count_series(text: &str) -> SeriesCount {
    let mut types: HashMap<&str, &str> = HashMap::new();
    let mut count = SeriesCount::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some((name, kind)) = rest.split_once(' ') {
                types.insert(name, kind.trim());
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        count.samples += 1;
        if line.contains("otel_metric_overflow=\"true\"") {
            count.overflow += 1;
        }
        let name = line
            .split(['{', ' '])
            .next()
            .expect("a sample line starts with its name");
        if !name.starts_with("business_") {
            continue;
        }
        let is_series = match types.get(name) {
            Some(&"counter" | &"gauge") => true,
            _ => name
                .strip_suffix("_count")
                .is_some_and(|family| types.get(family) == Some(&"histogram")),
        };
        if !is_series {
            continue;
        }
        if name == PER_MINUTE {
            count.per_minute += 1;
        } else {
            count.series += 1;
        }
    }
    count
}

/// Fails unless the exposition holds `expected` business series and no overflow.
pub fn check_series(peer: &str, text: &str, expected: usize) -> SeriesCount {
    let count = count_series(text);
    assert_eq!(
        count.overflow, 0,
        "{peer}: the cardinality limit overflowed: {count:?}"
    );
    assert_eq!(
        count.series, expected,
        "{peer}: unexpected number of business series: {count:?}"
    );
    count
}
