//! End to end through a real collector: the exporter sends OTLP to `rotel-agent`
//! (PyPI package `rotel`), which forwards OTLP/gRPC to the in-test receiver; the
//! payload arrives unchanged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::Path;
use std::time::Duration;

use business_metrics_exporter::{ExporterKind, OtlpProtocol};
use support::*;

async fn through_rotel(protocol: OtlpProtocol) {
    let receiver = grpc_receiver().await;
    let Some(rotel) = Rotel::start(receiver.addr, Path::new(env!("CARGO_TARGET_TMPDIR"))).await
    else {
        return;
    };
    let endpoint = match protocol {
        OtlpProtocol::Grpc => rotel.grpc_endpoint(),
        _ => rotel.http_endpoint(),
    };
    let guard = business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Otlp])
        .with_otlp_protocol(protocol)
        .with_otlp_endpoint(endpoint)
        .with_service_name("rotel-e2e")
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
    assert_workload_payload(last, "rotel-e2e", &instance_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_through_rotel_arrives_unchanged() {
    through_rotel(OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_http_through_rotel_arrives_unchanged() {
    through_rotel(OtlpProtocol::HttpProtobuf).await;
}
