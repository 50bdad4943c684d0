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

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use business_metrics_exporter::{ExporterKind, OtlpProtocol};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use support::*;

struct Rotel {
    grpc: SocketAddr,
    http: SocketAddr,
    _process: ServerProcess,
}

/// Starts rotel-agent receiving on two free loopback ports and exporting OTLP/gRPC
/// to `forward_to`; returns once both receiver ports accept connections.
async fn start_rotel(forward_to: SocketAddr) -> Option<Rotel> {
    let agent = require_binary("rotel-agent (PyPI package rotel)", rotel_agent())?;
    let grpc = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let tag = format!("{}-{}", std::process::id(), grpc.port());
    let mut process = ServerProcess::spawn(
        "rotel-agent",
        Command::new(agent)
            .arg("start")
            .arg("--otlp-grpc-endpoint")
            .arg(grpc.to_string())
            .arg("--otlp-http-endpoint")
            .arg(http.to_string())
            .arg("--exporter")
            .arg("otlp")
            .arg("--otlp-exporter-endpoint")
            .arg(format!("http://{forward_to}"))
            .arg("--otlp-exporter-protocol")
            .arg("grpc")
            .arg("--disable-batching")
            .arg("--pid-file")
            .arg(dir.join(format!("rotel-{tag}.pid")))
            .arg("--log-file")
            .arg(dir.join(format!("rotel-{tag}.log"))),
    );
    poll_server(
        &mut process,
        "rotel-agent to listen",
        Duration::from_secs(30),
        || async {
            let g = tokio::net::TcpStream::connect(grpc).await.is_ok();
            let h = tokio::net::TcpStream::connect(http).await.is_ok();
            (g && h).then_some(())
        },
    )
    .await;
    Some(Rotel {
        grpc,
        http,
        _process: process,
    })
}

/// One request per resource, so a collector that merges exports cannot hide one.
fn per_resource(requests: &[ExportMetricsServiceRequest]) -> Vec<ExportMetricsServiceRequest> {
    requests
        .iter()
        .flat_map(|r| r.resource_metrics.iter().cloned())
        .map(|rm| ExportMetricsServiceRequest {
            resource_metrics: vec![rm],
        })
        .collect()
}

async fn through_rotel(protocol: OtlpProtocol) {
    let receiver = grpc_receiver().await;
    let Some(rotel) = start_rotel(receiver.addr).await else {
        return;
    };
    let endpoint = match protocol {
        OtlpProtocol::Grpc => format!("http://{}", rotel.grpc),
        _ => format!("http://{}/v1/metrics", rotel.http),
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
