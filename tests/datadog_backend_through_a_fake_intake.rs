//! The shipped Datadog backend (base.yaml + backends/datadog.yaml) on the project's
//! Datadog build of the collector (`otelcol-business-datadog`), carrying the fixed
//! script of shop traffic into a fake Datadog intake: metric names and tags as
//! Datadog shows them, counters as delta COUNTs that add up to the recorded events,
//! order values as distributions, the API key only in its header.
//!
//! The exporter looks up the host's name and, doing so, asks cloud metadata services
//! (AWS, GCP, Azure) on link-local addresses, with no setting to stop all of them. So
//! the test runs itself again inside a network namespace of its own that has nothing
//! but a loopback interface (`unshare --net`), where the intake, the collector and the
//! shop live: nothing can leave the machine.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use business_metrics_exporter::OtlpProtocol;
use support::datadog::{DatadogIntake, Received, COUNT, GAUGE};
use support::servers::{otelcol_refusal, Otelcol, OtelcolSpec};
use support::shop_script::{flush, shop_exporting_to, ShopDriver};
use support::TempDir;

const API_KEY: &str = "0123456789abcdef0123456789abcdef";
const INNER: &str = "inside_a_network_namespace_the_datadog_backend_delivers_the_script";

#[test]
fn datadog_backend_delivers_the_script_from_a_network_namespace_of_its_own() {
    let Some(unshare) = support::require_binary("unshare") else {
        return;
    };
    let Some(_ip) = support::require_binary("ip") else {
        return;
    };
    let Some(_collector) = support::require_binary("otelcol-business-datadog") else {
        return;
    };
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(unshare)
        .args(["--net", "--map-root-user", "--", "sh", "-c"])
        .arg(r#"ip link set lo up && exec "$0" "$@""#)
        .arg(exe)
        .args(["--exact", INNER, "--include-ignored", "--nocapture"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("test result: ok. 1 passed"), "{text}");
}

/// The tags of a series or sketch as a set.
fn tag_set(tags: &[String]) -> BTreeSet<&str> {
    tags.iter().map(String::as_str).collect()
}

/// The sum of the COUNT points of `metric` whose tags include `tags`, stamped at or
/// after `since` (seconds).
fn counted(received: &Received, metric: &str, tags: &[&str], since: i64) -> f64 {
    received
        .series
        .iter()
        .filter(|s| s.metric == metric && s.r#type == COUNT)
        .filter(|s| tags.iter().all(|t| s.tags.iter().any(|have| have == t)))
        .flat_map(|s| &s.points)
        .filter(|p| p.timestamp >= since)
        .map(|p| p.value)
        .sum()
}

/// Values counted by the sketches of `metric` whose tags include `tags`, stamped at
/// or after `since` (seconds).
fn distributed(received: &Received, metric: &str, tags: &[&str], since: i64) -> i64 {
    received
        .sketches
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| tags.iter().all(|t| s.tags.iter().any(|have| have == t)))
        .flat_map(|s| &s.dogsketches)
        .filter(|d| d.ts >= since)
        .map(|d| d.cnt)
        .sum()
}

/// How many revenue-per-minute gauges arrived: one per region and export, so it
/// grows once the collector has translated an export.
fn gauges(received: &Received) -> usize {
    received
        .series
        .iter()
        .filter(|s| s.metric == "business.revenue_per_minute_cents" && s.r#type == GAUGE)
        .count()
}

/// Round 2's COUNT deltas (its events) and distributions (its orders), stamped at
/// or after `since`.
const ROUND_TWO_COUNTS: &[(&str, &[&str], f64)] = &[
    (
        "business.funnel_step",
        &[
            "step:cart_view",
            "source:google_ads",
            "device_type:mobile",
            "experiment_variant:one_page",
        ],
        3.0,
    ),
    (
        "business.funnel_step",
        &["step:order_confirmed", "source:google_ads"],
        3.0,
    ),
    (
        "business.funnel_step",
        &["step:cart_view", "source:newsletter"],
        2.0,
    ),
    (
        "business.conversions",
        &["conversion_type:purchase", "source:google_ads"],
        3.0,
    ),
    (
        "business.revenue_cents",
        &[
            "product_category:electronics",
            "payment_method:card",
            "region:us_west",
            "currency:USD",
        ],
        16_999.0,
    ),
    (
        "business.feature_usage",
        &["feature_name:search", "user_tier:pro", "is_new_user:true"],
        6.0,
    ),
];
const ROUND_TWO_ORDERS: &[(&str, i64)] = &[
    ("product_category:electronics", 2),
    ("product_category:books", 1),
];

/// What of round 2 the intake does not hold (yet), described.
fn round_two_unmet(received: &Received, since: i64) -> Vec<String> {
    let counts = ROUND_TWO_COUNTS
        .iter()
        .filter_map(|(metric, tags, events)| {
            let got = counted(received, metric, tags, since);
            (got != *events).then(|| format!("{metric} {tags:?}: {got}, expecting {events}"))
        });
    let orders = ROUND_TWO_ORDERS.iter().filter_map(|(tag, orders)| {
        let got = distributed(received, "business.order_value_cents", &[tag], since);
        (got != *orders).then(|| format!("order values {tag}: {got}, expecting {orders}"))
    });
    counts.chain(orders).collect()
}

fn now_secs() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_secs()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "runs inside its own network namespace, started by the test above"]
async fn inside_a_network_namespace_the_datadog_backend_delivers_the_script() {
    let intake = DatadogIntake::start().await;
    // Every Datadog endpoint on the intake; no host metadata; a fixed host name.
    let dir = TempDir::new("datadog");
    let overrides = dir.path().join("intake.yaml");
    std::fs::write(
        &overrides,
        format!(
            "exporters:\n  datadog:\n    hostname: business-metrics-e2e\n    \
             metrics:\n      endpoint: {url}\n    traces:\n      endpoint: {url}\n    \
             logs:\n      endpoint: {url}\n    host_metadata:\n      enabled: false\n",
            url = intake.url()
        ),
    )
    .unwrap();
    let datadog = |files: &[&str]| {
        OtelcolSpec::files(files)
            .binary("otelcol-business-datadog")
            .env("DD_API_KEY", API_KEY)
            .env("OTELCOL_GATEWAY_TOKEN", "gateway-token")
            .env("AWS_EC2_METADATA_DISABLED", "true")
    };

    // Both documented combinations load; an unset API key is refused, naming it.
    for files in [
        ["base.yaml", "backends/datadog.yaml"],
        ["gateway/gateway.yaml", "backends/datadog.yaml"],
    ] {
        let (ok, out) = datadog(&files).validate().unwrap();
        assert!(ok, "{files:?}:\n{out}");
    }
    let refused = otelcol_refusal(
        &OtelcolSpec::files(&["base.yaml", "backends/datadog.yaml"])
            .binary("otelcol-business-datadog"),
    )
    .unwrap();
    assert!(
        refused.contains(
            "Configuration references unset environment variable\t{\"name\": \"DD_API_KEY\"}"
        ) && refused
            .contains("Error: invalid configuration: exporters::datadog: api.key is not set"),
        "{refused}"
    );

    let collector = Otelcol::start(
        datadog(&["base.yaml", "backends/datadog.yaml"]).config(overrides.display().to_string()),
    )
    .await
    .expect("otelcol-business-datadog");
    let started = collector.log();
    assert!(
        !started.to_ascii_lowercase().contains("deprecat"),
        "deprecation warnings at start:\n{started}"
    );

    let shop = shop_exporting_to(
        "datadog-e2e",
        OtlpProtocol::HttpProtobuf,
        &collector.http_endpoint(),
    )
    .await;
    let mut driver = ShopDriver::new(shop.addr);
    // Round 1 sets the exporter's baseline: a cumulative series' first point is sent
    // only in some cases (initial_cumulative_monotonic_value auto). Once the export
    // has been translated (its gauges arrived), round 2's points are deltas of exactly
    // round 2's events. The SDK stamps them at the flush.
    driver.round().await;
    flush(&shop.telemetry).await;
    let round_one_stamped = now_secs();
    intake
        .intake
        .wait_until(Duration::from_secs(90), |r| {
            if gauges(r) > 0 {
                Ok(())
            } else {
                Err("round 1's export has not arrived".to_owned())
            }
        })
        .await;
    driver.round().await;
    // Points are stamped in whole seconds: round 2's flush waits for a second later
    // than every stamp of round 1.
    while now_secs() <= round_one_stamped {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let since = now_secs();
    flush(&shop.telemetry).await;
    // Series and sketches come in payloads of their own: wait for all of round 2.
    let received = intake
        .intake
        .wait_until(Duration::from_secs(90), |r| {
            let unmet = round_two_unmet(r, since);
            if unmet.is_empty() {
                Ok(())
            } else {
                Err(unmet.join("; "))
            }
        })
        .await;
    println!(
        "intake: {} requests, {} series, {} sketches",
        received.requests.len(),
        received.series.len(),
        received.sketches.len()
    );
    assert!(received.errors.is_empty(), "{:?}", received.errors);

    // Names keep their dots; no Prometheus suffix.
    let names: BTreeSet<&str> = received.series.iter().map(|s| s.metric.as_str()).collect();
    for name in [
        "business.funnel_step",
        "business.conversions",
        "business.revenue_cents",
        "business.feature_usage",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n.ends_with("_total")), "{names:?}");

    // The attributes become tags, and the exporter adds the service's unified tags
    // and its instance id (so each replica's deltas stay apart).
    let instance = format!(
        "service.instance.id:{}",
        shop.telemetry.config().resource.service_instance_id
    );
    let funnel = received
        .series
        .iter()
        .find(|s| {
            s.metric == "business.funnel_step"
                && s.r#type == COUNT
                && s.tags.iter().any(|t| t == "step:cart_view")
                && s.tags.iter().any(|t| t == "source:google_ads")
        })
        .unwrap();
    assert_eq!(
        tag_set(&funnel.tags),
        BTreeSet::from([
            "funnel:checkout",
            "step:cart_view",
            "source:google_ads",
            "device_type:mobile",
            "experiment_variant:one_page",
            "service:datadog-e2e",
            "env:e2e",
            instance.as_str(),
        ]),
    );
    assert!(
        funnel
            .resources
            .iter()
            .any(|r| r.r#type == "host" && r.name == "business-metrics-e2e"),
        "{:?}",
        funnel.resources
    );

    // The API key travels in its header only.
    assert!(!received.api_keys.is_empty());
    assert!(received.api_keys.iter().all(|k| k == API_KEY));
    assert!(
        !collector.log().contains(API_KEY),
        "the API key is in the log"
    );

    shop.stop().await;
}
