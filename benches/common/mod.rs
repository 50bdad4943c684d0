//! Shared by the benchmark targets: the reference workload, the peers, the
//! Prometheus exposition helpers, OTLP encoding, and result files.
#![allow(dead_code, unreachable_pub, missing_debug_implementations)]

pub mod exposition;
pub mod otlp;
pub mod peers;
pub mod workload;

use std::path::PathBuf;

/// The directory `scripts/bench.sh` collects figures in (`BENCH_RESULTS_DIR`).
pub fn results_dir() -> Option<PathBuf> {
    std::env::var_os("BENCH_RESULTS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Prints a figure and, when `BENCH_RESULTS_DIR` is set, writes it to
/// `<dir>/<name>.json`.
pub fn write_result(name: &str, value: &serde_json::Value) {
    println!("result {name}: {value}");
    if let Some(dir) = results_dir() {
        std::fs::create_dir_all(&dir).expect("results directory");
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, value.to_string()).expect("write result");
    }
}

/// A `kB` field of `/proc/self/status` (`VmHWM`, `VmRSS`), in KiB.
pub fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("{field} not in /proc/self/status"))
}
