//! Every exporter at once: OTLP/HTTP, the Prometheus bridge and the console exporter
//! run side by side on one provider and each sees the same workload.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use business_metrics_exporter::ExporterKind;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_prometheus_and_console_export_the_same_workload_at_once() {
    let receiver = http_receiver().await;
    let guard = business_metrics_exporter::builder()
        .with_env_vars([
            (
                "OTEL_METRICS_EXPORTER",
                "otlp,prometheus,console".to_owned(),
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                format!("http://{}/v1/metrics", receiver.addr),
            ),
            ("OTEL_EXPORTER_PROMETHEUS_PORT", "0".to_owned()),
            ("OTEL_SERVICE_NAME", "combined".to_owned()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "3600000".to_owned()),
        ])
        .init()
        .unwrap();
    assert_eq!(
        guard.config().exporters,
        [
            ExporterKind::Otlp,
            ExporterKind::Prometheus,
            ExporterKind::Console
        ]
    );
    let instance_id = guard.config().resource.service_instance_id.clone();
    record_workload(&guard.business_metrics());

    let scrape = http_get(guard.prometheus_addr().unwrap(), "/metrics", &[])
        .await
        .unwrap();
    assert_eq!(scrape.status, 200);
    assert!(
        scrape
            .body
            .lines()
            .any(|l| l.starts_with("business_revenue_cents_total{") && l.ends_with(" 16999")),
        "{}",
        scrape.body
    );

    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
    let last = receiver
        .received
        .wait_until(Duration::from_secs(5), |r| r.iter().any(has_workload))
        .await;
    assert_workload_payload(last.last().unwrap(), "combined", &instance_id);
}

#[test]
fn console_exporter_needs_no_tokio_runtime() {
    let guard = business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Console])
        .with_export_interval(Duration::from_secs(3600))
        .init()
        .unwrap();
    assert_eq!(guard.prometheus_addr(), None);
    guard.shutdown().unwrap();
}

#[test]
fn none_starts_a_provider_that_exports_nowhere() {
    let guard = business_metrics_exporter::builder()
        .with_env_vars([("OTEL_METRICS_EXPORTER", "none")])
        .init()
        .unwrap();
    assert!(guard.config().exporters.is_empty());
    record_workload(&guard.business_metrics());
    guard.shutdown().unwrap();
}
