//! 100,000 distinct sources through the recording API, read back through the SDK's
//! `ManualReader` with the exporter's default cardinality limit of 2000 series per
//! instrument: the label budget keeps the first sources, later ones are recorded as
//! `other`, and so `funnel` and `step` keep every series with exact counts, the
//! SDK's overflow series never appears, and `business.label_budget_exhausted`
//! counts exactly the events recorded under a folded source.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use business_metrics::catalog::names;
use business_metrics::{
    Budget, BusinessMetrics, CheckoutStep, DeviceType, Dimension, FunnelContext, FunnelStep,
    LabelPolicy, Revenue, UserTier, CHECKOUT_STEP_VALUES,
};
use opentelemetry::metrics::MeterProvider;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Stream, Temporality,
};
use support::{Exported, Point};

/// Distinct sources sent.
const FLOOD: usize = 100_000;
/// The exporter's default cardinality limit per instrument.
const CARDINALITY_LIMIT: usize = 2000;
/// The SDK's overflow attribute.
const OVERFLOW: &str = "otel.metric.overflow";

/// A `ManualReader` the test keeps a handle on after giving it to the provider.
#[derive(Clone, Debug)]
struct Reader(Arc<ManualReader>);

impl MetricReader for Reader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

struct Recorder {
    _provider: SdkMeterProvider,
    reader: Reader,
    metrics: BusinessMetrics,
}

impl Recorder {
    fn new(policy: LabelPolicy) -> Self {
        let reader = Reader(Arc::new(
            ManualReader::builder()
                .with_temporality(Temporality::Cumulative)
                .build(),
        ));
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .with_view(|_: &opentelemetry_sdk::metrics::Instrument| {
                Stream::builder()
                    .with_cardinality_limit(CARDINALITY_LIMIT)
                    .build()
                    .ok()
            })
            .build();
        let metrics = BusinessMetrics::builder(
            &provider.meter_with_scope(business_metrics::instrumentation_scope()),
        )
        .with_label_policy(policy)
        .build();
        Self {
            _provider: provider,
            reader,
            metrics,
        }
    }

    fn collect(&self) -> BTreeMap<String, Exported> {
        let mut rm = ResourceMetrics::default();
        self.reader.0.collect(&mut rm).unwrap();
        support::exported(&rm)
    }
}

fn u64_at(e: &Exported, attrs: &[(&str, &str)]) -> Option<u64> {
    match e.point(attrs)? {
        Point::U64(v) => Some(*v),
        other => panic!("not a u64 point: {other:?}"),
    }
}

fn assert_no_overflow(m: &BTreeMap<String, Exported>) {
    for (name, e) in m {
        assert!(
            e.points
                .keys()
                .all(|k| k.iter().all(|(key, _)| key != OVERFLOW)),
            "{name} has an overflow series"
        );
    }
}

/// Which steps session `i` records, past `cart_view`: deterministic and different
/// across sessions, so every step has its own count.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct Run {
    cart_view: u64,
    shipping_info: u64,
    payment_info: u64,
    order_review: u64,
    order_confirmed: u64,
    checkout_error: u64,
}

impl Run {
    fn of(i: usize) -> Self {
        let completed = i.is_multiple_of(16);
        Self {
            cart_view: 1,
            shipping_info: u64::from(i.is_multiple_of(2)),
            payment_info: u64::from(i.is_multiple_of(4)),
            order_review: u64::from(i.is_multiple_of(8)),
            order_confirmed: u64::from(completed),
            checkout_error: u64::from(!completed && i.is_multiple_of(5)),
        }
    }

    fn add(&mut self, o: Self) {
        self.cart_view += o.cart_view;
        self.shipping_info += o.shipping_info;
        self.payment_info += o.payment_info;
        self.order_review += o.order_review;
        self.order_confirmed += o.order_confirmed;
        self.checkout_error += o.checkout_error;
    }

    /// Events recorded (a completion is one event: its final step and conversion).
    fn events(self) -> u64 {
        self.cart_view
            + self.shipping_info
            + self.payment_info
            + self.order_review
            + self.order_confirmed
            + self.checkout_error
    }

    fn by_step(self) -> [(&'static str, u64); 6] {
        [
            ("cart_view", self.cart_view),
            ("shipping_info", self.shipping_info),
            ("payment_info", self.payment_info),
            ("order_review", self.order_review),
            ("order_confirmed", self.order_confirmed),
            ("checkout_error", self.checkout_error),
        ]
    }
}

/// One checkout session from `source`, recording `Run::of(i)` on its tracker.
fn session(m: &BusinessMetrics, source: &str, i: usize) {
    let run = Run::of(i);
    let t = m
        .checkout(&FunnelContext::new(source, DeviceType::Desktop), m.now())
        .unwrap();
    t.cart_view();
    if run.shipping_info == 1 {
        t.shipping_info();
    }
    if run.payment_info == 1 {
        t.payment_info();
    }
    if run.order_review == 1 {
        t.order_review();
    }
    if run.order_confirmed == 1 {
        t.completed().unwrap();
    }
    if run.checkout_error == 1 {
        t.failed();
    }
}

fn step_count(funnel_step: &Exported, step: &str, source: &str) -> Option<u64> {
    u64_at(
        funnel_step,
        &[
            ("funnel", "checkout"),
            ("step", step),
            ("source", source),
            ("device_type", "desktop"),
            ("experiment_variant", "control"),
        ],
    )
}

#[test]
fn a_flood_of_distinct_sources_keeps_every_funnel_step_exact() {
    let r = Recorder::new(LabelPolicy::default());
    let Budget::Values(budget) = r.metrics.label_policy().budget(Dimension::Source) else {
        panic!("the source dimension has a budget by default");
    };
    assert_eq!(budget, 10);
    let m = &r.metrics;
    let mut expected: BTreeMap<String, Run> = BTreeMap::new();
    let mut record = |source: &str, i: usize| {
        session(m, source, i);
        expected
            .entry(source.to_owned())
            .or_default()
            .add(Run::of(i));
    };
    // Two sources seen before the flood, and `google_ads` again during it.
    record("google_ads", 0);
    record("direct", 1);
    for i in 0..FLOOD {
        record(&format!("flood-{i:06}"), i);
        if i % 1_000 == 999 {
            record("google_ads", i);
        }
    }

    // The first `budget` distinct sources keep their series; the rest are `other`.
    let kept: Vec<String> = ["google_ads".to_owned(), "direct".to_owned()]
        .into_iter()
        .chain((0..budget - 2).map(|i| format!("flood-{i:06}")))
        .collect();
    let mut other = Run::default();
    for (source, run) in &expected {
        if !kept.contains(source) {
            other.add(*run);
        }
    }
    let folded_events = other.events();
    assert!(folded_events > 0);

    let exported = r.collect();
    assert_no_overflow(&exported);
    let funnel_step = &exported[names::FUNNEL_STEP];
    for source in &kept {
        for (step, n) in expected[source].by_step() {
            assert_eq!(
                step_count(funnel_step, step, source),
                Some(n),
                "{source} {step}"
            );
        }
    }
    for (step, n) in other.by_step() {
        assert_eq!(
            step_count(funnel_step, step, "other"),
            Some(n),
            "other {step}"
        );
    }
    // Every step of every kept source and of `other`, touched at 0 where unused.
    assert_eq!(
        funnel_step.points.len(),
        (budget + 1) * CHECKOUT_STEP_VALUES.len()
    );
    assert_eq!(
        funnel_step.total_u64(),
        expected.values().map(|r| r.events()).sum::<u64>()
    );
    // Conversions carry the source too.
    let conversions = &exported[names::CONVERSIONS];
    let purchases = |source: &str| {
        u64_at(
            conversions,
            &[
                ("conversion_type", "purchase"),
                ("source", source),
                ("device_type", "desktop"),
            ],
        )
    };
    assert_eq!(purchases("other"), Some(other.order_confirmed));
    assert_eq!(
        purchases("google_ads"),
        Some(expected["google_ads"].order_confirmed)
    );
    // The self-metric counts exactly the events recorded under a folded source.
    let exhausted = &exported[names::LABEL_BUDGET_EXHAUSTED];
    assert_eq!(exhausted.points.len(), 1, "{:?}", exhausted.points.keys());
    assert_eq!(
        u64_at(exhausted, &[("dimension", "source")]),
        Some(folded_events)
    );
    assert!(!exported.contains_key(names::REJECTED_EVENTS));
}

#[test]
fn per_call_recording_folds_each_dimension_on_its_own_budget_and_counts_each_event() {
    const DISTINCT: usize = 5_000;
    let policy = LabelPolicy::builder()
        .with_budget(Dimension::Source, 3)
        .with_budget(Dimension::Region, 2)
        .with_budget(Dimension::FeatureName, Budget::Unlimited)
        .build()
        .unwrap();
    let r = Recorder::new(policy);
    let m = &r.metrics;
    for i in 0..DISTINCT {
        let source = format!("s{i}");
        let ctx = FunnelContext::new(&source, DeviceType::Mobile);
        m.record_funnel_step(FunnelStep::Checkout(CheckoutStep::CartView), &ctx)
            .unwrap();
        m.record_step(CheckoutStep::ShippingInfo, &ctx).unwrap();
        m.record_revenue(&Revenue::new(100, "books", "card", &format!("r{i}")))
            .unwrap();
        // Unlimited: every name keeps its series (1,000 of them stay below the
        // cardinality limit).
        if i < 1_000 {
            m.record_feature_usage(&format!("f{i}"), UserTier::Free, false)
                .unwrap();
        }
    }
    // A refused event takes no room in a budget and is not counted as folded.
    assert!(m
        .record_funnel_step(
            FunnelStep::Checkout(CheckoutStep::CartView),
            &FunnelContext::new("fresh", DeviceType::Mobile).with_experiment_variant(" "),
        )
        .is_err());

    let exported = r.collect();
    assert_no_overflow(&exported);
    let funnel_step = &exported[names::FUNNEL_STEP];
    let step = |step: &str, source: &str| {
        u64_at(
            funnel_step,
            &[
                ("funnel", "checkout"),
                ("step", step),
                ("source", source),
                ("device_type", "mobile"),
                ("experiment_variant", "control"),
            ],
        )
    };
    for s in ["s0", "s1", "s2"] {
        assert_eq!(step("cart_view", s), Some(1));
        assert_eq!(step("shipping_info", s), Some(1));
    }
    let folded_sources = (DISTINCT - 3) as u64;
    assert_eq!(step("cart_view", "other"), Some(folded_sources));
    assert_eq!(step("shipping_info", "other"), Some(folded_sources));
    assert_eq!(funnel_step.points.len(), 4 * 2);

    let revenue = &exported[names::REVENUE_CENTS];
    let in_region = |region: &str| {
        u64_at(
            revenue,
            &[
                ("product_category", "books"),
                ("payment_method", "card"),
                ("region", region),
                ("currency", "USD"),
            ],
        )
    };
    assert_eq!(in_region("r0"), Some(100));
    assert_eq!(in_region("r1"), Some(100));
    assert_eq!(in_region("other"), Some(100 * (DISTINCT as u64 - 2)));
    assert_eq!(revenue.points.len(), 3);
    assert_eq!(exported[names::FEATURE_USAGE].points.len(), 1_000);

    let exhausted = &exported[names::LABEL_BUDGET_EXHAUSTED];
    assert_eq!(
        u64_at(exhausted, &[("dimension", "source")]),
        Some(2 * folded_sources)
    );
    assert_eq!(
        u64_at(exhausted, &[("dimension", "region")]),
        Some(DISTINCT as u64 - 2)
    );
    assert_eq!(exhausted.points.len(), 2);
    assert_eq!(
        u64_at(
            &exported[names::REJECTED_EVENTS],
            &[("reason", "empty_value")]
        ),
        Some(1)
    );
}
