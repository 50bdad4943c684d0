//! Instructions per purchase event on one hot path, for counting under callgrind.
//!
//! For the path named on the command line (the criterion ids `purchase_event/<path>`
//! of `benches/purchase.rs`), sets the peer up as that bench does, warms it up with
//! one full cycle of the small-pool events (so every series exists), then records
//! `--events` events (default 12,000, a hundred cycles) inside [`measured_region`].
//! Under `valgrind --tool=callgrind --collect-atstart=no
//! --toggle-collect='*measured_region*'` only that function counts, on the recording
//! thread alone: the set-up, the warm-up, the peers' server threads (which nothing
//! scrapes) and the shutdown are left out. Instructions per event are the total
//! divided by the events.
//!
//! Run with `scripts/instructions.py` (every path, `--check` against
//! `benches/instructions.json`, `--write` to update it), or one path by hand:
//!
//! ```sh
//! cargo bench --bench instructions --no-run
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_region*' \
//!   target/release/deps/instructions-<hash> project_bound --events 12000
//! ```
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

use std::hint::black_box;
use std::process::ExitCode;

use serde_json::json;

use common::peers::{Bound, Floor, Project, PromCrate, RawSdkPrometheus};
use common::workload::{Event, EventCycle, Pools};

/// The paths, named as the criterion ids `purchase_event/<path>`.
const PATHS: [&str; 6] = [
    "floor",
    "project_tracker",
    "project_calls",
    "project_bound",
    "raw_sdk",
    "prometheus",
];

const DEFAULT_EVENTS: u64 = 12_000;

/// Records `n` events from the start of `events`, as criterion's one-thread loop
/// does. The only function callgrind collects in (`--toggle-collect`), so it must
/// never be inlined.
#[inline(never)]
fn measured_region(events: &[Event], n: u64, record: impl Fn(&Event)) {
    let mut cycle = EventCycle::new(events, 0);
    for _ in 0..n {
        record(black_box(cycle.next()));
    }
}

/// Warms the path up with one full cycle, then measures `n` events.
fn run(events: &[Event], n: u64, record: impl Fn(&Event)) {
    for ev in events {
        record(ev);
    }
    measured_region(events, n, record);
}

fn measure(path: &str, n: u64) {
    let pools = Pools::small();
    let events = pools.cycle();
    match path {
        "floor" => {
            let floor = Floor::default();
            run(&events, n, |ev| floor.record(ev));
        }
        "project_tracker" => {
            let project = Project::start();
            run(&events, n, |ev| project.record_tracker(ev));
        }
        "project_calls" => {
            let project = Project::start();
            run(&events, n, |ev| project.record_calls(ev));
        }
        "project_bound" => {
            let project = Project::start();
            let bound = Bound::new(project.metrics(), &pools);
            run(&events, n, |ev| bound.record(ev));
        }
        "raw_sdk" => {
            let raw = RawSdkPrometheus::start();
            run(&events, n, |ev| raw.sdk.record(ev));
        }
        "prometheus" => {
            let prom = PromCrate::start();
            run(&events, n, |ev| prom.record(ev));
        }
        other => panic!("unknown path {other}"),
    }
}

fn usage() -> String {
    format!(
        "usage: instructions <{}> [--events N]\n       instructions --list",
        PATHS.join("|")
    )
}

fn main() -> ExitCode {
    // `cargo bench` adds `--bench`; the path is the first other argument.
    let mut path = None;
    let mut events = DEFAULT_EVENTS;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => {
                for path in PATHS {
                    println!("{path}");
                }
                return ExitCode::SUCCESS;
            }
            "--events" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) if n > 0 => events = n,
                _ => {
                    eprintln!("--events needs a positive count\n{}", usage());
                    return ExitCode::from(2);
                }
            },
            a if a.starts_with("--") => {}
            a if path.is_none() => path = Some(a.to_owned()),
            a => {
                eprintln!("unexpected argument {a:?}\n{}", usage());
                return ExitCode::from(2);
            }
        }
    }
    let Some(path) = path else {
        eprintln!("{}", usage());
        return ExitCode::SUCCESS;
    };
    if !PATHS.contains(&path.as_str()) {
        eprintln!(
            "unknown path {path:?}; expected one of {}",
            PATHS.join(", ")
        );
        return ExitCode::from(2);
    }
    measure(&path, events);
    println!("{}", json!({ "path": path, "events": events }));
    ExitCode::SUCCESS
}
