//! The OTLP exporters deliver the exact payload of a known workload to in-test
//! receivers: gRPC (tonic) and HTTP/protobuf (axum + prost).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use business_metrics_exporter::{ExporterBuilder, MetricsGuard, OtlpProtocol, Temporality};
use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
use support::*;

const HOUR: Duration = Duration::from_secs(3600);

fn otlp_builder(protocol: OtlpProtocol, endpoint: String) -> ExporterBuilder {
    otlp_pipeline(protocol, endpoint, "exporter-test")
        .with_service_version("9.9.9")
        .with_deployment_environment("test")
        // Only the shutdown export is sent: nothing periodic interferes.
        .with_export_interval(HOUR)
}

/// Shuts down off the async worker so the gRPC channel keeps being driven.
async fn shutdown(guard: MetricsGuard) {
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
}

/// Starts the pipeline `builder` describes, records the workload once, shuts down (so
/// the one export is sent), and returns the service instance id it exported under.
async fn export_workload_once(builder: ExporterBuilder) -> String {
    let guard = builder.init().unwrap();
    let instance_id = guard.config().resource.service_instance_id.clone();
    record_workload(&guard.business_metrics());
    shutdown(guard).await;
    instance_id
}

/// Asserts that every request `received` carried the header `x-api-key: key`.
fn assert_every_request_has_api_key(received: &Received, key: &str) {
    let headers = received.headers();
    assert!(headers
        .iter()
        .all(|h| h.contains(&("x-api-key".to_owned(), key.to_owned()))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_delivers_resource_scope_names_units_attributes_values_and_buckets() {
    let receiver = grpc_receiver().await;
    let instance_id = export_workload_once(
        otlp_builder(OtlpProtocol::Grpc, format!("http://{}", receiver.addr))
            .with_otlp_header("x-api-key", "grpc-secret"),
    )
    .await;

    let requests = receiver.received.all();
    assert!(!requests.is_empty(), "nothing arrived");
    let last = requests.last().unwrap();
    assert_workload_payload(last, "exporter-test", &instance_id);
    let resource = resource_attrs(last);
    assert_eq!(resource["service.version"], "9.9.9");
    assert_eq!(resource["deployment.environment"], "test");
    assert_every_request_has_api_key(&receiver.received, "grpc-secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_http_delivers_resource_scope_names_units_attributes_values_and_buckets() {
    let receiver = http_receiver().await;
    let instance_id = export_workload_once(
        otlp_builder(
            OtlpProtocol::HttpProtobuf,
            format!("http://{}/v1/metrics", receiver.addr),
        )
        .with_otlp_header("x-api-key", "http-secret"),
    )
    .await;

    let requests = receiver.received.all();
    assert!(!requests.is_empty(), "nothing arrived");
    assert_workload_payload(requests.last().unwrap(), "exporter-test", &instance_id);
    assert_every_request_has_api_key(&receiver.received, "http-secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_http_generic_endpoint_from_env_gets_the_metrics_path() {
    let receiver = http_receiver().await;
    let instance_id = export_workload_once(business_metrics_exporter::builder().with_env_vars([
        ("OTEL_METRICS_EXPORTER", "otlp".to_owned()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{}", receiver.addr),
        ),
        ("OTEL_SERVICE_NAME", "from-env".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000".to_owned()),
    ]))
    .await;
    assert_workload_payload(
        receiver.received.all().last().unwrap(),
        "from-env",
        &instance_id,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_temporality_sends_only_the_changes_since_the_last_export() {
    let receiver = grpc_receiver().await;
    let guard = otlp_builder(OtlpProtocol::Grpc, format!("http://{}", receiver.addr))
        .with_temporality(Temporality::Delta)
        .init()
        .unwrap();
    let metrics = guard.business_metrics();
    record_workload(&metrics);
    let guard = tokio::task::spawn_blocking(move || {
        guard.force_flush().unwrap();
        guard
    })
    .await
    .unwrap();
    record_workload(&metrics);
    shutdown(guard).await;

    let requests = receiver.received.all();
    let revenue: Vec<i64> = requests
        .iter()
        .filter_map(|r| business_metrics(r).get("business.revenue_cents").cloned())
        .map(|m| {
            assert_eq!(sum_temporality(&m), AggregationTemporality::Delta as i32);
            int_sum_points(&m).values().sum()
        })
        .collect();
    // Each export carries one workload's revenue, never the running total. Counters
    // are observable instruments: an export after which nothing was recorded
    // carries each series with a change of 0.
    let changes: Vec<i64> = revenue.iter().copied().filter(|v| *v != 0).collect();
    assert_eq!(changes, [REVENUE_TOTAL as i64, REVENUE_TOTAL as i64]);
    assert_eq!(revenue.first(), Some(&(REVENUE_TOTAL as i64)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_when_the_collector_is_unreachable() {
    // A port with nothing listening: exports fail fast or time out.
    let port = free_port();
    let guard = otlp_builder(OtlpProtocol::Grpc, format!("http://127.0.0.1:{port}"))
        .with_otlp_timeout(Duration::from_millis(500))
        .with_shutdown_timeout(Duration::from_secs(3))
        .init()
        .unwrap();
    record_workload(&guard.business_metrics());
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(result.is_err(), "an unreachable collector must be reported");
}
