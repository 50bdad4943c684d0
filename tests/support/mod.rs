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

/// Points a scrape job of the shipped `otel-collector/prometheus/prometheus.yml` at
/// `target` the way its comments tell a user who moved a port to: the job's targets
/// file (`targets/<job>.yml`) is copied into `dir` with its one address replaced by
/// `target`, and the job's `file_sd_configs` reads that copy.
pub fn point_shipped_job_at(job: &mut serde_json::Value, target: std::net::SocketAddr, dir: &Path) {
    assert!(
        job.get("static_configs").is_none(),
        "the shipped job {} lists its targets in prometheus.yml instead of targets/",
        job["job_name"]
    );
    let files = job["file_sd_configs"][0]["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "one targets file per job: {files:?}");
    let relative = files[0].as_str().unwrap().to_owned();
    let shipped = repo_path("otel-collector/prometheus").join(&relative);
    let text = std::fs::read_to_string(&shipped).unwrap();
    let groups: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let targets = groups[0]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{}: one address", shipped.display());
    let default = targets[0].as_str().unwrap();
    let copy = dir.join(Path::new(&relative).file_name().unwrap());
    std::fs::write(&copy, text.replace(default, &target.to_string())).unwrap();
    job["file_sd_configs"] = serde_json::json!([{ "files": [copy.display().to_string()] }]);
}
