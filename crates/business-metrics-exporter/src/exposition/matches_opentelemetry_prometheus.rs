//! The bridge's exposition against `opentelemetry-prometheus` gathered through a
//! `prometheus` registry and its `TextEncoder`: one meter provider carries both
//! readers, so both see the same data, and the two texts must be equal byte for byte.
//!
//! Two series of one family whose label values are all equal (under different label
//! names) keep the order the SDK collected them in, which comes from a hash map of
//! each reader's own: the data here never has such ties, so no normalisation is
//! needed.

use std::time::Duration;

use business_metrics::{
    ActiveWindow, BusinessMetrics, CheckoutStep, DeviceType, EngagementContext, FunnelContext,
    FunnelStep, Revenue, UserTier,
};
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::metrics::{Aggregation, Instrument, SdkMeterProvider, Stream};
use opentelemetry_sdk::Resource;
use prometheus::{Encoder, Registry, TextEncoder};

use crate::bridge::BridgeReader;
use crate::views;

/// Both readers on one provider.
struct Pair {
    provider: SdkMeterProvider,
    ours: BridgeReader,
    registry: Registry,
}

impl Pair {
    fn new(resource: Resource, cardinality_limit: usize) -> Self {
        let ours = BridgeReader::new();
        let registry = Registry::new();
        let theirs = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .unwrap();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_view(move |i| stream_for(i, cardinality_limit))
            .with_reader(ours.clone())
            .with_reader(theirs)
            .build();
        Self {
            provider,
            ours,
            registry,
        }
    }

    /// Renders through both readers and asserts the texts are equal; returns ours.
    fn assert_same(&self) -> String {
        let mut ours = Vec::new();
        self.ours.render(&mut ours).unwrap();
        let ours = String::from_utf8(ours).unwrap();
        let mut theirs = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut theirs)
            .unwrap();
        let theirs = String::from_utf8(theirs).unwrap();
        if ours != theirs {
            let line = ours
                .lines()
                .zip(theirs.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| ours.lines().count().min(theirs.lines().count()));
            panic!(
                "the expositions differ from line {}:\n ours: {:?}\ntheirs: {:?}\n\
                 ({} and {} bytes)",
                line + 1,
                ours.lines().nth(line),
                theirs.lines().nth(line),
                ours.len(),
                theirs.len()
            );
        }
        ours
    }
}

/// The pipeline's views, plus an exponential histogram and a tight cardinality limit
/// for two test instruments.
fn stream_for(instrument: &Instrument, cardinality_limit: usize) -> Option<Stream> {
    match instrument.name() {
        "exponential.latency" => Stream::builder()
            .with_aggregation(Aggregation::Base2ExponentialHistogram {
                max_size: 160,
                max_scale: 20,
                record_min_max: true,
            })
            .build()
            .ok(),
        "limited" => Stream::builder().with_cardinality_limit(3).build().ok(),
        _ => views::stream_for(
            instrument,
            cardinality_limit,
            &business_metrics::Catalog::built_in(),
        ),
    }
}

fn resource() -> Resource {
    Resource::builder()
        .with_service_name("shop")
        .with_attributes([
            KeyValue::new("service.version", "1.4.0"),
            KeyValue::new("deployment.environment", "staging"),
            KeyValue::new("host.note", "rack \"b\"\\slot\n3"),
            KeyValue::new("2nd.zone", "eu-west-1"),
            KeyValue::new("replicas", 3_i64),
        ])
        .build()
}

fn kv(key: &'static str, value: impl Into<Value>) -> KeyValue {
    KeyValue::new(key, value)
}

/// Instruments of every kind the SDK exports, with awkward names, units, help texts,
/// attribute keys and values, in a scope with a version, a schema URL and attributes.
fn record_versioned_scope(meter: &Meter) {
    let orders = meter
        .u64_counter("shop.orders")
        .with_unit("{order}")
        .with_description("Orders placed")
        .build();
    orders.add(3, &[kv("payment.method", "card"), kv("region", "us_west")]);
    orders.add(1, &[kv("payment.method", "cash"), kv("region", "us_west")]);
    orders.add(
        2,
        &[
            kv("payment.method", "voucher \"gift\""),
            kv("region", "back\\slash"),
        ],
    );
    orders.add(
        5,
        &[kv("payment.method", "line\nbreak"), kv("region", "€uro")],
    );
    orders.add(7, &[]);

    let amounts = meter
        .f64_counter("shop.payments.amount")
        .with_unit("USD")
        .with_description("Paid amounts\\in USD\nper method")
        .build();
    amounts.add(12.5, &[kv("method", "card")]);
    amounts.add(0.1, &[kv("method", "card")]);
    amounts.add(0.2, &[kv("method", "card")]);
    amounts.add(1e21, &[kv("method", "wire")]);
    amounts.add(1e-7, &[kv("method", "micro")]);

    let depth = meter
        .i64_up_down_counter("queue.depth")
        .with_unit("1")
        .with_description("Items waiting")
        .build();
    depth.add(5, &[kv("queue", "email")]);
    depth.add(-9, &[kv("queue", "sms")]);

    let temperature = meter
        .u64_gauge("room.temperature")
        .with_unit("Cel")
        .with_description("")
        .build();
    temperature.record(21, &[kv("room", "lab")]);

    let load = meter
        .f64_gauge("cpu.load")
        .with_unit("%")
        .with_description("Load")
        .build();
    // The SDK drops non-finite measurements; both readers see none of these.
    load.record(f64::NAN, &[kv("cpu", "nan")]);
    load.record(f64::INFINITY, &[kv("cpu", "inf")]);
    load.record(f64::NEG_INFINITY, &[kv("cpu", "neg_inf")]);
    load.record(-0.0, &[kv("cpu", "neg_zero")]);
    load.record(f64::MAX, &[kv("cpu", "max")]);
    load.record(f64::MIN_POSITIVE, &[kv("cpu", "min_positive")]);
    load.record(9_007_199_254_740_994.0, &[kv("cpu", "big")]);

    let offset = meter.i64_gauge("clock.offset").with_unit("ns").build();
    offset.record(-42, &[kv("source", "ntp")]);

    // Keys that need sanitising, two that become the same label, one that becomes a
    // scope label, a leading digit, non-ASCII, and values of every type.
    let odd = meter.u64_counter("odd.keys").build();
    odd.add(
        1,
        &[
            kv("http.method", "GET"),
            kv("a.b", "dot"),
            kv("a_b", "underscore"),
            kv("1st", "first"),
            kv("ключ", "значение"),
            kv("flag", true),
            kv("ratio", 0.5),
            kv("count", -3_i64),
            kv(
                "tags",
                Value::Array(Array::String(vec![
                    StringValue::from("x"),
                    StringValue::from("y"),
                ])),
            ),
        ],
    );
    odd.add(2, &[kv("otel.scope.name", "clash"), kv("zone", "a")]);
    odd.add(3, &[kv("otel_scope_name", "same"), kv("zone", "b")]);
    odd.add(4, &[kv("otel.scope.team", "clash"), kv("zone", "c")]);

    // Values that start other values, NUL bytes, empty values, and series with
    // fewer labels: the order of the registry's sort.
    let prefixes = meter.u64_counter("prefixes").build();
    for (i, value) in [
        "", "a", "a\0", "a\0b", "a\0\0", "ab", "a;b", "b", "\u{ff}", "\u{7f}",
    ]
    .into_iter()
    .enumerate()
    {
        let n = u64::try_from(i).unwrap();
        prefixes.add(n + 1, &[kv("k", value), kv("l", "x")]);
        prefixes.add(n + 100, &[kv("k", "a"), kv("l", value)]);
        prefixes.add(n + 200, &[kv("k", value)]);
    }

    let latency = meter
        .f64_histogram("http.server.latency")
        .with_unit("ms")
        .with_description("Request latency")
        .with_boundaries(vec![0.005, 0.25, 1.0, 2.5, 100.0, 1e21])
        .build();
    for (v, route) in [
        (0.001, "/"),
        (0.3, "/"),
        (2.5, "/"),
        (7_000.0, "/"),
        (0.2, "/cart"),
        (f64::INFINITY, "/cart"),
    ] {
        latency.record(v, &[kv("route", route)]);
    }

    let sizes = meter
        .u64_histogram("payload.size")
        .with_unit("KiBy")
        .with_description("Payload sizes")
        .build();
    sizes.record(3, &[kv("direction", "in")]);
    sizes.record(70_000, &[kv("direction", "in")]);
    sizes.record(1, &[kv("direction", "out")]);

    let speed = meter.f64_gauge("vehicle.speed").with_unit("m/s").build();
    speed.record(13.9, &[]);
    let rate = meter.u64_counter("retries").with_unit("1/s").build();
    rate.add(2, &[]);
    let unknown = meter.u64_counter("things").with_unit("seconds").build();
    unknown.add(1, &[]);

    meter
        .f64_observable_gauge("process.heap")
        .with_unit("By")
        .with_description("Heap in use")
        .with_callback(|o| o.observe(1_048_576.0, &[kv("pool", "main")]))
        .build();
    meter
        .u64_observable_counter("process.cpu.time")
        .with_unit("s")
        .with_callback(|o| o.observe(17, &[kv("mode", "user")]))
        .build();
    meter
        .i64_observable_up_down_counter("connections")
        .with_unit("{connection}")
        .with_callback(|o| o.observe(-2, &[]))
        .build();

    // Left out by both: exponential histograms.
    let exponential = meter.f64_histogram("exponential.latency").build();
    exponential.record(1.5, &[]);

    // Past the cardinality limit: the overflow series.
    let limited = meter.u64_counter("limited").build();
    for user in ["a", "b", "c", "d", "e"] {
        limited.add(1, &[kv("user", user)]);
    }

    // The same name as a gauge, then as a histogram: the histogram is dropped.
    let conflict = meter
        .f64_gauge("conflict")
        .with_description("as a gauge")
        .build();
    conflict.record(1.0, &[]);
    let dropped = meter.f64_histogram("conflict").build();
    dropped.record(1.0, &[]);
}

/// A scope without a version, with an instrument of the same name as one of the
/// versioned scope, and a gauge named like the resource's family.
fn record_plain_scope(meter: &Meter) {
    let orders = meter
        .u64_counter("shop.orders")
        .with_unit("{order}")
        .with_description("Orders placed")
        .build();
    orders.add(11, &[kv("payment.method", "card"), kv("region", "us_west")]);
    let info = meter
        .u64_gauge("target_info")
        .with_description("not the resource")
        .build();
    info.record(2, &[kv("custom", "yes")]);
}

/// The real business instruments, recording a few events.
fn record_business(metrics: &BusinessMetrics) {
    let ctx =
        FunnelContext::new("google_ads", DeviceType::Mobile).with_experiment_variant("one_page");
    for step in CheckoutStep::ALL {
        metrics
            .record_funnel_step(FunnelStep::Checkout(*step), &ctx)
            .unwrap();
    }
    metrics.record_conversion("purchase", &ctx, 95.5).unwrap();
    for amount in [7_450, 1_999, 120_000] {
        metrics
            .record_revenue(&Revenue::new(amount, "electronics", "card", "us_west"))
            .unwrap();
    }
    metrics
        .record_revenue(&Revenue::new(500, "books", "paypal", "eu\"central"))
        .unwrap();
    let session = metrics
        .engagement(
            &EngagementContext {
                user_tier: UserTier::Pro,
                entry_page: "/dashboard",
                is_new_user: false,
            },
            &FunnelContext::new("in_app", DeviceType::Desktop),
        )
        .unwrap();
    session.feature_used("dashboard_export").unwrap();
    session.end().unwrap();
    metrics.set_active_users(ActiveWindow::Daily, UserTier::Pro, 42);
    let _ = metrics.record_revenue(&Revenue::new(0, "electronics", "card", "us_west"));
}

#[test]
fn every_kind_of_data_is_written_as_opentelemetry_prometheus_writes_it() {
    let pair = Pair::new(resource(), 2_000);
    let versioned = pair.provider.meter_with_scope(
        InstrumentationScope::builder("shop.app")
            .with_version("2.1.0")
            .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
            .with_attributes([
                kv("team", "checkout"),
                kv("owner.email", "a\"b@example.com"),
                kv("name", "ignored"),
            ])
            .build(),
    );
    let plain = pair.provider.meter("plain");
    record_versioned_scope(&versioned);
    record_plain_scope(&plain);
    let metrics = BusinessMetrics::new_from_provider(&pair.provider);
    record_business(&metrics);

    let text = pair.assert_same();
    for expected in [
        "# HELP target_info Target metadata\n# TYPE target_info gauge\n",
        "shop_orders_total{payment_method=\"voucher \\\"gift\\\"\",region=\"back\\\\slash\",\
         otel_scope_name=\"shop.app\",otel_scope_version=\"2.1.0\",\
         otel_scope_schema_url=\"https://opentelemetry.io/schemas/1.26.0\",\
         otel_scope_owner_email=\"a\\\"b@example.com\",otel_scope_team=\"checkout\"} 2\n",
        "shop_orders_total{payment_method=\"card\",region=\"us_west\",otel_scope_name=\"plain\"} 11\n",
        "# HELP shop_payments_amount_total Paid amounts\\\\in USD\\nper method\n",
        "target_info{custom=\"yes\",otel_scope_name=\"plain\"} 2\n",
        "le=\"1000000000000000000000\"} 4\n",
        "le=\"+Inf\"} 4\n",
        "otel_scope_team=\"checkout\"} -0\n",
        "# TYPE business_revenue_cents_total counter\n",
        "prefixes_total{k=\"\",otel_scope_name=",
        "prefixes_total{k=\"a\u{0}\u{0}\",l=\"x\",otel_scope_name=",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
    assert!(!text.contains("exponential"), "{text}");
    assert!(!text.contains("conflict_bucket"), "{text}");

    // Again after more recording: the first scrape's names, types and help stay,
    // and the reused buffers start afresh.
    record_versioned_scope(&versioned);
    record_business(&metrics);
    let again = pair.assert_same();
    assert_ne!(again, text);
    pair.assert_same();
}

#[test]
fn a_histogram_named_like_the_resource_family_is_written_as_its_gauge() {
    let pair = Pair::new(resource(), 2_000);
    let meter = pair.provider.meter("odd");
    let histogram = meter.f64_histogram("target_info").build();
    histogram.record(3.0, &[kv("k", "v")]);
    let counter = meter.u64_counter("unlabelled").build();
    counter.add(1, &[]);
    let text = pair.assert_same();
    assert!(
        text.contains("target_info{k=\"v\",otel_scope_name=\"odd\"} 0\n"),
        "{text}"
    );
}

#[test]
fn an_empty_resource_has_no_target_info() {
    let pair = Pair::new(Resource::builder_empty().build(), 2_000);
    let meter = pair.provider.meter("odd");
    let gauge = meter
        .f64_gauge("target_info")
        .with_description("mine")
        .build();
    gauge.record(0.5, &[]);
    let text = pair.assert_same();
    assert!(text.starts_with("# HELP target_info mine\n"), "{text}");
}

#[test]
fn nothing_recorded_is_the_resource_alone() {
    let pair = Pair::new(resource(), 2_000);
    let text = pair.assert_same();
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn ten_thousand_series_are_written_as_opentelemetry_prometheus_writes_them() {
    let pair = Pair::new(resource(), 20_000);
    let meter = pair.provider.meter_with_scope(
        InstrumentationScope::builder("load")
            .with_version("1.0.0")
            .build(),
    );
    let requests = meter
        .u64_counter("requests")
        .with_description("Requests")
        .build();
    let latency = meter
        .f64_histogram("latency")
        .with_unit("s")
        .with_boundaries(vec![0.01, 0.1, 1.0, 10.0])
        .build();
    for i in 0..10_000_u64 {
        // Values whose string order differs from their numeric order, and a label
        // that some series lack.
        let user = format!("user-{}", (i * 7_919) % 10_000);
        let tenant = format!("t{}", i % 37);
        let attrs = if i % 10 == 0 {
            vec![kv("tenant", tenant), KeyValue::new("user.id", user)]
        } else {
            vec![
                kv("tenant", tenant),
                KeyValue::new("user.id", user),
                kv("tier", if i % 3 == 0 { "pro" } else { "free" }),
            ]
        };
        requests.add(i % 97 + 1, &attrs);
        if i % 10 == 0 {
            #[allow(clippy::cast_precision_loss)]
            latency.record((i % 1_000) as f64 / 100.0, &attrs);
        }
    }
    let text = pair.assert_same();
    let series = text
        .lines()
        .filter(|l| l.starts_with("requests_total{"))
        .count();
    assert_eq!(series, 10_000);
    requests.add(1, &[kv("tenant", "t0"), KeyValue::new("user.id", "user-0")]);
    pair.assert_same();
}

#[test]
fn later_scrapes_with_new_changed_and_replaced_series_are_written_as_opentelemetry_prometheus_writes_them(
) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    let pair = Pair::new(resource(), 2_000);
    let meter = pair.provider.meter("later");
    let requests = meter.u64_counter("requests").build();
    let attrs = |i: u64| [kv("tenant", format!("t{}", (i * 7) % 101))];
    for i in 0..50 {
        requests.add(i + 1, &attrs(i));
    }
    // The same number of series each round, with other label values each time.
    // Each collection runs the callback for both readers, so a reader's first
    // collection of a round still holds what the other's last one observed: ours
    // renders once on its own before both are compared.
    let round = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&round);
    let _gauge = meter
        .u64_observable_gauge("queue")
        .with_callback(move |o| {
            let n = seen.load(Ordering::Relaxed);
            for i in 0..20 {
                o.observe(i, &[kv("queue", format!("q{}", (n * 13 + i * 7) % 50))]);
            }
        })
        .build();
    pair.assert_same();
    round.store(1, Ordering::Relaxed);
    pair.ours.render(&mut Vec::new()).unwrap();
    pair.assert_same();
    for i in 0..50 {
        requests.add(1, &attrs(i * 3));
    }
    pair.assert_same();
    round.store(2, Ordering::Relaxed);
    for i in 50..120 {
        requests.add(1, &attrs(i));
    }
    pair.ours.render(&mut Vec::new()).unwrap();
    pair.assert_same();
    pair.assert_same();
}

#[test]
fn a_shut_down_provider_is_an_error() {
    let pair = Pair::new(resource(), 2_000);
    pair.provider.shutdown().unwrap();
    let mut out = Vec::new();
    assert!(pair.ours.render(&mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn collecting_through_the_reader_trait_sees_the_same_data() {
    use opentelemetry_sdk::metrics::data::ResourceMetrics;
    use opentelemetry_sdk::metrics::reader::MetricReader;

    let pair = Pair::new(resource(), 2_000);
    let meter = pair.provider.meter("trait");
    meter.u64_counter("c").build().add(1, &[]);
    let mut rm = ResourceMetrics::default();
    pair.ours.collect(&mut rm).unwrap();
    assert_eq!(rm.scope_metrics().count(), 1);
    pair.ours.force_flush().unwrap();
    pair.assert_same();
    pair.ours
        .shutdown_with_timeout(Duration::from_secs(1))
        .unwrap();
    assert!(pair.ours.render(&mut Vec::new()).is_err());
}
