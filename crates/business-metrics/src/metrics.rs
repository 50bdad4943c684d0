//! [`BusinessMetrics`]: the instruments of the catalog behind a typed API.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider, ObservableGauge};
use opentelemetry::{global, InstrumentationScope, KeyValue, StringValue, Value};

use crate::catalog::{self, keys, MetricDescriptor};
use crate::clock::{Clock, SystemClock};
use crate::currency::Currency;
use crate::error::RecordError;
use crate::labels::{Dimension, LabelPolicy};
use crate::revenue_window::{RegionSums, RevenueWindow, DEFAULT_MAX_REGIONS};
use crate::series::{
    Binding, CounterSeries, HistogramSeries, LazyCounter, Once, Resolved, SeriesCache,
    SharedValues, DEFAULT_CACHE_CAPACITY,
};
use crate::types::{
    ActiveWindow, CheckoutStep, DeviceType, FunnelStep, UserTier, CHECKOUT_ERROR_STEP,
    CHECKOUT_STEP_VALUES, DEFAULT_EXPERIMENT_VARIANT, MILESTONE_PREFIX, PURCHASE_CONVERSION,
};

/// The instrumentation scope name this crate's meter uses.
pub const SCOPE_NAME: &str = "business-metrics";

/// The largest amount accepted, in minor units: 2^53, the largest integer every export
/// path (an `f64` histogram sum, a Prometheus sample) represents exactly.
pub const MAX_AMOUNT_MINOR: u64 = 1 << 53;

/// The instrumentation scope (`business-metrics` and this crate's version).
#[must_use]
pub fn instrumentation_scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Who is in the funnel: the attributes every funnel step carries besides `step`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunnelContext<'a> {
    /// Traffic source (`google_ads`, `direct`, ...); passes the label policy.
    pub source: &'a str,
    /// Device type.
    pub device_type: DeviceType,
    /// Experiment variant; `None` records `control`.
    pub experiment_variant: Option<&'a str>,
}

impl<'a> FunnelContext<'a> {
    /// A context in the `control` variant.
    #[must_use]
    pub const fn new(source: &'a str, device_type: DeviceType) -> Self {
        Self {
            source,
            device_type,
            experiment_variant: None,
        }
    }

    /// Sets the experiment variant.
    #[must_use]
    pub const fn with_experiment_variant(mut self, variant: &'a str) -> Self {
        self.experiment_variant = Some(variant);
        self
    }
}

/// A sale: recorded on `business.revenue_cents`, `business.order_value_cents` and the
/// revenue-per-minute window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revenue<'a> {
    /// The amount in the currency's minor unit (cents for USD); 1 to
    /// [`MAX_AMOUNT_MINOR`].
    pub amount_minor: u64,
    /// ISO 4217 code, any case (`"USD"`, `"eur"`).
    pub currency: &'a str,
    /// Product category; passes the label policy.
    pub product_category: &'a str,
    /// Payment method; passes the label policy.
    pub payment_method: &'a str,
    /// Sales region; passes the label policy.
    pub region: &'a str,
}

impl<'a> Revenue<'a> {
    /// A sale in US dollars.
    #[must_use]
    pub const fn new(
        amount_minor: u64,
        product_category: &'a str,
        payment_method: &'a str,
        region: &'a str,
    ) -> Self {
        Sale::new(product_category, payment_method, region).with_amount(amount_minor)
    }

    /// Sets the currency (an ISO 4217 code).
    #[must_use]
    pub const fn with_currency(mut self, currency: &'a str) -> Self {
        self.currency = currency;
        self
    }

    /// The sale's labels, without the amount.
    #[must_use]
    pub const fn sale(&self) -> Sale<'a> {
        Sale {
            currency: self.currency,
            product_category: self.product_category,
            payment_method: self.payment_method,
            region: self.region,
        }
    }
}

/// What a sale is recorded by, without its amount: the labels of
/// `business.revenue_cents`, `business.order_value_cents` and the revenue window.
/// Resolve it once with [`BusinessMetrics::bind_sale`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sale<'a> {
    /// ISO 4217 code, any case (`"USD"`, `"eur"`).
    pub currency: &'a str,
    /// Product category; passes the label policy.
    pub product_category: &'a str,
    /// Payment method; passes the label policy.
    pub payment_method: &'a str,
    /// Sales region; passes the label policy.
    pub region: &'a str,
}

impl<'a> Sale<'a> {
    /// A sale in US dollars.
    #[must_use]
    pub const fn new(product_category: &'a str, payment_method: &'a str, region: &'a str) -> Self {
        Self {
            currency: "USD",
            product_category,
            payment_method,
            region,
        }
    }

    /// Sets the currency (an ISO 4217 code).
    #[must_use]
    pub const fn with_currency(mut self, currency: &'a str) -> Self {
        self.currency = currency;
        self
    }

    /// This sale with an amount, for [`BusinessMetrics::record_revenue`].
    #[must_use]
    pub const fn with_amount(&self, amount_minor: u64) -> Revenue<'a> {
        Revenue {
            amount_minor,
            currency: self.currency,
            product_category: self.product_category,
            payment_method: self.payment_method,
            region: self.region,
        }
    }
}

/// Validated funnel attributes, held by trackers so later steps need no validation.
#[derive(Clone, Debug)]
pub(crate) struct FunnelLabels {
    source: StringValue,
    device_type: DeviceType,
    variant: StringValue,
}

impl FunnelLabels {
    fn attributes(&self, step: StringValue) -> [KeyValue; 4] {
        [
            KeyValue::new(keys::STEP, Value::String(step)),
            KeyValue::new(keys::SOURCE, Value::String(self.source.clone())),
            KeyValue::new(keys::DEVICE_TYPE, self.device_type.as_str()),
            KeyValue::new(
                keys::EXPERIMENT_VARIANT,
                Value::String(self.variant.clone()),
            ),
        ]
    }

    fn conversion_attributes(&self, conversion_type: StringValue) -> [KeyValue; 3] {
        [
            KeyValue::new(keys::CONVERSION_TYPE, Value::String(conversion_type)),
            KeyValue::new(keys::SOURCE, Value::String(self.source.clone())),
            KeyValue::new(keys::DEVICE_TYPE, self.device_type.as_str()),
        ]
    }
}

/// A label value to keep: reference counted, so every copy the SDK or a cached
/// attribute set makes shares one allocation.
fn string_value(v: Cow<'_, str>) -> StringValue {
    StringValue::from(Arc::<str>::from(v))
}

/// Where `checkout_error` sits among [`CHECKOUT_STEP_VALUES`].
pub(crate) const CHECKOUT_ERROR_INDEX: usize = CHECKOUT_STEP_VALUES.len() - 1;

#[inline]
pub(crate) fn checkout_step_index(step: CheckoutStep) -> usize {
    // The variants are declared in funnel order, as CHECKOUT_STEP_VALUES lists them
    // (a test in `types` holds the two together).
    step as usize
}

/// A funnel step, resolved: a checkout step by its index in
/// [`CHECKOUT_STEP_VALUES`], or a milestone by its value.
pub(crate) enum StepRef {
    Checkout(usize),
    Other(StringValue),
}

/// The series of one funnel context, each created on first use.
pub(crate) struct FunnelSeries {
    labels: FunnelLabels,
    binding: Binding,
    steps: [LazyCounter; CHECKOUT_STEP_VALUES.len()],
    /// Shared by the contexts that differ only in their variant (purchases carry no
    /// variant).
    purchases: OnceLock<Arc<CounterSeries>>,
    touched: Once,
}

impl FunnelSeries {
    fn new(labels: FunnelLabels, binding: Binding) -> Self {
        Self {
            labels,
            binding,
            steps: std::array::from_fn(|_| LazyCounter::new()),
            purchases: OnceLock::new(),
            touched: Once::new(),
        }
    }

    #[inline]
    fn step(&self, i: &Instruments, index: usize) -> Option<&CounterSeries> {
        let lazy = self.steps.get(index)?;
        if let Some(series) = lazy.get() {
            return Some(series);
        }
        let value = *CHECKOUT_STEP_VALUES.get(index)?;
        Some(lazy.get_or_init(|| {
            CounterSeries::new(
                &i.funnel_step,
                self.labels.attributes(StringValue::from(value)).into(),
                self.binding,
            )
        }))
    }

    /// Flushes the step series (purchases are flushed where they are shared).
    fn flush_steps(&self) {
        for step in &self.steps {
            if let Some(series) = step.get() {
                series.flush();
            }
        }
    }

    fn purchases(&self, inner: &Inner) -> &CounterSeries {
        self.purchases.get_or_init(|| {
            let series = || {
                Arc::new(CounterSeries::new(
                    &inner.instruments.conversions,
                    self.labels
                        .conversion_attributes(StringValue::from(PURCHASE_CONVERSION))
                        .into(),
                    self.binding,
                ))
            };
            match self.binding {
                // Bounded by the funnel cache: one entry per cached source and device.
                Binding::Bound => Arc::clone(
                    inner
                        .purchases
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .entry((self.labels.source.clone(), self.labels.device_type))
                        .or_insert_with(series),
                ),
                Binding::Unbound => series(),
            }
        })
    }
}

impl fmt::Debug for FunnelSeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunnelSeries")
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

/// The series of one sale combination (currency, category, payment method, region).
pub(crate) struct SaleSeries {
    revenue: CounterSeries,
    order_value: Arc<HistogramSeries<u64>>,
    region: Arc<RegionSums>,
}

struct Instruments {
    funnel_step: Counter<u64>,
    conversions: Counter<u64>,
    time_to_conversion: Histogram<f64>,
    revenue: Counter<u64>,
    order_value: Histogram<u64>,
    feature_usage: Counter<u64>,
    session_duration: Histogram<f64>,
    active_users: Gauge<u64>,
    rejected: Counter<u64>,
    // Held so the callback's registration lives as long as the handle.
    _revenue_per_minute: ObservableGauge<u64>,
    _pending_counts: ObservableGauge<u64>,
}

/// The name of the instrument whose callback flushes the counts held by cached
/// series before each collection. It never reports a value, so no reader exports it.
pub(crate) const PENDING_COUNTS: &str = "business.pending_counts";

/// The instrument that flushes `inner`'s cached series whenever a reader collects.
/// It holds `inner` weakly: dropping the last handle flushes one last time.
fn pending_counts(meter: &Meter, inner: std::sync::Weak<Inner>) -> ObservableGauge<u64> {
    meter
        .u64_observable_gauge(PENDING_COUNTS)
        .with_description(
            "Never reported: its callback hands the counts held by pre-resolved \
             series to their counters before each collection.",
        )
        .with_callback(move |_| {
            if let Some(inner) = inner.upgrade() {
                inner.flush();
            }
        })
        .build()
}

fn counter(meter: &Meter, d: &'static MetricDescriptor) -> Counter<u64> {
    meter
        .u64_counter(d.name)
        .with_unit(d.unit)
        .with_description(d.description)
        .build()
}

fn f64_histogram(meter: &Meter, d: &'static MetricDescriptor) -> Histogram<f64> {
    meter
        .f64_histogram(d.name)
        .with_unit(d.unit)
        .with_description(d.description)
        .with_boundaries(d.buckets.to_vec())
        .build()
}

fn u64_histogram(meter: &Meter, d: &'static MetricDescriptor) -> Histogram<u64> {
    meter
        .u64_histogram(d.name)
        .with_unit(d.unit)
        .with_description(d.description)
        .with_boundaries(d.buckets.to_vec())
        .build()
}

struct Inner {
    instruments: Instruments,
    policy: LabelPolicy,
    clock: Arc<dyn Clock>,
    window: Arc<RevenueWindow>,
    funnels: SeriesCache<FunnelSeries>,
    sales: SeriesCache<SaleSeries>,
    /// The label values of funnel contexts and sales, one copy each.
    values: SharedValues,
    /// Order-value series per product category, shared by the cached sales.
    order_values: Mutex<HashMap<Arc<str>, Arc<HistogramSeries<u64>>>>,
    /// Purchase series per source and device, shared by the cached funnel contexts.
    purchases: Mutex<HashMap<(StringValue, DeviceType), Arc<CounterSeries>>>,
    purchase_time: OnceLock<HistogramSeries<f64>>,
}

impl Inner {
    /// Hands the counts of every cached counter series to the SDK. Runs before each
    /// collection, from the callback of `business.pending_counts`.
    fn flush(&self) {
        self.funnels.for_each(FunnelSeries::flush_steps);
        for series in self
            .purchases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            series.flush();
        }
        self.sales.for_each(|sale| sale.revenue.flush());
    }
}

impl Drop for Inner {
    /// The last handle is gone: what its series counted since the last collection
    /// goes to the SDK, which exports it with the next one.
    fn drop(&mut self) {
        self.flush();
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusinessMetrics")
            .field("policy", &self.policy)
            .field("clock", &self.clock)
            .field("cached_funnels", &self.funnels.len())
            .field("cached_sales", &self.sales.len())
            .finish_non_exhaustive()
    }
}

/// The business instruments of the [catalog](crate::catalog), created once and cloned
/// cheaply into every handler that records.
///
/// Every `record_*` method validates all its input before it records anything: a
/// refused event returns a [`RecordError`], records nothing, and increments
/// `business.rejected_events{reason}`. With no meter provider installed, recording
/// is a no-op.
///
/// Create one per meter provider: a second instance on the same meter registers a
/// second revenue-per-minute callback.
#[derive(Clone, Debug)]
pub struct BusinessMetrics {
    inner: Arc<Inner>,
}

/// Builds [`BusinessMetrics`].
#[derive(Debug)]
pub struct BusinessMetricsBuilder {
    meter: Meter,
    policy: LabelPolicy,
    clock: Arc<dyn Clock>,
    max_regions: usize,
    cache_capacity: usize,
}

impl BusinessMetricsBuilder {
    /// Sets the label policy (default: [`LabelPolicy::default`]).
    #[must_use]
    pub fn with_label_policy(mut self, policy: LabelPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the clock (default: [`SystemClock`]).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets how many regions the revenue-per-minute window tracks before it sums
    /// further regions under `other` (default 1000; at least 1).
    #[must_use]
    pub fn with_max_revenue_regions(mut self, max_regions: usize) -> Self {
        self.max_regions = max_regions;
        self
    }

    /// Sets how many label combinations of each kind (funnel contexts; sales by
    /// currency, category, payment method and region) keep pre-resolved series
    /// (default 2048; 0 turns the caches off). Combinations past it are recorded
    /// the same way at the cost of a plain API call.
    #[must_use]
    pub fn with_series_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Creates the instruments.
    #[must_use]
    pub fn build(self) -> BusinessMetrics {
        let meter = &self.meter;
        let window = Arc::new(RevenueWindow::new(
            Arc::clone(&self.clock),
            self.max_regions,
        ));
        let observed = Arc::clone(&window);
        let d = &catalog::REVENUE_PER_MINUTE_CENTS;
        let revenue_per_minute = meter
            .u64_observable_gauge(d.name)
            .with_unit(d.unit)
            .with_description(d.description)
            .with_callback(move |observer| {
                // Never panics or blocks for long: a short lock and arithmetic.
                for (region, total) in observed.snapshot() {
                    observer.observe(
                        total,
                        &[KeyValue::new(keys::REGION, Value::String(region.into()))],
                    );
                }
            })
            .build();
        let cache_capacity = self.cache_capacity;
        let (policy, clock) = (self.policy, self.clock);
        let inner = Arc::new_cyclic(|weak| Inner {
            instruments: Instruments {
                funnel_step: counter(meter, &catalog::FUNNEL_STEP),
                conversions: counter(meter, &catalog::CONVERSIONS),
                time_to_conversion: f64_histogram(meter, &catalog::TIME_TO_CONVERSION),
                revenue: counter(meter, &catalog::REVENUE_CENTS),
                order_value: u64_histogram(meter, &catalog::ORDER_VALUE_CENTS),
                feature_usage: counter(meter, &catalog::FEATURE_USAGE),
                session_duration: f64_histogram(meter, &catalog::SESSION_DURATION),
                active_users: meter
                    .u64_gauge(catalog::ACTIVE_USERS.name)
                    .with_unit(catalog::ACTIVE_USERS.unit)
                    .with_description(catalog::ACTIVE_USERS.description)
                    .build(),
                rejected: counter(meter, &catalog::REJECTED_EVENTS),
                _revenue_per_minute: revenue_per_minute,
                _pending_counts: pending_counts(meter, weak.clone()),
            },
            policy,
            clock,
            window,
            funnels: SeriesCache::new(cache_capacity),
            sales: SeriesCache::new(cache_capacity),
            values: SharedValues::new(cache_capacity),
            order_values: Mutex::new(HashMap::new()),
            purchases: Mutex::new(HashMap::new()),
            purchase_time: OnceLock::new(),
        });
        BusinessMetrics { inner }
    }
}

/// Checks a duration in seconds: finite and not negative.
pub(crate) fn check_duration(field: &'static str, secs: f64) -> Result<f64, RecordError> {
    if secs.is_finite() && secs >= 0.0 {
        // -0.0 passes the comparison; record it as 0.
        Ok(secs.abs())
    } else {
        Err(RecordError::InvalidDuration { field, value: secs })
    }
}

/// Seconds from `start` to `now`, negative when `start` lies in the future.
pub(crate) fn seconds_between(start: Instant, now: Instant) -> f64 {
    match now.checked_duration_since(start) {
        Some(d) => d.as_secs_f64(),
        None => -start.duration_since(now).as_secs_f64(),
    }
}

pub(crate) fn check_amount(amount: u64) -> Result<u64, RecordError> {
    let problem = if amount == 0 {
        "an amount must be at least 1; do not record zero-value orders as revenue"
    } else if amount > MAX_AMOUNT_MINOR {
        "an amount must be at most 2^53 minor units; check that it is in minor units"
    } else {
        return Ok(amount);
    };
    Err(RecordError::InvalidAmount {
        field: "amount_minor",
        value: amount,
        problem,
    })
}

/// A validated sale's labels.
struct SaleLabels {
    currency: Currency,
    product_category: StringValue,
    payment_method: StringValue,
    region: StringValue,
}

impl BusinessMetrics {
    /// Starts a builder on a meter.
    #[must_use]
    pub fn builder(meter: &Meter) -> BusinessMetricsBuilder {
        BusinessMetricsBuilder {
            meter: meter.clone(),
            policy: LabelPolicy::default(),
            clock: Arc::new(SystemClock),
            max_regions: DEFAULT_MAX_REGIONS,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        }
    }

    /// Creates the instruments on a meter with the default policy and clock.
    #[must_use]
    pub fn new(meter: &Meter) -> Self {
        Self::builder(meter).build()
    }

    /// Creates the instruments on a provider's meter for this crate's
    /// [instrumentation scope](instrumentation_scope).
    #[must_use]
    pub fn from_provider<P: MeterProvider + ?Sized>(provider: &P) -> Self {
        Self::new(&provider.meter_with_scope(instrumentation_scope()))
    }

    /// Creates the instruments on the global meter provider (a no-op until one is set).
    #[must_use]
    pub fn global() -> Self {
        Self::new(&global::meter_with_scope(instrumentation_scope()))
    }

    /// The label policy free-form values pass through.
    #[must_use]
    pub fn label_policy(&self) -> &LabelPolicy {
        &self.inner.policy
    }

    /// The current instant on this instance's clock (use it as a session start).
    #[must_use]
    pub fn now(&self) -> Instant {
        self.inner.clock.now()
    }

    /// The clock's [coarse](Clock::now_coarse) instant, for the revenue window.
    pub(crate) fn now_coarse(&self) -> Instant {
        self.inner.clock.now_coarse()
    }

    /// Revenue over the trailing 60 seconds per region, as the
    /// `business.revenue_per_minute_cents` gauge reports it, sorted by region.
    #[must_use]
    pub fn revenue_last_minute(&self) -> Vec<(String, u64)> {
        self.inner
            .window
            .snapshot()
            .into_iter()
            .map(|(region, total)| (region.to_string(), total))
            .collect()
    }

    /// Passes a refusal through, counting it on `business.rejected_events`.
    #[inline]
    pub(crate) fn rejected<T>(&self, result: Result<T, RecordError>) -> Result<T, RecordError> {
        if let Err(e) = &result {
            self.count_rejection(e);
        }
        result
    }

    #[cold]
    fn count_rejection(&self, e: &RecordError) {
        self.inner
            .instruments
            .rejected
            .add(1, &[KeyValue::new(keys::REASON, e.reason())]);
    }

    pub(crate) fn label(
        &self,
        dimension: Dimension,
        raw: &str,
    ) -> Result<StringValue, RecordError> {
        self.inner.policy.apply(dimension, raw).map(string_value)
    }

    /// A label value of a funnel context or a sale: one copy per value, shared by
    /// every series that carries it.
    fn shared_label(&self, dimension: Dimension, raw: &str) -> Result<StringValue, RecordError> {
        let value = self.inner.policy.apply(dimension, raw)?;
        Ok(StringValue::from(self.inner.values.get(value)))
    }

    pub(crate) fn funnel_labels(
        &self,
        ctx: &FunnelContext<'_>,
    ) -> Result<FunnelLabels, RecordError> {
        Ok(FunnelLabels {
            source: self.shared_label(Dimension::Source, ctx.source)?,
            device_type: ctx.device_type,
            variant: self.shared_label(
                Dimension::ExperimentVariant,
                ctx.experiment_variant.unwrap_or(DEFAULT_EXPERIMENT_VARIANT),
            )?,
        })
    }

    pub(crate) fn step_value(&self, step: FunnelStep<'_>) -> Result<StringValue, RecordError> {
        Ok(match step {
            FunnelStep::Checkout(s) => StringValue::from(s.as_str()),
            FunnelStep::CheckoutError => StringValue::from(CHECKOUT_ERROR_STEP),
            FunnelStep::Milestone(name) => {
                let name = self.inner.policy.apply(Dimension::Milestone, name)?;
                StringValue::from(format!("{MILESTONE_PREFIX}{name}"))
            }
        })
    }

    /// Resolves a step; a milestone name passes the label policy.
    pub(crate) fn step_ref(&self, step: FunnelStep<'_>) -> Result<StepRef, RecordError> {
        Ok(match step {
            FunnelStep::Checkout(s) => StepRef::Checkout(checkout_step_index(s)),
            FunnelStep::CheckoutError => StepRef::Checkout(CHECKOUT_ERROR_INDEX),
            FunnelStep::Milestone(_) => StepRef::Other(self.step_value(step)?),
        })
    }

    /// The series of a funnel context: cached after the first validation.
    pub(crate) fn funnel(
        &self,
        ctx: &FunnelContext<'_>,
    ) -> Result<Resolved<'_, FunnelSeries>, RecordError> {
        let key = [
            ctx.source,
            ctx.device_type.as_str(),
            ctx.experiment_variant.unwrap_or(DEFAULT_EXPERIMENT_VARIANT),
        ];
        let funnels = &self.inner.funnels;
        if let Some((idx, series)) = funnels.get(&key) {
            return Ok(Resolved::Cached(idx, series));
        }
        let labels = self.funnel_labels(ctx)?;
        Ok(
            match funnels.insert_with(&key, || FunnelSeries::new(labels.clone(), Binding::Bound)) {
                Some((idx, series)) => Resolved::Cached(idx, series),
                None => Resolved::Owned(Box::new(FunnelSeries::new(labels, Binding::Unbound))),
            },
        )
    }

    pub(crate) fn funnels(&self) -> &SeriesCache<FunnelSeries> {
        &self.inner.funnels
    }

    /// Records a step on a funnel context's series.
    #[inline]
    pub(crate) fn add_step(&self, funnel: &FunnelSeries, step: StepRef) {
        match step {
            StepRef::Checkout(index) => self.add_checkout_step(funnel, index),
            StepRef::Other(value) => self.add_funnel_step(&funnel.labels, value),
        }
    }

    /// Records the checkout step at `index` of [`CHECKOUT_STEP_VALUES`].
    #[inline]
    pub(crate) fn add_checkout_step(&self, funnel: &FunnelSeries, index: usize) {
        let i = &self.inner.instruments;
        if let Some(series) = funnel.step(i, index) {
            series.add(&i.funnel_step, 1);
        }
    }

    pub(crate) fn add_funnel_step(&self, labels: &FunnelLabels, step: StringValue) {
        self.inner
            .instruments
            .funnel_step
            .add(1, &labels.attributes(step));
    }

    /// Creates the series of every checkout step and of purchases for a context,
    /// at 0, so rates and ratios exist before the first event.
    pub(crate) fn touch_funnel(&self, funnel: &FunnelSeries) {
        if !funnel.touched.first() {
            return;
        }
        let i = &self.inner.instruments;
        for index in 0..CHECKOUT_STEP_VALUES.len() {
            if let Some(series) = funnel.step(i, index) {
                series.add(&i.funnel_step, 0);
            }
        }
        funnel.purchases(&self.inner).add(&i.conversions, 0);
    }

    /// Records the end of a purchase on a funnel context's series: the
    /// `order_confirmed` step and the purchase conversion taking `secs`.
    #[inline]
    pub(crate) fn complete_purchase(&self, funnel: &FunnelSeries, secs: f64) {
        self.add_checkout_step(funnel, checkout_step_index(CheckoutStep::OrderConfirmed));
        self.add_purchase(funnel, secs);
    }

    /// Records a purchase conversion on a funnel context's series.
    #[inline]
    pub(crate) fn add_purchase(&self, funnel: &FunnelSeries, secs: f64) {
        let i = &self.inner.instruments;
        self.inner
            .purchase_time
            .get_or_init(|| {
                HistogramSeries::new(
                    &i.time_to_conversion,
                    vec![KeyValue::new(keys::CONVERSION_TYPE, PURCHASE_CONVERSION)],
                    Binding::Bound,
                )
            })
            .record(secs);
        funnel.purchases(&self.inner).add(&i.conversions, 1);
    }

    fn add_conversion(&self, labels: &FunnelLabels, conversion_type: StringValue, secs: f64) {
        let i = &self.inner.instruments;
        i.time_to_conversion.record(
            secs,
            &[KeyValue::new(
                keys::CONVERSION_TYPE,
                Value::String(conversion_type.clone()),
            )],
        );
        i.conversions
            .add(1, &labels.conversion_attributes(conversion_type));
    }

    /// Validates a sale: the amount on every call, the labels when the combination
    /// is not cached yet.
    pub(crate) fn sale(
        &self,
        revenue: &Revenue<'_>,
    ) -> Result<(u64, Resolved<'_, SaleSeries>), RecordError> {
        let amount = check_amount(revenue.amount_minor)?;
        Ok((amount, self.resolve_sale(&revenue.sale())?))
    }

    /// The series of a sale combination: cached after the first validation.
    pub(crate) fn resolve_sale(
        &self,
        sale: &Sale<'_>,
    ) -> Result<Resolved<'_, SaleSeries>, RecordError> {
        let key = [
            sale.currency,
            sale.product_category,
            sale.payment_method,
            sale.region,
        ];
        let sales = &self.inner.sales;
        if let Some((idx, series)) = sales.get(&key) {
            return Ok(Resolved::Cached(idx, series));
        }
        let labels = SaleLabels {
            currency: Currency::parse(sale.currency)?,
            product_category: self
                .shared_label(Dimension::ProductCategory, sale.product_category)?,
            payment_method: self.shared_label(Dimension::PaymentMethod, sale.payment_method)?,
            region: self.shared_label(Dimension::Region, sale.region)?,
        };
        Ok(
            match sales.insert_with(&key, || self.sale_series(&labels, Binding::Bound)) {
                Some((idx, series)) => Resolved::Cached(idx, series),
                None => Resolved::Owned(Box::new(self.sale_series(&labels, Binding::Unbound))),
            },
        )
    }

    pub(crate) fn sales(&self) -> &SeriesCache<SaleSeries> {
        &self.inner.sales
    }

    fn sale_series(&self, labels: &SaleLabels, binding: Binding) -> SaleSeries {
        let i = &self.inner.instruments;
        let category = &labels.product_category;
        let order_value = || {
            Arc::new(HistogramSeries::new(
                &i.order_value,
                vec![KeyValue::new(
                    keys::PRODUCT_CATEGORY,
                    Value::String(category.clone()),
                )],
                binding,
            ))
        };
        let order_value = match binding {
            // Bounded by the sales cache: one entry per cached category.
            Binding::Bound => Arc::clone(
                self.inner
                    .order_values
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(Arc::from(category.as_str()))
                    .or_insert_with(order_value),
            ),
            Binding::Unbound => order_value(),
        };
        SaleSeries {
            revenue: CounterSeries::new(
                &i.revenue,
                vec![
                    KeyValue::new(keys::PRODUCT_CATEGORY, Value::String(category.clone())),
                    KeyValue::new(
                        keys::PAYMENT_METHOD,
                        Value::String(labels.payment_method.clone()),
                    ),
                    KeyValue::new(keys::REGION, Value::String(labels.region.clone())),
                    KeyValue::new(keys::CURRENCY, labels.currency.code()),
                ],
                binding,
            ),
            order_value,
            region: self.inner.window.region(labels.region.as_str()),
        }
    }

    /// Records a validated sale at `at` (an instant of this instance's clock).
    #[inline]
    pub(crate) fn add_sale(&self, amount: u64, sale: &SaleSeries, at: Instant) {
        sale.order_value.record(amount);
        self.inner.window.add_at(&sale.region, at, amount);
        sale.revenue.add(&self.inner.instruments.revenue, amount);
    }

    /// Records one funnel step (`business.funnel_step`).
    ///
    /// # Errors
    /// A label value refused by the policy, or an empty or overlong milestone name.
    pub fn record_funnel_step(
        &self,
        step: FunnelStep<'_>,
        ctx: &FunnelContext<'_>,
    ) -> Result<(), RecordError> {
        let index = match step {
            FunnelStep::Checkout(s) => checkout_step_index(s),
            FunnelStep::CheckoutError => CHECKOUT_ERROR_INDEX,
            FunnelStep::Milestone(_) => {
                let (step, funnel) =
                    self.rejected(self.step_ref(step).and_then(|s| Ok((s, self.funnel(ctx)?))))?;
                self.add_step(funnel.get(), step);
                return Ok(());
            }
        };
        // A checkout step needs no validation of its own: only the context's.
        let funnel = self.rejected(self.funnel(ctx))?;
        self.add_checkout_step(funnel.get(), index);
        Ok(())
    }

    /// Records a conversion (`business.conversions`) and the time it took
    /// (`business.time_to_conversion`), given in seconds.
    ///
    /// # Errors
    /// A negative, NaN or infinite duration, or a label value refused by the policy.
    pub fn record_conversion(
        &self,
        conversion_type: &str,
        ctx: &FunnelContext<'_>,
        time_to_conversion_secs: f64,
    ) -> Result<(), RecordError> {
        let (secs, conversion_type, funnel) = self.rejected((|| {
            Ok((
                check_duration("time_to_conversion", time_to_conversion_secs)?,
                self.inner
                    .policy
                    .apply(Dimension::ConversionType, conversion_type)?,
                self.funnel(ctx)?,
            ))
        })())?;
        if conversion_type == PURCHASE_CONVERSION {
            self.add_purchase(funnel.get(), secs);
        } else {
            self.add_conversion(&funnel.get().labels, string_value(conversion_type), secs);
        }
        Ok(())
    }

    /// Records a conversion whose session started at `session_start` (an instant of
    /// this instance's [clock](Self::now)); the time to conversion runs until now.
    ///
    /// # Errors
    /// As [`record_conversion`](Self::record_conversion); a start in the future is an
    /// invalid (negative) duration.
    pub fn record_conversion_since(
        &self,
        conversion_type: &str,
        ctx: &FunnelContext<'_>,
        session_start: Instant,
    ) -> Result<(), RecordError> {
        let secs = seconds_between(session_start, self.now());
        self.record_conversion(conversion_type, ctx, secs)
    }

    /// Records a sale: `business.revenue_cents` (with its currency),
    /// `business.order_value_cents`, and the revenue-per-minute window.
    ///
    /// # Errors
    /// An amount of 0 or above [`MAX_AMOUNT_MINOR`], an unknown currency, or a label
    /// value refused by the policy.
    pub fn record_revenue(&self, revenue: &Revenue<'_>) -> Result<(), RecordError> {
        let (amount, sale) = self.rejected(self.sale(revenue))?;
        self.add_sale(amount, sale.get(), self.now_coarse());
        Ok(())
    }

    /// Records one use of a feature (`business.feature_usage`).
    ///
    /// # Errors
    /// An empty or overlong feature name.
    pub fn record_feature_usage(
        &self,
        feature_name: &str,
        user_tier: UserTier,
        is_new_user: bool,
    ) -> Result<(), RecordError> {
        let feature = self.rejected(self.label(Dimension::FeatureName, feature_name))?;
        self.add_feature_usage(feature, user_tier, is_new_user);
        Ok(())
    }

    pub(crate) fn add_feature_usage(
        &self,
        feature: StringValue,
        user_tier: UserTier,
        is_new_user: bool,
    ) {
        self.inner.instruments.feature_usage.add(
            1,
            &[
                KeyValue::new(keys::FEATURE_NAME, Value::String(feature)),
                KeyValue::new(keys::USER_TIER, user_tier.as_str()),
                KeyValue::new(
                    keys::IS_NEW_USER,
                    if is_new_user { "true" } else { "false" },
                ),
            ],
        );
    }

    /// Records the end of a session of the given length in seconds
    /// (`business.session_duration`).
    ///
    /// # Errors
    /// A negative, NaN or infinite duration, or an entry page refused by the policy.
    pub fn record_session_end(
        &self,
        duration_secs: f64,
        user_tier: UserTier,
        entry_page: &str,
    ) -> Result<(), RecordError> {
        let (secs, page) = self.rejected((|| {
            Ok((
                check_duration("session_duration", duration_secs)?,
                self.label(Dimension::EntryPage, entry_page)?,
            ))
        })())?;
        self.add_session_duration(secs, user_tier, page);
        Ok(())
    }

    pub(crate) fn add_session_duration(
        &self,
        secs: f64,
        user_tier: UserTier,
        entry_page: StringValue,
    ) {
        self.inner.instruments.session_duration.record(
            secs,
            &[
                KeyValue::new(keys::USER_TIER, user_tier.as_str()),
                KeyValue::new(keys::ENTRY_PAGE, Value::String(entry_page)),
            ],
        );
    }

    /// Sets the number of active users of a tier in a window (`business.active_users`).
    pub fn set_active_users(&self, window: ActiveWindow, user_tier: UserTier, count: u64) {
        self.inner.instruments.active_users.record(
            count,
            &[
                KeyValue::new(keys::WINDOW, window.as_str()),
                KeyValue::new(keys::USER_TIER, user_tier.as_str()),
            ],
        );
    }

    /// Sets the active-user counts of several tiers in one window, as a periodic job
    /// computing them from a user store would.
    pub fn set_active_users_by_tier<I>(&self, window: ActiveWindow, counts: I)
    where
        I: IntoIterator<Item = (UserTier, u64)>,
    {
        for (tier, count) in counts {
            self.set_active_users(window, tier, count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_must_be_finite_and_not_negative() {
        assert_eq!(check_duration("x", 0.0), Ok(0.0));
        assert_eq!(
            check_duration("x", -0.0).map(f64::is_sign_positive),
            Ok(true)
        );
        assert_eq!(check_duration("x", 12.5), Ok(12.5));
        for bad in [-1e-9, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(check_duration("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_must_be_positive_and_exactly_representable() {
        assert_eq!(check_amount(1), Ok(1));
        assert_eq!(check_amount(MAX_AMOUNT_MINOR), Ok(MAX_AMOUNT_MINOR));
        assert!(check_amount(0).is_err());
        assert!(check_amount(MAX_AMOUNT_MINOR + 1).is_err());
        assert!(check_amount(u64::MAX).is_err());
    }

    #[test]
    fn seconds_between_is_negative_for_a_future_start() {
        let now = Instant::now();
        let later = now + Duration::from_millis(1500);
        assert_eq!(seconds_between(now, later), 1.5);
        assert_eq!(seconds_between(later, now), -1.5);
    }
}
