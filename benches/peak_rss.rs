//! Peak resident memory of one peer holding ~10k series, in a process of its own.
//!
//! Each peer starts its `/metrics` server (the project: its own pipeline with the
//! Prometheus bridge; the others: axum on a one-worker Tokio runtime, as the bridge
//! does), records the large-pool workload until every one of its 10,051 series
//! exists, reads `VmHWM` from `/proc/self/status`, serves one scrape, and reads
//! `VmHWM` again. It prints one JSON line and, with `BENCH_RESULTS_DIR` set, writes
//! `<dir>/rss_<peer>.json`.
//!
//! Run with: `cargo bench --bench peak_rss -- <project|raw_sdk|prometheus>`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

mod common;

use std::process::ExitCode;

use serde_json::json;

use common::exposition::check_series;
use common::peers::{Project, PromCrate, RawSdkPrometheus};
use common::workload::Pools;
use common::{proc_status_kib, write_result};

const PEERS: [&str; 3] = ["project", "raw_sdk", "prometheus"];

fn populate(pools: &Pools, record: impl Fn(&common::workload::Event)) {
    for i in 0..pools.covering_events() {
        record(&pools.event(i));
    }
}

/// Populates the peer, then scrapes it once; returns VmHWM after each step (KiB)
/// and the scraped text.
fn measure(peer: &str, pools: &Pools) -> (u64, u64, String) {
    match peer {
        "project" => {
            let p = Project::start();
            populate(pools, |ev| p.record_calls(ev));
            let populated = proc_status_kib("VmHWM");
            let text = p.scrape();
            (populated, proc_status_kib("VmHWM"), text)
        }
        "raw_sdk" => {
            let p = RawSdkPrometheus::start();
            populate(pools, |ev| p.sdk.record(ev));
            let populated = proc_status_kib("VmHWM");
            let text = p.scrape();
            (populated, proc_status_kib("VmHWM"), text)
        }
        "prometheus" => {
            let p = PromCrate::start();
            populate(pools, |ev| p.record(ev));
            let populated = proc_status_kib("VmHWM");
            let text = p.scrape();
            (populated, proc_status_kib("VmHWM"), text)
        }
        other => panic!("unknown peer {other}"),
    }
}

fn main() -> ExitCode {
    // `cargo bench` adds `--bench`; the peer is the first other argument.
    let Some(peer) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        eprintln!("usage: peak_rss <{}>", PEERS.join("|"));
        return ExitCode::SUCCESS;
    };
    if !PEERS.contains(&peer.as_str()) {
        eprintln!(
            "unknown peer {peer:?}; expected one of {}",
            PEERS.join(", ")
        );
        return ExitCode::from(2);
    }
    let pools = Pools::large();
    let baseline = proc_status_kib("VmRSS");
    let (populated, scraped, text) = measure(&peer, &pools);
    let count = check_series(&peer, &text, pools.expected_series());
    write_result(
        &format!("rss_{peer}"),
        &json!({
            "peer": peer,
            "series": count.series,
            "revenue_per_minute_series": count.per_minute,
            "baseline_rss_kib": baseline,
            "hwm_populated_kib": populated,
            "hwm_scraped_kib": scraped,
        }),
    );
    ExitCode::SUCCESS
}
