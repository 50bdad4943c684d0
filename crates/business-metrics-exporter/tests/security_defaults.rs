//! Security defaults of the pipeline, beyond what `prometheus_bridge.rs` covers
//! (`bridge_binds_loopback_by_default`, `metrics_requires_the_bearer_token_when_one_is_set`)
//! and the unit tests of the configuration (`builder_debug_redacts_header_values_and_tokens`,
//! `bad_headers_are_refused_without_quoting_the_value`):
//!
//! - the bridge's listening socket, as the kernel reports it, is on loopback only;
//! - a token from the environment guards the real `/metrics`, and no other method,
//!   path or spelling of the credentials gets the data;
//! - OTLP header values never appear in `Debug` output of the builder, the resolved
//!   configuration or the running guard, nor in errors (bad settings, failed exports
//!   and flushes), nor in the exporter's log lines, even when the collector echoes the
//!   request's headers back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use business_metrics::{DeviceType, FunnelContext};
use business_metrics_exporter::{
    ExporterKind, OtlpProtocol, DEFAULT_PROMETHEUS_HOST, DEFAULT_PROMETHEUS_PORT,
};
use business_metrics_test_support::otlp::echoing_refuser;
use support::http_get;

const API_KEY: &str = "sk-live-7f3a9c1e5b";
const TOKEN: &str = "bridge-token-4d2b8e";

/// The local addresses of this process's listening TCP sockets on `port`, from the
/// kernel's socket tables (IPv4 and IPv6).
fn listeners_on(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (local, state) = (cols[1], cols[3]);
            let (ip, p) = local.split_once(':').unwrap();
            if state == "0A" && u16::from_str_radix(p, 16).unwrap() == port {
                out.push(ip.to_owned());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_socket_listens_on_loopback_only() {
    assert_eq!(DEFAULT_PROMETHEUS_HOST, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(DEFAULT_PROMETHEUS_PORT, 9464);
    // `localhost` means loopback, without a name lookup.
    let config = business_metrics_exporter::builder()
        .with_env_vars([("OTEL_EXPORTER_PROMETHEUS_HOST", "localhost")])
        .resolve()
        .unwrap();
    assert_eq!(
        config.prometheus.addr,
        SocketAddr::from(([127, 0, 0, 1], 9464))
    );

    // Only the port is configured; the host is the default.
    let guard = business_metrics_exporter::builder()
        .with_env_vars([("OTEL_EXPORTER_PROMETHEUS_PORT", "0")])
        .with_exporters([ExporterKind::Prometheus])
        .init()
        .unwrap();
    let addr = guard.prometheus_addr().unwrap();
    assert_eq!(addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    // 127.0.0.1 in the kernel's byte order; no 0.0.0.0 or [::] socket on the port.
    assert_eq!(listeners_on(addr.port()), ["0100007F"]);
    guard.shutdown().unwrap();
}

/// What is tried: a name, the path and the request's extra headers.
type Attempt<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_the_environment_guards_metrics_and_nothing_else_serves_them() {
    let guard = business_metrics_exporter::builder()
        .with_env_vars([
            ("OTEL_EXPORTER_PROMETHEUS_PORT", "0"),
            ("BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN", TOKEN),
        ])
        .with_exporters([ExporterKind::Prometheus])
        .init()
        .unwrap();
    let metrics = guard.business_metrics();
    metrics
        .checkout(
            &FunnelContext::new("direct", DeviceType::Mobile),
            metrics.now(),
        )
        .unwrap()
        .cart_view();
    let addr = guard.prometheus_addr().unwrap();
    let bearer = format!("Bearer {TOKEN}");
    let lower = format!("bearer {TOKEN}");
    let longer = format!("Bearer {TOKEN}x");
    let shorter = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
    let basic = format!("Basic {TOKEN}");
    let query = format!("/metrics?token={TOKEN}");
    let refused: Vec<Attempt<'_>> = vec![
        ("no credentials", "/metrics", vec![]),
        (
            "token without scheme",
            "/metrics",
            vec![("Authorization", TOKEN)],
        ),
        ("basic scheme", "/metrics", vec![("Authorization", &basic)]),
        (
            "token one byte longer",
            "/metrics",
            vec![("Authorization", &longer)],
        ),
        (
            "token one byte shorter",
            "/metrics",
            vec![("Authorization", &shorter)],
        ),
        (
            "empty bearer",
            "/metrics",
            vec![("Authorization", "Bearer ")],
        ),
        ("token in the query", &query, vec![]),
        (
            "token in another header",
            "/metrics",
            vec![("X-Token", TOKEN)],
        ),
    ];
    for (name, path, headers) in refused {
        let r = http_get(addr, path, &headers).await.unwrap();
        assert_eq!(r.status, 401, "{name}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{name}");
        assert!(!r.body.contains("business_"), "{name}: {}", r.body);
    }
    for auth in [&bearer, &lower] {
        let r = http_get(addr, "/metrics", &[("Authorization", auth)])
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body.contains("business_funnel_step_total{"), "{}", r.body);
    }
    // Other paths never serve the data, with or without the token.
    for path in ["/", "/metrics/", "/metrics.txt", "/api/metrics"] {
        let r = http_get(addr, path, &[("Authorization", &bearer)])
            .await
            .unwrap();
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.body.contains("business_"), "{path}");
    }
    guard.shutdown().unwrap();
}

#[test]
fn unusable_tokens_and_header_values_are_refused_without_repeating_them() {
    for token in ["", "has space", "tab\there", "ünïcode"] {
        let err = business_metrics_exporter::builder()
            .without_env()
            .with_bearer_token(token)
            .resolve()
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("bearer_token"), "{text}");
        if !token.is_empty() {
            assert!(!text.contains(token), "{text}");
        }
    }
    for value in [format!("{API_KEY}\n"), format!("{API_KEY}\u{0}x")] {
        let err = business_metrics_exporter::builder()
            .without_env()
            .with_otlp_header("x-api-key", value)
            .resolve()
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("otlp_header"), "{text}");
        assert!(!text.contains(API_KEY), "{text}");
    }
}

/// Everything `tracing` logs anywhere in this test binary, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The SDK exports on its own thread: only a global subscriber sees it.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    captured
}

/// Credentials written into the endpoint URL, which must not be shown either.
const URL_PASSWORD: &str = "url-password-6d1f";
const URL_TOKEN: &str = "url-token-93ab";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_header_values_never_reach_debug_output_errors_or_logs() {
    let logs = capture_logs();
    let (collector, heads) = echoing_refuser().await;
    let builder = business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Otlp, ExporterKind::Prometheus])
        .with_prometheus_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .with_bearer_token(TOKEN)
        .with_otlp_protocol(OtlpProtocol::HttpProtobuf)
        .with_otlp_endpoint(format!(
            "http://ingest:{URL_PASSWORD}@{collector}/v1/metrics?token={URL_TOKEN}"
        ))
        .with_otlp_header("x-api-key", API_KEY)
        .with_otlp_timeout(Duration::from_secs(2))
        .with_shutdown_timeout(Duration::from_secs(5));
    let config = builder.clone().resolve().unwrap();
    let guard = builder.clone().init().unwrap();
    let metrics = guard.business_metrics();
    metrics
        .record_feature_usage("export", business_metrics::UserTier::Pro, false)
        .unwrap();

    // The export fails: the collector refuses it, echoing the key back.
    let flush_error = tokio::task::block_in_place(|| guard.force_flush()).unwrap_err();
    let received = heads.lock().unwrap().clone();
    assert!(
        received.iter().any(|h| h
            .to_ascii_lowercase()
            .contains(&format!("x-api-key: {API_KEY}").to_ascii_lowercase())),
        "the collector did not receive the key: {received:?}"
    );

    let debug_texts = [
        ("builder", format!("{builder:?} {builder:#?}")),
        ("config", format!("{config:?} {config:#?}")),
        ("guard", format!("{guard:?} {guard:#?}")),
        ("flush error", format!("{flush_error} {flush_error:?}")),
    ];
    let shutdown_error = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap_err();
    let log = logs.text();
    for (what, text) in debug_texts.iter().chain(&[
        (
            "shutdown error",
            format!("{shutdown_error} {shutdown_error:?}"),
        ),
        ("log", log.clone()),
    ]) {
        assert!(!text.contains(API_KEY), "{what} shows the API key: {text}");
        // The HTTP client's own TRACE lines (hyper_util's connection pool) print the
        // URL's user-info: only this project's lines are held to it.
        let ours: String = if *what == "log" {
            text.lines()
                .filter(|l| l.contains("business_metrics"))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            text.clone()
        };
        assert!(
            !ours.contains(URL_PASSWORD) && !ours.contains(URL_TOKEN),
            "{what} shows a credential of the endpoint URL: {ours}"
        );
        assert!(
            !text.contains(TOKEN),
            "{what} shows the bearer token: {text}"
        );
    }
    for (what, text) in &debug_texts[..3] {
        assert!(text.contains("x-api-key"), "{what}: {text}");
        assert!(text.contains("<redacted>"), "{what}: {text}");
    }
    // The failure itself was logged, naming the collector and the status.
    assert!(
        log.contains(&format!("metrics export to {collector} failed")) && log.contains("401"),
        "the failed export was not logged:\n{log}"
    );
}
