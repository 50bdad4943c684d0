//! A Grafana dashboard for one funnel, and the parts every generated dashboard
//! shares: panels, template variables, and money shown in each currency's unit.

use std::fmt::Write as _;

use crate::currency::Currency;
use crate::define::FunnelDefinition;

use super::fleet::{in_selected_environment, ENVIRONMENT_LABEL, JOB_MATCHER};

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

/// The ISO 4217 currencies Grafana has a unit for (`currencyUSD`, ...). Money in
/// another currency is shown as a plain number, its legend naming the currency.
const GRAFANA_CURRENCIES: &[&str] = &[
    "USD", "GBP", "EUR", "JPY", "RUB", "UAH", "BRL", "DKK", "ISK", "NOK", "SEK", "CZK", "CHF",
    "PLN", "ZAR", "INR", "KRW", "IDR", "PHP", "VND", "TRY", "MYR", "XPF", "BGN", "PYG", "UYU",
    "ILS",
];

/// Field overrides giving each series of a money panel its currency's Grafana unit
/// and as many decimals as the currency's ISO 4217 exponent. A series is matched by
/// its legend, which ends with the currency code (`{{currency}}`).
pub(super) fn currency_overrides() -> String {
    let overrides: Vec<String> = GRAFANA_CURRENCIES
        .iter()
        .filter_map(|code| Currency::parse(code).ok())
        .map(|c| {
            format!(
                "{{\"matcher\": {{\"id\": \"byRegexp\", \"options\": \"^(.* )?{code}$\"}}, \"properties\": [{{\"id\": \"unit\", \"value\": \"currency{code}\"}}, {{\"id\": \"decimals\", \"value\": {exp}}}]}}",
                code = c.code(),
                exp = c.exponent(),
            )
        })
        .collect();
    format!("[\n        {}\n      ]", overrides.join(",\n        "))
}

/// A template variable of a dashboard besides `$datasource`. Each is multi-valued
/// with an "All" of `.*`, so series without the label (a process that sets no
/// deployment environment) still show under "All".
#[derive(Clone, Debug)]
pub(super) enum Variable {
    /// `$job`: the services (`job` label) that record a metric.
    Job(String),
    /// `$environment`: their deployment environments, from `target_info`.
    Environment,
    /// A label of a metric: (variable name, label, metric).
    Label(&'static str, &'static str, String),
}

impl Variable {
    fn render(&self) -> String {
        let (name, label, query) = match self {
            Self::Job(metric) => ("job", "Job", format!("label_values({metric}, job)")),
            Self::Environment => (
                "environment",
                "Environment",
                format!("label_values(target_info{{{JOB_MATCHER}}}, {ENVIRONMENT_LABEL})"),
            ),
            Self::Label(name, label, metric) => (
                *name,
                *label,
                format!("label_values({metric}{{{JOB_MATCHER}}}, {label})"),
            ),
        };
        format!(
            "{{\"name\": {name}, \"label\": {label}, \"type\": \"query\", \
             \"datasource\": {{\"type\": \"prometheus\", \"uid\": \"${{datasource}}\"}}, \
             \"definition\": {query}, \"query\": {query}, \"refresh\": 2, \"sort\": 1, \
             \"multi\": true, \"includeAll\": true, \"allValue\": \".*\", \
             \"current\": {{\"text\": [\"All\"], \"value\": [\"$__all\"]}}}}",
            name = json(name),
            label = json(label),
            query = json(&query),
        )
    }
}

/// One panel: a title, a Grafana panel type and unit, its queries with their
/// legends, and its options (JSON object members). A money panel is repeated per
/// selected currency and shows each in its currency's unit.
pub(super) struct Panel {
    pub(super) title: String,
    pub(super) kind: &'static str,
    pub(super) unit: &'static str,
    pub(super) targets: Vec<(String, String)>,
    pub(super) options: &'static str,
    pub(super) money: bool,
}

pub(super) const LEGEND: &str =
    "\"legend\": {\"displayMode\": \"list\", \"placement\": \"bottom\"}";

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
    let (repeat, overrides) = if p.money {
        (
            "      \"repeat\": \"currency\",\n      \"repeatDirection\": \"h\",\n",
            currency_overrides(),
        )
    } else {
        ("", "[]".to_owned())
    };
    format!(
        "    {{\n      \"id\": {id},\n      \"type\": {kind},\n      \"title\": {title},\n      \
         \"datasource\": {{\"type\": \"prometheus\", \"uid\": \"${{datasource}}\"}},\n      \
         \"gridPos\": {{\"h\": 8, \"w\": {w}, \"x\": {x}, \"y\": {y}}},\n{repeat}      \
         \"fieldConfig\": {{\"defaults\": {{\"unit\": {unit}}}, \"overrides\": {overrides}}},\n      \
         \"options\": {{{extra}}},\n      \
         \"targets\": [\n        {targets}\n      ]\n    }}",
        kind = json(p.kind),
        title = json(&p.title),
        unit = json(p.unit),
        extra = p.options,
        targets = targets.join(",\n        "),
    )
}

/// A dashboard: panels two to a row, with a `$datasource` variable (any Prometheus
/// data source; no uid is written down) and `variables`.
pub(super) fn dashboard(
    title: &str,
    uid: &str,
    description: &str,
    variables: &[Variable],
    panels: &[Panel],
) -> String {
    let rendered: Vec<String> = panels
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let row = u32::try_from(i / 2).unwrap_or(0);
            let x = if i % 2 == 0 { 0 } else { 12 };
            panel(i + 1, x, row * 8, 12, p)
        })
        .collect();
    let mut list = vec![
        "{\"name\": \"datasource\", \"label\": \"Data source\", \"type\": \"datasource\", \"query\": \"prometheus\", \"current\": {}}".to_owned(),
    ];
    list.extend(variables.iter().map(|v| v.render()));
    format!(
        "{{\n  \"title\": {title},\n  \"uid\": {uid},\n  \"description\": {description},\n  \
         \"tags\": [\"business-metrics\"],\n  \"schemaVersion\": 39,\n  \
         \"time\": {{\"from\": \"now-6h\", \"to\": \"now\"}},\n  \"refresh\": \"1m\",\n  \
         \"templating\": {{\n    \"list\": [\n      {list}\n    ]\n  }},\n  \
         \"panels\": [\n{panels}\n  ]\n}}\n",
        title = json(title),
        uid = json(uid),
        description = json(description),
        list = list.join(",\n      "),
        panels = rendered.join(",\n"),
    )
}

/// `inner` (a per-process vector over `window`) limited to processes of the
/// selected environments.
fn selected(inner: &str, window: &str) -> String {
    format!("{inner} {}", in_selected_environment(window))
}

/// The dashboard of a funnel: entries per step over the dashboard's range, the
/// conversion ratio over time, step rates, conversion by variant, and failed runs;
/// every query limited to the selected jobs, environments and sources.
#[must_use]
pub fn funnel_dashboard(f: &FunnelDefinition) -> String {
    let n = f.name;
    let step_re = f.steps.join("|");
    let (first, last) = (f.entry_step(), f.final_step());
    let sel = |step: &str| {
        format!(
            "business_funnel_step_total{{{JOB_MATCHER}, funnel=\"{n}\", step=\"{step}\", source=~\"$source\"}}"
        )
    };
    let rate = |by: &str, step: &str, window: &str| {
        format!(
            "sum{by} ({})",
            selected(&format!("rate({}[{window}])", sel(step)), window)
        )
    };
    let ratio = |by: &str| format!("{} / ({} > 0)", rate(by, last, "1h"), rate(by, first, "1h"));
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
                            "sum ({})",
                            selected(&format!("increase({}[$__range])", sel(s)), "$__range")
                        ),
                        (*s).to_owned(),
                    )
                })
                .collect(),
            options: "\"orientation\": \"horizontal\", \"displayMode\": \"gradient\", \"reduceOptions\": {\"calcs\": [\"lastNotNull\"], \"fields\": \"\", \"values\": false}",
            money: false,
        },
        Panel {
            title: format!("Conversion ({last} per {first}, 1h)"),
            kind: "timeseries",
            unit: "percentunit",
            targets: vec![(ratio(""), "conversion".to_owned())],
            options: LEGEND,
            money: false,
        },
        Panel {
            title: "Entries per second by step (5m)".to_owned(),
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(
                format!(
                    "sum by (step) ({})",
                    selected(
                        &format!(
                            "rate(business_funnel_step_total{{{JOB_MATCHER}, funnel=\"{n}\", step=~\"{step_re}\", source=~\"$source\"}}[5m])"
                        ),
                        "5m"
                    )
                ),
                "{{step}}".to_owned(),
            )],
            options: LEGEND,
            money: false,
        },
        Panel {
            title: "Conversion by experiment variant (1h)".to_owned(),
            kind: "timeseries",
            unit: "percentunit",
            targets: vec![(
                ratio(" by (experiment_variant)"),
                "{{experiment_variant}}".to_owned(),
            )],
            options: LEGEND,
            money: false,
        },
        Panel {
            title: format!("Failed runs ({}) per second (5m)", f.error_step),
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(rate("", f.error_step, "5m"), f.error_step.to_owned())],
            options: LEGEND,
            money: false,
        },
    ];
    let description = if f.description.is_empty() {
        format!("The {n} funnel")
    } else {
        f.description.to_owned()
    };
    let metric = "business_funnel_step_total";
    dashboard(
        &format!("Funnel: {n}"),
        &format!("funnel-{n}"),
        &description,
        &[
            Variable::Job(format!("{metric}{{funnel=\"{n}\"}}")),
            Variable::Environment,
            Variable::Label("source", "source", metric.to_owned()),
        ],
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

    #[test]
    fn money_panels_show_each_currency_in_its_unit_and_exponent() {
        let o = currency_overrides();
        assert!(o.contains("\"options\": \"^(.* )?USD$\"}, \"properties\": [{\"id\": \"unit\", \"value\": \"currencyUSD\"}, {\"id\": \"decimals\", \"value\": 2}]"));
        assert!(o.contains("\"value\": \"currencyJPY\"}, {\"id\": \"decimals\", \"value\": 0}"));
    }
}
