//! The series of one funnel context: its steps, error step, conversion and time to
//! conversion.

use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::{KeyValue, StringValue, Value};

use crate::budget::Folded;
use crate::catalog::keys;
use crate::define::FunnelDefinition;
use crate::instruments::Instruments;
use crate::metrics::Inner;
use crate::series::{CounterSeries, HistogramSeries, LazyCounter, Once};

/// Validated funnel attributes.
#[derive(Clone, Debug)]
pub(crate) struct FunnelLabels {
    pub(crate) funnel: &'static str,
    pub(crate) source: StringValue,
    pub(crate) device_type: &'static str,
    pub(crate) variant: StringValue,
    /// The dimensions a budget folded into `other`: each event recorded with these
    /// labels is counted on `business.label_budget_exhausted`.
    pub(crate) folded: Folded,
}

impl FunnelLabels {
    pub(crate) fn attributes(&self, step: StringValue) -> [KeyValue; 5] {
        [
            KeyValue::new(keys::FUNNEL, self.funnel),
            KeyValue::new(keys::STEP, Value::String(step)),
            KeyValue::new(keys::SOURCE, Value::String(self.source.clone())),
            KeyValue::new(keys::DEVICE_TYPE, self.device_type),
            KeyValue::new(
                keys::EXPERIMENT_VARIANT,
                Value::String(self.variant.clone()),
            ),
        ]
    }

    pub(crate) fn conversion_attributes(&self, conversion_type: StringValue) -> [KeyValue; 3] {
        [
            KeyValue::new(keys::CONVERSION_TYPE, Value::String(conversion_type)),
            KeyValue::new(keys::SOURCE, Value::String(self.source.clone())),
            KeyValue::new(keys::DEVICE_TYPE, self.device_type),
        ]
    }
}

/// The series of one funnel context, each created on first use.
pub(crate) struct FunnelSeries {
    pub(crate) labels: FunnelLabels,
    /// The funnel's steps, then its error step.
    step_values: Box<[&'static str]>,
    steps: Box<[LazyCounter]>,
    conversion_type: &'static str,
    conversions: OnceLock<CounterSeries>,
    /// Shared by every context of the funnel.
    conversion_time: OnceLock<Arc<HistogramSeries<f64>>>,
    touched: Once,
}

impl FunnelSeries {
    pub(crate) fn new(definition: &FunnelDefinition, labels: FunnelLabels) -> Self {
        let step_values: Box<[&'static str]> = definition.step_values().collect();
        Self {
            labels,
            steps: step_values.iter().map(|_| LazyCounter::new()).collect(),
            step_values,
            conversion_type: definition.conversion_type,
            conversions: OnceLock::new(),
            conversion_time: OnceLock::new(),
            touched: Once::new(),
        }
    }

    /// The position of the error step.
    pub(crate) fn error_position(&self) -> usize {
        self.steps.len().saturating_sub(1)
    }

    /// The position of the final (converting) step.
    pub(crate) fn final_position(&self) -> usize {
        self.steps.len().saturating_sub(2)
    }

    #[inline]
    fn step(&self, i: &Instruments, position: usize) -> Option<&CounterSeries> {
        let lazy = self.steps.get(position)?;
        if let Some(series) = lazy.get() {
            return Some(series);
        }
        let value = *self.step_values.get(position)?;
        Some(lazy.get_or_init(|| {
            CounterSeries::new(
                &i.funnel_step.cells,
                self.labels.attributes(StringValue::from(value)).into(),
            )
        }))
    }

    /// Records one entry into the step at `position` (steps, then the error step).
    #[inline]
    pub(crate) fn add_step(&self, i: &Instruments, position: usize) {
        if let Some(series) = self.step(i, position) {
            series.add(1);
        }
        self.labels.folded.count(&i.label_budget_exhausted);
    }

    /// Creates the series of every step and of the conversion at 0, once, so rates
    /// and ratios exist before the first event.
    pub(crate) fn touch(&self, inner: &Inner) {
        if !self.touched.first() {
            return;
        }
        for position in 0..self.steps.len() {
            // Creating a step's cell is what makes it reported.
            let _ = self.step(&inner.instruments, position);
        }
        let _ = self.conversions(inner);
    }

    /// Records a completed run: the final step and the conversion taking `secs`
    /// (one event).
    #[inline]
    pub(crate) fn complete(&self, inner: &Inner, secs: f64) {
        self.add_step(&inner.instruments, self.final_position());
        self.conversion(inner, secs);
    }

    /// Records the funnel's conversion, taking `secs`.
    #[inline]
    pub(crate) fn add_conversion(&self, inner: &Inner, secs: f64) {
        self.conversion(inner, secs);
        self.labels
            .folded
            .count(&inner.instruments.label_budget_exhausted);
    }

    #[inline]
    fn conversion(&self, inner: &Inner, secs: f64) {
        self.conversion_time
            .get_or_init(|| inner.conversion_time(self.conversion_type))
            .record(secs);
        self.conversions(inner).add(1);
    }

    /// The conversion series, whose cell the contexts that differ only in their
    /// variant share (conversions carry no variant).
    fn conversions(&self, inner: &Inner) -> &CounterSeries {
        self.conversions.get_or_init(|| {
            CounterSeries::new(
                &inner.instruments.conversions.cells,
                self.labels
                    .conversion_attributes(StringValue::from(self.conversion_type))
                    .into(),
            )
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
