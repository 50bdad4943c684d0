//! Recording on a service's own instruments: [`Instrument`] handles, typed by what
//! their [`Definition`] records.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use opentelemetry::metrics::{Gauge, Histogram};
use opentelemetry::{KeyValue, Value};

use crate::budget::Folded;
use crate::catalog::keys;
use crate::currency::Money;
use crate::define::{kind, Attribute, DefinedKind, Definition, InstrumentDefinition};
use crate::error::RecordError;
use crate::input::LabelArg;
use crate::instruments::Factory;
use crate::labels::Dimension;
use crate::metrics::{string_value, BusinessMetrics};
use crate::registry::DefinitionError;
use crate::series::{Binding, CountedInstrument, CounterSeries, HistogramSeries, SeriesCache};
use crate::validate::{check_amount, check_level, check_measurement};

/// The most attributes a service instrument has (plus `currency` for money).
const MAX_KEY_PARTS: usize = 17;

enum Otel {
    Counter(CountedInstrument),
    F64Histogram(Histogram<f64>),
    U64Histogram(Histogram<u64>),
    Gauge(Gauge<u64>),
}

/// One resolved attribute set of a service instrument.
enum Series {
    Counter(CounterSeries),
    F64Histogram(HistogramSeries<f64>),
    U64Histogram(HistogramSeries<u64>),
    Gauge(Box<[KeyValue]>),
}

/// A service instrument, created once per instance from its catalog definition.
pub(crate) struct CustomInstrument {
    definition: InstrumentDefinition,
    otel: Otel,
    series: SeriesCache<Series>,
}

impl CustomInstrument {
    pub(crate) fn new(f: &Factory<'_>, d: &InstrumentDefinition, cache_capacity: usize) -> Self {
        let otel = match d.kind {
            DefinedKind::Counter | DefinedKind::MoneyCounter => Otel::Counter(f.counted(d.name)),
            DefinedKind::Histogram => Otel::F64Histogram(f.f64_histogram(d.name)),
            DefinedKind::MoneyHistogram => Otel::U64Histogram(f.u64_histogram(d.name)),
            DefinedKind::Gauge | DefinedKind::MoneyGauge => Otel::Gauge(f.gauge(d.name)),
        };
        Self {
            definition: *d,
            otel,
            series: SeriesCache::new(cache_capacity),
        }
    }

    fn make_series(&self, attributes: Vec<KeyValue>, binding: Binding) -> Series {
        match &self.otel {
            Otel::Counter(c) => Series::Counter(CounterSeries::new(&c.cells, attributes)),
            Otel::F64Histogram(h) => {
                Series::F64Histogram(HistogramSeries::new(h, attributes, binding))
            }
            Otel::U64Histogram(h) => {
                Series::U64Histogram(HistogramSeries::new(h, attributes, binding))
            }
            Otel::Gauge(_) => Series::Gauge(attributes.into_boxed_slice()),
        }
    }

    fn write(&self, series: &Series, value: Value64) {
        match (series, value, &self.otel) {
            (Series::Counter(s), Value64::U(v), _) => s.add(v),
            (Series::F64Histogram(s), Value64::F(v), _) => s.record(v),
            (Series::U64Histogram(s), Value64::U(v), _) => s.record(v),
            (Series::Gauge(attrs), Value64::U(v), Otel::Gauge(g)) => g.record(v, attrs),
            // Each handle type writes the one value type its instrument takes.
            _ => {}
        }
    }
}

/// The values as text, in order.
fn texts<'a, V: Into<LabelArg<'a>>, const N: usize>(values: [V; N]) -> [&'a str; N] {
    values.map(|v| v.into().as_str())
}

/// An attribute value checked, before any budget.
enum Checked<'v> {
    /// A closed set's value.
    Closed(&'static str),
    /// A free-form value the policy accepted.
    Free(Dimension, Cow<'v, str>),
}

#[derive(Clone, Copy)]
enum Value64 {
    U(u64),
    F(f64),
}

/// A handle on a service instrument with `N` attributes, typed by what it records
/// ([`kind`]). Created by [`BusinessMetrics::instrument`]; cheap to clone. Values
/// are given in the definition's attribute order, as text or as the closed sets'
/// enums ([`LabelArg`]).
///
/// Each call validates its attribute values the first time a combination is seen
/// (closed attributes must hold one of their values, free-form ones pass the label
/// policy) and keeps the resolved series; later calls with the same values are a
/// lookup and one update, with no allocation. A refused call records nothing and
/// increments `business.rejected_events`.
pub struct Instrument<K, const N: usize> {
    metrics: BusinessMetrics,
    instrument: Arc<CustomInstrument>,
    _kind: PhantomData<fn() -> K>,
}

impl<K, const N: usize> Clone for Instrument<K, N> {
    fn clone(&self) -> Self {
        Self {
            metrics: self.metrics.clone(),
            instrument: Arc::clone(&self.instrument),
            _kind: PhantomData,
        }
    }
}

impl<K, const N: usize> fmt::Debug for Instrument<K, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instrument")
            .field("name", &self.instrument.definition.name)
            .finish()
    }
}

impl BusinessMetrics {
    /// A handle on a service instrument of this instance's catalog.
    ///
    /// # Errors
    /// [`DefinitionError::NotInCatalog`] when the catalog the instance was built
    /// with does not hold this definition.
    pub fn instrument<K, const N: usize>(
        &self,
        definition: &Definition<K, N>,
    ) -> Result<Instrument<K, N>, DefinitionError> {
        let d = definition.definition();
        let not_in_catalog = || DefinitionError::NotInCatalog {
            what: "instrument",
            name: d.name.to_owned(),
        };
        let registered = self
            .catalog()
            .definition(d.name)
            .ok_or_else(not_in_catalog)?;
        if registered.kind != d.kind || registered.attributes != d.attributes {
            return Err(not_in_catalog());
        }
        let instrument = self
            .inner()
            .instruments
            .custom
            .get(d.name)
            .cloned()
            .ok_or_else(not_in_catalog)?;
        Ok(Instrument {
            metrics: self.clone(),
            instrument,
            _kind: PhantomData,
        })
    }
}

impl<K, const N: usize> Instrument<K, N> {
    /// The definition.
    #[must_use]
    pub fn definition(&self) -> &InstrumentDefinition {
        &self.instrument.definition
    }

    /// Validates and records `value` on the series of `values` (and `currency`).
    fn record(
        &self,
        values: &[&str; N],
        currency: Option<&'static str>,
        value: Result<Value64, RecordError>,
    ) -> Result<(), RecordError> {
        let m = &self.metrics;
        let value = m.rejected(value)?;
        let inst = &*self.instrument;
        let mut parts = [""; MAX_KEY_PARTS];
        for (part, v) in parts.iter_mut().zip(values.iter()) {
            *part = v;
        }
        let n = match currency {
            Some(code) => {
                if let Some(slot) = parts.get_mut(N) {
                    *slot = code;
                }
                N + 1
            }
            None => N,
        };
        let key = parts.get(..n).unwrap_or(&[]);
        if let Some(series) = inst.series.get(key) {
            inst.write(series, value);
            return Ok(());
        }
        let (attributes, folded) = m.rejected(self.attributes(values, currency))?;
        if !folded.is_empty() {
            // Not cached: the cache keeps its room for the values within budget.
            inst.write(&inst.make_series(attributes, Binding::Unbound), value);
            m.count_folded(&folded);
            return Ok(());
        }
        match inst
            .series
            .insert_with(key, || inst.make_series(attributes.clone(), Binding::Bound))
        {
            Some(series) => inst.write(series, value),
            None => inst.write(&inst.make_series(attributes, Binding::Unbound), value),
        }
        Ok(())
    }

    /// The attributes of `values`, every value checked before any free-form one
    /// goes through its budget, and the dimensions a budget folded.
    fn attributes(
        &self,
        values: &[&str; N],
        currency: Option<&'static str>,
    ) -> Result<(Vec<KeyValue>, Folded), RecordError> {
        let d = &self.instrument.definition;
        let checked = d
            .attributes
            .iter()
            .zip(values.iter())
            .map(|(attribute, raw)| self.check(attribute, raw))
            .collect::<Result<Vec<_>, _>>()?;
        let mut folded = Folded::default();
        let mut out = Vec::with_capacity(N + 1);
        for (attribute, value) in d.attributes.iter().zip(checked) {
            out.push(match value {
                Checked::Closed(v) => KeyValue::new(attribute.key, v),
                Checked::Free(dimension, v) => KeyValue::new(
                    attribute.key,
                    Value::String(string_value(self.metrics.admit(dimension, v, &mut folded))),
                ),
            });
        }
        if let Some(code) = currency {
            out.push(KeyValue::new(keys::CURRENCY, code));
        }
        Ok((out, folded))
    }

    fn check<'v>(&self, a: &Attribute, raw: &'v str) -> Result<Checked<'v>, RecordError> {
        match a.values {
            Some(values) => match values.iter().find(|v| **v == raw) {
                Some(v) => Ok(Checked::Closed(v)),
                None => Err(RecordError::UnknownValue {
                    attribute: a.key,
                    value: raw.chars().take(64).collect(),
                    expected: values,
                }),
            },
            None => {
                let dimension = Dimension::for_key(a.key);
                let value = self.metrics.label_policy().apply(dimension, raw)?;
                Ok(Checked::Free(dimension, value))
            }
        }
    }
}

impl<const N: usize> Instrument<kind::Counter, N> {
    /// Adds `value` to the series of `values` (in the definition's attribute order).
    ///
    /// # Errors
    /// An attribute value refused (outside its closed set, or by the label policy).
    pub fn add<'a, V: Into<LabelArg<'a>>>(
        &self,
        value: u64,
        values: [V; N],
    ) -> Result<(), RecordError> {
        self.record(&texts(values), None, Ok(Value64::U(value)))
    }
}

impl<const N: usize> Instrument<kind::Histogram, N> {
    /// Records `value` on the series of `values`.
    ///
    /// # Errors
    /// A negative, NaN or infinite value, or an attribute value refused.
    pub fn record_value(&self, value: f64, values: [&str; N]) -> Result<(), RecordError> {
        let name = self.instrument.definition.name;
        self.record(
            &values,
            None,
            check_measurement(name, value).map(Value64::F),
        )
    }
}

impl<const N: usize> Instrument<kind::Gauge, N> {
    /// Sets the series of `values` to `value`.
    ///
    /// # Errors
    /// An attribute value refused.
    pub fn set<'a, V: Into<LabelArg<'a>>>(
        &self,
        value: u64,
        values: [V; N],
    ) -> Result<(), RecordError> {
        self.record(&texts(values), None, Ok(Value64::U(value)))
    }
}

impl<const N: usize> Instrument<kind::MoneyCounter, N> {
    /// Adds an amount to the series of `values` and the amount's currency.
    ///
    /// # Errors
    /// An amount of 0 or above [`MAX_AMOUNT_MINOR`](crate::MAX_AMOUNT_MINOR), or an
    /// attribute value refused.
    pub fn add<'a, V: Into<LabelArg<'a>>>(
        &self,
        amount: Money,
        values: [V; N],
    ) -> Result<(), RecordError> {
        let v = check_amount(amount.amount_minor).map(Value64::U);
        self.record(&texts(values), Some(amount.currency.code()), v)
    }
}

impl<const N: usize> Instrument<kind::MoneyHistogram, N> {
    /// Records an amount on the series of `values` and the amount's currency.
    ///
    /// # Errors
    /// An amount of 0 or above [`MAX_AMOUNT_MINOR`](crate::MAX_AMOUNT_MINOR), or an
    /// attribute value refused.
    pub fn record_amount<'a, V: Into<LabelArg<'a>>>(
        &self,
        amount: Money,
        values: [V; N],
    ) -> Result<(), RecordError> {
        let v = check_amount(amount.amount_minor).map(Value64::U);
        self.record(&texts(values), Some(amount.currency.code()), v)
    }
}

impl<const N: usize> Instrument<kind::MoneyGauge, N> {
    /// Sets the series of `values` and the amount's currency to the amount (0
    /// allowed).
    ///
    /// # Errors
    /// An amount above [`MAX_AMOUNT_MINOR`](crate::MAX_AMOUNT_MINOR), or an attribute
    /// value refused.
    pub fn set<'a, V: Into<LabelArg<'a>>>(
        &self,
        amount: Money,
        values: [V; N],
    ) -> Result<(), RecordError> {
        let v = check_level(amount.amount_minor).map(Value64::U);
        self.record(&texts(values), Some(amount.currency.code()), v)
    }
}
