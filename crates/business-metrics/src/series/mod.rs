//! Pre-resolved series: the validated attribute sets this crate records on, each with
//! its instrument handles, held in bounded caches keyed by the caller's raw values.
//!
//! Label discipline keeps the set of attribute combinations small and known, so the
//! first event of a combination pays for validation and the SDK's attribute lookup,
//! and every later one is a cache probe plus one update per instrument.
//!
//! Counters count in the crate's own cells, one per attribute set ([`CounterCells`]),
//! reported by an observable counter's callback as cumulative totals; a cell that
//! threads contend on spreads over striped atomics, so threads recording the same
//! series do not share a cache line. With the `bound-instruments` feature, cached
//! histogram series hold the OpenTelemetry API's bound histograms
//! (`Histogram::bind`), a direct write into the SDK's aggregator; without it, a
//! pre-built, key-sorted attribute slice, which saves validation and allocation but
//! leaves the SDK's per-call lookup.
//!
//! The caches never evict: an entry lives as long as its [`BusinessMetrics`]. Past
//! their capacity, combinations are recorded on the uncached path, which behaves the
//! same and costs what a plain API call costs. Cardinality limits stay the SDK's: a
//! handle bound at the limit writes to the overflow series, as an unbound call would.
//!
//! [`BusinessMetrics`]: crate::BusinessMetrics

mod cells;
mod handles;
mod interner;
mod striped;
mod table;

pub(crate) use cells::{CountedInstrument, CounterCells};
pub(crate) use handles::{Binding, CounterSeries, HistogramSeries, LazyCounter, Once};
pub(crate) use interner::SharedValues;
pub(crate) use striped::{pick, rehash, Padded, Stripes};
pub(crate) use table::{
    bytes_eq, Resolved, SeriesCache, DEFAULT_CACHE_CAPACITY, MAX_CACHE_CAPACITY,
};
