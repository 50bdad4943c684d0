//! The counts of a counter instrument, kept in the crate's own cells and reported
//! as what they are: cumulative totals per attribute set, from an observable
//! counter's callback.
//!
//! Each attribute set has exactly one [`CounterCell`], whichever path records on
//! it (a cached series, a held handle, a one-off call), because an observable
//! instrument keeps one value per attribute set per collection. The callback
//! reports every cell's total when a reader collects: no other instrument, no
//! order among callbacks, and no flush is involved, so a view can rename, drop or
//! re-aggregate any instrument without holding a count back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use opentelemetry::metrics::{AsyncInstrument, Meter, ObservableCounter};
use opentelemetry::KeyValue;

use super::striped::StripedU64;

pub(crate) use crate::metrics::OVERFLOW_ATTRIBUTE as OVERFLOW_KEY;

/// One attribute set's count, on a cache line of its own (with its attributes,
/// read only when a reader collects): threads recording on different attribute
/// sets never write the same line, and a cell takes two lines with its reference
/// counts.
#[repr(align(64))]
pub(crate) struct CounterCell {
    count: StripedU64,
    attributes: Box<[KeyValue]>,
}

impl CounterCell {
    /// Adds `value`.
    #[inline]
    pub(crate) fn add(&self, value: u64) {
        self.count.add(value);
    }

    #[cfg(test)]
    pub(crate) fn sum(&self) -> u64 {
        self.count.sum()
    }
}

/// The cells of one counter instrument, at most `limit` attribute sets plus one
/// overflow cell.
pub(crate) struct CounterCells {
    cells: Mutex<Table>,
    limit: usize,
}

#[derive(Default)]
struct Table {
    /// Insertion order, which is also the order the callback reports in.
    order: Vec<Arc<CounterCell>>,
    by_attributes: HashMap<Box<[KeyValue]>, Arc<CounterCell>>,
    overflow: Option<Arc<CounterCell>>,
}

impl CounterCells {
    /// Cells for up to `limit` attribute sets (at least 1).
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            cells: Mutex::new(Table::default()),
            limit: limit.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // Cells stay consistent whatever a panicking thread left: each is an atomic.
        self.cells.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cell of `attributes` (in any order), created at 0 if absent. Past the
    /// limit, the overflow cell.
    pub(crate) fn cell(&self, mut attributes: Vec<KeyValue>) -> Arc<CounterCell> {
        sort(&mut attributes);
        self.sorted_cell(attributes)
    }

    /// [`cell`](Self::cell) for attributes already in key order.
    fn sorted_cell(&self, attributes: Vec<KeyValue>) -> Arc<CounterCell> {
        let mut table = self.lock();
        if let Some(cell) = table.by_attributes.get(attributes.as_slice()) {
            return Arc::clone(cell);
        }
        if table.order.len() >= self.limit {
            return Arc::clone(table.overflow.get_or_insert_with(|| {
                Arc::new(CounterCell {
                    count: StripedU64::new(),
                    attributes: Box::new([KeyValue::new(OVERFLOW_KEY, true)]),
                })
            }));
        }
        let attributes = attributes.into_boxed_slice();
        let cell = Arc::new(CounterCell {
            count: StripedU64::new(),
            attributes: attributes.clone(),
        });
        table.order.push(Arc::clone(&cell));
        table.by_attributes.insert(attributes, Arc::clone(&cell));
        cell
    }

    /// Adds `value` to the cell of `attributes`, for a combination no cache holds.
    /// Allocates only when the attribute set is new.
    pub(crate) fn add<const N: usize>(&self, value: u64, mut attributes: [KeyValue; N]) {
        sort(&mut attributes);
        let found = self
            .lock()
            .by_attributes
            .get(attributes.as_slice())
            .map(Arc::clone);
        match found {
            Some(cell) => cell.add(value),
            None => self.sorted_cell(attributes.into()).add(value),
        }
    }

    /// Reports every cell's total.
    pub(crate) fn observe(&self, observer: &dyn AsyncInstrument<u64>) {
        let table = self.lock();
        for cell in table.order.iter().chain(table.overflow.iter()) {
            observer.observe(cell.count.sum(), &cell.attributes);
        }
    }

    /// How many attribute sets have a cell (the overflow cell not included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().order.len()
    }
}

/// Attributes in key order, so an attribute set has one spelling.
fn sort(attributes: &mut [KeyValue]) {
    attributes.sort_unstable_by(|a, b| a.key.cmp(&b.key));
}

/// A counter instrument: its cells and the observable counter that reports them.
pub(crate) struct CountedInstrument {
    pub(crate) cells: Arc<CounterCells>,
    // Held so the callback's registration lives as long as the instance.
    _instrument: ObservableCounter<u64>,
}

impl CountedInstrument {
    /// An observable counter on `meter` reporting `cells`. The callback holds the
    /// cells, so counts recorded before the last handle went away are still
    /// reported by later collections.
    pub(crate) fn new(
        meter: &Meter,
        name: &'static str,
        unit_and_description: Option<(&'static str, &'static str)>,
        cells: Arc<CounterCells>,
    ) -> Self {
        let mut builder = meter.u64_observable_counter(name);
        if let Some((unit, description)) = unit_and_description {
            builder = builder.with_unit(unit).with_description(description);
        }
        let reported = Arc::clone(&cells);
        let instrument = builder
            .with_callback(move |observer| reported.observe(observer))
            .build();
        Self {
            cells,
            _instrument: instrument,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_fills_one_cache_line() {
        assert_eq!(std::mem::size_of::<CounterCell>(), 64);
        assert_eq!(std::mem::align_of::<CounterCell>(), 64);
    }

    #[test]
    fn one_cell_per_attribute_set_whatever_the_order() {
        let cells = CounterCells::new(8);
        let a = cells.cell(vec![KeyValue::new("b", "2"), KeyValue::new("a", "1")]);
        let b = cells.cell(vec![KeyValue::new("a", "1"), KeyValue::new("b", "2")]);
        assert!(Arc::ptr_eq(&a, &b));
        cells.add(5, [KeyValue::new("b", "2"), KeyValue::new("a", "1")]);
        a.add(1);
        assert_eq!(b.sum(), 6);
        assert_eq!(cells.len(), 1);
    }

    #[test]
    fn past_the_limit_counts_go_to_the_overflow_cell() {
        let cells = CounterCells::new(2);
        cells.add(1, [KeyValue::new("k", "a")]);
        cells.add(1, [KeyValue::new("k", "b")]);
        cells.add(3, [KeyValue::new("k", "c")]);
        cells.add(4, [KeyValue::new("k", "d")]);
        cells.add(10, [KeyValue::new("k", "a")]);
        assert_eq!(cells.len(), 2);
        let overflow = cells.cell(vec![KeyValue::new("k", "e")]);
        assert_eq!(overflow.sum(), 7);
        assert_eq!(&*overflow.attributes, &[KeyValue::new(OVERFLOW_KEY, true)]);
        assert_eq!(cells.cell(vec![KeyValue::new("k", "a")]).sum(), 11);
    }
}
