//! The shipped backend files with the project's collector (`otelcol-business`) and
//! Prometheus 3, each carrying the fixed script of shop traffic sent over OTLP, with
//! exact values at the other end:
//!
//! - `prometheus`, scraped by Prometheus 3 through the shipped scrape job: the
//!   guide's five queries answer with the script's figures;
//! - Prometheus 3's OTLP receiver fed by the SDK directly, no collector, configured
//!   by the shipped profile otel-collector/prometheus/otlp.yml;
//! - `debug`: the collector logs the shop's metrics;
//! - `otlpgrpc` with delta.yaml: per-interval deltas that add up to the totals.
//!
//! `prometheusremotewrite` and `otlphttp` carry the same script in
//! one_name_contract_across_four_paths.rs, the gateway files in
//! gateway_tier_keeps_every_point.rs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_cmp
)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use business_metrics_exporter::OtlpProtocol;
use serde_json::Value;
use support::guide_queries::*;
use support::otlp::{attrs, grpc_receiver, int_sum_points, scope_metrics, sum_temporality};
use support::servers::{Otelcol, OtelcolSpec, Prometheus};
use support::shop_script::{flush, shop_exporting_to, wait_for_rounds, ShopDriver};

/// An instant query's single-label results: label value → value.
async fn by_label(prometheus: &Prometheus, expr: &str, label: &str) -> BTreeMap<String, f64> {
    prometheus
        .samples(expr)
        .await
        .unwrap()
        .samples
        .into_iter()
        .map(|s| (s.labels.get(label).cloned().unwrap_or_default(), s.value))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// The shipped prometheus.yml's collector job, its targets file moved to `target` in
/// `targets_dir`, scraped every second; no rules, no Alertmanager.
fn scrape_config(target: std::net::SocketAddr, targets_dir: &std::path::Path) -> String {
    let shipped = support::repo_path("otel-collector/prometheus/prometheus.yml");
    let mut config: Value =
        serde_norway::from_str(&std::fs::read_to_string(shipped).unwrap()).unwrap();
    config["global"]["scrape_interval"] = "1s".into();
    config["global"]["scrape_timeout"] = "1s".into();
    let root = config.as_object_mut().unwrap();
    root.remove("alerting");
    root.remove("rule_files");
    let jobs = config["scrape_configs"].as_array_mut().unwrap();
    jobs.retain(|job| job["job_name"] == "otel-collector");
    assert_eq!(
        jobs.len(),
        1,
        "the shipped config has no otel-collector job"
    );
    assert_eq!(jobs[0]["honor_labels"], true);
    support::point_shipped_job_at(&mut jobs[0], target, targets_dir);
    serde_norway::to_string(&config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prometheus_backend_scraped_by_prometheus_3_answers_the_guides_queries() {
    let Some(collector) = Otelcol::start(OtelcolSpec::files(&[
        "base.yaml",
        "backends/prometheus.yaml",
    ]))
    .await
    else {
        return;
    };
    let targets = support::TempDir::new("collector-targets");
    let config = scrape_config(collector.prometheus_addr(), targets.path());
    let Some(prometheus) = Prometheus::start(&config, &[]).await else {
        return;
    };
    let shop = shop_exporting_to(
        "guide-e2e",
        OtlpProtocol::HttpProtobuf,
        &collector.http_endpoint(),
    )
    .await;
    let mut driver = ShopDriver::new(shop.addr);

    // Two rounds, each exported and scraped before the next: rate() sees the second.
    driver.round().await;
    flush(&shop.telemetry).await;
    wait_for_rounds(&prometheus, 1).await;
    driver.round().await;
    flush(&shop.telemetry).await;
    let stored = wait_for_rounds(&prometheus, 2).await;
    // `job` and `instance` are the service's, not the scrape's (honor_labels).
    let funnel = stored
        .samples
        .iter()
        .find(|s| s.name == "business_funnel_step_total")
        .unwrap();
    assert_eq!(funnel.labels["job"], "guide-e2e");
    assert_eq!(
        funnel.labels["instance"],
        shop.telemetry.config().resource.service_instance_id
    );

    // Every series moved by the same second round and was sampled at the same
    // instants, so rate() scales them alike and the ratios are the script's own.
    // Conversion: 3 of 5 cart views confirmed.
    let conversion = prometheus.samples(CONVERSION_RATE).await.unwrap().samples;
    assert_eq!(conversion.len(), 1, "{conversion:?}");
    assert!(close(conversion[0].value, 60.0), "{conversion:?}");

    // Revenue per minute: only us_west sold.
    let revenue = by_label(&prometheus, REVENUE_PER_MINUTE_BY_REGION, "region").await;
    assert_eq!(
        revenue.keys().collect::<Vec<_>>(),
        ["us_west"],
        "{revenue:?}"
    );
    assert!(revenue["us_west"] > 0.0);

    // Median order value: electronics 49.99 and 120.00 (the lower one's bucket,
    // 2,500-5,000, at its top); books 25.00 (bucket 1,000-2,500, halfway).
    let medians = by_label(
        &prometheus,
        MEDIAN_ORDER_VALUE_BY_CATEGORY,
        "product_category",
    )
    .await;
    assert_eq!(medians.len(), 2, "{medians:?}");
    assert!(close(medians["electronics"], 5_000.0), "{medians:?}");
    assert!(close(medians["books"], 1_750.0), "{medians:?}");

    // New-user adoption: as printed in the guide it matches nothing; fixed, the only
    // new users' feature is search, 100 %.
    assert!(prometheus
        .query(NEW_USER_FEATURE_ADOPTION)
        .await
        .unwrap()
        .is_empty());
    let adoption = by_label(&prometheus, NEW_USER_FEATURE_ADOPTION_FIXED, "feature_name").await;
    assert_eq!(adoption.len(), 1, "{adoption:?}");
    assert!(close(adoption["search"], 100.0), "{adoption:?}");

    // Session p95 per tier: every session lasted well under 10 s, the first bucket,
    // so the estimate is 95 % of it.
    let p95 = by_label(&prometheus, SESSION_DURATION_P95_BY_TIER, "user_tier").await;
    assert_eq!(p95.len(), 2, "{p95:?}");
    for (tier, value) in &p95 {
        assert!(close(*value, 9.5), "{tier}: {value}");
    }

    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sdk_exports_straight_into_prometheus_3_with_the_shipped_otlp_profile() {
    let Some(prometheus) = Prometheus::receiver().await else {
        return;
    };
    let shop = shop_exporting_to(
        "direct-otlp",
        OtlpProtocol::HttpProtobuf,
        &format!("{}/v1/metrics", prometheus.otlp_url()),
    )
    .await;
    let mut driver = ShopDriver::new(shop.addr);
    driver.round().await;
    flush(&shop.telemetry).await;
    let stored = wait_for_rounds(&prometheus, 1).await;
    let funnel = stored
        .samples
        .iter()
        .find(|s| s.name == "business_funnel_step_total")
        .unwrap();
    assert_eq!(funnel.labels["job"], "direct-otlp");
    assert_eq!(funnel.labels["deployment_environment"], "e2e");
    let info = prometheus.samples("target_info").await.unwrap().samples;
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0].labels["job"], "direct-otlp");

    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn debug_backend_logs_what_the_shop_sent() {
    let Some(collector) =
        Otelcol::start(OtelcolSpec::files(&["base.yaml", "backends/debug.yaml"])).await
    else {
        return;
    };
    let shop = shop_exporting_to("debug-e2e", OtlpProtocol::Grpc, &collector.grpc_endpoint()).await;
    ShopDriver::new(shop.addr).round().await;
    flush(&shop.telemetry).await;
    let log = collector
        .wait_for_log("-> Name: business.revenue_cents", Duration::from_secs(60))
        .await;
    for expected in [
        "-> service.name: Str(debug-e2e)",
        "-> Name: business.funnel_step",
        "-> Unit: {step}",
        "-> DataType: Sum",
        "-> AggregationTemporality: Cumulative",
        "-> product_category: Str(electronics)",
        "-> Name: business.order_value_cents",
        "ExplicitBounds #6: 50000.000000",
    ] {
        assert!(log.contains(expected), "no {expected:?} in\n{log}");
    }

    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delta_profile_sends_each_rounds_increase_once() {
    let receiver = grpc_receiver().await;
    let Some(collector) = Otelcol::start(
        OtelcolSpec::files(&["base.yaml", "backends/otlpgrpc.yaml", "delta.yaml"])
            .env("OTLP_GRPC_BACKEND_ENDPOINT", receiver.addr.to_string())
            .env("OTLP_GRPC_BACKEND_INSECURE", "true")
            .config("yaml:exporters::otlp_grpc::sending_queue::num_consumers: 1"),
    )
    .await
    else {
        return;
    };
    let shop = shop_exporting_to(
        "delta-e2e",
        OtlpProtocol::HttpProtobuf,
        &collector.http_endpoint(),
    )
    .await;
    let mut driver = ShopDriver::new(shop.addr);
    let cart_view = support::otlp::labels(&[
        ("funnel", "checkout"),
        ("step", "cart_view"),
        ("source", "google_ads"),
        ("device_type", "mobile"),
        ("experiment_variant", "one_page"),
    ]);
    // Each round's points for that series, as they arrive.
    let points = |requests: &[support::otlp::opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest]| -> Vec<i64> {
        requests
            .iter()
            .filter_map(|r| {
                let metric = scope_metrics(r, business_metrics::SCOPE_NAME)
                    .remove("business.funnel_step")?;
                assert_eq!(sum_temporality(&metric), 1, "not delta");
                int_sum_points(&metric).get(&cart_view).copied()
            })
            .collect()
    };
    for round in 1..=2 {
        driver.round().await;
        flush(&shop.telemetry).await;
        let all = receiver
            .received
            .wait_until(Duration::from_secs(60), |r| points(r).len() >= round)
            .await;
        assert_eq!(points(&all), vec![3; round], "round {round}");
    }
    // Every forwarded series carries the shop's resource.
    let last = receiver.received.all().pop().unwrap();
    let resource = attrs(
        &last.resource_metrics[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes,
    );
    assert_eq!(resource["service.name"], "delta-e2e");

    shop.stop().await;
}
