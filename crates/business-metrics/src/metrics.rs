//! [`BusinessMetrics`]: the instruments of the catalog behind a typed API.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider, ObservableGauge};
use opentelemetry::{global, InstrumentationScope, KeyValue, StringValue, Value};

use crate::catalog::{self, keys, MetricDescriptor};
use crate::clock::{Clock, SystemClock};
use crate::currency::Currency;
use crate::error::RecordError;
use crate::labels::{Dimension, LabelPolicy};
use crate::revenue_window::{RevenueWindow, DEFAULT_MAX_REGIONS};
use crate::types::{
    ActiveWindow, DeviceType, FunnelStep, UserTier, CHECKOUT_ERROR_STEP, CHECKOUT_STEP_VALUES,
    DEFAULT_EXPERIMENT_VARIANT, MILESTONE_PREFIX, PURCHASE_CONVERSION,
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
        Self {
            amount_minor,
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

fn string_value(v: Cow<'_, str>) -> StringValue {
    StringValue::from(v.into_owned())
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
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusinessMetrics")
            .field("policy", &self.policy)
            .field("clock", &self.clock)
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
        let instruments = Instruments {
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
        };
        BusinessMetrics {
            inner: Arc::new(Inner {
                instruments,
                policy: self.policy,
                clock: self.clock,
                window,
            }),
        }
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

fn check_amount(amount: u64) -> Result<u64, RecordError> {
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

/// A validated sale.
pub(crate) struct SaleLabels {
    amount: u64,
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
    pub(crate) fn rejected<T>(&self, result: Result<T, RecordError>) -> Result<T, RecordError> {
        if let Err(e) = &result {
            self.inner
                .instruments
                .rejected
                .add(1, &[KeyValue::new(keys::REASON, e.reason())]);
        }
        result
    }

    pub(crate) fn label(
        &self,
        dimension: Dimension,
        raw: &str,
    ) -> Result<StringValue, RecordError> {
        self.inner.policy.apply(dimension, raw).map(string_value)
    }

    pub(crate) fn funnel_labels(
        &self,
        ctx: &FunnelContext<'_>,
    ) -> Result<FunnelLabels, RecordError> {
        Ok(FunnelLabels {
            source: self.label(Dimension::Source, ctx.source)?,
            device_type: ctx.device_type,
            variant: self.label(
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

    pub(crate) fn add_funnel_step(&self, labels: &FunnelLabels, step: StringValue) {
        self.inner
            .instruments
            .funnel_step
            .add(1, &labels.attributes(step));
    }

    /// Creates the series of every checkout step and of purchases for a context,
    /// at 0, so rates and ratios exist before the first event.
    pub(crate) fn touch_funnel(&self, labels: &FunnelLabels) {
        let i = &self.inner.instruments;
        for step in CHECKOUT_STEP_VALUES {
            i.funnel_step
                .add(0, &labels.attributes(StringValue::from(*step)));
        }
        i.conversions.add(
            0,
            &labels.conversion_attributes(StringValue::from(PURCHASE_CONVERSION)),
        );
    }

    pub(crate) fn add_conversion(
        &self,
        labels: &FunnelLabels,
        conversion_type: StringValue,
        secs: f64,
    ) {
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

    pub(crate) fn sale(&self, revenue: &Revenue<'_>) -> Result<SaleLabels, RecordError> {
        Ok(SaleLabels {
            amount: check_amount(revenue.amount_minor)?,
            currency: Currency::parse(revenue.currency)?,
            product_category: self.label(Dimension::ProductCategory, revenue.product_category)?,
            payment_method: self.label(Dimension::PaymentMethod, revenue.payment_method)?,
            region: self.label(Dimension::Region, revenue.region)?,
        })
    }

    pub(crate) fn add_sale(&self, sale: SaleLabels) {
        let i = &self.inner.instruments;
        i.order_value.record(
            sale.amount,
            &[KeyValue::new(
                keys::PRODUCT_CATEGORY,
                Value::String(sale.product_category.clone()),
            )],
        );
        self.inner.window.add(sale.region.as_str(), sale.amount);
        i.revenue.add(
            sale.amount,
            &[
                KeyValue::new(keys::PRODUCT_CATEGORY, Value::String(sale.product_category)),
                KeyValue::new(keys::PAYMENT_METHOD, Value::String(sale.payment_method)),
                KeyValue::new(keys::REGION, Value::String(sale.region)),
                KeyValue::new(keys::CURRENCY, sale.currency.code()),
            ],
        );
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
        let (step, labels) = self.rejected(
            self.step_value(step)
                .and_then(|s| Ok((s, self.funnel_labels(ctx)?))),
        )?;
        self.add_funnel_step(&labels, step);
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
        let (secs, conversion_type, labels) = self.rejected((|| {
            Ok((
                check_duration("time_to_conversion", time_to_conversion_secs)?,
                self.label(Dimension::ConversionType, conversion_type)?,
                self.funnel_labels(ctx)?,
            ))
        })())?;
        self.add_conversion(&labels, conversion_type, secs);
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
        let sale = self.rejected(self.sale(revenue))?;
        self.add_sale(sale);
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
