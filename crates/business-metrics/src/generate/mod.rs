//! Files generated from a catalog: the metric reference, and for each funnel its
//! Prometheus recording rules and alerts, promtool unit tests of them, a runbook
//! per alert and a Grafana dashboard. A service writes them with one command (see
//! [`run`]) and a test compares the checked-in copies with what the catalog
//! generates now.
//!
//! Rules and dashboards are made for a fleet: every recording rule and alert keeps
//! `job` and [`ENVIRONMENT_LABEL`] (the resource attribute
//! `deployment.environment.name`, joined in from each process's `target_info`) and
//! sums only `instance` away, and every dashboard has `$datasource`, `$job` and
//! `$environment` variables that filter every query.

mod dashboard;
mod fleet;
mod money;
mod rules;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::define::FunnelDefinition;
use crate::docs::render_metrics_markdown;
use crate::registry::Catalog;

pub use dashboard::funnel_dashboard;
pub use fleet::ENVIRONMENT_LABEL;
pub use money::{money_dashboard, money_rule_tests, money_rules, MINOR_PER_MAJOR};
pub use rules::{funnel_rule_tests, funnel_rules, funnel_runbooks};

/// One generated file: its path under the output folder and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the output folder.
    pub path: PathBuf,
    /// The text.
    pub text: String,
}

/// Where a catalog's files come from, for the "do not edit" headers.
#[derive(Clone, Copy, Debug)]
pub struct Provenance<'a> {
    /// Where the definitions live (`examples/saas/src/definitions.rs`).
    pub source: &'a str,
    /// The command that regenerates the files.
    pub command: &'a str,
    /// The address the generated `runbooks/` folder is read at, without a
    /// trailing `/` (`https://github.com/org/repo/blob/main/generated/runbooks`):
    /// each alert's `runbook_url` annotation is `<runbooks>/<alert>.md`.
    pub runbooks: &'a str,
}

/// The `runbook_url` of `alert`: `<runbooks>/<alert>.md`.
pub(crate) fn runbook_url(p: Provenance<'_>, alert: &str) -> String {
    format!("{}/{alert}.md", p.runbooks.trim_end_matches('/'))
}

/// Where the built-in catalog's files come from: `docs/METRICS.md`,
/// `docs/runbooks/` and `otel-collector/generated/`.
pub const BUILT_IN: Provenance<'static> = Provenance {
    source: "crates/business-metrics/src/catalog.rs and types.rs",
    command: "cargo run -p business-metrics --example generate -- --write",
    runbooks: "https://github.com/business-metrics-rs/business-metrics/blob/main/docs/runbooks",
};

/// Every file for a catalog: `METRICS.md`; per funnel
/// `prometheus/rules/funnel_<name>.yml`, `prometheus/tests/funnel_<name>_test.yml`,
/// `grafana/funnel_<name>.json` and `runbooks/<alert>.md` for each of its alerts; and for its money instruments
/// `prometheus/rules/money.yml` (amounts in major units by each currency's
/// exponent), `prometheus/tests/money_test.yml` and `grafana/money.json`. The funnels are the service's own when it
/// defines any (the built-in ones have their files in the project already, and a
/// service that does not record them would trip their absence alerts), otherwise
/// the built-in ones.
#[must_use]
pub fn files(catalog: &Catalog, provenance: Provenance<'_>) -> Vec<GeneratedFile> {
    let mut out = vec![GeneratedFile {
        path: PathBuf::from("METRICS.md"),
        text: render_metrics_markdown(catalog, provenance.source, provenance.command),
    }];
    let built_in = Catalog::built_in();
    let own: Vec<&FunnelDefinition> = catalog
        .funnels()
        .iter()
        .filter(|f| built_in.funnel(f.name).is_none())
        .collect();
    let funnels: Vec<&FunnelDefinition> = if own.is_empty() {
        catalog.funnels().iter().collect()
    } else {
        own
    };
    for f in funnels {
        out.extend(funnel_files(f, provenance));
    }
    if catalog.entries().iter().any(|e| e.money) {
        out.extend([
            GeneratedFile {
                path: PathBuf::from("prometheus/rules/money.yml"),
                text: money_rules(catalog, provenance),
            },
            GeneratedFile {
                path: PathBuf::from("prometheus/tests/money_test.yml"),
                text: money_rule_tests(catalog, provenance),
            },
            GeneratedFile {
                path: PathBuf::from("grafana/money.json"),
                text: money_dashboard(catalog),
            },
        ]);
    }
    out
}

fn funnel_files(f: &FunnelDefinition, provenance: Provenance<'_>) -> Vec<GeneratedFile> {
    let mut out = vec![
        GeneratedFile {
            path: PathBuf::from(format!("prometheus/rules/funnel_{}.yml", f.name)),
            text: funnel_rules(f, provenance),
        },
        GeneratedFile {
            path: PathBuf::from(format!("prometheus/tests/funnel_{}_test.yml", f.name)),
            text: funnel_rule_tests(f, provenance),
        },
        GeneratedFile {
            path: PathBuf::from(format!("grafana/funnel_{}.json", f.name)),
            text: funnel_dashboard(f),
        },
    ];
    out.extend(funnel_runbooks(f, provenance));
    out
}

/// Writes every file under `dir`, creating folders as needed.
///
/// # Errors
/// The first file that cannot be written.
pub fn write(dir: &Path, files: &[GeneratedFile]) -> io::Result<()> {
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, &f.text)?;
    }
    Ok(())
}

/// The files under `dir` that are missing or differ from `files`.
#[must_use]
pub fn stale(dir: &Path, files: &[GeneratedFile]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|f| fs::read_to_string(dir.join(&f.path)).ok().as_deref() != Some(&f.text))
        .map(|f| f.path.clone())
        .collect()
}

/// The command-line entry point a service's generator binary calls with its
/// arguments: `--out DIR` (required) writes the files; `--check` instead exits
/// non-zero naming the files that are missing or stale.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let catalog = business_metrics::Catalog::built_in();
/// let provenance = business_metrics::generate::Provenance {
///     source: "src/definitions.rs",
///     command: "cargo run --bin generate -- --out generated",
///     runbooks: "https://github.com/org/service/blob/main/generated/runbooks",
/// };
/// business_metrics::generate::run(&catalog, provenance, std::env::args().skip(1))?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// A usage error, a file that cannot be written, or (with `--check`) stale files;
/// the message says which.
pub fn run(
    catalog: &Catalog,
    provenance: Provenance<'_>,
    args: impl IntoIterator<Item = String>,
) -> Result<String, GenerateError> {
    let mut out = None;
    let mut check = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next().map(PathBuf::from),
            "--check" => check = true,
            other => {
                return Err(GenerateError::Usage(format!(
                    "unknown argument {:?}; usage: --out DIR [--check]",
                    other.chars().take(64).collect::<String>()
                )))
            }
        }
    }
    let dir = out.ok_or_else(|| GenerateError::Usage("--out DIR is required".to_owned()))?;
    let files = files(catalog, provenance);
    if check {
        let stale = stale(&dir, &files);
        if stale.is_empty() {
            return Ok(format!(
                "{} files under {} are current",
                files.len(),
                dir.display()
            ));
        }
        return Err(GenerateError::Stale(stale));
    }
    write(&dir, &files).map_err(|e| GenerateError::Io(e.to_string()))?;
    Ok(format!(
        "wrote {} files under {}",
        files.len(),
        dir.display()
    ))
}

/// Why [`run`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// A file could not be written.
    #[error("could not write the generated files: {0}")]
    Io(String),
    /// `--check` found files that differ from what the catalog generates.
    #[error("generated files are stale: {}; run the generator without --check", .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Stale(Vec<PathBuf>),
}
