//! Renders `docs/METRICS.md` from the metric catalog.
//!
//! Run with:
//! ```text
//! cargo run -p business-metrics --example metrics_doc -- --write   # rewrite docs/METRICS.md
//! cargo run -p business-metrics --example metrics_doc -- --check   # exit 1 if it is stale
//! cargo run -p business-metrics --example metrics_doc              # print to stdout
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/METRICS.md");
    let text = business_metrics::render_metrics_markdown();
    match std::env::args().nth(1).as_deref() {
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Some("--write") => match std::fs::write(&path, &text) {
            Ok(()) => {
                eprintln!("wrote {}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot write {}: {e}", path.display());
                ExitCode::FAILURE
            }
        },
        Some("--check") => match std::fs::read_to_string(&path) {
            Ok(current) if current == text => ExitCode::SUCCESS,
            Ok(_) => {
                eprintln!("{} is stale; run with --write", path.display());
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.display());
                ExitCode::FAILURE
            }
        },
        Some(other) => {
            eprintln!("unknown argument {other:?}; use --write, --check or nothing");
            ExitCode::from(2)
        }
    }
}
