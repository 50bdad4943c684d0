//! The workspace's root package: it owns the end-to-end tests under `tests/` and the
//! examples under `examples/`, which exercise the `business-metrics` crates together
//! against real servers. It exports nothing.
