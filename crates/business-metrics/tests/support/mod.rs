//! Reads what `business-metrics` recorded back through the real SDK.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

pub mod counting_allocator;
pub mod definitions;

use business_metrics::{
    BusinessMetrics, BusinessMetricsBuilder, CheckoutStep, FunnelContext, FunnelStep, LabelPolicy,
    ManualClock, Revenue,
};
use opentelemetry::Value;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, Instrument, PeriodicReader, SdkMeterProvider, Stream,
};

/// Attribute set of one data point, as sorted `key=value` pairs.
pub type Attrs = BTreeMap<String, String>;

/// One data point, whatever its kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Point {
    /// A sum or gauge of u64.
    U64(u64),
    /// A sum or gauge of f64.
    F64(f64),
    /// A histogram.
    Histogram {
        bounds: Vec<f64>,
        counts: Vec<u64>,
        count: u64,
        sum: f64,
    },
}

/// Data points keyed by their sorted attribute pairs.
pub type Points = BTreeMap<Vec<(String, String)>, Point>;

/// One metric as exported.
#[derive(Clone, Debug, PartialEq)]
pub struct Exported {
    pub unit: String,
    pub description: String,
    /// `sum`, `monotonic_sum`, `gauge` or `histogram`.
    pub shape: &'static str,
    pub points: Points,
}

impl Exported {
    /// The point with exactly these attributes.
    pub fn point(&self, attrs: &[(&str, &str)]) -> Option<&Point> {
        let mut key: Vec<(String, String)> = attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        key.sort();
        self.points.get(&key)
    }

    /// The sum of all u64 points.
    pub fn total_u64(&self) -> u64 {
        self.points
            .values()
            .map(|p| match p {
                Point::U64(v) => *v,
                other => panic!("not a u64 point: {other:?}"),
            })
            .sum()
    }

    /// Every distinct attribute key set.
    pub fn key_sets(&self) -> Vec<Vec<String>> {
        let mut sets: Vec<Vec<String>> = self
            .points
            .keys()
            .map(|k| k.iter().map(|(key, _)| key.clone()).collect())
            .collect();
        sets.sort();
        sets.dedup();
        sets
    }
}

fn value_string(v: &Value) -> String {
    v.as_str().into_owned()
}

fn attrs<'a>(it: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> Vec<(String, String)> {
    let mut v: Vec<_> = it
        .map(|kv| (kv.key.as_str().to_owned(), value_string(&kv.value)))
        .collect();
    v.sort();
    v
}

fn convert<T: Copy>(
    data: &MetricData<T>,
    wrap: fn(T) -> Point,
    to_f64: fn(T) -> f64,
) -> (&'static str, Points) {
    let mut points = BTreeMap::new();
    let shape = match data {
        MetricData::Sum(sum) => {
            for p in sum.data_points() {
                points.insert(attrs(p.attributes()), wrap(p.value()));
            }
            if sum.is_monotonic() {
                "monotonic_sum"
            } else {
                "sum"
            }
        }
        MetricData::Gauge(g) => {
            for p in g.data_points() {
                points.insert(attrs(p.attributes()), wrap(p.value()));
            }
            "gauge"
        }
        MetricData::Histogram(h) => {
            for p in h.data_points() {
                points.insert(
                    attrs(p.attributes()),
                    Point::Histogram {
                        bounds: p.bounds().collect(),
                        counts: p.bucket_counts().collect(),
                        count: p.count(),
                        sum: to_f64(p.sum()),
                    },
                );
            }
            "histogram"
        }
        MetricData::ExponentialHistogram(_) => "exponential_histogram",
    };
    (shape, points)
}

/// A provider with an in-memory exporter, a manual clock, and the instruments.
pub struct Harness {
    pub provider: SdkMeterProvider,
    pub exporter: InMemoryMetricExporter,
    pub clock: ManualClock,
    pub metrics: BusinessMetrics,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_policy(LabelPolicy::default())
    }

    pub fn with_policy(policy: LabelPolicy) -> Self {
        Self::configured(policy, None, |b| b)
    }

    /// A harness whose SDK caps every instrument at `cardinality_limit` series (the
    /// SDK's default otherwise), with the instruments' builder adjusted by `configure`.
    pub fn configured(
        policy: LabelPolicy,
        cardinality_limit: Option<usize>,
        configure: impl FnOnce(BusinessMetricsBuilder) -> BusinessMetricsBuilder,
    ) -> Self {
        let exporter = InMemoryMetricExporter::default();
        let mut provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build());
        if let Some(limit) = cardinality_limit {
            provider = provider.with_view(move |_: &Instrument| {
                Stream::builder().with_cardinality_limit(limit).build().ok()
            });
        }
        let provider = provider.build();
        let clock = ManualClock::new();
        let meter = opentelemetry::metrics::MeterProvider::meter_with_scope(
            &provider,
            business_metrics::instrumentation_scope(),
        );
        let mut builder = BusinessMetrics::builder(&meter)
            .with_label_policy(policy)
            .with_clock(clock.clone());
        if let Some(limit) = cardinality_limit {
            // Counters count past the limit in their own overflow cell, as the SDK does.
            builder = builder.with_counter_series_limit(limit);
        }
        let metrics = configure(builder).build();
        Self {
            provider,
            exporter,
            clock,
            metrics,
        }
    }

    /// Flushes and returns the latest cumulative state of every metric, by name.
    pub fn collect(&self) -> BTreeMap<String, Exported> {
        self.exporter.reset();
        self.provider.force_flush().expect("flush");
        let batches = self.exporter.get_finished_metrics().expect("metrics");
        // The SDK exports nothing at all while no instrument has a data point.
        batches.last().map(exported).unwrap_or_default()
    }
}

/// Every metric of one collection, by name.
pub fn exported(rm: &ResourceMetrics) -> BTreeMap<String, Exported> {
    let mut out = BTreeMap::new();
    for scope in rm.scope_metrics() {
        assert_eq!(scope.scope().name(), business_metrics::SCOPE_NAME);
        for m in scope.metrics() {
            let (shape, points) = match m.data() {
                AggregatedMetrics::U64(d) => convert(d, Point::U64, |v| v as f64),
                AggregatedMetrics::F64(d) => convert(d, Point::F64, |v| v),
                AggregatedMetrics::I64(_) => panic!("no i64 instruments expected"),
            };
            out.insert(
                m.name().to_owned(),
                Exported {
                    unit: m.unit().to_owned(),
                    description: m.description().to_owned(),
                    shape,
                    points,
                },
            );
        }
    }
    out
}

/// Builds an attribute list from pairs, for comparisons.
pub fn a<'a>(pairs: &'a [(&'a str, &'a str)]) -> &'a [(&'a str, &'a str)] {
    pairs
}

/// Label pools the workloads draw from by event index. Two sources carry white
/// space the policy trims, and the currencies repeat in two spellings.
pub mod pools {
    use business_metrics::DeviceType;

    pub const SOURCES: [&str; 4] = ["google_ads", "direct", " email ", "social"];
    pub const DEVICES: [DeviceType; 3] =
        [DeviceType::Desktop, DeviceType::Mobile, DeviceType::Tablet];
    pub const VARIANTS: [&str; 2] = ["control", "one_page"];
    pub const CATEGORIES: [&str; 5] = ["electronics", "books", "clothing", "home", "toys"];
    pub const PAYMENTS: [&str; 3] = ["card", "paypal", "apple_pay"];
    pub const REGIONS: [&str; 4] = ["us-east", "us-west", "eu", "apac"];
    pub const CURRENCIES: [&str; 3] = ["USD", "eur", "USD"];
}

/// A purchase recorded one call per update: every checkout step, a `purchase`
/// conversion taking `secs`, and the sale.
pub fn purchase_per_call(
    m: &BusinessMetrics,
    ctx: &FunnelContext<'_>,
    sale: &Revenue<'_>,
    secs: f64,
) {
    for s in CheckoutStep::ALL {
        m.record_funnel_step(FunnelStep::Checkout(*s), ctx).unwrap();
    }
    m.record_conversion("purchase", ctx, secs).unwrap();
    m.record_revenue(sale).unwrap();
}
