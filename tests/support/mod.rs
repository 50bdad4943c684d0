//! Helpers of the root package's end-to-end tests: the shared real-server helpers,
//! and paths in the repository.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::path::{Path, PathBuf};

pub use business_metrics_test_support::*;

/// The repository root (the root package's manifest directory).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A path under the repository root.
pub fn repo_path(relative: &str) -> PathBuf {
    repo_root().join(relative)
}
