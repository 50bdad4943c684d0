//! Renders a catalog as Markdown (`docs/METRICS.md` for the built-in one).

use std::fmt::Write as _;

use crate::catalog::names;
use crate::define::{Buckets, MILESTONE_PREFIX};
use crate::error::REJECT_REASONS;
use crate::labels::Dimension;
use crate::registry::{Catalog, CatalogEntry, ENGAGEMENT_FUNNEL};

fn quoted(vals: &[&str]) -> Vec<String> {
    vals.iter().map(|v| format!("`{v}`")).collect()
}

/// Known values of a metric's labels, where definitions fix them.
fn values_note(catalog: &Catalog, e: &CatalogEntry) -> String {
    let mut out = String::new();
    if e.name == names::FUNNEL_STEP {
        for f in catalog.funnels() {
            let _ = writeln!(
                out,
                "- Funnel `{}`: steps {} in order; `{}` for a failed run; completion records conversion `{}`",
                f.name,
                quoted(f.steps).join(" → "),
                f.error_step,
                f.conversion_type,
            );
        }
        let _ = writeln!(
            out,
            "- Funnel `{ENGAGEMENT_FUNNEL}`: `{MILESTONE_PREFIX}<name>` for engagement milestones"
        );
    }
    if e.name == names::CONVERSIONS {
        let types: Vec<String> = catalog
            .conversion_types()
            .map(|c| match catalog.funnel_converting_to(c) {
                Some(f) => format!("`{c}` (funnel `{}`)", f.name),
                None => format!("`{c}`"),
            })
            .collect();
        let _ = writeln!(out, "- Conversion types: {}", types.join(", "));
    }
    if e.name == names::REJECTED_EVENTS {
        let _ = writeln!(out, "- Reasons: {}", quoted(REJECT_REASONS).join(", "));
    }
    if e.name == names::LABEL_BUDGET_EXHAUSTED {
        let mut dimensions: Vec<&str> = Dimension::ALL.iter().map(|d| d.as_str()).collect();
        for d in catalog.definitions() {
            for a in d.attributes.iter().filter(|a| a.values.is_none()) {
                let key = Dimension::for_key(a.key).as_str();
                if !dimensions.contains(&key) {
                    dimensions.push(key);
                }
            }
        }
        let _ = writeln!(out, "- Dimensions: {}", quoted(&dimensions).join(", "));
    }
    for (key, values) in &e.closed_values {
        let _ = writeln!(out, "- `{key}`: {}", quoted(values).join(", "));
    }
    out
}

fn bounds(e: &CatalogEntry) -> String {
    match e.buckets {
        None => "-".to_owned(),
        Some(Buckets::Explicit(b)) => b
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        Some(Buckets::Exponential {
            max_size,
            max_scale,
        }) => format!("base-2 exponential (at most {max_size} buckets, scale at most {max_scale})"),
    }
}

fn series(e: &CatalogEntry) -> String {
    if e.is_histogram() {
        let n = &e.prometheus_name;
        format!("`{n}_bucket`, `{n}_sum`, `{n}_count`")
    } else {
        format!("`{}`", e.prometheus_name)
    }
}

/// Renders a catalog: an overview table and one section per metric. `source`
/// names where the catalog is defined and `command` how to regenerate the file.
///
/// The checked-in `docs/METRICS.md` is this text for the built-in catalog; a test
/// fails when they differ.
#[must_use]
pub fn render_metrics_markdown(catalog: &Catalog, source: &str, command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Business metrics\n\n\
         <!-- Generated from the metric catalog ({source}).\n     \
         Do not edit: run `{command}`. -->\n\n\
         Every metric the catalog defines. The Prometheus names are the same\n\
         whether the data arrives through the Prometheus bridge, an OpenTelemetry Collector's\n\
         `prometheus` or `prometheus_remote_write` exporter, or Prometheus' OTLP receiver.\n\
         Money is in minor units of its currency (the `currency` label; cents for USD, yen\n\
         for JPY, fils for KWD); durations are in seconds.\n\n\
         | Prometheus name | Type | Unit | Labels | Owner |\n\
         |---|---|---|---|---|"
    );
    for e in catalog.entries() {
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | {} | {} |",
            e.prometheus_name,
            e.kind.prometheus_type(),
            e.unit,
            e.attributes.join(", "),
            e.owner
        );
    }
    for e in catalog.entries() {
        let _ = write!(
            out,
            "\n## {prom}\n\n\
             {desc}.\n\n\
             - OpenTelemetry instrument: `{name}` ({kind}, `{value}`)\n\
             - Type: {ptype}\n\
             - Unit: `{unit}`\n\
             - Labels: {labels}\n\
             - Buckets: {buckets}\n\
             - Prometheus series: {series}\n\
             - Owner: {owner}\n\
             - Alert threshold: {alert}\n{note}",
            prom = e.prometheus_name,
            desc = e.description,
            name = e.name,
            kind = e.kind.as_str(),
            value = e.value_type.as_str(),
            ptype = e.kind.prometheus_type(),
            unit = e.unit,
            labels = e
                .attributes
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", "),
            buckets = bounds(e),
            series = series(e),
            owner = e.owner,
            alert = e.alert_threshold.unwrap_or("none"),
            note = values_note(catalog, e),
        );
    }
    out
}
