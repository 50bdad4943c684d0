//! The metric catalog: one table that names every instrument this crate emits.
//!
//! Instruments are built from it, `docs/METRICS.md` is rendered from it, the exporter
//! crate derives its views (bucket boundaries, cardinality limits) from it, and the
//! golden tests compare the Prometheus names it promises with what the real
//! translation produces.

/// The OpenTelemetry instrument kind of a catalog entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstrumentKind {
    /// A monotonic `Counter<u64>`.
    Counter,
    /// A synchronous `Histogram` (`f64` for durations, `u64` for money).
    Histogram,
    /// A synchronous `Gauge<u64>`, set to the latest value.
    Gauge,
    /// An `ObservableGauge<u64>` reported by a callback at each collection.
    ObservableGauge,
}

impl InstrumentKind {
    /// The Prometheus metric type that this kind becomes.
    #[must_use]
    pub const fn prometheus_type(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Histogram => "histogram",
            Self::Gauge | Self::ObservableGauge => "gauge",
        }
    }

    /// A short human name, as used in the generated docs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "Counter",
            Self::Histogram => "Histogram",
            Self::Gauge => "Gauge",
            Self::ObservableGauge => "Observable gauge",
        }
    }
}

/// The numeric type an instrument records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueType {
    /// Unsigned integers: counts and money in minor units.
    U64,
    /// Floating point: durations in seconds.
    F64,
}

impl ValueType {
    /// The Rust type name (`u64`, `f64`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::U64 => "u64",
            Self::F64 => "f64",
        }
    }
}

/// Everything known about one metric: the single source of truth for its spelling.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct MetricDescriptor {
    /// OpenTelemetry instrument name, e.g. `business.funnel_step`.
    pub name: &'static str,
    /// Instrument kind.
    pub kind: InstrumentKind,
    /// Value type recorded by the instrument.
    pub value_type: ValueType,
    /// UCUM unit (`s`) or an annotation in braces (`{cent}`).
    pub unit: &'static str,
    /// Description, exported as the Prometheus `HELP` text.
    pub description: &'static str,
    /// The attribute keys, in the order the typed API sets them.
    pub attributes: &'static [&'static str],
    /// Explicit histogram bucket boundaries; empty for non-histograms.
    pub buckets: &'static [f64],
    /// The team that owns the metric and answers its alerts.
    pub owner: &'static str,
    /// The alert condition that watches this metric, in words; `None` if unalerted.
    pub alert_threshold: Option<&'static str>,
    /// The Prometheus metric name on every export path (without `_bucket` etc.).
    pub prometheus_name: &'static str,
}

impl MetricDescriptor {
    /// Whether this is a histogram (and so has buckets).
    #[must_use]
    pub const fn is_histogram(&self) -> bool {
        matches!(self.kind, InstrumentKind::Histogram)
    }
}

/// OpenTelemetry instrument names, as constants.
pub mod names {
    /// Progression through funnel steps.
    pub const FUNNEL_STEP: &str = "business.funnel_step";
    /// Completed conversions.
    pub const CONVERSIONS: &str = "business.conversions";
    /// Seconds from session start to conversion.
    pub const TIME_TO_CONVERSION: &str = "business.time_to_conversion";
    /// Revenue in minor currency units.
    pub const REVENUE_CENTS: &str = "business.revenue_cents";
    /// Distribution of order values in minor units.
    pub const ORDER_VALUE_CENTS: &str = "business.order_value_cents";
    /// Revenue over the trailing 60 seconds, per region.
    pub const REVENUE_PER_MINUTE_CENTS: &str = "business.revenue_per_minute_cents";
    /// Feature interactions.
    pub const FEATURE_USAGE: &str = "business.feature_usage";
    /// Session durations in seconds.
    pub const SESSION_DURATION: &str = "business.session_duration";
    /// Active users per window and tier.
    pub const ACTIVE_USERS: &str = "business.active_users";
    /// Events refused by validation (self-metric).
    pub const REJECTED_EVENTS: &str = "business.rejected_events";
    /// Events recorded with a label value folded into `other` because its
    /// dimension's budget was used up (self-metric).
    pub const LABEL_BUDGET_EXHAUSTED: &str = "business.label_budget_exhausted";
}

/// Attribute keys, as constants.
pub mod keys {
    /// The funnel a step belongs to (`checkout`, or a service's funnel's name).
    pub const FUNNEL: &str = "funnel";
    /// Funnel step (`cart_view`, ..., `checkout_error`, `milestone_<name>`).
    pub const STEP: &str = "step";
    /// Traffic source (free-form, passes the label policy).
    pub const SOURCE: &str = "source";
    /// Device type (closed set).
    pub const DEVICE_TYPE: &str = "device_type";
    /// Experiment variant (free-form, defaults to `control`).
    pub const EXPERIMENT_VARIANT: &str = "experiment_variant";
    /// Kind of conversion, e.g. `purchase`.
    pub const CONVERSION_TYPE: &str = "conversion_type";
    /// Product category (free-form).
    pub const PRODUCT_CATEGORY: &str = "product_category";
    /// Payment method (free-form).
    pub const PAYMENT_METHOD: &str = "payment_method";
    /// Sales region (free-form).
    pub const REGION: &str = "region";
    /// ISO 4217 currency code.
    pub const CURRENCY: &str = "currency";
    /// Feature name (free-form).
    pub const FEATURE_NAME: &str = "feature_name";
    /// User tier (closed set).
    pub const USER_TIER: &str = "user_tier";
    /// `true` or `false`.
    pub const IS_NEW_USER: &str = "is_new_user";
    /// Page where the session started (free-form).
    pub const ENTRY_PAGE: &str = "entry_page";
    /// Active-user window (`daily`, `weekly`, `monthly`).
    pub const WINDOW: &str = "window";
    /// Why an event was rejected.
    pub const REASON: &str = "reason";
    /// The label dimension whose budget was used up (`source`, `region`, ...,
    /// `milestone`, or a service instrument's attribute key).
    pub const DIMENSION: &str = "dimension";
}

use keys as k;

/// Bucket boundaries of `business.time_to_conversion`, in seconds (30 s to 1 h).
pub const TIME_TO_CONVERSION_BUCKETS: &[f64] = &[30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];
/// Bucket boundaries of `business.order_value_cents`, in cents ($5 to $500).
pub const ORDER_VALUE_BUCKETS: &[f64] = &[500.0, 1000.0, 2500.0, 5000.0, 10000.0, 25000.0, 50000.0];
/// Bucket boundaries of `business.session_duration`, in seconds (10 s to 1 h).
pub const SESSION_DURATION_BUCKETS: &[f64] =
    &[10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];

/// Progression through funnel steps.
pub const FUNNEL_STEP: MetricDescriptor = MetricDescriptor {
    name: names::FUNNEL_STEP,
    kind: InstrumentKind::Counter,
    value_type: ValueType::U64,
    unit: "{step}",
    description: "Counts progression through conversion funnel steps",
    attributes: &[
        k::FUNNEL,
        k::STEP,
        k::SOURCE,
        k::DEVICE_TYPE,
        k::EXPERIMENT_VARIANT,
    ],
    buckets: &[],
    owner: "growth",
    alert_threshold: Some(
        "conversion rate (order_confirmed / cart_view, 1h) below 2% for 15m; \
         cart abandonment above 85% for 30m",
    ),
    prometheus_name: "business_funnel_step_total",
};

/// Completed conversions.
pub const CONVERSIONS: MetricDescriptor = MetricDescriptor {
    name: names::CONVERSIONS,
    kind: InstrumentKind::Counter,
    value_type: ValueType::U64,
    unit: "{conversion}",
    description: "Total number of completed conversions",
    attributes: &[k::CONVERSION_TYPE, k::SOURCE, k::DEVICE_TYPE],
    buckets: &[],
    owner: "growth",
    alert_threshold: None,
    prometheus_name: "business_conversions_total",
};

/// Seconds from session start to conversion.
pub const TIME_TO_CONVERSION: MetricDescriptor = MetricDescriptor {
    name: names::TIME_TO_CONVERSION,
    kind: InstrumentKind::Histogram,
    value_type: ValueType::F64,
    unit: "s",
    description: "Time elapsed from session start to conversion",
    attributes: &[k::CONVERSION_TYPE],
    buckets: TIME_TO_CONVERSION_BUCKETS,
    owner: "growth",
    alert_threshold: None,
    prometheus_name: "business_time_to_conversion_seconds",
};

/// Revenue in minor currency units.
pub const REVENUE_CENTS: MetricDescriptor = MetricDescriptor {
    name: names::REVENUE_CENTS,
    kind: InstrumentKind::Counter,
    value_type: ValueType::U64,
    unit: "{cent}",
    description: "Total revenue in minor currency units (cents), to avoid floating point issues",
    attributes: &[
        k::PRODUCT_CATEGORY,
        k::PAYMENT_METHOD,
        k::REGION,
        k::CURRENCY,
    ],
    buckets: &[],
    owner: "revenue",
    alert_threshold: Some("revenue below 50000 cents ($500) per minute for 10m"),
    prometheus_name: "business_revenue_cents_total",
};

/// Distribution of order values in minor units.
pub const ORDER_VALUE_CENTS: MetricDescriptor = MetricDescriptor {
    name: names::ORDER_VALUE_CENTS,
    kind: InstrumentKind::Histogram,
    value_type: ValueType::U64,
    unit: "{cent}",
    description: "Distribution of order values in minor currency units (cents)",
    attributes: &[k::PRODUCT_CATEGORY, k::CURRENCY],
    buckets: ORDER_VALUE_BUCKETS,
    owner: "revenue",
    alert_threshold: None,
    prometheus_name: "business_order_value_cents",
};

/// Revenue over the trailing 60 seconds, per region.
pub const REVENUE_PER_MINUTE_CENTS: MetricDescriptor = MetricDescriptor {
    name: names::REVENUE_PER_MINUTE_CENTS,
    kind: InstrumentKind::ObservableGauge,
    value_type: ValueType::U64,
    unit: "{cent}",
    description: "Revenue in minor currency units over the trailing 60 seconds",
    attributes: &[k::REGION, k::CURRENCY],
    buckets: &[],
    owner: "revenue",
    alert_threshold: None,
    prometheus_name: "business_revenue_per_minute_cents",
};

/// Feature interactions.
pub const FEATURE_USAGE: MetricDescriptor = MetricDescriptor {
    name: names::FEATURE_USAGE,
    kind: InstrumentKind::Counter,
    value_type: ValueType::U64,
    unit: "{use}",
    description: "Counts of feature interactions by users",
    attributes: &[k::FEATURE_NAME, k::USER_TIER, k::IS_NEW_USER],
    buckets: &[],
    owner: "growth",
    alert_threshold: Some(
        "new-user usage (24h) below 70% of the same window a week earlier, for 1h",
    ),
    prometheus_name: "business_feature_usage_total",
};

/// Session durations in seconds.
pub const SESSION_DURATION: MetricDescriptor = MetricDescriptor {
    name: names::SESSION_DURATION,
    kind: InstrumentKind::Histogram,
    value_type: ValueType::F64,
    unit: "s",
    description: "Duration of user sessions",
    attributes: &[k::USER_TIER, k::ENTRY_PAGE],
    buckets: SESSION_DURATION_BUCKETS,
    owner: "product",
    alert_threshold: None,
    prometheus_name: "business_session_duration_seconds",
};

/// Active users per window and tier.
pub const ACTIVE_USERS: MetricDescriptor = MetricDescriptor {
    name: names::ACTIVE_USERS,
    kind: InstrumentKind::Gauge,
    value_type: ValueType::U64,
    unit: "{user}",
    description: "Number of active users in the given time window",
    attributes: &[k::WINDOW, k::USER_TIER],
    buckets: &[],
    owner: "product",
    alert_threshold: None,
    prometheus_name: "business_active_users",
};

/// Events refused by validation: the library's own health signal.
pub const REJECTED_EVENTS: MetricDescriptor = MetricDescriptor {
    name: names::REJECTED_EVENTS,
    kind: InstrumentKind::Counter,
    value_type: ValueType::U64,
    unit: "{event}",
    description: "Business events refused by validation and not recorded",
    attributes: &[k::REASON],
    buckets: &[],
    owner: "platform",
    alert_threshold: None,
    prometheus_name: "business_rejected_events_total",
};

/// Events recorded with a label value folded into `other` because its dimension's
/// budget of distinct values was used up (see
/// [`Budget`](crate::Budget)): a health signal. Any increase means new values of
/// that dimension no longer get series of their own.
pub const LABEL_BUDGET_EXHAUSTED: MetricDescriptor = MetricDescriptor {
    name: names::LABEL_BUDGET_EXHAUSTED,
    kind: InstrumentKind::Counter,
    value_type: ValueType::U64,
    unit: "{event}",
    description: "Business events recorded with a label value folded into other because its dimension's budget of distinct values was used up",
    attributes: &[k::DIMENSION],
    buckets: &[],
    owner: "platform",
    alert_threshold: Some("any increase over 5m"),
    prometheus_name: "business_label_budget_exhausted_total",
};

/// Every metric this crate emits, in documentation order.
pub const CATALOG: &[MetricDescriptor] = &[
    FUNNEL_STEP,
    CONVERSIONS,
    TIME_TO_CONVERSION,
    REVENUE_CENTS,
    ORDER_VALUE_CENTS,
    REVENUE_PER_MINUTE_CENTS,
    FEATURE_USAGE,
    SESSION_DURATION,
    ACTIVE_USERS,
    REJECTED_EVENTS,
    LABEL_BUDGET_EXHAUSTED,
];

/// Looks a descriptor up by its OpenTelemetry name.
#[must_use]
pub fn descriptor(name: &str) -> Option<&'static MetricDescriptor> {
    CATALOG.iter().find(|d| d.name == name)
}

/// The name the OpenTelemetry-to-Prometheus translation gives a descriptor.
///
/// This is the translation shared by the collector's Prometheus exporters and
/// Prometheus' own OTLP receiver: non-alphanumerics become `_`, a unit in braces adds
/// nothing, `s` adds `_seconds` unless present, and monotonic counters get `_total`.
/// The catalog's [`MetricDescriptor::prometheus_name`] must equal it (a test holds this).
#[must_use]
pub fn translated_prometheus_name(d: &MetricDescriptor) -> String {
    translate(d.name, d.unit, d.kind)
}

/// The Prometheus name of an instrument `name` with `unit` and `kind`, as
/// [`translated_prometheus_name`] describes.
#[must_use]
pub fn translate(name: &str, unit: &str, kind: InstrumentKind) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let unit_suffix = match unit {
        "s" => Some("seconds"),
        "By" => Some("bytes"),
        "1" if kind != InstrumentKind::Counter => Some("ratio"),
        _ => None,
    };
    if let Some(suffix) = unit_suffix {
        if !out.ends_with(suffix) {
            out.push('_');
            out.push_str(suffix);
        }
    }
    if kind == InstrumentKind::Counter && !out.ends_with("_total") {
        out.push_str("_total");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_prometheus_names_follow_the_otel_translation() {
        for d in CATALOG {
            assert_eq!(
                translated_prometheus_name(d),
                d.prometheus_name,
                "{}",
                d.name
            );
        }
    }

    #[test]
    fn catalog_names_are_unique_and_histograms_have_sorted_buckets() {
        for (i, d) in CATALOG.iter().enumerate() {
            assert!(CATALOG.iter().skip(i + 1).all(|o| o.name != d.name));
            assert_eq!(d.is_histogram(), !d.buckets.is_empty(), "{}", d.name);
            assert!(d.buckets.windows(2).all(|w| w[0] < w[1]), "{}", d.name);
            assert!(!d.attributes.is_empty(), "{}", d.name);
        }
    }

    #[test]
    fn descriptor_lookup_finds_every_entry_and_nothing_else() {
        for d in CATALOG {
            assert_eq!(descriptor(d.name), Some(d));
        }
        assert_eq!(descriptor("business.unknown"), None);
    }
}
