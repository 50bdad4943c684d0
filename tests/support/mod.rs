//! Helpers of the root package's end-to-end tests: the shared real-server helpers,
//! paths in the repository, the shop served in-process and the fixed script of
//! traffic the backend tests send through it.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::path::{Path, PathBuf};

pub use business_metrics_test_support::exposition::{Sample, Scrape};
pub use business_metrics_test_support::*;

pub mod guide_queries;
#[path = "../../examples/shop/tests/support/in_process.rs"]
pub mod in_process;
pub mod shop_script;

/// The repository root (the root package's manifest directory).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A path under the repository root.
pub fn repo_path(relative: &str) -> PathBuf {
    repo_root().join(relative)
}
