//! The environment by the specification, end to end: spec-valid values that used to
//! stop a service start it (each ignored one named in exactly one warning),
//! `OTEL_SDK_DISABLED=true` installs nothing, and `/metrics` served from the
//! service's own router.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use business_metrics_exporter::{ExporterKind, Temporality};
use support::*;

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

/// Runs `f` with a subscriber on this thread and returns the lines it logged.
fn logged<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    (out, text.lines().map(str::to_owned).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_valid_values_start_the_service_and_each_ignored_one_is_warned_about_once() {
    let receiver = grpc_receiver().await;
    let endpoint = format!("http://{}", receiver.addr);
    let env = [
        ("OTEL_METRICS_EXPORTER", "otlp,logging,zipkin"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint.as_str()),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "lowmemory",
        ),
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "0"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "-1"),
    ];
    let (guard, lines) = logged(|| {
        business_metrics_exporter::builder()
            .with_env_vars(env)
            .with_service_name("spec-env")
            .init()
    });
    let guard = guard.unwrap();
    let c = guard.config();
    assert_eq!(c.exporters, [ExporterKind::Otlp, ExporterKind::Console]);
    assert_eq!(c.otlp.temporality, Temporality::LowMemory);
    assert_eq!(c.otlp.timeout, None, "0 is no limit");
    assert_eq!(c.export_interval, Duration::from_secs(60));
    assert_eq!(c.export_timeout, Some(Duration::from_secs(30)));
    // Exactly one line per ignored value, naming the variable, the value and what
    // is used instead.
    assert_eq!(
        lines
            .iter()
            .map(|l| l.split_once("environment variable ").unwrap().1)
            .collect::<Vec<_>>(),
        [
            "OTEL_METRICS_EXPORTER is ignored: unknown exporter \"zipkin\"; expected a \
             comma-separated list of otlp, prometheus, console, or none; using otlp,console \
             variable=\"OTEL_METRICS_EXPORTER\"",
            "OTEL_METRIC_EXPORT_INTERVAL is ignored: \"soon\" is not a whole number of \
             milliseconds; write e.g. 10000 for 10 s; using 60000 ms \
             variable=\"OTEL_METRIC_EXPORT_INTERVAL\"",
            "OTEL_METRIC_EXPORT_TIMEOUT is ignored: \"-1\" is not a whole number of \
             milliseconds; write e.g. 10000 for 10 s; using 30000 ms \
             variable=\"OTEL_METRIC_EXPORT_TIMEOUT\"",
        ]
    );
    assert!(lines
        .iter()
        .all(|l| l.contains(" WARN ") && l.contains("business_metrics_exporter::config")));

    // And it exports with the specification's low-memory temporalities:
    // synchronous histograms delta, asynchronous counters (the business counters
    // report their cells through observable counters) cumulative.
    record_workload(&guard.business_metrics());
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
    let reqs = receiver.received.all();
    let req = reqs.iter().find(|r| has_workload(r)).expect("the workload");
    let exported = business_metrics(req);
    assert_eq!(
        sum_temporality(&exported["business.order_value_cents"]),
        1,
        "delta (AGGREGATION_TEMPORALITY_DELTA = 1)"
    );
    assert_eq!(
        sum_temporality(&exported["business.revenue_cents"]),
        2,
        "cumulative (AGGREGATION_TEMPORALITY_CUMULATIVE = 2)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_keeps_failing_fast() {
    let err = business_metrics_exporter::builder()
        .with_env_vars([("OTEL_METRIC_EXPORT_INTERVAL", "soon")])
        .with_strict_env()
        .init()
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "environment variable OTEL_METRIC_EXPORT_INTERVAL is invalid: \"soon\" is not a whole \
         number of milliseconds; write e.g. 10000 for 10 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_disabled_installs_nothing_and_recording_is_a_no_op() {
    let receiver = grpc_receiver().await;
    let port = free_port();
    let port_text = port.to_string();
    let endpoint = format!("http://{}", receiver.addr);
    let guard = business_metrics_exporter::builder()
        .with_env_vars([
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_PROMETHEUS_PORT", port_text.as_str()),
        ])
        .init()
        .unwrap();
    assert!(guard.is_disabled());
    assert_eq!(guard.prometheus_addr(), None);
    assert!(guard.prometheus().is_none());
    // Nothing listens on the bridge's port.
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
    // Recording works and goes nowhere.
    record_workload(&guard.business_metrics());
    guard.force_flush().unwrap();
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
    assert!(receiver.received.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_mount_on_the_services_own_router_with_the_bearer_token() {
    let guard = business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Prometheus])
        .with_prometheus_listener(false)
        .with_bearer_token("s3cret-token")
        .init()
        .unwrap();
    assert_eq!(guard.prometheus_addr(), None, "no listener of its own");
    record_workload(&guard.business_metrics());
    let handle = guard.prometheus().unwrap();

    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .merge(handle.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    assert_eq!(http_get(addr, "/healthz", &[]).await.unwrap().body, "ok");
    let refused = http_get(addr, "/metrics", &[]).await.unwrap();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    let wrong = http_get(addr, "/metrics", &[("Authorization", "Bearer nope")])
        .await
        .unwrap();
    assert_eq!(wrong.status, 401);
    let ok = http_get(
        addr,
        "/metrics",
        &[("Authorization", "Bearer s3cret-token")],
    )
    .await
    .unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("content-type"),
        Some(business_metrics_exporter::TEXT_CONTENT_TYPE)
    );
    let revenue: u64 = ok
        .body
        .lines()
        .filter(|l| l.starts_with("business_revenue_cents_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(revenue, REVENUE_TOTAL, "{}", ok.body);
    // The handle renders the same exposition.
    let rendered = handle.render().unwrap();
    assert!(
        rendered.contains("business_revenue_cents_total"),
        "{rendered}"
    );
    // A router with a token of its own.
    let other = axum::Router::new().merge(handle.router_with_bearer_token("other"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr2 = listener.local_addr().unwrap();
    let server2 = tokio::spawn(async move { axum::serve(listener, other).await.unwrap() });
    let ok = http_get(addr2, "/metrics", &[("Authorization", "Bearer other")])
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    server.abort();
    server2.abort();

    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
    assert!(
        handle.render().is_err(),
        "rendering after shutdown is an error"
    );
}
