//! The handles a pre-resolved series writes through: counter cells, histograms,
//! and the flags that create series on first use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use opentelemetry::metrics::Histogram;
use opentelemetry::KeyValue;

use super::cells::{CounterCell, CounterCells};

/// Whether a histogram series binds its instrument handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Binding {
    /// Bind (with the `bound-instruments` feature; otherwise the same as `Unbound`).
    Bound,
    /// Keep the instrument and an attribute slice.
    Unbound,
}

/// One counter series: its attribute set's cell, shared with every other path
/// that records on the same attribute set.
pub(crate) struct CounterSeries(Arc<CounterCell>);

impl CounterSeries {
    /// The series of `attributes` among `cells`. The cell exists from now on, so
    /// the series is reported (at 0) from the next collection.
    pub(crate) fn new(cells: &CounterCells, attributes: Vec<KeyValue>) -> Self {
        Self(cells.cell(attributes))
    }

    /// Adds `value`.
    #[inline]
    pub(crate) fn add(&self, value: u64) {
        self.0.add(value);
    }
}

/// One histogram series.
pub(crate) enum HistogramSeries<T> {
    #[cfg(feature = "bound-instruments")]
    Bound(opentelemetry::metrics::BoundHistogram<T>),
    Unbound {
        histogram: Histogram<T>,
        attributes: Box<[KeyValue]>,
    },
}

impl<T: Copy> HistogramSeries<T> {
    /// A series of `histogram` with `attributes`.
    pub(crate) fn new(
        histogram: &Histogram<T>,
        attributes: Vec<KeyValue>,
        binding: Binding,
    ) -> Self {
        let attributes = sorted(attributes);
        #[cfg(feature = "bound-instruments")]
        if binding == Binding::Bound {
            return Self::Bound(histogram.bind(&attributes));
        }
        #[cfg(not(feature = "bound-instruments"))]
        let _ = binding;
        Self::Unbound {
            histogram: histogram.clone(),
            attributes: attributes.into_boxed_slice(),
        }
    }

    #[inline]
    pub(crate) fn record(&self, value: T) {
        match self {
            #[cfg(feature = "bound-instruments")]
            Self::Bound(bound) => bound.record(value),
            Self::Unbound {
                histogram,
                attributes,
            } => histogram.record(value, attributes),
        }
    }
}

fn sorted(mut attributes: Vec<KeyValue>) -> Vec<KeyValue> {
    attributes.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    attributes
}

/// A series created on first use, so that resolving a combination does not create
/// series nobody recorded on.
pub(crate) struct LazyCounter(OnceLock<CounterSeries>);

impl LazyCounter {
    pub(crate) const fn new() -> Self {
        Self(OnceLock::new())
    }

    #[inline]
    pub(crate) fn get_or_init(&self, init: impl FnOnce() -> CounterSeries) -> &CounterSeries {
        self.0.get_or_init(init)
    }

    /// The series, if it was created.
    #[inline]
    pub(crate) fn get(&self) -> Option<&CounterSeries> {
        self.0.get()
    }
}

/// A once-only flag.
pub(crate) struct Once(AtomicBool);

impl Once {
    pub(crate) const fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    /// `true` the first time only.
    #[inline]
    pub(crate) fn first(&self) -> bool {
        !self.0.load(Ordering::Acquire) && !self.0.swap(true, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_is_true_exactly_once() {
        let once = Once::new();
        assert!(once.first());
        assert!(!once.first());
    }
}
