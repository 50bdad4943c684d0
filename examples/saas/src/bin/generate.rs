//! Generates the product's files from its catalog: `METRICS.md`, and the signup
//! funnel's recording rules, alerts, promtool tests and Grafana dashboard.
//!
//! Run with:
//! ```text
//! cargo run -p saas --bin saas-generate -- --out examples/saas/generated
//! cargo run -p saas --bin saas-generate -- --out examples/saas/generated --check
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use business_metrics::generate;

fn main() -> ExitCode {
    let catalog = match saas::catalog() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("the catalog is refused: {e}");
            return ExitCode::FAILURE;
        }
    };
    match generate::run(&catalog, saas::GENERATED, std::env::args().skip(1)) {
        Ok(message) => {
            eprintln!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
