//! Counters count in the crate's own cells and report cumulative totals from an
//! observable counter's callback. These tests hold that to what a user relies on:
//! every update made before a collection is in it, whichever reader collects, with
//! delta temporality too, while other threads record, after the last handle is
//! dropped, and whatever views the service writes for other instruments. Nothing
//! but the contract's instruments is exported.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use business_metrics::catalog::names;
use business_metrics::{BusinessMetrics, CheckoutStep, DeviceType, FunnelContext, Sale};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, InMemoryMetricExporterBuilder, PeriodicReader, SdkMeterProvider,
    Temporality,
};
use support::Point;

const CTX: FunnelContext<'static> = FunnelContext::new("direct", DeviceType::Mobile);

fn sale() -> Sale<'static> {
    Sale::new("books", "card", "eu")
}

fn provider_with(exporters: &[&InMemoryMetricExporter]) -> SdkMeterProvider {
    exporters
        .iter()
        .fold(SdkMeterProvider::builder(), |b, e| {
            b.with_reader(PeriodicReader::builder((*e).clone()).build())
        })
        .build()
}

fn metrics_on(provider: &SdkMeterProvider) -> BusinessMetrics {
    BusinessMetrics::new_from_provider(provider)
}

/// Records `n` purchases of `amount` on held handles.
fn purchases(m: &BusinessMetrics, n: u64, amount: u64) {
    let funnel = m.bind_funnel(&CTX).unwrap();
    let sale = m.bind_sale(&sale()).unwrap();
    for _ in 0..n {
        funnel.step(CheckoutStep::CartView);
        funnel.purchase_completed(&sale, amount, 1.5).unwrap();
    }
}

/// `(cart_view steps, purchase conversions, revenue)` in the last export of
/// `exporter`; a series that is absent reads as `None`.
fn totals(exporter: &InMemoryMetricExporter) -> [Option<u64>; 3] {
    let batches = exporter.get_finished_metrics().unwrap();
    // The SDK exports nothing at all while no instrument has a data point.
    let Some(last) = batches.last() else {
        return [None; 3];
    };
    [
        u64_point(last, names::FUNNEL_STEP, ("step", "cart_view")),
        u64_point(last, names::CONVERSIONS, ("conversion_type", "purchase")),
        u64_point(last, names::REVENUE_CENTS, ("region", "eu")),
    ]
}

/// The value of the `name` point carrying `attr` among its attributes.
fn u64_point(rm: &ResourceMetrics, name: &str, attr: (&str, &str)) -> Option<u64> {
    let metric = rm
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .find(|m| m.name() == name)?;
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else {
        panic!("{name} is not a u64 sum");
    };
    sum.data_points()
        .find(|p| {
            p.attributes()
                .any(|kv| kv.key.as_str() == attr.0 && kv.value.as_str() == attr.1)
        })
        .map(|p| p.value())
}

fn names_exported(exporter: &InMemoryMetricExporter) -> Vec<String> {
    let batches = exporter.get_finished_metrics().unwrap();
    let last = batches.last().expect("an export");
    last.scope_metrics()
        .flat_map(|s| s.metrics())
        .map(|m| m.name().to_owned())
        .collect()
}

#[test]
fn a_collection_right_after_recording_holds_every_update() {
    let h = support::Harness::new();
    purchases(&h.metrics, 7, 1_250);
    let m = h.collect();
    let step = m[names::FUNNEL_STEP].point(&[
        ("funnel", "checkout"),
        ("step", "cart_view"),
        ("source", "direct"),
        ("device_type", "mobile"),
        ("experiment_variant", "control"),
    ]);
    assert_eq!(step, Some(&Point::U64(7)));
    assert_eq!(m[names::CONVERSIONS].total_u64(), 7);
    assert_eq!(m[names::REVENUE_CENTS].total_u64(), 7 * 1_250);
    // A second collection with nothing new changes nothing.
    purchases(&h.metrics, 0, 1);
    let again = h.collect();
    assert_eq!(again[names::CONVERSIONS].total_u64(), 7);
    assert_eq!(again[names::REVENUE_CENTS].total_u64(), 7 * 1_250);
}

#[test]
fn only_the_contract_instruments_are_exported() {
    let exporter = InMemoryMetricExporter::default();
    let provider = provider_with(&[&exporter]);
    let m = metrics_on(&provider);
    purchases(&m, 3, 500);
    provider.force_flush().unwrap();
    let exported = names_exported(&exporter);
    assert!(exported.iter().any(|n| n == names::FUNNEL_STEP));
    let catalog = business_metrics::Catalog::built_in();
    assert!(
        exported.iter().all(|n| catalog.entry(n).is_some()),
        "{exported:?}"
    );
}

#[test]
fn every_reader_sees_counts_whichever_collected_first() {
    let first = InMemoryMetricExporter::default();
    let second = InMemoryMetricExporter::default();
    let provider = provider_with(&[&first, &second]);
    let m = metrics_on(&provider);
    purchases(&m, 4, 300);
    // Flushing the provider collects through both readers in turn: the first
    // collection hands the counts over, the second finds them in the SDK.
    provider.force_flush().unwrap();
    assert_eq!(totals(&first), [Some(4), Some(4), Some(1_200)]);
    assert_eq!(totals(&second), [Some(4), Some(4), Some(1_200)]);
    purchases(&m, 1, 300);
    provider.force_flush().unwrap();
    assert_eq!(totals(&first), [Some(5), Some(5), Some(1_500)]);
    assert_eq!(totals(&second), [Some(5), Some(5), Some(1_500)]);
}

#[test]
fn delta_temporality_reports_each_interval_once() {
    let exporter = InMemoryMetricExporterBuilder::new()
        .with_temporality(Temporality::Delta)
        .build();
    let provider = provider_with(&[&exporter]);
    let m = metrics_on(&provider);
    purchases(&m, 3, 100);
    provider.force_flush().unwrap();
    assert_eq!(totals(&exporter), [Some(3), Some(3), Some(300)]);
    exporter.reset();
    purchases(&m, 2, 100);
    provider.force_flush().unwrap();
    assert_eq!(totals(&exporter), [Some(2), Some(2), Some(200)]);
}

#[test]
fn dropping_the_last_handle_hands_over_what_it_counted() {
    let exporter = InMemoryMetricExporter::default();
    let provider = provider_with(&[&exporter]);
    let m = metrics_on(&provider);
    purchases(&m, 6, 1_000);
    drop(m);
    provider.force_flush().unwrap();
    assert_eq!(totals(&exporter), [Some(6), Some(6), Some(6_000)]);
}

#[test]
fn collections_racing_recording_threads_lose_nothing() {
    const THREADS: u64 = 2;
    const EVENTS: u64 = 20_000;
    let exporter = InMemoryMetricExporter::default();
    let provider = provider_with(&[&exporter]);
    let m = metrics_on(&provider);
    let done = std::sync::atomic::AtomicU64::new(0);
    let mut collections = 0u32;
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let m = m.clone();
            let done = &done;
            s.spawn(move || {
                purchases(&m, EVENTS, 7);
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        // Collect over and over while the threads record; each total read must be
        // between the last one and the final one.
        let mut last = 0;
        while done.load(std::sync::atomic::Ordering::SeqCst) < THREADS || collections < 3 {
            exporter.reset();
            provider.force_flush().unwrap();
            collections += 1;
            if let [Some(steps), Some(conversions), _] = totals(&exporter) {
                assert!(
                    steps >= last && steps <= THREADS * EVENTS,
                    "{steps} after {last}"
                );
                assert!(conversions <= THREADS * EVENTS);
                last = steps;
            }
        }
    });
    exporter.reset();
    provider.force_flush().unwrap();
    assert_eq!(
        totals(&exporter),
        [
            Some(THREADS * EVENTS),
            Some(THREADS * EVENTS),
            Some(THREADS * EVENTS * 7)
        ]
    );
    assert!(collections >= 3);
}

#[test]
fn clones_of_one_instance_count_into_the_same_series() {
    let exporter = InMemoryMetricExporter::default();
    let provider = provider_with(&[&exporter]);
    let one = metrics_on(&provider);
    let two = one.clone();
    purchases(&one, 2, 10);
    purchases(&two, 3, 10);
    // A one-off call on the same attribute sets lands in the same cells.
    one.record_conversion("purchase", &CTX, 2.0).unwrap();
    provider.force_flush().unwrap();
    assert_eq!(totals(&exporter), [Some(5), Some(6), Some(50)]);
}

#[test]
fn views_that_rename_or_drop_other_instruments_hold_no_count_back() {
    use opentelemetry_sdk::metrics::{Aggregation, Instrument, Stream};
    let exporter = InMemoryMetricExporter::default();
    // A service's views: every instrument but the three counters read below is
    // dropped or renamed, the crate's own reports included.
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .with_view(|i: &Instrument| {
            let kept = [names::FUNNEL_STEP, names::CONVERSIONS, names::REVENUE_CENTS];
            if kept.contains(&i.name()) {
                return None;
            }
            if i.name().ends_with("_cents") || i.name().contains("time") {
                return Stream::builder()
                    .with_name(format!("renamed.{}", i.name()))
                    .build()
                    .ok();
            }
            Stream::builder()
                .with_aggregation(Aggregation::Drop)
                .build()
                .ok()
        })
        .build();
    let m = metrics_on(&provider);
    purchases(&m, 4, 250);
    provider.force_flush().unwrap();
    assert_eq!(totals(&exporter), [Some(4), Some(4), Some(1_000)]);
    let exported = names_exported(&exporter);
    assert!(
        exported
            .iter()
            .any(|n| n == "renamed.business.order_value_cents")
            && exported
                .iter()
                .any(|n| n == "renamed.business.time_to_conversion"),
        "{exported:?}"
    );
    assert!(!exported.iter().any(|n| n == names::REJECTED_EVENTS));
    purchases(&m, 1, 250);
    provider.force_flush().unwrap();
    assert_eq!(totals(&exporter), [Some(5), Some(5), Some(1_250)]);
}

#[test]
fn a_view_renaming_the_counters_themselves_keeps_every_count() {
    use opentelemetry_sdk::metrics::{Instrument, Stream};
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .with_view(|i: &Instrument| {
            (i.name() == names::CONVERSIONS)
                .then(|| Stream::builder().with_name("shop.orders").build().ok())
                .flatten()
        })
        .build();
    let m = metrics_on(&provider);
    purchases(&m, 3, 100);
    provider.force_flush().unwrap();
    let batches = exporter.get_finished_metrics().unwrap();
    let last = batches.last().unwrap();
    assert_eq!(
        u64_point(last, "shop.orders", ("conversion_type", "purchase")),
        Some(3)
    );
    assert_eq!(
        u64_point(last, names::CONVERSIONS, ("source", "direct")),
        None
    );
}
