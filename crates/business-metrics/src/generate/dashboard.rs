//! A Grafana dashboard for one funnel.

use std::fmt::Write as _;

use crate::define::FunnelDefinition;

use super::rules::conversion_expr;

/// A JSON string literal.
pub(super) fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One panel: a title, a Grafana panel type and unit, its queries with their
/// legends, and its options (JSON object members).
pub(super) struct Panel {
    pub(super) title: String,
    pub(super) kind: &'static str,
    pub(super) unit: &'static str,
    pub(super) targets: Vec<(String, String)>,
    pub(super) options: &'static str,
}

const LEGEND: &str = "\"legend\": {\"displayMode\": \"list\", \"placement\": \"bottom\"}";

fn panel(id: usize, x: u32, y: u32, w: u32, p: &Panel) -> String {
    let targets: Vec<String> = p
        .targets
        .iter()
        .enumerate()
        .map(|(i, (expr, legend))| {
            format!(
                "{{\"datasource\": {{\"type\": \"prometheus\", \"uid\": \"${{datasource}}\"}}, \"expr\": {}, \"legendFormat\": {}, \"refId\": {}}}",
                json(expr),
                json(legend),
                json(&char::from(b'A' + u8::try_from(i % 26).unwrap_or(0)).to_string()),
            )
        })
        .collect();
    format!(
        "    {{\n      \"id\": {id},\n      \"type\": {kind},\n      \"title\": {title},\n      \
         \"datasource\": {{\"type\": \"prometheus\", \"uid\": \"${{datasource}}\"}},\n      \
         \"gridPos\": {{\"h\": 8, \"w\": {w}, \"x\": {x}, \"y\": {y}}},\n      \
         \"fieldConfig\": {{\"defaults\": {{\"unit\": {unit}}}, \"overrides\": []}},\n      \
         \"options\": {{{extra}}},\n      \
         \"targets\": [\n        {targets}\n      ]\n    }}",
        kind = json(p.kind),
        title = json(&p.title),
        unit = json(p.unit),
        extra = p.options,
        targets = targets.join(",\n        "),
    )
}

/// A dashboard: panels two to a row, with a `$datasource` variable.
pub(super) fn dashboard(title: &str, uid: &str, description: &str, panels: &[Panel]) -> String {
    let rendered: Vec<String> = panels
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let row = u32::try_from(i / 2).unwrap_or(0);
            let x = if i % 2 == 0 { 0 } else { 12 };
            panel(i + 1, x, row * 8, 12, p)
        })
        .collect();
    format!(
        "{{\n  \"title\": {title},\n  \"uid\": {uid},\n  \"description\": {description},\n  \
         \"tags\": [\"business-metrics\"],\n  \"schemaVersion\": 39,\n  \
         \"time\": {{\"from\": \"now-6h\", \"to\": \"now\"}},\n  \"refresh\": \"1m\",\n  \
         \"templating\": {{\n    \"list\": [\n      {{\"name\": \"datasource\", \"type\": \"datasource\", \"query\": \"prometheus\", \"label\": \"Data source\"}}\n    ]\n  }},\n  \
         \"panels\": [\n{panels}\n  ]\n}}\n",
        title = json(title),
        uid = json(uid),
        description = json(description),
        panels = rendered.join(",\n"),
    )
}

/// The dashboard of a funnel: entries per step over the dashboard's range, the
/// conversion ratio over time, step rates, conversion by variant, and failed runs.
#[must_use]
pub fn funnel_dashboard(f: &FunnelDefinition) -> String {
    let n = f.name;
    let step_re = f.steps.join("|");
    let (first, last) = (f.entry_step(), f.final_step());
    let panels = [
        Panel {
            title: "Entries per step over the range, in funnel order".to_owned(),
            kind: "bargauge",
            unit: "short",
            targets: f
                .steps
                .iter()
                .map(|s| {
                    (
                        format!(
                            "sum(increase(business_funnel_step_total{{funnel=\"{n}\", step=\"{s}\"}}[$__range]))"
                        ),
                        (*s).to_owned(),
                    )
                })
                .collect(),
            options: "\"orientation\": \"horizontal\", \"displayMode\": \"gradient\", \"reduceOptions\": {\"calcs\": [\"lastNotNull\"], \"fields\": \"\", \"values\": false}",
        },
        Panel {
            title: format!("Conversion ({last} per {first}, 1h)"),
            kind: "timeseries",
            unit: "percentunit",
            targets: vec![(conversion_expr(f), "conversion".to_owned())],
            options: LEGEND,
        },
        Panel {
            title: "Entries per second by step (5m)".to_owned(),
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(
                format!(
                    "sum by (step) (rate(business_funnel_step_total{{funnel=\"{n}\", step=~\"{step_re}\"}}[5m]))"
                ),
                "{{step}}".to_owned(),
            )],
            options: LEGEND,
        },
        Panel {
            title: "Conversion by experiment variant (1h)".to_owned(),
            kind: "timeseries",
            unit: "percentunit",
            targets: vec![(
                format!(
                    "sum by (experiment_variant) (rate(business_funnel_step_total{{funnel=\"{n}\", step=\"{last}\"}}[1h])) / (sum by (experiment_variant) (rate(business_funnel_step_total{{funnel=\"{n}\", step=\"{first}\"}}[1h])) > 0)"
                ),
                "{{experiment_variant}}".to_owned(),
            )],
            options: LEGEND,
        },
        Panel {
            title: format!("Failed runs ({}) per second (5m)", f.error_step),
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(
                format!(
                    "sum(rate(business_funnel_step_total{{funnel=\"{n}\", step=\"{}\"}}[5m]))",
                    f.error_step
                ),
                f.error_step.to_owned(),
            )],
            options: LEGEND,
        },
    ];
    let description = if f.description.is_empty() {
        format!("The {n} funnel")
    } else {
        f.description.to_owned()
    };
    dashboard(
        &format!("Funnel: {n}"),
        &format!("funnel-{n}"),
        &description,
        &panels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
