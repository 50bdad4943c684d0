//! A service's own business instruments: counters, histograms, gauges and money
//! amounts, each with unit, description, owner and alert threshold like the
//! built-in catalog's entries.

use std::marker::PhantomData;

use super::closed_set::ClosedSet;
use super::names::{is_identifier, is_instrument_name, is_portable_unit, str_eq, values_problem};
use crate::catalog::keys;

/// An attribute of a service's instrument: its key and, for a closed set, the
/// values it may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute key (`plan`, `region`).
    pub key: &'static str,
    /// The closed set's values; `None` for a free-form value that passes the
    /// [`LabelPolicy`](crate::LabelPolicy).
    pub values: Option<&'static [&'static str]>,
}

impl Attribute {
    /// A free-form attribute: values pass the label policy (allowlists, length
    /// caps, sanitizing, `other`) under [`Dimension::Custom`](crate::Dimension::Custom).
    #[must_use]
    pub const fn free(key: &'static str) -> Self {
        Self { key, values: None }
    }

    /// An attribute whose values are the service's enum `T` (see
    /// [`closed_set!`](crate::closed_set)).
    #[must_use]
    pub const fn closed<T: ClosedSet>(key: &'static str) -> Self {
        Self {
            key,
            values: Some(T::VALUES),
        }
    }
}

/// How a histogram aggregates.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Buckets {
    /// Explicit, increasing bucket boundaries.
    Explicit(&'static [f64]),
    /// A base-2 exponential histogram with at most `max_size` buckets at a scale of at
    /// most `max_scale` (OTLP paths only; the Prometheus text exposition has no such
    /// histogram).
    Exponential {
        /// Most buckets.
        max_size: u32,
        /// Highest scale (resolution), -10 to 20.
        max_scale: i8,
    },
}

/// What a service's instrument records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DefinedKind {
    /// A monotonic `Counter<u64>`.
    Counter,
    /// A `Histogram<f64>`.
    Histogram,
    /// A `Gauge<u64>` set to the latest value.
    Gauge,
    /// A `Counter<u64>` of minor units, with a `currency` attribute.
    MoneyCounter,
    /// A `Histogram<u64>` of minor units, with a `currency` attribute.
    MoneyHistogram,
    /// A `Gauge<u64>` of minor units, with a `currency` attribute.
    MoneyGauge,
}

impl DefinedKind {
    /// Whether amounts are money (minor units with a currency).
    #[must_use]
    pub const fn is_money(self) -> bool {
        matches!(
            self,
            Self::MoneyCounter | Self::MoneyHistogram | Self::MoneyGauge
        )
    }

    /// Whether it is a histogram.
    #[must_use]
    pub const fn is_histogram(self) -> bool {
        matches!(self, Self::Histogram | Self::MoneyHistogram)
    }
}

/// A service's instrument, untyped: what the [`Catalog`](crate::Catalog) holds.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct InstrumentDefinition {
    /// OpenTelemetry name: identifiers joined by dots (`saas.mrr_cents`).
    pub name: &'static str,
    /// What it records.
    pub kind: DefinedKind,
    /// Unit: an annotation in braces (`{seat}`), `s` or `1`.
    pub unit: &'static str,
    /// Description (the Prometheus `HELP` text).
    pub description: &'static str,
    /// The attributes, in the order recording calls give their values (money adds
    /// `currency` after them).
    pub attributes: &'static [Attribute],
    /// Histogram aggregation; `None` for counters and gauges.
    pub buckets: Option<Buckets>,
    /// The team that owns it.
    pub owner: &'static str,
    /// The alert condition that watches it, in words.
    pub alert_threshold: Option<&'static str>,
}

impl InstrumentDefinition {
    /// What is wrong with the definition, if anything.
    #[must_use]
    pub const fn problem(&self) -> Option<&'static str> {
        if !is_instrument_name(self.name) {
            return Some("the name must be identifiers joined by single dots, like `saas.mrr_cents`, so that every export path spells it the same");
        }
        if !is_portable_unit(self.unit) {
            return Some("the unit must be an annotation in braces (`{seat}`), `s` or `1`: other units add suffixes that differ between export paths");
        }
        if str_eq(self.unit, "1")
            && matches!(self.kind, DefinedKind::Counter | DefinedKind::MoneyCounter)
        {
            return Some("a counter's unit cannot be `1`; use an annotation such as `{event}`");
        }
        if self.kind.is_money()
            && !(str_eq(self.unit, "{cent}") || str_eq(self.unit, "{minor_unit}"))
        {
            return Some("a money instrument's unit is `{cent}` or `{minor_unit}`: amounts are minor units of their currency");
        }
        if self.description.is_empty() {
            return Some("the description is empty");
        }
        if !is_identifier(self.owner) {
            return Some("the owner must be [a-z][a-z0-9_]*, at most 64 bytes");
        }
        let mut attrs = self.attributes;
        if attrs.len() > 16 {
            return Some("at most 16 attributes");
        }
        while let [a, rest @ ..] = attrs {
            if !is_identifier(a.key) {
                return Some("every attribute key must be [a-z][a-z0-9_]*, at most 64 bytes");
            }
            if str_eq(a.key, keys::CURRENCY) && self.kind.is_money() {
                return Some("`currency` is added to money instruments; do not list it");
            }
            if has_key(rest, a.key) {
                return Some("duplicate attribute key");
            }
            if let Some(values) = a.values {
                if values.is_empty() {
                    return Some("a closed attribute needs at least one value");
                }
                if let Some(p) = values_problem(values) {
                    return Some(p);
                }
            }
            attrs = rest;
        }
        match (self.kind.is_histogram(), self.buckets) {
            (true, Some(b)) => buckets_problem(b),
            (true, None) => Some("a histogram needs buckets"),
            (false, Some(_)) => Some("only histograms have buckets"),
            (false, None) => None,
        }
    }

    /// Stops the build when the definition is wrong: call it from a `const` item.
    // Evaluated in `const` items: the panic is a build error naming the problem.
    #[allow(clippy::panic)]
    pub const fn check(&self) {
        if let Some(problem) = self.problem() {
            panic!("{}", problem);
        }
    }
}

const fn has_key(mut attrs: &[Attribute], key: &str) -> bool {
    while let [a, rest @ ..] = attrs {
        if str_eq(a.key, key) {
            return true;
        }
        attrs = rest;
    }
    false
}

/// What is wrong with a histogram aggregation, if anything.
#[must_use]
pub(crate) const fn buckets_problem(buckets: Buckets) -> Option<&'static str> {
    match buckets {
        Buckets::Explicit(mut b) => {
            if b.is_empty() {
                return Some("explicit buckets need at least one boundary");
            }
            while let [x, rest @ ..] = b {
                if !x.is_finite() {
                    return Some("bucket boundaries must be finite");
                }
                if let [y, ..] = rest {
                    if *x >= *y {
                        return Some("bucket boundaries must increase");
                    }
                }
                b = rest;
            }
            None
        }
        Buckets::Exponential {
            max_size,
            max_scale,
        } => {
            if max_size < 2 {
                Some("an exponential histogram needs max_size of at least 2")
            } else if max_scale < -10 || max_scale > 20 {
                Some("an exponential histogram's max_scale is -10 to 20")
            } else {
                None
            }
        }
    }
}

/// Marker types: what a [`Definition`] records.
pub mod kind {
    /// `add(u64, labels)`.
    #[derive(Debug)]
    pub enum Counter {}
    /// `record(f64, labels)`.
    #[derive(Debug)]
    pub enum Histogram {}
    /// `set(u64, labels)`.
    #[derive(Debug)]
    pub enum Gauge {}
    /// `add(Money, labels)`.
    #[derive(Debug)]
    pub enum MoneyCounter {}
    /// `record(Money, labels)`.
    #[derive(Debug)]
    pub enum MoneyHistogram {}
    /// `set(Money, labels)`.
    #[derive(Debug)]
    pub enum MoneyGauge {}
}

/// A service's instrument with `N` attributes, typed by what it records. Declare it
/// as a `const` and end with [`checked`](Self::checked) to have it checked at compile
/// time; register it with [`CatalogBuilder::with_instrument`](crate::CatalogBuilder::with_instrument).
///
/// ```
/// use business_metrics::{closed_set, define::{kind, Attribute, Definition}};
///
/// closed_set! {
///     /// Plans.
///     pub enum Plan: "plan" { /** Free. */ Starter => "starter", /** Paid. */ Team => "team" }
/// }
///
/// const SEATS: Definition<kind::Gauge, 2> = Definition::gauge(
///     "saas.seats", "{seat}", "Seats in use",
///     &[Attribute::closed::<Plan>("plan"), Attribute::free("region")],
/// )
/// .with_owner("product")
/// .checked();
/// ```
///
/// ```compile_fail
/// use business_metrics::define::{kind, Attribute, Definition};
/// // `ms` is translated differently on different export paths.
/// const BAD: Definition<kind::Histogram, 0> =
///     Definition::histogram("saas.latency", "ms", "Latency", &[], &[1.0]).checked();
/// ```
#[derive(Debug)]
pub struct Definition<K, const N: usize> {
    definition: InstrumentDefinition,
    _kind: PhantomData<fn() -> K>,
}

impl<K, const N: usize> Clone for Definition<K, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, const N: usize> Copy for Definition<K, N> {}

impl<K, const N: usize> Definition<K, N> {
    const fn make(
        name: &'static str,
        kind: DefinedKind,
        unit: &'static str,
        description: &'static str,
        attributes: &'static [Attribute; N],
        buckets: Option<Buckets>,
    ) -> Self {
        Self {
            definition: InstrumentDefinition {
                name,
                kind,
                unit,
                description,
                attributes,
                buckets,
                owner: "unowned",
                alert_threshold: None,
            },
            _kind: PhantomData,
        }
    }

    /// Sets the owning team.
    #[must_use]
    pub const fn with_owner(mut self, owner: &'static str) -> Self {
        self.definition.owner = owner;
        self
    }

    /// Sets the alert condition, in words (it appears in the generated docs).
    #[must_use]
    pub const fn with_alert_threshold(mut self, alert: &'static str) -> Self {
        self.definition.alert_threshold = Some(alert);
        self
    }

    /// Stops the build when the definition is wrong (in a `const` item); returns it
    /// unchanged otherwise.
    #[must_use]
    pub const fn checked(self) -> Self {
        self.definition.check();
        self
    }

    /// The untyped definition.
    #[must_use]
    pub const fn definition(&self) -> &InstrumentDefinition {
        &self.definition
    }
}

impl<const N: usize> Definition<kind::Counter, N> {
    /// A counter.
    #[must_use]
    pub const fn counter(
        name: &'static str,
        unit: &'static str,
        description: &'static str,
        attributes: &'static [Attribute; N],
    ) -> Self {
        Self::make(
            name,
            DefinedKind::Counter,
            unit,
            description,
            attributes,
            None,
        )
    }
}

impl<const N: usize> Definition<kind::Histogram, N> {
    /// A histogram with explicit bucket boundaries.
    #[must_use]
    pub const fn histogram(
        name: &'static str,
        unit: &'static str,
        description: &'static str,
        attributes: &'static [Attribute; N],
        buckets: &'static [f64],
    ) -> Self {
        Self::make(
            name,
            DefinedKind::Histogram,
            unit,
            description,
            attributes,
            Some(Buckets::Explicit(buckets)),
        )
    }
}

impl<const N: usize> Definition<kind::Gauge, N> {
    /// A gauge.
    #[must_use]
    pub const fn gauge(
        name: &'static str,
        unit: &'static str,
        description: &'static str,
        attributes: &'static [Attribute; N],
    ) -> Self {
        Self::make(
            name,
            DefinedKind::Gauge,
            unit,
            description,
            attributes,
            None,
        )
    }
}

impl<const N: usize> Definition<kind::MoneyCounter, N> {
    /// A counter of money (unit `{cent}`), with a `currency` attribute.
    #[must_use]
    pub const fn money_counter(
        name: &'static str,
        description: &'static str,
        attributes: &'static [Attribute; N],
    ) -> Self {
        Self::make(
            name,
            DefinedKind::MoneyCounter,
            "{cent}",
            description,
            attributes,
            None,
        )
    }
}

impl<const N: usize> Definition<kind::MoneyHistogram, N> {
    /// A histogram of money (unit `{cent}`), with a `currency` attribute.
    #[must_use]
    pub const fn money_histogram(
        name: &'static str,
        description: &'static str,
        attributes: &'static [Attribute; N],
        buckets: &'static [f64],
    ) -> Self {
        Self::make(
            name,
            DefinedKind::MoneyHistogram,
            "{cent}",
            description,
            attributes,
            Some(Buckets::Explicit(buckets)),
        )
    }
}

impl<const N: usize> Definition<kind::MoneyGauge, N> {
    /// A gauge of money (unit `{cent}`), with a `currency` attribute: monthly
    /// recurring revenue, a balance.
    #[must_use]
    pub const fn money_gauge(
        name: &'static str,
        description: &'static str,
        attributes: &'static [Attribute; N],
    ) -> Self {
        Self::make(
            name,
            DefinedKind::MoneyGauge,
            "{cent}",
            description,
            attributes,
            None,
        )
    }
}

impl<K, const N: usize> AsRef<InstrumentDefinition> for Definition<K, N> {
    fn as_ref(&self) -> &InstrumentDefinition {
        &self.definition
    }
}
