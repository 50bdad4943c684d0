//! Helpers for a service's unit tests (feature `testing`).
