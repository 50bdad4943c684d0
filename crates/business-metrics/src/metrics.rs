//! [`BusinessMetrics`]: the instruments of a catalog behind a typed API.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::{global, InstrumentationScope, KeyValue, StringValue, Value};

use crate::budget::{Folded, LabelBudgets};
use crate::catalog::keys;
use crate::clock::{Clock, SystemClock};
use crate::currency::{Currency, Money};
use crate::define::{Funnel, FunnelDefinition, MILESTONE_PREFIX};
use crate::error::RecordError;
use crate::funnel_series::{FunnelLabels, FunnelSeries};
use crate::input::{FunnelContext, Revenue, Sale};
use crate::instruments::{Factory, Instruments};
use crate::labels::{Dimension, LabelPolicy};
use crate::registry::{Catalog, ENGAGEMENT_FUNNEL};
use crate::revenue_window::{RevenueWindow, DEFAULT_MAX_REGIONS};
use crate::sale_series::{SaleLabels, SaleSeries};
use crate::series::{
    bytes_eq, Binding, HistogramSeries, Resolved, SeriesCache, SharedValues, DEFAULT_CACHE_CAPACITY,
};
use crate::types::{ActiveWindow, CheckoutStep, FunnelStep, DEFAULT_EXPERIMENT_VARIANT};
use crate::validate::{check_amount, check_duration, seconds_between};
use crate::ClosedValue;

/// Default number of attribute sets each counter instrument counts separately: the
/// OpenTelemetry SDK's default cardinality limit.
pub(crate) const DEFAULT_COUNTER_SERIES_LIMIT: usize = 2000;

/// The attribute of the series that sums what a counter counts past its series
/// limit (`true`), as OpenTelemetry SDKs name the series past a cardinality limit.
/// A view that restricts a counter's attribute keys must keep it.
pub const OVERFLOW_ATTRIBUTE: &str = "otel.metric.overflow";

/// The instrumentation scope name this crate's meter uses.
pub const SCOPE_NAME: &str = "business-metrics";

/// The instrumentation scope (`business-metrics` and this crate's version).
#[must_use]
pub fn instrumentation_scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// The cache key of a context in its funnel's cache: source, device and variant.
#[inline]
fn funnel_key<'a>(ctx: &FunnelContext<'a>) -> [&'a str; 3] {
    [
        ctx.source,
        ctx.device_type.as_str(),
        ctx.experiment_variant.unwrap_or(DEFAULT_EXPERIMENT_VARIANT),
    ]
}

/// The pre-resolved contexts of one funnel.
struct FunnelCache {
    definition: FunnelDefinition,
    series: SeriesCache<FunnelSeries>,
    /// Whether the label policy keeps the funnel's conversion type as it is, so a
    /// conversion given exactly that value needs no validation.
    conversion_type_kept: bool,
}

/// A label value to keep: reference counted, so every copy the SDK or a cached
/// attribute set makes shares one allocation.
pub(crate) fn string_value(v: Cow<'_, str>) -> StringValue {
    StringValue::from(Arc::<str>::from(v))
}

/// Order-value series by product category and currency.
type OrderValues = HashMap<(Arc<str>, Currency), Arc<HistogramSeries<u64>>>;

pub(crate) struct Inner {
    pub(crate) instruments: Instruments,
    pub(crate) catalog: Catalog,
    pub(crate) policy: LabelPolicy,
    /// The values each budgeted dimension has kept.
    budgets: LabelBudgets,
    clock: Arc<dyn Clock>,
    pub(crate) window: Arc<RevenueWindow>,
    /// One cache per catalog funnel, in catalog order.
    funnels: Box<[FunnelCache]>,
    sales: SeriesCache<SaleSeries>,
    /// The label values of funnel contexts and sales, one copy each.
    values: SharedValues,
    /// Order-value series per product category and currency, shared by the cached sales.
    pub(crate) order_values: Mutex<OrderValues>,
    /// Time-to-conversion series per conversion type.
    conversion_times: Mutex<HashMap<&'static str, Arc<HistogramSeries<f64>>>>,
}

impl Inner {
    /// The time-to-conversion series of a conversion type.
    pub(crate) fn conversion_time(
        &self,
        conversion_type: &'static str,
    ) -> Arc<HistogramSeries<f64>> {
        Arc::clone(
            self.conversion_times
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(conversion_type)
                .or_insert_with(|| {
                    Arc::new(HistogramSeries::new(
                        &self.instruments.time_to_conversion,
                        vec![KeyValue::new(keys::CONVERSION_TYPE, conversion_type)],
                        Binding::Bound,
                    ))
                }),
        )
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusinessMetrics")
            .field("catalog", &self.catalog)
            .field("policy", &self.policy)
            .field("clock", &self.clock)
            .field(
                "cached_funnels",
                &self.funnels.iter().map(|f| f.series.len()).sum::<usize>(),
            )
            .field("cached_sales", &self.sales.len())
            .finish_non_exhaustive()
    }
}

/// The business instruments of a [`Catalog`] (the built-in one by default), created
/// once and cloned cheaply into every handler that records.
///
/// Every `record_*` method validates all its input before it records anything: a
/// refused event returns a [`RecordError`], records nothing, and increments
/// `business.rejected_events{reason}`. With no meter provider installed, recording
/// is a no-op.
///
/// Build one per meter provider and clone it: each instance registers its own
/// callbacks and keeps its own caches, so two instances on one provider would
/// report the revenue window twice.
#[derive(Clone, Debug)]
pub struct BusinessMetrics {
    inner: Arc<Inner>,
}

/// Builds [`BusinessMetrics`].
#[derive(Debug)]
pub struct BusinessMetricsBuilder {
    meter: Meter,
    catalog: Catalog,
    policy: LabelPolicy,
    clock: Arc<dyn Clock>,
    max_regions: usize,
    cache_capacity: usize,
    counter_series_limit: usize,
}

impl BusinessMetricsBuilder {
    /// Sets the catalog: the built-in entries plus the service's definitions
    /// (default: [`Catalog::built_in`]). Give the exporter the same catalog, so its
    /// views use the same buckets.
    #[must_use]
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

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
    /// currency, category, payment method and region; each service instrument's
    /// attribute values) keep pre-resolved series (default 2048; 0 turns the caches
    /// off). Combinations past it are recorded the same way at the cost of a plain
    /// API call.
    #[must_use]
    pub fn with_series_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Sets how many attribute sets each counter instrument counts separately
    /// (default 2000, the SDK's default cardinality limit). Counts on further
    /// attribute sets are summed in one series with the attribute
    /// `otel.metric.overflow="true"`, as an OpenTelemetry SDK does past its
    /// cardinality limit. It bounds memory when label policies are set loosely.
    ///
    /// Set it to the cardinality limit of the meter provider's streams (the
    /// exporter crate does): counters are observable instruments, and past its own
    /// limit an SDK keeps only one observation for its overflow series, where this
    /// crate's overflow cell sums them all.
    #[must_use]
    pub fn with_counter_series_limit(mut self, limit: usize) -> Self {
        self.counter_series_limit = limit;
        self
    }

    /// Creates the instruments.
    #[must_use]
    pub fn build(self) -> BusinessMetrics {
        let window = Arc::new(RevenueWindow::new(
            Arc::clone(&self.clock),
            self.max_regions,
        ));
        let cache_capacity = self.cache_capacity;
        let budgets = LabelBudgets::new(&self.policy, self.catalog.definitions());
        let kept_conversion_types: Vec<&'static str> = self
            .catalog
            .funnels()
            .iter()
            .map(|f| f.conversion_type)
            .filter(|c| {
                self.policy
                    .apply(Dimension::ConversionType, c)
                    .is_ok_and(|v| v == *c)
            })
            .collect();
        let factory = Factory {
            meter: &self.meter,
            catalog: &self.catalog,
            counter_series_limit: self.counter_series_limit,
        };
        let inner = Arc::new(Inner {
            instruments: Instruments::new(&factory, &window, cache_capacity),
            catalog: self.catalog.clone(),
            policy: self.policy,
            budgets,
            clock: self.clock,
            window,
            funnels: self
                .catalog
                .funnels()
                .iter()
                .map(|f| FunnelCache {
                    definition: *f,
                    series: SeriesCache::new(cache_capacity),
                    conversion_type_kept: kept_conversion_types.contains(&f.conversion_type),
                })
                .collect(),
            sales: SeriesCache::new(cache_capacity),
            values: SharedValues::new(cache_capacity),
            order_values: Mutex::new(HashMap::new()),
            conversion_times: Mutex::new(HashMap::new()),
        });
        BusinessMetrics { inner }
    }
}

impl BusinessMetrics {
    /// Starts a builder on a meter.
    #[must_use]
    pub fn builder(meter: &Meter) -> BusinessMetricsBuilder {
        BusinessMetricsBuilder {
            meter: meter.clone(),
            catalog: Catalog::built_in(),
            policy: LabelPolicy::default(),
            clock: Arc::new(SystemClock),
            max_regions: DEFAULT_MAX_REGIONS,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            counter_series_limit: DEFAULT_COUNTER_SERIES_LIMIT,
        }
    }

    /// Builds a new instance on a meter with the built-in catalog, the default
    /// policy and clock.
    #[must_use]
    pub fn new(meter: &Meter) -> Self {
        Self::builder(meter).build()
    }

    /// Builds a new instance on a provider's meter for this crate's
    /// [instrumentation scope](instrumentation_scope). Build one per provider and
    /// clone it.
    #[must_use]
    pub fn new_from_provider<P: MeterProvider + ?Sized>(provider: &P) -> Self {
        Self::new(&provider.meter_with_scope(instrumentation_scope()))
    }

    /// Builds a new instance on the global meter provider (a no-op until one is
    /// set). Build one per process and clone it.
    #[must_use]
    pub fn new_global() -> Self {
        Self::new(&global::meter_with_scope(instrumentation_scope()))
    }

    /// The catalog the instance records with.
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
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

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// Revenue over the trailing 60 seconds per region and currency, as the
    /// `business.revenue_per_minute_cents` gauge reports it, sorted by region, then
    /// currency.
    #[must_use]
    pub fn revenue_last_minute(&self) -> Vec<(String, Money)> {
        self.inner
            .window
            .snapshot()
            .into_iter()
            .map(|(region, currency, total)| (region.to_string(), Money::new(total, currency)))
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

    /// A value the policy accepted, through its dimension's budget: the value, or
    /// `other` (noted in `folded`) once the budget is used up. Call it only for an
    /// event whose every value the policy accepted, so that a refused event takes
    /// no room in a budget.
    #[inline]
    pub(crate) fn admit<'a>(
        &self,
        dimension: Dimension,
        value: Cow<'a, str>,
        folded: &mut Folded,
    ) -> Cow<'a, str> {
        self.inner.budgets.admit(dimension, value, folded)
    }

    /// A single free-form value through the policy and its budget.
    pub(crate) fn label(
        &self,
        dimension: Dimension,
        raw: &str,
        folded: &mut Folded,
    ) -> Result<StringValue, RecordError> {
        let value = self.inner.policy.apply(dimension, raw)?;
        Ok(string_value(self.admit(dimension, value, folded)))
    }

    /// Counts an event recorded with the values in `folded` on
    /// `business.label_budget_exhausted`.
    #[inline]
    pub(crate) fn count_folded(&self, folded: &Folded) {
        folded.count(&self.inner.instruments.label_budget_exhausted);
    }

    /// A label value of a funnel context or a sale: one copy per value, shared by
    /// every series that carries it.
    fn shared(&self, value: Cow<'_, str>) -> StringValue {
        StringValue::from(self.inner.values.get(value))
    }

    pub(crate) fn funnel_labels(
        &self,
        funnel: &'static str,
        ctx: &FunnelContext<'_>,
    ) -> Result<FunnelLabels, RecordError> {
        let policy = &self.inner.policy;
        let source = policy.apply(Dimension::Source, ctx.source)?;
        let variant = policy.apply(
            Dimension::ExperimentVariant,
            ctx.experiment_variant.unwrap_or(DEFAULT_EXPERIMENT_VARIANT),
        )?;
        let mut folded = Folded::default();
        let source = self.admit(Dimension::Source, source, &mut folded);
        let variant = self.admit(Dimension::ExperimentVariant, variant, &mut folded);
        Ok(FunnelLabels {
            funnel,
            source: self.shared(source),
            device_type: ctx.device_type.as_str(),
            variant: self.shared(variant),
            folded,
        })
    }

    /// The `step` value of a milestone: `milestone_<name>`, the name through the
    /// policy (checked only; see [`Self::admit_milestone`]).
    pub(crate) fn check_milestone<'a>(&self, name: &'a str) -> Result<Cow<'a, str>, RecordError> {
        self.inner.policy.apply(Dimension::Milestone, name)
    }

    /// The `step` value of a checked milestone name, through its budget.
    pub(crate) fn admit_milestone(&self, name: Cow<'_, str>, folded: &mut Folded) -> StringValue {
        let name = self.admit(Dimension::Milestone, name, folded);
        StringValue::from(format!("{MILESTONE_PREFIX}{name}"))
    }

    /// The cache of the funnel named `name`.
    #[inline]
    fn funnel_cache(&self, name: &str) -> Option<&FunnelCache> {
        // The definition's name is usually the very literal the catalog holds: a
        // pointer comparison finds it without reading the bytes.
        let funnels = &self.inner.funnels;
        if let Some(f) = funnels
            .iter()
            .find(|f| std::ptr::eq(f.definition.name, name))
        {
            return Some(f);
        }
        funnels.iter().find(|f| f.definition.name == name)
    }

    /// The series of a funnel context: cached after the first validation. Only a
    /// combination not cached yet checks that the catalog holds this very funnel (a
    /// cached one was inserted after that check).
    #[inline]
    pub(crate) fn funnel_series<F: Funnel>(
        &self,
        ctx: &FunnelContext<'_>,
    ) -> Result<Resolved<'_, FunnelSeries>, RecordError> {
        let name = F::DEFINITION.name;
        let Some(cache) = self.funnel_cache(name) else {
            return Err(RecordError::NotInCatalog { name });
        };
        let key = funnel_key(ctx);
        if let Some(series) = cache.series.get(&key) {
            return Ok(Resolved::Cached(series));
        }
        if cache.definition != F::DEFINITION {
            return Err(RecordError::NotInCatalog { name });
        }
        self.insert_funnel(cache, ctx, &key)
    }

    /// The series of a context of the funnel in `cache`.
    #[inline]
    fn resolve_funnel<'c>(
        &'c self,
        cache: &'c FunnelCache,
        ctx: &FunnelContext<'_>,
    ) -> Result<Resolved<'c, FunnelSeries>, RecordError> {
        let key = funnel_key(ctx);
        if let Some(series) = cache.series.get(&key) {
            return Ok(Resolved::Cached(series));
        }
        self.insert_funnel(cache, ctx, &key)
    }

    #[cold]
    fn insert_funnel<'c>(
        &self,
        cache: &'c FunnelCache,
        ctx: &FunnelContext<'_>,
        key: &[&str; 3],
    ) -> Result<Resolved<'c, FunnelSeries>, RecordError> {
        let definition = &cache.definition;
        let labels = self.funnel_labels(definition.name, ctx)?;
        if !labels.folded.is_empty() {
            // Not cached: the cache keeps its room for the values within budget.
            return Ok(Resolved::Owned(Arc::new(FunnelSeries::new(
                definition, labels,
            ))));
        }
        Ok(
            match cache
                .series
                .insert_with(key, || FunnelSeries::new(definition, labels.clone()))
            {
                Some(series) => Resolved::Cached(series),
                None => Resolved::Owned(Arc::new(FunnelSeries::new(definition, labels))),
            },
        )
    }

    /// Records one step of funnel `F` (`business.funnel_step`).
    ///
    /// # Errors
    /// A context refused by the label policy, or a funnel not in the catalog.
    #[inline]
    pub fn record_step<F: Funnel>(
        &self,
        step: F,
        ctx: &FunnelContext<'_>,
    ) -> Result<(), RecordError> {
        let series = self.rejected(self.funnel_series::<F>(ctx))?;
        series
            .get()
            .add_step(&self.inner.instruments, step.position());
        Ok(())
    }

    /// Records a failed run of funnel `F`: its error step.
    ///
    /// # Errors
    /// As [`record_step`](Self::record_step).
    pub fn record_funnel_error<F: Funnel>(
        &self,
        ctx: &FunnelContext<'_>,
    ) -> Result<(), RecordError> {
        let series = self.rejected(self.funnel_series::<F>(ctx))?;
        let s = series.get();
        s.add_step(&self.inner.instruments, s.error_position());
        Ok(())
    }

    /// Records one checkout step, checkout error or engagement milestone
    /// (`business.funnel_step`). Milestones are recorded under
    /// `funnel="engagement"`.
    ///
    /// # Errors
    /// A label value refused by the policy, or an empty or overlong milestone name.
    pub fn record_funnel_step(
        &self,
        step: FunnelStep<'_>,
        ctx: &FunnelContext<'_>,
    ) -> Result<(), RecordError> {
        match step {
            FunnelStep::Checkout(s) => self.record_step(s, ctx),
            FunnelStep::CheckoutError => self.record_funnel_error::<CheckoutStep>(ctx),
            FunnelStep::Milestone(name) => {
                let (name, labels) = self.rejected((|| {
                    let name = self.check_milestone(name)?;
                    Ok((name, self.funnel_labels(ENGAGEMENT_FUNNEL, ctx)?))
                })())?;
                let mut folded = Folded::default();
                let step = self.admit_milestone(name, &mut folded);
                self.add_plain_step(&labels, step, &folded);
                Ok(())
            }
        }
    }

    /// Records a milestone step; `folded` notes a milestone name a budget folded.
    pub(crate) fn add_plain_step(&self, labels: &FunnelLabels, step: StringValue, folded: &Folded) {
        self.inner
            .instruments
            .funnel_step
            .cells
            .add(1, labels.attributes(step));
        self.count_folded(&labels.folded);
        self.count_folded(folded);
    }

    /// Records a conversion (`business.conversions`) and the time it took
    /// (`business.time_to_conversion`), given in seconds. A conversion type that a
    /// catalog funnel records on completion (`purchase` for the checkout) uses
    /// that funnel's pre-resolved series.
    ///
    /// # Errors
    /// A negative, NaN or infinite duration, or a label value refused by the policy.
    pub fn record_conversion(
        &self,
        conversion_type: &str,
        ctx: &FunnelContext<'_>,
        time_to_conversion_secs: f64,
    ) -> Result<(), RecordError> {
        // A funnel's own conversion type, given as the policy keeps it, is valid
        // as it is: only the duration needs checking.
        let kept = self.inner.funnels.iter().find(|f| {
            f.conversion_type_kept
                && bytes_eq(
                    f.definition.conversion_type.as_bytes(),
                    conversion_type.as_bytes(),
                )
        });
        if let Some(cache) = kept {
            let secs = self.rejected(check_duration(
                "time_to_conversion",
                time_to_conversion_secs,
            ))?;
            let series = self.rejected(self.resolve_funnel(cache, ctx))?;
            series.get().add_conversion(&self.inner, secs);
            return Ok(());
        }
        let (secs, conversion_type) = self.rejected((|| {
            Ok((
                check_duration("time_to_conversion", time_to_conversion_secs)?,
                self.inner
                    .policy
                    .apply(Dimension::ConversionType, conversion_type)?,
            ))
        })())?;
        let funnel = self.inner.funnels.iter().find(|f| {
            bytes_eq(
                f.definition.conversion_type.as_bytes(),
                conversion_type.as_bytes(),
            )
        });
        if let Some(cache) = funnel {
            let series = self.rejected(self.resolve_funnel(cache, ctx))?;
            series.get().add_conversion(&self.inner, secs);
            return Ok(());
        }
        // The context is validated as a funnel's would be; a conversion carries its
        // source and device only.
        let source = self.rejected((|| {
            let variant = ctx.experiment_variant.unwrap_or(DEFAULT_EXPERIMENT_VARIANT);
            self.inner
                .policy
                .apply(Dimension::ExperimentVariant, variant)?;
            self.inner.policy.apply(Dimension::Source, ctx.source)
        })())?;
        let mut folded = Folded::default();
        // A conversion type the catalog names takes no room in the budget.
        let conversion_type = if self
            .inner
            .catalog
            .conversion_types()
            .any(|c| bytes_eq(c.as_bytes(), conversion_type.as_bytes()))
        {
            conversion_type
        } else {
            self.admit(Dimension::ConversionType, conversion_type, &mut folded)
        };
        let source = string_value(self.admit(Dimension::Source, source, &mut folded));
        let conversion_type = string_value(conversion_type);
        let i = &self.inner.instruments;
        i.time_to_conversion.record(
            secs,
            &[KeyValue::new(
                keys::CONVERSION_TYPE,
                Value::String(conversion_type.clone()),
            )],
        );
        i.conversions.cells.add(
            1,
            [
                KeyValue::new(keys::CONVERSION_TYPE, Value::String(conversion_type)),
                KeyValue::new(keys::SOURCE, Value::String(source)),
                KeyValue::new(keys::DEVICE_TYPE, ctx.device_type.as_str()),
            ],
        );
        self.count_folded(&folded);
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

    /// Validates a sale: the amount on every call, the labels when the combination
    /// is not cached yet.
    pub(crate) fn sale(
        &self,
        revenue: &Revenue<'_>,
    ) -> Result<(u64, Resolved<'_, SaleSeries>), RecordError> {
        let amount = check_amount(revenue.amount_minor)?;
        Ok((amount, self.resolve_sale(&revenue.sale)?))
    }

    /// The series of a sale combination: cached after the first validation.
    pub(crate) fn resolve_sale(
        &self,
        sale: &Sale<'_>,
    ) -> Result<Resolved<'_, SaleSeries>, RecordError> {
        let key = [
            sale.currency.key(),
            sale.product_category,
            sale.payment_method,
            sale.region,
        ];
        let sales = &self.inner.sales;
        if let Some(series) = sales.get(&key) {
            return Ok(Resolved::Cached(series));
        }
        let policy = &self.inner.policy;
        let currency = sale.currency.currency()?;
        let category = policy.apply(Dimension::ProductCategory, sale.product_category)?;
        let payment = policy.apply(Dimension::PaymentMethod, sale.payment_method)?;
        let region = policy.apply(Dimension::Region, sale.region)?;
        let mut folded = Folded::default();
        let category = self.admit(Dimension::ProductCategory, category, &mut folded);
        let payment = self.admit(Dimension::PaymentMethod, payment, &mut folded);
        let region = self.admit(Dimension::Region, region, &mut folded);
        let labels = SaleLabels {
            currency,
            product_category: self.shared(category),
            payment_method: self.shared(payment),
            region: self.shared(region),
            folded,
        };
        if !labels.folded.is_empty() {
            // Not cached: the cache keeps its room for the values within budget.
            return Ok(Resolved::Owned(Arc::new(SaleSeries::new(
                &self.inner,
                &labels,
                Binding::Unbound,
            ))));
        }
        Ok(
            match sales.insert_with(&key, || {
                SaleSeries::new(&self.inner, &labels, Binding::Bound)
            }) {
                Some(series) => Resolved::Cached(series),
                None => Resolved::Owned(Arc::new(SaleSeries::new(
                    &self.inner,
                    &labels,
                    Binding::Unbound,
                ))),
            },
        )
    }

    /// Records a sale: `business.revenue_cents` and `business.order_value_cents`
    /// (with its currency), and the revenue-per-minute window.
    ///
    /// # Errors
    /// An amount of 0 or above [`MAX_AMOUNT_MINOR`](crate::MAX_AMOUNT_MINOR), an
    /// unknown currency, or a label value refused by the policy.
    pub fn record_revenue(&self, revenue: &Revenue<'_>) -> Result<(), RecordError> {
        let (amount, sale) = self.rejected(self.sale(revenue))?;
        sale.get().add(&self.inner, amount, self.now_coarse());
        Ok(())
    }

    /// Records one use of a feature (`business.feature_usage`). The tier is a
    /// [`UserTier`](crate::UserTier) or the service's own plans.
    ///
    /// # Errors
    /// An empty or overlong feature name.
    pub fn record_feature_usage(
        &self,
        feature_name: &str,
        user_tier: impl Into<ClosedValue>,
        is_new_user: bool,
    ) -> Result<(), RecordError> {
        let mut folded = Folded::default();
        let feature =
            self.rejected(self.label(Dimension::FeatureName, feature_name, &mut folded))?;
        self.add_feature_usage(feature, user_tier.into(), is_new_user);
        self.count_folded(&folded);
        Ok(())
    }

    pub(crate) fn add_feature_usage(
        &self,
        feature: StringValue,
        user_tier: ClosedValue,
        is_new_user: bool,
    ) {
        self.inner.instruments.feature_usage.cells.add(
            1,
            [
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
        user_tier: impl Into<ClosedValue>,
        entry_page: &str,
    ) -> Result<(), RecordError> {
        let mut folded = Folded::default();
        let (secs, page) = self.rejected((|| {
            Ok((
                check_duration("session_duration", duration_secs)?,
                self.label(Dimension::EntryPage, entry_page, &mut folded)?,
            ))
        })())?;
        self.add_session_duration(secs, user_tier.into(), page);
        self.count_folded(&folded);
        Ok(())
    }

    pub(crate) fn add_session_duration(
        &self,
        secs: f64,
        user_tier: ClosedValue,
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
    pub fn set_active_users(
        &self,
        window: ActiveWindow,
        user_tier: impl Into<ClosedValue>,
        count: u64,
    ) {
        self.inner.instruments.active_users.record(
            count,
            &[
                KeyValue::new(keys::WINDOW, window.as_str()),
                KeyValue::new(keys::USER_TIER, user_tier.into().as_str()),
            ],
        );
    }

    /// Sets the active-user counts of several tiers in one window, as a periodic job
    /// computing them from a user store would.
    pub fn set_active_users_by_tier<T, I>(&self, window: ActiveWindow, counts: I)
    where
        T: Into<ClosedValue>,
        I: IntoIterator<Item = (T, u64)>,
    {
        for (tier, count) in counts {
            self.set_active_users(window, tier, count);
        }
    }
}
