//! A Grafana dashboard for one funnel.

use std::fmt::Write as _;

use crate::define::FunnelDefinition;

use super::rules::conversion_expr;

/// A JSON string literal.
fn json(s: &str) -> String {
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

struct Panel<'a> {
    title: &'a str,
    kind: &'a str,
    unit: &'a str,
    targets: Vec<(String, String)>,
    extra: &'a str,
}

fn panel(id: usize, x: u32, y: u32, w: u32, p: &Panel<'_>) -> String {
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
        title = json(p.title),
        unit = json(p.unit),
        extra = p.extra,
        targets = targets.join(",\n        "),
    )
}

/// The dashboard of a funnel: entries per step over the dashboard's range, the
/// conversion ratio over time, step rates, and failed runs.
#[must_use]
pub fn funnel_dashboard(f: &FunnelDefinition) -> String {
    let n = f.name;
    let step_re = f.steps.join("|");
    let funnel = Panel {
        title: "Entries per step over the range, in funnel order",
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
        extra: "\"orientation\": \"horizontal\", \"displayMode\": \"gradient\", \"reduceOptions\": {\"calcs\": [\"lastNotNull\"], \"fields\": \"\", \"values\": false}",
    };
    let conversion = Panel {
        title: &format!("Conversion ({} per {}, 1h)", f.final_step(), f.entry_step()),
        kind: "timeseries",
        unit: "percentunit",
        targets: vec![(conversion_expr(f), "conversion".to_owned())],
        extra: "\"legend\": {\"displayMode\": \"list\", \"placement\": \"bottom\"}",
    };
    let rates = Panel {
        title: "Entries per second by step (5m)",
        kind: "timeseries",
        unit: "reqps",
        targets: vec![(
            format!(
                "sum by (step) (rate(business_funnel_step_total{{funnel=\"{n}\", step=~\"{step_re}\"}}[5m]))"
            ),
            "{{step}}".to_owned(),
        )],
        extra: "\"legend\": {\"displayMode\": \"list\", \"placement\": \"bottom\"}",
    };
    let variants = Panel {
        title: "Conversion by experiment variant (1h)",
        kind: "timeseries",
        unit: "percentunit",
        targets: vec![(
            format!(
                "sum by (experiment_variant) (rate(business_funnel_step_total{{funnel=\"{n}\", step=\"{last}\"}}[1h])) / (sum by (experiment_variant) (rate(business_funnel_step_total{{funnel=\"{n}\", step=\"{first}\"}}[1h])) > 0)",
                last = f.final_step(),
                first = f.entry_step(),
            ),
            "{{experiment_variant}}".to_owned(),
        )],
        extra: "\"legend\": {\"displayMode\": \"list\", \"placement\": \"bottom\"}",
    };
    let errors = Panel {
        title: &format!("Failed runs ({}) per second (5m)", f.error_step),
        kind: "timeseries",
        unit: "reqps",
        targets: vec![(
            format!(
                "sum(rate(business_funnel_step_total{{funnel=\"{n}\", step=\"{}\"}}[5m]))",
                f.error_step
            ),
            f.error_step.to_owned(),
        )],
        extra: "\"legend\": {\"displayMode\": \"list\", \"placement\": \"bottom\"}",
    };
    let panels = [
        panel(1, 0, 0, 12, &funnel),
        panel(2, 12, 0, 12, &conversion),
        panel(3, 0, 8, 12, &rates),
        panel(4, 12, 8, 12, &variants),
        panel(5, 0, 16, 24, &errors),
    ];
    let description = if f.description.is_empty() {
        format!("The {n} funnel")
    } else {
        f.description.to_owned()
    };
    format!(
        "{{\n  \"title\": {title},\n  \"uid\": {uid},\n  \"description\": {description},\n  \
         \"tags\": [\"business-metrics\", \"funnel\"],\n  \"schemaVersion\": 39,\n  \
         \"time\": {{\"from\": \"now-6h\", \"to\": \"now\"}},\n  \"refresh\": \"1m\",\n  \
         \"templating\": {{\n    \"list\": [\n      {{\"name\": \"datasource\", \"type\": \"datasource\", \"query\": \"prometheus\", \"label\": \"Data source\"}}\n    ]\n  }},\n  \
         \"panels\": [\n{panels}\n  ]\n}}\n",
        title = json(&format!("Funnel: {n}")),
        uid = json(&format!("funnel-{n}")),
        description = json(&description),
        panels = panels.join(",\n"),
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
