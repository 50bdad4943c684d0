//! End to end through the real collector: the exporter sends OTLP to the project's
//! `otelcol-business` running the shipped `base.yaml` with the `otlpgrpc` backend,
//! which forwards OTLP/gRPC to the in-test receiver; the payload arrives unchanged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use business_metrics_exporter::{ExporterKind, OtlpProtocol};
use support::*;

async fn through_the_collector(protocol: OtlpProtocol) {
    let receiver = grpc_receiver().await;
    let Some(collector) = Otelcol::forwarding_to(receiver.addr).await else {
        return;
    };
    let endpoint = match protocol {
        OtlpProtocol::Grpc => collector.grpc_endpoint(),
        _ => collector.http_endpoint(),
    };
    let guard = business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Otlp])
        .with_otlp_protocol(protocol)
        .with_otlp_endpoint(endpoint)
        .with_service_name("collector-e2e")
        .with_export_interval(Duration::from_secs(3600))
        .init()
        .unwrap();
    let instance_id = guard.config().resource.service_instance_id.clone();
    record_workload(&guard.business_metrics());
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();

    let all = receiver
        .received
        .wait_until(Duration::from_secs(30), |reqs| {
            per_resource(reqs).iter().any(has_workload)
        })
        .await;
    let forwarded = per_resource(&all);
    let last = forwarded.iter().rev().find(|r| has_workload(r)).unwrap();
    assert_workload_payload(last, "collector-e2e", &instance_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_through_the_collector_arrives_unchanged() {
    through_the_collector(OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_http_through_the_collector_arrives_unchanged() {
    through_the_collector(OtlpProtocol::HttpProtobuf).await;
}
