//! Money in major units: a recording rule of every currency's minor units per major
//! unit (with its exponent), and per money instrument of the catalog a rule in
//! major units, promtool tests of them, and a dashboard.

use std::fmt::Write as _;

use crate::catalog::InstrumentKind;
use crate::currency::Currency;
use crate::registry::{Catalog, CatalogEntry};

use super::dashboard::{dashboard, Panel, Variable, LEGEND};
use super::fleet::{fleet_sum, FLEET_MATCHERS};
use super::Provenance;

/// The recording rule holding `10^exponent` per currency, labelled with
/// `currency_exponent`: divide money by it (`/ on (currency) group_left
/// (currency_exponent)`) to show it in major units.
pub const MINOR_PER_MAJOR: &str = "currency:minor_units:per_major";

/// The rule an entry's amounts in major units are recorded as, and its expression.
fn major_rule(e: &CatalogEntry) -> (String, String) {
    let n = &e.prometheus_name;
    let divide = format!("/ on (currency) group_left (currency_exponent) {MINOR_PER_MAJOR}");
    match e.kind {
        InstrumentKind::Counter => (
            format!(
                "currency:{}:per_minute_major_rate5m",
                n.trim_end_matches("_total")
            ),
            format!(
                "{} * 60\n          {divide}",
                fleet_sum("currency", &format!("rate({n}[5m])"), "5m")
            ),
        ),
        InstrumentKind::Histogram => (
            format!("currency:{n}:p50_major_rate1h"),
            format!(
                "histogram_quantile(0.5, {})\n          {divide}",
                fleet_sum("currency, le", &format!("rate({n}_bucket[1h])"), "1h")
            ),
        ),
        InstrumentKind::Gauge | InstrumentKind::ObservableGauge => (
            format!("currency:{n}:major"),
            format!("{}\n          {divide}", fleet_sum("currency", n, "5m")),
        ),
    }
}

fn money_entries(catalog: &Catalog) -> Vec<&CatalogEntry> {
    catalog.entries().iter().filter(|e| e.money).collect()
}

/// The money rules of a catalog.
#[must_use]
pub fn money_rules(catalog: &Catalog, p: Provenance<'_>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "# Money in major units. Amounts are recorded in minor units of their currency\n\
         # (the `currency` label); the ISO 4217 exponent says how many make a major unit\n\
         # (JPY 0, USD 2, KWD 3).\n\
         # Generated from {source}; do not edit: run `{command}`.\n\
         groups:\n  \
           - name: money\n    \
             rules:\n      \
               # 10^exponent per currency that payments are made in, with the exponent as\n      \
               # `currency_exponent`, so templates can print exactly that many decimals.\n      \
               - record: {MINOR_PER_MAJOR}\n        \
                 expr: |\n",
        source = p.source,
        command = p.command,
    );
    let currencies = Currency::every();
    for (i, c) in currencies.iter().enumerate() {
        let or = if i == 0 { "" } else { "or " };
        let _ = writeln!(
            out,
            "          {or}label_replace(label_replace(vector({per}), \"currency\", \"{code}\", \"\", \"\"), \"currency_exponent\", \"{exp}\", \"\", \"\")",
            per = c.minor_per_major(),
            code = c.code(),
            exp = c.exponent(),
        );
    }
    for e in money_entries(catalog) {
        let (record, expr) = major_rule(e);
        let _ = write!(
            out,
            "\n      # {desc}, in major units per currency.\n      \
               - record: {record}\n        \
                 expr: |\n          \
                   {expr}\n",
            desc = e.description,
        );
    }
    out
}

/// The `job` and `instance` of the test's one process.
const PROCESS: &str = "job=\"shop-a\", instance=\"10.0.0.1:9464\"";

/// promtool tests of [`money_rules`]: the exponents of JPY, USD and KWD, and each
/// money instrument's rule in those currencies.
#[must_use]
pub fn money_rule_tests(catalog: &Catalog, p: Provenance<'_>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "# promtool unit tests of prometheus/rules/money.yml.\n\
         # Generated from {source}; do not edit: run `{command}`.\n\
         rule_files:\n  \
           - ../rules/money.yml\n\
         evaluation_interval: 1m\n\
         tests:\n  \
           # One process of job shop-a in production; its rules keep job and environment.\n  \
           - interval: 1m\n    \
             input_series:\n      \
               - series: 'target_info{{{PROCESS}, deployment_environment_name=\"production\"}}'\n        \
                 values: '1x70'\n",
        source = p.source,
        command = p.command,
    );
    // 1,499 minor units a minute (counters), or a level of 1,499 (gauges); one
    // observation of 1,499 a minute (histograms).
    let currencies = [Currency::JPY, Currency::USD, Currency::KWD];
    for e in money_entries(catalog) {
        let n = &e.prometheus_name;
        let others: Vec<String> = e
            .attributes
            .iter()
            .filter(|a| **a != "currency")
            .map(|a| format!("{a}=\"x\""))
            .collect();
        for c in currencies {
            let mut labels = vec![PROCESS.to_owned()];
            labels.extend(others.iter().cloned());
            labels.push(format!("currency=\"{}\"", c.code()));
            let labels = labels.join(", ");
            match e.kind {
                InstrumentKind::Counter => {
                    let _ = write!(
                        out,
                        "      - series: '{n}{{{labels}}}'\n        values: '0+1499x70'\n"
                    );
                }
                InstrumentKind::Histogram => {
                    let bounds: Vec<f64> = e.explicit_buckets().unwrap_or(&[]).to_vec();
                    for le in bounds
                        .iter()
                        .map(ToString::to_string)
                        .chain(["+Inf".to_owned()])
                    {
                        let below = le.parse::<f64>().map_or(true, |b| b >= 1499.0);
                        let step = if below { 1 } else { 0 };
                        let _ = write!(
                            out,
                            "      - series: '{n}_bucket{{{labels}, le=\"{le}\"}}'\n        values: '0+{step}x70'\n"
                        );
                    }
                }
                InstrumentKind::Gauge | InstrumentKind::ObservableGauge => {
                    let _ = write!(
                        out,
                        "      - series: '{n}{{{labels}}}'\n        values: '1499x70'\n"
                    );
                }
            }
        }
    }
    out.push_str("    promql_expr_test:\n");
    let _ = write!(
        out,
        "      - expr: {MINOR_PER_MAJOR}{{currency=~\"JPY|USD|KWD\"}}\n        \
           eval_time: 5m\n        \
           exp_samples:\n"
    );
    for c in currencies {
        let _ = write!(
            out,
            "          - labels: '{MINOR_PER_MAJOR}{{currency=\"{}\", currency_exponent=\"{}\"}}'\n            value: {}\n",
            c.code(),
            c.exponent(),
            c.minor_per_major()
        );
    }
    for e in money_entries(catalog) {
        let (record, _) = major_rule(e);
        if e.is_histogram() && e.explicit_buckets().is_none() {
            continue;
        }
        let _ = write!(
            out,
            "      - expr: {record}\n        eval_time: 65m\n        exp_samples:\n"
        );
        for c in currencies {
            let major = match e.kind {
                // 1,499 minor units a minute.
                InstrumentKind::Counter
                | InstrumentKind::Gauge
                | InstrumentKind::ObservableGauge => 1499.0 / c.minor_per_major() as f64,
                // The median interpolates inside the bucket holding 1,499.
                InstrumentKind::Histogram => median_of_one(e, 1499.0) / c.minor_per_major() as f64,
            };
            let _ = write!(
                out,
                "          - labels: '{record}{{currency=\"{}\", currency_exponent=\"{}\", deployment_environment_name=\"production\", job=\"shop-a\"}}'\n            value: {major}\n",
                c.code(),
                c.exponent(),
            );
        }
    }
    out
}

/// What `histogram_quantile(0.5, ..)` gives for observations all equal to `v`:
/// the middle of the bucket holding `v` (its lower bound 0 for the first bucket).
fn median_of_one(e: &CatalogEntry, v: f64) -> f64 {
    let bounds = e.explicit_buckets().unwrap_or(&[]);
    let mut lower = 0.0;
    for b in bounds {
        if v <= *b {
            return (lower + b) / 2.0;
        }
        lower = *b;
    }
    // Above the last bound: Prometheus returns the last bound.
    lower
}

/// A dashboard of the catalog's money, in major units per currency: one panel per
/// money instrument and selected currency, in that currency's Grafana unit, per
/// selected job and environment.
#[must_use]
pub fn money_dashboard(catalog: &Catalog) -> String {
    let entries = money_entries(catalog);
    let panels: Vec<Panel> = entries
        .iter()
        .map(|e| {
            let (record, _) = major_rule(e);
            let n = &e.prometheus_name;
            let title = match e.kind {
                InstrumentKind::Counter => format!("{n}: per minute, in major units"),
                InstrumentKind::Histogram => format!("{n}: median over 1h, in major units"),
                _ => format!("{n}: in major units"),
            };
            Panel {
                title,
                kind: "timeseries",
                unit: "short",
                targets: vec![(
                    format!("{record}{{{FLEET_MATCHERS}, currency=~\"$currency\"}}"),
                    "{{job}} {{deployment_environment_name}} {{currency}}".to_owned(),
                )],
                options: LEGEND,
                money: true,
            }
        })
        .collect();
    // Every money instrument has a `currency`; a histogram's series end in `_count`.
    let currency_metric = entries.first().map_or_else(
        || "business_revenue_cents_total".to_owned(),
        |e| {
            if e.is_histogram() {
                format!("{}_count", e.prometheus_name)
            } else {
                e.prometheus_name.clone()
            }
        },
    );
    dashboard(
        "Money",
        "money",
        "Money instruments of the catalog in major units of each currency (ISO 4217 exponents), per job and deployment environment",
        &[
            Variable::Job(currency_metric.clone()),
            Variable::Environment,
            Variable::Label("currency", "currency", currency_metric),
        ],
        &panels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_money_rules_cover_every_payment_currency_once() {
        let rules = money_rules(
            &Catalog::built_in(),
            Provenance {
                source: "s",
                command: "c",
                runbooks: "r",
            },
        );
        assert_eq!(
            rules.matches("label_replace(label_replace(vector(").count(),
            Currency::all().len()
        );
        assert!(rules.contains(
            "vector(1000), \"currency\", \"KWD\", \"\", \"\"), \"currency_exponent\", \"3\""
        ));
        assert!(rules.contains(
            "vector(1), \"currency\", \"JPY\", \"\", \"\"), \"currency_exponent\", \"0\""
        ));
        assert!(rules.contains("- record: currency:business_revenue_cents:per_minute_major_rate5m"));
    }
}
