//! Renders the metric catalog as Markdown (`docs/METRICS.md`).

use std::fmt::Write as _;

use crate::catalog::{names, MetricDescriptor, CATALOG};
use crate::error::REJECT_REASONS;
use crate::types::{CHECKOUT_STEP_VALUES, MILESTONE_PREFIX};

/// Known values of a metric's labels, where the code fixes them.
fn values_note(d: &MetricDescriptor) -> Option<String> {
    let quoted = |vals: &[&str]| vals.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>();
    match d.name {
        names::FUNNEL_STEP => {
            let (checkout, error) = CHECKOUT_STEP_VALUES.split_at(CHECKOUT_STEP_VALUES.len() - 1);
            Some(format!(
                "- Steps: {} in funnel order; {} for a failed checkout; `{MILESTONE_PREFIX}<name>` for engagement milestones",
                quoted(checkout).join(" → "),
                quoted(error).join(", "),
            ))
        }
        names::REJECTED_EVENTS => Some(format!("- Reasons: {}", quoted(REJECT_REASONS).join(", "))),
        _ => None,
    }
}

fn bounds(d: &MetricDescriptor) -> String {
    if d.buckets.is_empty() {
        return "-".to_owned();
    }
    d.buckets
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn series(d: &MetricDescriptor) -> String {
    if d.is_histogram() {
        let n = d.prometheus_name;
        format!("`{n}_bucket`, `{n}_sum`, `{n}_count`")
    } else {
        format!("`{}`", d.prometheus_name)
    }
}

/// Renders the catalog: an overview table and one section per metric.
///
/// The checked-in `docs/METRICS.md` is this text; a test fails when they differ.
#[must_use]
pub fn render_metrics_markdown() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Business metrics\n\n\
         <!-- Generated from the metric catalog (crates/business-metrics/src/catalog.rs).\n     \
         Do not edit: run `cargo run -p business-metrics --example metrics_doc -- --write`. -->\n\n\
         Every metric the `business-metrics` crate emits. The Prometheus names are the same\n\
         whether the data arrives through the Prometheus bridge, an OpenTelemetry Collector's\n\
         `prometheus` or `prometheusremotewrite` exporter, or Prometheus' OTLP receiver.\n\
         Money is in minor currency units (cents); durations are in seconds.\n\n\
         | Prometheus name | Type | Unit | Labels | Owner |\n\
         |---|---|---|---|---|"
    );
    for d in CATALOG {
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | {} | {} |",
            d.prometheus_name,
            d.kind.prometheus_type(),
            d.unit,
            d.attributes.join(", "),
            d.owner
        );
    }
    for d in CATALOG {
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
            prom = d.prometheus_name,
            desc = d.description,
            name = d.name,
            kind = d.kind.as_str(),
            value = d.value_type.as_str(),
            ptype = d.kind.prometheus_type(),
            unit = d.unit,
            labels = d
                .attributes
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", "),
            buckets = bounds(d),
            series = series(d),
            owner = d.owner,
            alert = d.alert_threshold.unwrap_or("none"),
            note = values_note(d).map(|n| n + "\n").unwrap_or_default(),
        );
    }
    out
}
