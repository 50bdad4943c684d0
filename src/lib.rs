//! The workspace's root package: it owns the end-to-end tests under `tests/` and the
//! examples under `examples/`, which exercise the `business-metrics` crates together
//! against real servers. It exports nothing.

// The README's Rust snippets compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// So do the READMEs of the crates the root package depends on.
#[cfg(doctest)]
#[doc = include_str!("../crates/business-metrics/README.md")]
struct BusinessMetricsReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../crates/business-metrics-exporter/README.md")]
struct ExporterReadmeDoctests;
