//! Test support for the exporter's tests: a known workload and its exact expected
//! payload, a minimal HTTP client, and polling helpers. The OTLP receivers, payload
//! helpers and real-server helpers come from `business_metrics_test_support`.
//!
//! Every server binds 127.0.0.1 on an ephemeral port.
// Each test binary uses a different part of this module and of its re-exports.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use business_metrics::{
    BusinessMetrics, CheckoutStep, DeviceType, FunnelContext, FunnelStep, Revenue,
};
use business_metrics_exporter::{ExporterBuilder, ExporterKind, OtlpProtocol};
pub use business_metrics_test_support::otlp::*;
pub use business_metrics_test_support::servers::*;
pub use business_metrics_test_support::{
    find_binary, free_port, poll_until, require_binary, ChildGuard, TempDir,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---- the known workload -------------------------------------------------------

pub const SOURCE: &str = "google_ads";
pub const VARIANT: &str = "one_page";
pub const ORDER_AMOUNTS: [u64; 2] = [4_999, 12_000];
pub const REVENUE_TOTAL: u64 = 16_999;
pub const TIME_TO_CONVERSION_SECS: f64 = 45.0;
/// The order-value histogram after the workload: cumulative count per `le` bound.
pub const ORDER_VALUE_BUCKETS: [(&str, f64); 8] = [
    ("500", 0.0),
    ("1000", 0.0),
    ("2500", 0.0),
    ("5000", 1.0),
    ("10000", 1.0),
    ("25000", 2.0),
    ("50000", 2.0),
    ("+Inf", 2.0),
];

/// Two cart views, a purchase conversion 45 s in, two sales (49.99 and 120.00 USD).
pub fn record_workload(metrics: &BusinessMetrics) {
    let ctx = FunnelContext::new(SOURCE, DeviceType::Mobile).with_experiment_variant(VARIANT);
    for _ in 0..2 {
        metrics
            .record_funnel_step(FunnelStep::Checkout(CheckoutStep::CartView), &ctx)
            .unwrap();
    }
    metrics
        .record_conversion("purchase", &ctx, TIME_TO_CONVERSION_SECS)
        .unwrap();
    for amount in ORDER_AMOUNTS {
        metrics
            .record_revenue(&Revenue::new(amount, "electronics", "card", "us_west"))
            .unwrap();
    }
}

/// An OTLP-only pipeline exporting to `endpoint` over `protocol` as `service_name`, the
/// environment ignored.
pub fn otlp_pipeline(
    protocol: OtlpProtocol,
    endpoint: String,
    service_name: &str,
) -> ExporterBuilder {
    business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Otlp])
        .with_otlp_protocol(protocol)
        .with_otlp_endpoint(endpoint)
        .with_service_name(service_name)
}

// ---- the workload's payload ------------------------------------------------------

/// Whether a request carries the whole workload (cumulative revenue at its total).
pub fn has_workload(req: &ExportMetricsServiceRequest) -> bool {
    business_metrics(req)
        .get("business.revenue_cents")
        .is_some_and(|m| int_sum_points(m).values().sum::<i64>() == REVENUE_TOTAL as i64)
}

/// Asserts the exact payload of the workload in one request (cumulative temporality).
pub fn assert_workload_payload(
    req: &ExportMetricsServiceRequest,
    service_name: &str,
    instance_id: &str,
) {
    let resource = resource_attrs(req);
    assert_eq!(
        resource.get("service.name").map(String::as_str),
        Some(service_name)
    );
    assert_eq!(
        resource.get("service.instance.id").map(String::as_str),
        Some(instance_id)
    );
    assert_eq!(req.resource_metrics.len(), 1);
    let scopes: Vec<_> = req.resource_metrics[0]
        .scope_metrics
        .iter()
        .map(|s| s.scope.as_ref().unwrap().name.clone())
        .collect();
    assert_eq!(scopes, [business_metrics::SCOPE_NAME]);

    let m = business_metrics(req);
    let names: Vec<&str> = m.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "business.conversions",
            "business.funnel_step",
            "business.order_value_cents",
            "business.revenue_cents",
            "business.revenue_per_minute_cents",
            "business.time_to_conversion",
        ]
    );
    let unit = |n: &str| m[n].unit.clone();
    assert_eq!(unit("business.funnel_step"), "{step}");
    assert_eq!(unit("business.conversions"), "{conversion}");
    assert_eq!(unit("business.time_to_conversion"), "s");
    assert_eq!(unit("business.revenue_cents"), "{cent}");
    assert_eq!(unit("business.order_value_cents"), "{cent}");
    assert_eq!(unit("business.revenue_per_minute_cents"), "{cent}");

    let cumulative =
        opentelemetry_proto::tonic::metrics::v1::AggregationTemporality::Cumulative as i32;
    for n in [
        "business.funnel_step",
        "business.revenue_cents",
        "business.order_value_cents",
    ] {
        assert_eq!(sum_temporality(&m[n]), cumulative, "{n}");
    }

    let funnel = int_sum_points(&m["business.funnel_step"]);
    assert_eq!(
        funnel,
        BTreeMap::from([(
            labels(&[
                ("device_type", "mobile"),
                ("experiment_variant", VARIANT),
                ("source", SOURCE),
                ("funnel", "checkout"),
                ("step", "cart_view")
            ]),
            2
        )])
    );
    assert_eq!(
        int_sum_points(&m["business.conversions"]),
        BTreeMap::from([(
            labels(&[
                ("conversion_type", "purchase"),
                ("device_type", "mobile"),
                ("source", SOURCE)
            ]),
            1
        )])
    );
    assert_eq!(
        int_sum_points(&m["business.revenue_cents"]),
        BTreeMap::from([(
            labels(&[
                ("currency", "USD"),
                ("payment_method", "card"),
                ("product_category", "electronics"),
                ("region", "us_west")
            ]),
            REVENUE_TOTAL as i64
        )])
    );
    assert_eq!(
        gauge_points(&m["business.revenue_per_minute_cents"]),
        BTreeMap::from([(
            labels(&[("region", "us_west"), ("currency", "USD")]),
            REVENUE_TOTAL as i64
        )])
    );

    let ttc = histogram_points(&m["business.time_to_conversion"]);
    assert_eq!(ttc.len(), 1);
    assert_eq!(
        attrs(&ttc[0].attributes),
        labels(&[("conversion_type", "purchase")])
    );
    assert_eq!(ttc[0].count, 1);
    assert_eq!(ttc[0].sum, Some(TIME_TO_CONVERSION_SECS));
    assert_eq!(
        ttc[0].explicit_bounds,
        business_metrics::catalog::TIME_TO_CONVERSION_BUCKETS
    );
    assert_eq!(ttc[0].bucket_counts, [0, 1, 0, 0, 0, 0, 0, 0]);

    let order = histogram_points(&m["business.order_value_cents"]);
    assert_eq!(order.len(), 1);
    assert_eq!(
        attrs(&order[0].attributes),
        labels(&[("product_category", "electronics"), ("currency", "USD")])
    );
    assert_eq!(order[0].count, 2);
    assert_eq!(order[0].sum, Some(REVENUE_TOTAL as f64));
    assert_eq!(order[0].min, Some(4_999.0));
    assert_eq!(order[0].max, Some(12_000.0));
    assert_eq!(
        order[0].explicit_bounds,
        business_metrics::catalog::ORDER_VALUE_BUCKETS
    );
    // 4999 falls in (2500, 5000], 12000 in (10000, 25000].
    assert_eq!(order[0].bucket_counts, [0, 0, 0, 1, 0, 1, 0, 0]);
}

// ---- a minimal HTTP/1.1 client for loopback servers ------------------------------

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET` with optional extra headers; `Connection: close`, no chunked encoding support
/// needed beyond what the servers here send (axum sends content-length for these).
pub async fn http_get(
    addr: SocketAddr,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut req = format!("GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Percent-encodes a PromQL query for a URL.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- polling ------------------------------------------------------------------------

/// Polls `check` until it returns `Some`, or fails the test after `timeout`.
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    poll_until(what, timeout, || {
        let attempt = check();
        async move { attempt.await.ok_or_else(|| "not yet".to_owned()) }
    })
    .await
}
