//! The handles a pre-resolved series writes through: counters, histograms, and the
//! flags that create series on first use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::KeyValue;

/// Whether a series binds its instrument handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Binding {
    /// Bind (with the `bound-instruments` feature; otherwise the same as `Unbound`).
    Bound,
    /// Keep the instrument and an attribute slice.
    Unbound,
}

/// One counter series. It does not hold its instrument: each update names it, so a
/// series kept in a cache stays small.
///
/// A bound series counts in its own atomic and hands the total to the SDK's bound
/// counter when [`flush`](Self::flush) runs, which [`BusinessMetrics`] arranges
/// before every collection (an observable instrument's callback runs ahead of the
/// collection of every reader). An update is then one uncontended atomic add. The
/// exported values are the same: a collection sees every update made before it.
///
/// [`BusinessMetrics`]: crate::BusinessMetrics
pub(crate) enum CounterSeries {
    #[cfg(feature = "bound-instruments")]
    Bound {
        bound: opentelemetry::metrics::BoundCounter<u64>,
        pending: std::sync::atomic::AtomicU64,
    },
    Unbound(Box<[KeyValue]>),
}

impl CounterSeries {
    /// A series of `counter` with `attributes` (sorted by key here, so the SDK stores
    /// the set once).
    pub(crate) fn new(counter: &Counter<u64>, attributes: Vec<KeyValue>, binding: Binding) -> Self {
        let attributes = sorted(attributes);
        #[cfg(feature = "bound-instruments")]
        if binding == Binding::Bound {
            return Self::Bound {
                bound: counter.bind(&attributes),
                pending: std::sync::atomic::AtomicU64::new(0),
            };
        }
        #[cfg(not(feature = "bound-instruments"))]
        let _ = (counter, binding);
        Self::Unbound(attributes.into_boxed_slice())
    }

    /// Adds `value`; `counter` is the instrument the series was made from. Adding 0
    /// goes to the SDK at once, so the series exists from then on.
    #[inline]
    pub(crate) fn add(&self, counter: &Counter<u64>, value: u64) {
        match self {
            #[cfg(feature = "bound-instruments")]
            Self::Bound { bound, pending } => {
                if value == 0 {
                    bound.add(0);
                } else {
                    // Wraps as the SDK's own sum does; a flush empties it long before.
                    pending.fetch_add(value, Ordering::Relaxed);
                }
            }
            Self::Unbound(attributes) => counter.add(value, attributes),
        }
    }

    /// Hands what a bound series has counted since the last flush to the SDK.
    pub(crate) fn flush(&self) {
        #[cfg(feature = "bound-instruments")]
        if let Self::Bound { bound, pending } = self {
            let value = pending.swap(0, Ordering::Relaxed);
            if value > 0 {
                bound.add(value);
            }
        }
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
