//! Generates the built-in catalog's files: `docs/METRICS.md`, the runbooks of the
//! checkout funnel's alerts under `docs/runbooks/`, and its recording rules, alerts,
//! promtool tests and Grafana dashboard under `otel-collector/generated/`.
//!
//! Run with:
//! ```text
//! cargo run -p business-metrics --example generate -- --write   # rewrite the files
//! cargo run -p business-metrics --example generate -- --check   # exit 1 if any is stale
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use business_metrics::generate::{self, GeneratedFile};
use business_metrics::Catalog;

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let files = built_in_files();
    match std::env::args().nth(1).as_deref() {
        Some("--write") => {
            for (dir, files) in &files {
                if let Err(e) = generate::write(&root.join(dir), files) {
                    eprintln!("cannot write under {dir}: {e}");
                    return ExitCode::FAILURE;
                }
            }
            eprintln!(
                "wrote {} files",
                files.iter().map(|(_, f)| f.len()).sum::<usize>()
            );
            ExitCode::SUCCESS
        }
        Some("--check") => {
            let stale: Vec<String> = files
                .iter()
                .flat_map(|(dir, files)| {
                    generate::stale(&root.join(dir), files)
                        .into_iter()
                        .map(move |p| Path::new(dir).join(p).display().to_string())
                })
                .collect();
            if stale.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!("stale: {}; run with --write", stale.join(", "));
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!("use --write or --check");
            ExitCode::from(2)
        }
    }
}

/// The files, by the folder (relative to the repository root) they go under.
fn built_in_files() -> Vec<(&'static str, Vec<GeneratedFile>)> {
    let (docs, rest): (Vec<_>, Vec<_>) = generate::files(&Catalog::built_in(), generate::BUILT_IN)
        .into_iter()
        .partition(|f| f.path == Path::new("METRICS.md") || f.path.starts_with("runbooks"));
    vec![("docs", docs), ("otel-collector/generated", rest)]
}
