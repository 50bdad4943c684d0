//! The contract's proof: one fixed script of shop traffic, read back from four export
//! paths, gives the same series under the same names, with the same labels and the
//! same values:
//!
//! (a) the shop's own Prometheus bridge (`/metrics`);
//! (b) the project's collector (`otelcol-business`, shipped base.yaml) with the
//!     shipped `prometheus` backend, its scrape endpoint read directly;
//! (c) the same collector's shipped `prometheus_remote_write` backend writing into
//!     Prometheus 3's remote-write receiver;
//! (d) the same collector's shipped `otlp_http` backend sending into Prometheus 3's
//!     native OTLP receiver (configured by otel-collector/prometheus/otlp.yml).
//!
//! Labels that the path adds for the process (`job`, `instance`, the instrumentation
//! scope, promoted resource attributes) are set aside; everything else must match
//! exactly, and the script's known totals must be there.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use business_metrics_exporter::OtlpProtocol;
use support::servers::{get_ok, loopback_client, Otelcol, OtelcolSpec, Prometheus};
use support::shop_script::{flush, scrape_bridge, shop_exporting_to, unmet, ShopDriver};
use support::{poll_until, Scrape};

/// Labels a path derives from the process rather than from the recording.
const PROCESS_LABELS: &[&str] = &[
    "job",
    "instance",
    "deployment_environment",
    "deployment_environment_name",
];

/// Business series that the contract compares: name and labels (without the
/// process's labels) → value.
type Series = BTreeMap<(String, BTreeMap<String, String>), f64>;

fn business_series(scrape: &Scrape) -> Series {
    scrape
        .samples
        .iter()
        .filter(|s| s.name.starts_with("business_"))
        .map(|s| {
            let mut labels = s.labels.clone();
            labels.retain(|k, _| !PROCESS_LABELS.contains(&k.as_str()));
            ((s.name.clone(), labels), s.value)
        })
        .collect()
}

/// How `other` differs from `reference`, one line per series.
fn differences(reference: &Series, other: &Series) -> Vec<String> {
    let keys: BTreeSet<_> = reference.keys().chain(other.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (a, b) = (reference.get(key), other.get(key));
            (a != b).then(|| format!("{} {:?}: bridge {a:?}, here {b:?}", key.0, key.1))
        })
        .collect()
}

const ROUNDS: u32 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_script_gives_identical_series_on_the_bridge_the_collector_remote_write_and_otlp() {
    let Some(remote_write_store) = Prometheus::receiver().await else {
        return;
    };
    let Some(otlp_store) = Prometheus::receiver().await else {
        return;
    };
    let Some(collector) = Otelcol::start(
        OtelcolSpec::files(&[
            "base.yaml",
            "backends/prometheus.yaml",
            "backends/prometheusremotewrite.yaml",
            "backends/otlphttp.yaml",
        ])
        .env("PRW_ENDPOINT", remote_write_store.remote_write_url())
        .env("OTLP_BACKEND_ENDPOINT", otlp_store.otlp_url())
        // The three backends' exporters side by side in the one pipeline.
        .config("yaml:service::pipelines::metrics::exporters: [prometheus, prometheus_remote_write, otlp_http]"),
    )
    .await
    else {
        return;
    };

    let shop = shop_exporting_to(
        "contract",
        OtlpProtocol::HttpProtobuf,
        &collector.http_endpoint(),
    )
    .await;
    let mut driver = ShopDriver::new(shop.addr);
    for _ in 0..ROUNDS {
        driver.round().await;
    }
    flush(&shop.telemetry).await;
    // Read the bridge at once: the revenue-per-minute gauge is a rolling 60 s window,
    // and this reading must be the one the flush exported.
    let bridge = scrape_bridge(&shop).await;

    // Each path has the script's totals once the collector's batch has gone out.
    let client = loopback_client();
    let exporter_url = format!("http://{}/metrics", collector.prometheus_addr());
    let everything = r#"{__name__=~"business_.+"}"#;
    let (exporter, remote_write, otlp) = poll_until(
        "the script's totals on every path",
        Duration::from_secs(60),
        || async {
            let exporter = Scrape::parse(&get_ok(&client, &exporter_url).await?);
            let remote_write = remote_write_store.samples(everything).await?;
            let otlp = otlp_store.samples(everything).await?;
            for (path, scrape) in [
                ("collector's prometheus exporter", &exporter),
                ("remote write", &remote_write),
                ("OTLP receiver", &otlp),
            ] {
                let missing = unmet(scrape, ROUNDS);
                if !missing.is_empty() {
                    return Err(format!("{path}: {missing:#?}"));
                }
            }
            Ok((exporter, remote_write, otlp))
        },
    )
    .await;
    let missing = unmet(&bridge, ROUNDS);
    assert!(missing.is_empty(), "the bridge: {missing:#?}");

    let reference = business_series(&bridge);
    assert!(reference.len() > 50, "{} series", reference.len());
    for (path, scrape) in [
        ("(b) the collector's prometheus exporter", &exporter),
        ("(c) remote write into Prometheus 3", &remote_write),
        ("(d) Prometheus 3's OTLP receiver", &otlp),
    ] {
        let diff = differences(&reference, &business_series(scrape));
        assert!(
            diff.is_empty(),
            "{path} differs from (a) the bridge in {} series:\n{}",
            diff.len(),
            diff.join("\n")
        );
    }
    println!(
        "{} business series identical on the bridge, the collector's prometheus exporter, \
         remote write and the OTLP receiver",
        reference.len()
    );

    // The process's own labels are where each path puts them.
    let on_store = otlp
        .samples
        .iter()
        .find(|s| s.name == "business_funnel_step_total")
        .unwrap();
    assert_eq!(on_store.labels["job"], "contract");
    assert_eq!(
        on_store.labels["instance"],
        shop.telemetry.config().resource.service_instance_id
    );
    assert_eq!(on_store.labels["deployment_environment"], "e2e");

    shop.stop().await;
}
