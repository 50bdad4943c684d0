//! The gateway tier, with the project's collector and Prometheus 3 as the store:
//!
//! - an agent (shipped base.yaml + gateway/agent.yaml, its resolver made static for
//!   the test) load-balances by service over two gateways (gateway/gateway.yaml +
//!   backends/prometheusremotewrite.yaml); every point of the shop lands on one
//!   gateway; that gateway is killed mid-run and comes back, and the totals in the
//!   store are exact;
//! - a gateway whose otlp_http sending queue lives in file_storage holds what it
//!   accepted while the backend is down, is SIGKILLed and restarted, and delivers
//!   every point once the backend is back;
//! - a gateway refuses OTLP without its token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use business_metrics::{DeviceType, FunnelContext};
use business_metrics_exporter::{ExporterKind, OtlpProtocol};
use serde_norway::Value;
use support::servers::{collector_config, Otelcol, OtelcolSpec, Prometheus};
use support::shop_script::{flush, shop_exporting_to, wait_for_rounds, ShopDriver};
use support::TempDir;

const TOKEN: &str = "gateway-test-token-3f9a";

/// Points a collector's OTLP receiver accepted, from its own metrics.
async fn accepted_points(collector: &Otelcol) -> f64 {
    support::Scrape::parse(&collector.own_metrics().await)
        .samples
        .iter()
        .filter(|s| {
            s.name
                .starts_with("otelcol_receiver_accepted_metric_points")
        })
        .map(|s| s.value)
        .sum()
}

/// A gateway of the shipped files with `backend`, `env` added.
fn gateway(backend: &str, env: &[(&str, String)]) -> OtelcolSpec {
    env.iter().fold(
        OtelcolSpec::files(&["gateway/gateway.yaml", &format!("backends/{backend}.yaml")])
            .env("OTELCOL_GATEWAY_TOKEN", TOKEN),
        |spec, (k, v)| spec.env(k, v.clone()),
    )
}

/// The shipped agent.yaml with its DNS resolver replaced by a static list of
/// `gateways`, written under `dir`.
fn static_agent(dir: &TempDir, gateways: &[&Otelcol]) -> String {
    let shipped = std::fs::read_to_string(collector_config("gateway/agent.yaml")).unwrap();
    let mut agent: Value = serde_norway::from_str(&shipped).unwrap();
    let hostnames: Vec<Value> = gateways
        .iter()
        .map(|g| Value::from(format!("127.0.0.1:{}", g.ports.grpc)))
        .collect();
    let resolver = &mut agent["exporters"]["load_balancing"]["resolver"];
    assert!(
        resolver.get("dns").is_some(),
        "the shipped agent resolves by DNS"
    );
    *resolver = serde_norway::from_str("static: {}").unwrap();
    resolver["static"]["hostnames"] = Value::Sequence(hostnames);
    let path = dir.path().join("agent-static.yaml");
    std::fs::write(&path, serde_norway::to_string(&agent).unwrap()).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_route_a_service_to_one_gateway_and_its_totals_survive_that_gateways_death() {
    let Some(store) = Prometheus::receiver().await else {
        return;
    };
    let backend = [("PRW_ENDPOINT", store.remote_write_url())];
    let Some(first) = Otelcol::start(gateway("prometheusremotewrite", &backend)).await else {
        return;
    };
    let Some(second) = Otelcol::start(gateway("prometheusremotewrite", &backend)).await else {
        return;
    };
    let dir = TempDir::new("agent");
    let Some(mut agent) = Otelcol::start(
        OtelcolSpec::files(&["base.yaml"])
            .config(static_agent(&dir, &[&first, &second]))
            .env("OTELCOL_GATEWAY_TOKEN", TOKEN),
    )
    .await
    else {
        return;
    };
    let mut gateways = [first, second];

    let shop = shop_exporting_to("gateway-e2e", OtlpProtocol::Grpc, &agent.grpc_endpoint()).await;
    let mut driver = ShopDriver::new(shop.addr);

    // Round 1 reaches the store through one gateway.
    driver.round().await;
    flush(&shop.telemetry).await;
    wait_for_rounds(&store, 1).await;
    let accepted = [
        accepted_points(&gateways[0]).await,
        accepted_points(&gateways[1]).await,
    ];
    let (busy, idle) = match accepted {
        [a, 0.0] if a > 0.0 => (0, 1),
        [0.0, b] if b > 0.0 => (1, 0),
        other => panic!("the service's points are spread over both gateways: {other:?}"),
    };

    // That gateway dies; round 2 is exported while it is down, and the agent fails
    // to deliver it.
    gateways[busy].kill();
    driver.round().await;
    flush(&shop.telemetry).await;
    agent
        .wait_for_log("Exporting failed", Duration::from_secs(60))
        .await;
    assert!(agent.is_running());

    // It comes back on the same port: the agent's retries deliver, and the totals are
    // exactly two rounds.
    gateways[busy].restart().await;
    wait_for_rounds(&store, 2).await;
    assert!(accepted_points(&gateways[busy]).await > 0.0);
    assert_eq!(
        accepted_points(&gateways[idle]).await,
        0.0,
        "a point of the service reached the other gateway"
    );

    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateways_disk_queue_survives_sigkill_while_the_backend_is_down() {
    // The backend, down from the start (its port and data directory kept).
    let Some(mut store) = Prometheus::receiver().await else {
        return;
    };
    store.kill();
    let Some(mut gateway) = Otelcol::start(gateway(
        "otlphttp",
        &[("OTLP_BACKEND_ENDPOINT", store.otlp_url())],
    ))
    .await
    else {
        return;
    };

    // The shop sends everything to the gateway and is gone.
    let shop = support::in_process::InProcessShop::start_with(
        "disk-queue-e2e",
        |exporter| {
            exporter
                .with_exporters([ExporterKind::Prometheus, ExporterKind::Otlp])
                .with_otlp_protocol(OtlpProtocol::Grpc)
                .with_otlp_endpoint(gateway.grpc_endpoint())
                .with_otlp_header("authorization", format!("Bearer {TOKEN}"))
                .with_export_interval(Duration::from_secs(3600))
        },
        |state| state.with_payment_failure_rate(0.0),
    )
    .await;
    let mut driver = ShopDriver::new(shop.addr);
    driver.round().await;
    driver.round().await;
    shop.stop().await;
    assert!(accepted_points(&gateway).await > 0.0);

    // The batch reached the exporter, which cannot deliver it.
    gateway
        .wait_for_log("Exporting failed", Duration::from_secs(60))
        .await;

    // SIGKILL: nothing flushed, only the disk queue remains. The backend comes back,
    // then the gateway, and every point arrives.
    gateway.kill();
    let queued = std::fs::read_dir(gateway.storage_dir()).unwrap().count();
    assert!(queued > 0, "file_storage wrote nothing");
    store.restart().await;
    gateway.restart().await;
    wait_for_rounds(&store, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_refuses_otlp_without_its_token() {
    let Some(gateway) = Otelcol::start(gateway("debug", &[])).await else {
        return;
    };
    let export = |header: Option<String>| {
        let endpoint = gateway.grpc_endpoint();
        async move {
            let mut builder = business_metrics_exporter::builder()
                .without_env()
                .with_service_name("token-check")
                .with_exporters([ExporterKind::Otlp])
                .with_otlp_protocol(OtlpProtocol::Grpc)
                .with_otlp_endpoint(endpoint)
                .with_otlp_timeout(Duration::from_secs(5))
                .with_export_interval(Duration::from_secs(3600));
            if let Some(value) = header {
                builder = builder.with_otlp_header("authorization", value);
            }
            tokio::task::spawn_blocking(move || {
                let guard = builder.init().unwrap();
                guard
                    .business_metrics()
                    .checkout(
                        &FunnelContext::new("direct", DeviceType::Desktop),
                        guard.business_metrics().now(),
                    )
                    .unwrap()
                    .cart_view();
                let flushed = guard.force_flush();
                drop(guard);
                flushed
            })
            .await
            .unwrap()
        }
    };
    assert!(export(None).await.is_err(), "no token: accepted");
    assert!(
        export(Some("Bearer wrong-token".to_owned())).await.is_err(),
        "a wrong token: accepted"
    );
    assert_eq!(accepted_points(&gateway).await, 0.0);
    export(Some(format!("Bearer {TOKEN}"))).await.unwrap();
    assert!(accepted_points(&gateway).await > 0.0);
}
