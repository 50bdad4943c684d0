//! Helpers for a service's unit tests (feature `testing`): an in-memory pipeline
//! with the production views, and snapshots to assert what a handler recorded.
//!
//! [`TestRecorder`] owns an SDK meter provider whose only reader is an
//! in-memory [`ManualReader`], with the same views the real pipeline installs (the
//! catalog's buckets and attribute keys, and the default cardinality limit). Its
//! [`business_metrics`](TestRecorder::business_metrics) records into it, and so do
//! instruments created from [`meter_provider`](TestRecorder::meter_provider).
//! [`collect`](TestRecorder::collect) returns a [`Snapshot`] queried by OpenTelemetry
//! instrument name and a subset of attributes. Each recorder is independent: tests
//! running in parallel never see each other's values (do not install it as the
//! global provider for that reason).
//!
//! # Example
//!
//! ```
//! use business_metrics::catalog::names;
//! use business_metrics::{DeviceType, FunnelContext, Revenue};
//! use business_metrics_exporter::testing::TestRecorder;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let recorder = TestRecorder::new();
//! let metrics = recorder.business_metrics(); // give this to the code under test
//! let before = recorder.collect()?;
//!
//! // The code under test: a handler, a service method...
//! let ctx = FunnelContext::new("google_ads", DeviceType::Mobile);
//! let checkout = metrics.checkout(&ctx, metrics.now())?;
//! checkout.cart_view();
//! checkout.purchase_completed(&Revenue::new(4_999, "electronics", "card", "us_west"))?;
//!
//! // What was recorded during the call.
//! let during = recorder.collect()?.since(&before);
//! assert_eq!(during.funnel_step("checkout", "order_confirmed")?, 1);
//! assert_eq!(
//!     during.counter_u64(names::FUNNEL_STEP, &[("step", "cart_view"), ("source", "google_ads")])?,
//!     1
//! );
//! assert_eq!(during.conversions("purchase")?, 1);
//! let orders = during.histogram(names::ORDER_VALUE_CENTS, &[("currency", "USD")])?;
//! assert_eq!((orders.count, orders.sum), (1, 4_999.0));
//! // Buckets 500, 1000, 2500, 5000, ... and +Inf: 4,999 lands in the fourth.
//! assert_eq!(orders.bucket_counts, [0, 0, 0, 1, 0, 0, 0, 0]);
//!
//! // A missing series is an error that lists what there is.
//! let err = during.funnel_step("checkout", "order_confirmd").unwrap_err();
//! assert!(err.to_string().contains("step=\"order_confirmed\""), "{err}");
//!
//! // `Display` shows everything recorded, for failure messages.
//! println!("{during}");
//! # Ok(())
//! # }
//! ```
//!
//! # What a snapshot holds
//!
//! Values are cumulative since the recorder was created, as the real pipeline
//! exports them; [`Snapshot::since`] turns two snapshots into what happened between
//! them. Counts held by the pre-resolved series of `business-metrics` are handed to
//! the SDK by an observable callback that every collection runs, so they are
//! visible as soon as the recording call returns.
//!
//! | Query | Instrument kind | Result |
//! |---|---|---|
//! | [`counter_u64`](Snapshot::counter_u64), [`counter_f64`](Snapshot::counter_f64), [`counter_i64`](Snapshot::counter_i64) | counters, up-down counters, observable counters | the sum over the matching series |
//! | [`histogram`](Snapshot::histogram) | histograms (explicit or exponential) | count, sum and buckets summed over the matching series |
//! | [`gauge_u64`](Snapshot::gauge_u64), [`gauge_f64`](Snapshot::gauge_f64), [`gauge_i64`](Snapshot::gauge_i64) | gauges, observable gauges | the value of the one matching series |
//! | [`series`](Snapshot::series) | any | every matching series (attributes and value) |
//! | [`funnel_step`](Snapshot::funnel_step), [`funnel_steps`](Snapshot::funnel_steps), [`conversions`](Snapshot::conversions), [`rejected_events`](Snapshot::rejected_events) | the built-in vocabulary | counts by funnel and step, conversion type, reject reason |
//!
//! A filter is a list of `(key, value)` pairs that a series' attributes must
//! include; `&[]` matches every series. Values compare as text (`"true"` for a
//! boolean attribute). A query that finds nothing returns a [`LookupError`] saying
//! what there is instead.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use business_metrics::catalog::{keys, names};
use business_metrics::{BusinessMetrics, Catalog, Clock, LabelPolicy};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{self, AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};

use crate::views;

/// The protobuf encoder of the OTLP exporters (`http/protobuf` and `grpc`): what
/// they send for a collection. For benchmarks and payload tests; not part of the
/// stable API.
#[doc(hidden)]
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
pub use crate::otlp::{EncodeError, OtlpEncoder};

/// An in-memory metrics pipeline for a unit test: business metrics and the
/// service's own instruments record into it, [`collect`](Self::collect) reads it.
///
/// Build it with the same catalog (and label policy) as the service, so its views
/// give the same buckets and attribute filtering as production.
#[derive(Debug)]
pub struct TestRecorder {
    provider: SdkMeterProvider,
    reader: TestReader,
    business: BusinessMetrics,
    catalog: Catalog,
}

/// Builds a [`TestRecorder`].
#[derive(Debug)]
pub struct TestRecorderBuilder {
    catalog: Catalog,
    policy: LabelPolicy,
    clock: Option<Arc<dyn Clock>>,
}

impl TestRecorderBuilder {
    /// Sets the catalog the views and the business metrics come from (default:
    /// [`Catalog::built_in`]).
    #[must_use]
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// Sets the label policy the business metrics record with (default:
    /// [`LabelPolicy::default`]).
    #[must_use]
    pub fn with_label_policy(mut self, policy: LabelPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the clock the business metrics read (default: the system clock); a
    /// [`ManualClock`](business_metrics::ManualClock) makes times to conversion,
    /// session durations and revenue per minute exact.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Creates the pipeline and the business metrics on it.
    #[must_use]
    pub fn build(self) -> TestRecorder {
        let reader = TestReader(Arc::new(
            ManualReader::builder()
                .with_temporality(Temporality::Cumulative)
                .build(),
        ));
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .with_view({
                let catalog = self.catalog.clone();
                move |i| views::stream_for(i, crate::DEFAULT_CARDINALITY_LIMIT, &catalog)
            })
            .build();
        let mut business = BusinessMetrics::builder(
            &provider.meter_with_scope(business_metrics::instrumentation_scope()),
        )
        .with_catalog(self.catalog.clone())
        .with_label_policy(self.policy)
        .with_counter_series_limit(crate::DEFAULT_CARDINALITY_LIMIT);
        if let Some(clock) = self.clock {
            business = business.with_clock(SharedClock(clock));
        }
        TestRecorder {
            provider,
            reader,
            business: business.build(),
            catalog: self.catalog,
        }
    }
}

impl TestRecorder {
    /// A recorder with the built-in catalog and the default label policy.
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A recorder whose views and business metrics use `catalog`: the built-in
    /// entries plus the service's definitions and bucket overrides.
    #[must_use]
    pub fn with_catalog(catalog: Catalog) -> Self {
        Self::builder().with_catalog(catalog).build()
    }

    /// A builder, for a label policy or a clock as well.
    #[must_use]
    pub fn builder() -> TestRecorderBuilder {
        TestRecorderBuilder {
            catalog: Catalog::built_in(),
            policy: LabelPolicy::default(),
            clock: None,
        }
    }

    /// The business metrics recording into this recorder: one instance, every call
    /// returns a handle on it.
    #[must_use]
    pub fn business_metrics(&self) -> BusinessMetrics {
        self.business.clone()
    }

    /// The meter provider, for the service's own instruments (HTTP metrics and
    /// the like).
    #[must_use]
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.provider
    }

    /// The catalog the views come from.
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Everything recorded so far, cumulative since the recorder was created.
    ///
    /// # Errors
    /// [`CollectError`] if the SDK refuses to collect, which happens once the meter
    /// provider has been shut down.
    pub fn collect(&self) -> Result<Snapshot, CollectError> {
        let mut rm = ResourceMetrics::default();
        self.reader
            .0
            .collect(&mut rm)
            .map_err(|e| CollectError::Sdk {
                reason: e.to_string(),
            })?;
        Ok(Snapshot::from_resource_metrics(&rm, self.catalog.clone()))
    }
}

impl Default for TestRecorder {
    fn default() -> Self {
        Self::new()
    }
}

/// The reader given to the provider; the recorder keeps a clone to collect with.
#[derive(Clone, Debug)]
struct TestReader(Arc<ManualReader>);

impl MetricReader for TestReader {
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

/// A clock given to the builder, shared with the business metrics.
#[derive(Debug)]
struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> Instant {
        self.0.now()
    }

    fn now_coarse(&self) -> Instant {
        self.0.now_coarse()
    }
}

/// Why [`TestRecorder::collect`] returned no snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// The SDK refused to collect.
    #[error(
        "could not collect the recorded metrics: {reason}; collect before the meter \
         provider is shut down"
    )]
    Sdk {
        /// The SDK's error.
        reason: String,
    },
}

/// Why a [`Snapshot`] query found no value. The message names what was asked for
/// and shows what there is instead; `Debug` prints the same message, so a failed
/// `unwrap` or a test returning `Err` reads well.
#[derive(Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// No instrument of that name has data (it recorded nothing, or the name is
    /// misspelt).
    #[error(
        "nothing was recorded on {name}; instruments with data: {}",
        list_or_none(recorded)
    )]
    NoInstrument {
        /// The instrument asked for.
        name: String,
        /// The instruments that have data.
        recorded: Vec<String>,
    },
    /// Meters of several scopes have an instrument of that name.
    #[error(
        "{name} is recorded by the meters {}; read it from Snapshot::metrics, choosing \
         the scope",
        scopes.join(", ")
    )]
    AmbiguousName {
        /// The instrument asked for.
        name: String,
        /// The scopes that have it.
        scopes: Vec<String>,
    },
    /// The instrument is of another kind or number type than the query reads.
    #[error("{name} is {found}, not {expected}; read it with Snapshot::{accessor}")]
    WrongKind {
        /// The instrument asked for.
        name: String,
        /// What the query reads, e.g. `u64 counter`.
        expected: String,
        /// What the instrument is, e.g. `f64 histogram`.
        found: String,
        /// The query that reads it.
        accessor: &'static str,
    },
    /// No series of the instrument has the attributes asked for.
    #[error(
        "no series of {name} has {filter}; its series are:\n  {}",
        series.join("\n  ")
    )]
    NoSeries {
        /// The instrument asked for.
        name: String,
        /// The attributes asked for, as `{key="value", ...}`.
        filter: String,
        /// Every series of the instrument with its value.
        series: Vec<String>,
    },
    /// Several series of a gauge have the attributes asked for; a gauge's values
    /// do not add up, so the query must name one.
    #[error(
        "{} series of the gauge {name} have {filter}; give the attributes that pick \
         one:\n  {}",
        series.len(),
        series.join("\n  ")
    )]
    AmbiguousSeries {
        /// The instrument asked for.
        name: String,
        /// The attributes asked for.
        filter: String,
        /// The matching series with their values.
        series: Vec<String>,
    },
}

impl fmt::Debug for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// What an instrument aggregates into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A monotonic sum: a counter or an observable counter.
    Counter,
    /// A sum that may go down: an up-down counter.
    UpDownCounter,
    /// The last value: a gauge or an observable gauge.
    Gauge,
    /// A histogram with explicit bucket boundaries.
    Histogram,
    /// A base-2 exponential histogram.
    ExponentialHistogram,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Counter => "counter",
            Self::UpDownCounter => "up-down counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::ExponentialHistogram => "exponential histogram",
        })
    }
}

/// The number type an instrument records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NumberType {
    /// `u64`.
    U64,
    /// `i64`.
    I64,
    /// `f64`.
    F64,
}

impl fmt::Display for NumberType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::U64 => "u64",
            Self::I64 => "i64",
            Self::F64 => "f64",
        })
    }
}

/// A value of a counter or gauge series, in the instrument's number type.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Number {
    /// From a `u64` instrument.
    U64(u64),
    /// From an `i64` instrument.
    I64(i64),
    /// From an `f64` instrument.
    F64(f64),
}

impl Number {
    /// The value as `f64` (exact up to 2^53).
    #[must_use]
    pub fn as_f64(self) -> f64 {
        match self {
            Self::U64(v) => v as f64,
            Self::I64(v) => v as f64,
            Self::F64(v) => v,
        }
    }

    /// `self - earlier` in the same type (saturating at zero for `u64`).
    fn minus(self, earlier: Self) -> Self {
        match (self, earlier) {
            (Self::U64(a), Self::U64(b)) => Self::U64(a.saturating_sub(b)),
            (Self::I64(a), Self::I64(b)) => Self::I64(a.saturating_sub(b)),
            (Self::F64(a), Self::F64(b)) => Self::F64(a - b),
            (later, _) => later,
        }
    }

    fn is_zero(self) -> bool {
        match self {
            Self::U64(v) => v == 0,
            Self::I64(v) => v == 0,
            Self::F64(v) => v == 0.0,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::U64(v) => write!(f, "{v}"),
            Self::I64(v) => write!(f, "{v}"),
            Self::F64(v) => write!(f, "{v}"),
        }
    }
}

/// The attribute set of a series, sorted by key; values as text.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Attributes(BTreeMap<String, String>);

impl Attributes {
    fn from_key_values<'a>(kvs: impl Iterator<Item = &'a KeyValue>) -> Self {
        Self(
            kvs.map(|kv| (kv.key.as_str().to_owned(), kv.value.to_string()))
                .collect(),
        )
    }

    /// The value of `key`, if the series has it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The keys and values, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many attributes there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every `(key, value)` of `filter` is among these attributes.
    #[must_use]
    pub fn contains(&self, filter: &[(&str, &str)]) -> bool {
        filter.iter().all(|(k, v)| self.get(k) == Some(*v))
    }
}

impl fmt::Display for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_labels(f, self.iter())
    }
}

/// Writes `{key="value", ...}`, values escaped as Rust strings.
fn write_labels<'a>(
    f: &mut fmt::Formatter<'_>,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
) -> fmt::Result {
    f.write_str("{")?;
    for (i, (k, v)) in labels.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{k}={v:?}")?;
    }
    f.write_str("}")
}

/// A filter as `{key="value", ...}`, for messages.
fn filter_text(filter: &[(&str, &str)]) -> String {
    struct Filter<'a>(&'a [(&'a str, &'a str)]);
    impl fmt::Display for Filter<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_labels(f, self.0.iter().copied())
        }
    }
    Filter(filter).to_string()
}

/// A histogram series, or several summed.
///
/// `sum`, `min` and `max` are `f64` whatever the instrument records (exact up to
/// 2^53). Exponential histograms carry count, sum, min and max here, and no
/// buckets.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HistogramData {
    /// How many values were recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest value, if known (a difference of snapshots knows it only
    /// when the earlier one had no values).
    pub min: Option<f64>,
    /// The largest value, if known (as `min`).
    pub max: Option<f64>,
    /// The upper bounds of the buckets, without the implicit `+Inf`.
    pub bounds: Vec<f64>,
    /// The count of each bucket: one more than `bounds`, the last for `+Inf`.
    pub bucket_counts: Vec<u64>,
}

impl HistogramData {
    fn minus(&self, earlier: &Self) -> Self {
        let buckets_match = self.bounds == earlier.bounds
            && self.bucket_counts.len() == earlier.bucket_counts.len();
        let known_extremes = earlier.count == 0;
        Self {
            count: self.count.saturating_sub(earlier.count),
            sum: self.sum - earlier.sum,
            min: self.min.filter(|_| known_extremes),
            max: self.max.filter(|_| known_extremes),
            bounds: self.bounds.clone(),
            bucket_counts: if buckets_match {
                self.bucket_counts
                    .iter()
                    .zip(&earlier.bucket_counts)
                    .map(|(a, b)| a.saturating_sub(*b))
                    .collect()
            } else {
                self.bucket_counts.clone()
            },
        }
    }

    /// Adds another series of the same instrument.
    fn add(&mut self, other: &Self) {
        self.count = self.count.saturating_add(other.count);
        self.sum += other.sum;
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, other.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if self.bounds == other.bounds {
            for (a, b) in self.bucket_counts.iter_mut().zip(&other.bucket_counts) {
                *a = a.saturating_add(*b);
            }
        }
    }
}

impl fmt::Display for HistogramData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "count={} sum={}", self.count, self.sum)?;
        if let Some(min) = self.min {
            write!(f, " min={min}")?;
        }
        if let Some(max) = self.max {
            write!(f, " max={max}")?;
        }
        if !self.bucket_counts.is_empty() {
            f.write_str(" buckets=[")?;
            let bounds = self.bounds.iter().map(|b| b.to_string());
            let labels = bounds.chain(std::iter::once("+Inf".to_owned()));
            for (i, (bound, count)) in labels.zip(&self.bucket_counts).enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{bound}: {count}")?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

/// The value of a series.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SeriesValue {
    /// A counter's sum or a gauge's value.
    Number(Number),
    /// A histogram's count, sum and buckets.
    Histogram(HistogramData),
}

impl fmt::Display for SeriesValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Histogram(h) => write!(f, "{h}"),
        }
    }
}

/// One series of an instrument: an attribute set and its value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Series {
    /// The attributes, after the views dropped the keys the catalog does not allow.
    pub attributes: Attributes,
    /// The value.
    pub value: SeriesValue,
}

impl Series {
    /// The value of a counter or gauge series.
    #[must_use]
    pub fn number(&self) -> Option<Number> {
        match &self.value {
            SeriesValue::Number(n) => Some(*n),
            SeriesValue::Histogram(_) => None,
        }
    }

    /// The value of a histogram series.
    #[must_use]
    pub fn histogram(&self) -> Option<&HistogramData> {
        match &self.value {
            SeriesValue::Histogram(h) => Some(h),
            SeriesValue::Number(_) => None,
        }
    }

    /// Whether a counter's sum or a histogram's count is not zero.
    fn counted(&self) -> bool {
        match &self.value {
            SeriesValue::Number(n) => !n.is_zero(),
            SeriesValue::Histogram(h) => h.count != 0,
        }
    }
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.attributes, self.value)
    }
}

/// One instrument with data, and its series.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Metric {
    /// The OpenTelemetry instrument name, e.g. `business.funnel_step`.
    pub name: String,
    /// The name of the meter's instrumentation scope (`business-metrics` for the
    /// business instruments).
    pub scope: String,
    /// The unit, e.g. `{step}` or `s`.
    pub unit: String,
    /// The description.
    pub description: String,
    /// What the instrument aggregates into.
    pub kind: Kind,
    /// The number type it records.
    pub number_type: NumberType,
    /// Its series, sorted by attributes.
    pub series: Vec<Series>,
}

impl Metric {
    fn from_sdk(metric: &data::Metric, scope: &str) -> Option<Self> {
        let (number_type, (kind, mut series)) = match metric.data() {
            AggregatedMetrics::U64(d) => (NumberType::U64, convert(d, Number::U64)),
            AggregatedMetrics::I64(d) => (NumberType::I64, convert(d, Number::I64)),
            AggregatedMetrics::F64(d) => (NumberType::F64, convert(d, Number::F64)),
        };
        if series.is_empty() {
            // An instrument with no data point (e.g. a gauge never set).
            return None;
        }
        series.sort_by(|a, b| a.attributes.cmp(&b.attributes));
        Some(Self {
            name: metric.name().to_owned(),
            scope: scope.to_owned(),
            unit: metric.unit().to_owned(),
            description: metric.description().to_owned(),
            kind,
            number_type,
            series,
        })
    }

    /// What the instrument is, e.g. `u64 counter`.
    fn type_text(&self) -> String {
        format!("{} {}", self.number_type, self.kind)
    }

    /// The snapshot query that reads this instrument.
    fn accessor(&self) -> &'static str {
        match (self.kind, self.number_type) {
            (Kind::Histogram | Kind::ExponentialHistogram, _) => "histogram",
            (Kind::Counter | Kind::UpDownCounter, NumberType::U64) => "counter_u64",
            (Kind::Counter | Kind::UpDownCounter, NumberType::I64) => "counter_i64",
            (Kind::Counter | Kind::UpDownCounter, NumberType::F64) => "counter_f64",
            (Kind::Gauge, NumberType::U64) => "gauge_u64",
            (Kind::Gauge, NumberType::I64) => "gauge_i64",
            (Kind::Gauge, NumberType::F64) => "gauge_f64",
        }
    }

    fn wrong_kind(&self, expected: String) -> LookupError {
        LookupError::WrongKind {
            name: self.name.clone(),
            expected,
            found: self.type_text(),
            accessor: self.accessor(),
        }
    }

    /// The series whose attributes include `filter`; an error if there is none.
    fn matching(&self, filter: &[(&str, &str)]) -> Result<Vec<&Series>, LookupError> {
        let found: Vec<&Series> = self
            .series
            .iter()
            .filter(|s| s.attributes.contains(filter))
            .collect();
        if found.is_empty() {
            return Err(LookupError::NoSeries {
                name: self.name.clone(),
                filter: filter_text(filter),
                series: self.series.iter().map(ToString::to_string).collect(),
            });
        }
        Ok(found)
    }

    /// The same instrument minus `earlier`'s values (gauges keep their values).
    fn since(&self, earlier: Option<&Self>) -> Self {
        let mut later = self.clone();
        let Some(earlier) = earlier else {
            return later;
        };
        if self.kind == Kind::Gauge {
            return later;
        }
        for series in &mut later.series {
            let Ok(i) = earlier
                .series
                .binary_search_by(|s| s.attributes.cmp(&series.attributes))
            else {
                continue;
            };
            let Some(before) = earlier.series.get(i) else {
                continue;
            };
            series.value = match (&series.value, &before.value) {
                (SeriesValue::Number(a), SeriesValue::Number(b)) => {
                    SeriesValue::Number(a.minus(*b))
                }
                (SeriesValue::Histogram(a), SeriesValue::Histogram(b)) => {
                    SeriesValue::Histogram(a.minus(b))
                }
                (value, _) => value.clone(),
            };
        }
        later
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.name, self.type_text())?;
        if !self.unit.is_empty() {
            write!(f, ", unit {}", self.unit)?;
        }
        write!(f, ", scope {})", self.scope)?;
        for series in &self.series {
            write!(f, "\n  {series}")?;
        }
        Ok(())
    }
}

/// The kind and series of an SDK aggregation.
fn convert<T: Copy>(data: &MetricData<T>, number: fn(T) -> Number) -> (Kind, Vec<Series>) {
    let point = |attrs: &mut dyn Iterator<Item = &KeyValue>, value| Series {
        attributes: Attributes::from_key_values(attrs),
        value,
    };
    let float = |v: T| number(v).as_f64();
    match data {
        MetricData::Sum(sum) => (
            if sum.is_monotonic() {
                Kind::Counter
            } else {
                Kind::UpDownCounter
            },
            sum.data_points()
                .map(|p| point(&mut p.attributes(), SeriesValue::Number(number(p.value()))))
                .collect(),
        ),
        MetricData::Gauge(gauge) => (
            Kind::Gauge,
            gauge
                .data_points()
                .map(|p| point(&mut p.attributes(), SeriesValue::Number(number(p.value()))))
                .collect(),
        ),
        MetricData::Histogram(hist) => (
            Kind::Histogram,
            hist.data_points()
                .map(|p| {
                    let data = HistogramData {
                        count: p.count(),
                        sum: float(p.sum()),
                        min: p.min().map(float),
                        max: p.max().map(float),
                        bounds: p.bounds().collect(),
                        bucket_counts: p.bucket_counts().collect(),
                    };
                    point(&mut p.attributes(), SeriesValue::Histogram(data))
                })
                .collect(),
        ),
        MetricData::ExponentialHistogram(hist) => (
            Kind::ExponentialHistogram,
            hist.data_points()
                .map(|p| {
                    let data = HistogramData {
                        count: u64::try_from(p.count()).unwrap_or(u64::MAX),
                        sum: float(p.sum()),
                        min: p.min().map(float),
                        max: p.max().map(float),
                        bounds: Vec::new(),
                        bucket_counts: Vec::new(),
                    };
                    point(&mut p.attributes(), SeriesValue::Histogram(data))
                })
                .collect(),
        ),
    }
}

/// The number types the counter and gauge queries read.
trait Num: Copy {
    const TYPE: NumberType;
    const ZERO: Self;
    fn from_number(n: Number) -> Option<Self>;
    fn plus(self, other: Self) -> Self;
}

impl Num for u64 {
    const TYPE: NumberType = NumberType::U64;
    const ZERO: Self = 0;
    fn from_number(n: Number) -> Option<Self> {
        match n {
            Number::U64(v) => Some(v),
            _ => None,
        }
    }
    fn plus(self, other: Self) -> Self {
        self.saturating_add(other)
    }
}

impl Num for i64 {
    const TYPE: NumberType = NumberType::I64;
    const ZERO: Self = 0;
    fn from_number(n: Number) -> Option<Self> {
        match n {
            Number::I64(v) => Some(v),
            _ => None,
        }
    }
    fn plus(self, other: Self) -> Self {
        self.saturating_add(other)
    }
}

impl Num for f64 {
    const TYPE: NumberType = NumberType::F64;
    const ZERO: Self = 0.0;
    fn from_number(n: Number) -> Option<Self> {
        match n {
            Number::F64(v) => Some(v),
            _ => None,
        }
    }
    fn plus(self, other: Self) -> Self {
        self + other
    }
}

/// What a [`TestRecorder`] had recorded at one collection, or the difference of
/// two ([`since`](Self::since)). `Display` lists every instrument and series.
#[derive(Clone)]
pub struct Snapshot {
    /// Sorted by name, then scope.
    metrics: Vec<Metric>,
    catalog: Catalog,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.metrics.is_empty() {
            return f.write_str("nothing recorded");
        }
        for (i, metric) in self.metrics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{metric}")?;
        }
        Ok(())
    }
}

impl Snapshot {
    fn from_resource_metrics(rm: &ResourceMetrics, catalog: Catalog) -> Self {
        let mut metrics: Vec<Metric> = rm
            .scope_metrics()
            .flat_map(|sm| {
                let scope = sm.scope().name();
                sm.metrics().filter_map(move |m| Metric::from_sdk(m, scope))
            })
            .collect();
        metrics.sort_by(|a, b| (&a.name, &a.scope).cmp(&(&b.name, &b.scope)));
        Self { metrics, catalog }
    }

    /// Every instrument with data, sorted by name.
    #[must_use]
    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    /// The instrument called `name`.
    ///
    /// # Errors
    /// [`LookupError::NoInstrument`] if it has no data,
    /// [`LookupError::AmbiguousName`] if meters of several scopes have one of that
    /// name.
    pub fn metric(&self, name: &str) -> Result<&Metric, LookupError> {
        let mut found = self.metrics.iter().filter(|m| m.name == name);
        match (found.next(), found.next()) {
            (Some(metric), None) => Ok(metric),
            (None, _) => {
                let mut recorded: Vec<String> =
                    self.metrics.iter().map(|m| m.name.clone()).collect();
                recorded.dedup();
                Err(LookupError::NoInstrument {
                    name: name.to_owned(),
                    recorded,
                })
            }
            (Some(_), Some(_)) => Err(LookupError::AmbiguousName {
                name: name.to_owned(),
                scopes: self
                    .metrics
                    .iter()
                    .filter(|m| m.name == name)
                    .map(|m| m.scope.clone())
                    .collect(),
            }),
        }
    }

    /// The series of the instrument `name` whose attributes include `filter`
    /// (`&[]` for all of them); empty if there are none.
    #[must_use]
    pub fn series(&self, name: &str, filter: &[(&str, &str)]) -> Vec<&Series> {
        self.metrics
            .iter()
            .filter(|m| m.name == name)
            .flat_map(|m| m.series.iter())
            .filter(|s| s.attributes.contains(filter))
            .collect()
    }

    /// The series of counters and histograms whose sum or count is not zero:
    /// after [`since`](Self::since), what was counted in between. Gauges hold
    /// levels, not increments, and are never listed.
    pub fn nonzero_counts(&self) -> impl Iterator<Item = (&Metric, &Series)> {
        self.metrics
            .iter()
            .filter(|m| m.kind != Kind::Gauge)
            .flat_map(|m| m.series.iter().map(move |s| (m, s)))
            .filter(|(_, s)| s.counted())
    }

    /// The sum of the `u64` counter `name` over the series whose attributes
    /// include `filter`.
    ///
    /// # Errors
    /// [`LookupError`] if the instrument has no data, is not a `u64` counter, or
    /// has no such series.
    pub fn counter_u64(&self, name: &str, filter: &[(&str, &str)]) -> Result<u64, LookupError> {
        self.sum(name, filter)
    }

    /// The sum of the `f64` counter `name` over the series whose attributes
    /// include `filter`.
    ///
    /// # Errors
    /// As [`counter_u64`](Self::counter_u64).
    pub fn counter_f64(&self, name: &str, filter: &[(&str, &str)]) -> Result<f64, LookupError> {
        self.sum(name, filter)
    }

    /// The sum of the `i64` counter or up-down counter `name` over the series
    /// whose attributes include `filter`.
    ///
    /// # Errors
    /// As [`counter_u64`](Self::counter_u64).
    pub fn counter_i64(&self, name: &str, filter: &[(&str, &str)]) -> Result<i64, LookupError> {
        self.sum(name, filter)
    }

    /// The value of the `u64` gauge `name` in the one series whose attributes
    /// include `filter`.
    ///
    /// # Errors
    /// [`LookupError`] if the instrument has no data, is not a `u64` gauge, or has
    /// no such series or more than one.
    pub fn gauge_u64(&self, name: &str, filter: &[(&str, &str)]) -> Result<u64, LookupError> {
        self.gauge(name, filter)
    }

    /// The value of the `f64` gauge `name` in the one series whose attributes
    /// include `filter`.
    ///
    /// # Errors
    /// As [`gauge_u64`](Self::gauge_u64).
    pub fn gauge_f64(&self, name: &str, filter: &[(&str, &str)]) -> Result<f64, LookupError> {
        self.gauge(name, filter)
    }

    /// The value of the `i64` gauge `name` in the one series whose attributes
    /// include `filter`.
    ///
    /// # Errors
    /// As [`gauge_u64`](Self::gauge_u64).
    pub fn gauge_i64(&self, name: &str, filter: &[(&str, &str)]) -> Result<i64, LookupError> {
        self.gauge(name, filter)
    }

    /// The histogram `name` summed over the series whose attributes include
    /// `filter`: counts, sums and bucket counts added, the extremes of all.
    ///
    /// # Errors
    /// [`LookupError`] if the instrument has no data, is not a histogram, or has
    /// no such series.
    pub fn histogram(
        &self,
        name: &str,
        filter: &[(&str, &str)],
    ) -> Result<HistogramData, LookupError> {
        let metric = self.metric(name)?;
        let mut total: Option<HistogramData> = None;
        for series in metric.matching(filter)? {
            let Some(h) = series.histogram() else {
                return Err(metric.wrong_kind(format!("{} histogram", metric.number_type)));
            };
            match &mut total {
                Some(t) => t.add(h),
                None => total = Some(h.clone()),
            }
        }
        total.ok_or_else(|| metric.wrong_kind(format!("{} histogram", metric.number_type)))
    }

    /// How many times `step` of `funnel` was recorded (`business.funnel_step`),
    /// over every source, device and variant.
    ///
    /// # Errors
    /// As [`counter_u64`](Self::counter_u64): a step or funnel no series has is
    /// [`LookupError::NoSeries`], listing the series there are.
    pub fn funnel_step(&self, funnel: &str, step: &str) -> Result<u64, LookupError> {
        self.counter_u64(
            names::FUNNEL_STEP,
            &[(keys::FUNNEL, funnel), (keys::STEP, step)],
        )
    }

    /// Every step of `funnel` with data and its count over every source, device
    /// and variant: in the catalog's step order, then steps the catalog does not
    /// list (engagement milestones) by name. Empty if nothing was recorded on the
    /// funnel.
    #[must_use]
    pub fn funnel_steps(&self, funnel: &str) -> Vec<(String, u64)> {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for series in self.series(names::FUNNEL_STEP, &[(keys::FUNNEL, funnel)]) {
            if let (Some(step), Some(Number::U64(n))) =
                (series.attributes.get(keys::STEP), series.number())
            {
                let total = counts.entry(step).or_default();
                *total = total.saturating_add(n);
            }
        }
        let mut steps = Vec::with_capacity(counts.len());
        if let Some(definition) = self.catalog.funnel(funnel) {
            for step in definition.step_values() {
                if let Some(n) = counts.remove(step) {
                    steps.push((step.to_owned(), n));
                }
            }
        }
        steps.extend(counts.into_iter().map(|(s, n)| (s.to_owned(), n)));
        steps
    }

    /// How many conversions of `conversion_type` were recorded
    /// (`business.conversions`), over every source and device.
    ///
    /// # Errors
    /// As [`counter_u64`](Self::counter_u64).
    pub fn conversions(&self, conversion_type: &str) -> Result<u64, LookupError> {
        self.counter_u64(
            names::CONVERSIONS,
            &[(keys::CONVERSION_TYPE, conversion_type)],
        )
    }

    /// How many events were refused for `reason` (`business.rejected_events`),
    /// e.g. `invalid_duration`.
    ///
    /// # Errors
    /// As [`counter_u64`](Self::counter_u64): [`LookupError::NoInstrument`] if
    /// nothing was ever refused.
    pub fn rejected_events(&self, reason: &str) -> Result<u64, LookupError> {
        self.counter_u64(names::REJECTED_EVENTS, &[(keys::REASON, reason)])
    }

    /// What was recorded between `earlier` and this snapshot: counter sums and
    /// histogram counts, sums and buckets are differences, gauges keep this
    /// snapshot's values. Every series of this snapshot is kept, so a series that
    /// did not move reads 0. Histogram `min` and `max` are known only for series
    /// `earlier` had no values in.
    #[must_use]
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            metrics: self
                .metrics
                .iter()
                .map(|m| {
                    m.since(
                        earlier
                            .metrics
                            .iter()
                            .find(|e| e.name == m.name && e.scope == m.scope),
                    )
                })
                .collect(),
            catalog: self.catalog.clone(),
        }
    }

    fn sum<T: Num>(&self, name: &str, filter: &[(&str, &str)]) -> Result<T, LookupError> {
        let metric = self.metric(name)?;
        if !matches!(metric.kind, Kind::Counter | Kind::UpDownCounter)
            || metric.number_type != T::TYPE
        {
            return Err(metric.wrong_kind(format!("{} counter", T::TYPE)));
        }
        let mut total = T::ZERO;
        for series in metric.matching(filter)? {
            let Some(v) = series.number().and_then(T::from_number) else {
                return Err(metric.wrong_kind(format!("{} counter", T::TYPE)));
            };
            total = total.plus(v);
        }
        Ok(total)
    }

    fn gauge<T: Num>(&self, name: &str, filter: &[(&str, &str)]) -> Result<T, LookupError> {
        let metric = self.metric(name)?;
        let expected = || format!("{} gauge", T::TYPE);
        if metric.kind != Kind::Gauge || metric.number_type != T::TYPE {
            return Err(metric.wrong_kind(expected()));
        }
        let found = metric.matching(filter)?;
        let [series] = found.as_slice() else {
            return Err(LookupError::AmbiguousSeries {
                name: metric.name.clone(),
                filter: filter_text(filter),
                series: found.iter().map(ToString::to_string).collect(),
            });
        };
        series
            .number()
            .and_then(T::from_number)
            .ok_or_else(|| metric.wrong_kind(expected()))
    }
}
