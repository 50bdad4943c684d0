//! Prometheus recording rules, alerts and promtool unit tests for one funnel.

use std::fmt::Write as _;

use crate::define::FunnelDefinition;

use super::Provenance;

const METRIC: &str = "business_funnel_step_total";

/// `signup` → `Signup`, `trial_start` → `TrialStart`.
pub(super) fn camel(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|first| first.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn sel(f: &FunnelDefinition, step: &str) -> String {
    format!("{METRIC}{{funnel=\"{}\", step=\"{step}\"}}", f.name)
}

/// The conversion ratio over the last hour (0 to 1): final step per entry.
pub(super) fn conversion_expr(f: &FunnelDefinition) -> String {
    format!(
        "sum(rate({last}[1h])) / (sum(rate({first}[1h])) > 0)",
        last = sel(f, f.final_step()),
        first = sel(f, f.entry_step()),
    )
}

/// The threshold in percent, as the alert's text shows it.
fn percent(ratio: f64) -> f64 {
    (ratio * 10_000.0).round() / 100.0
}

fn conversion_runbook(f: &FunnelDefinition) -> [String; 3] {
    let n = f.name;
    [
        format!("1. Find the step where runs stop: sum by (step) (rate({METRIC}{{funnel=\"{n}\"}}[15m])) against the hour before."),
        format!("2. Look for failures: rate({}[15m]).", sel(f, f.error_step)),
        "3. Split by experiment_variant, source and device_type; roll back a release or experiment that lines up with the drop.".to_owned(),
    ]
}

fn indented(lines: &[String], indent: &str) -> String {
    lines.iter().map(|l| format!("{indent}{l}\n")).collect()
}

/// Recording rules and alerts of a funnel.
#[must_use]
pub fn funnel_rules(f: &FunnelDefinition, p: Provenance<'_>) -> String {
    let n = f.name;
    let first = sel(f, f.entry_step());
    let last = sel(f, f.final_step());
    let error = sel(f, f.error_step);
    let mut out = String::new();
    let _ = write!(
        out,
        "# Recording rules and alerts of the `{n}` funnel ({steps}).\n\
         # Generated from {source}; do not edit: run `{command}`.\n\
         #\n\
         # Check with:  promtool check rules prometheus/rules/funnel_{n}.yml\n\
         # Tested by:   promtool test rules prometheus/tests/funnel_{n}_test.yml\n\
         groups:\n  \
           - name: funnel_{n}_recording\n    \
             rules:\n      \
               # Entries into each step per second, over 5 minutes.\n      \
               - record: funnel_step:business_funnel_step:rate5m\n        \
                 expr: sum by (funnel, step) (rate({METRIC}{{funnel=\"{n}\"}}[5m]))\n\n      \
               # Conversion over the last hour as a ratio (0 to 1): {final_step} per {entry}.\n      \
               # No series while nobody entered the funnel.\n      \
               - record: funnel:business_funnel_conversion:ratio_rate1h\n        \
                 expr: |\n          \
                   sum by (funnel) (rate({last}[1h]))\n          \
                   /\n          \
                   (sum by (funnel) (rate({first}[1h])) > 0)\n\n      \
               # Failed runs per entry over the last hour, as a ratio.\n      \
               - record: funnel:business_funnel_error:ratio_rate1h\n        \
                 expr: |\n          \
                   sum by (funnel) (rate({error}[1h]))\n          \
                   /\n          \
                   (sum by (funnel) (rate({first}[1h])) > 0)\n\n  \
           - name: funnel_{n}_alerts\n    \
             rules:\n",
        steps = f.steps.join(" → "),
        source = p.source,
        command = p.command,
        final_step = f.final_step(),
        entry = f.entry_step(),
    );
    let camel = camel(n);
    if let Some(ratio) = f.min_conversion_ratio {
        let _ = write!(
            out,
            "      - alert: {camel}ConversionRateLow\n        \
               expr: |\n          \
                 (\n            \
                   (sum(rate({last}[1h])) or vector(0))\n            \
                   /\n            \
                   sum(rate({first}[1h]))\n          \
                 ) < {ratio}\n          \
                 and on ()\n          \
                 sum(increase({first}[1h])) >= {min}\n        \
               for: 15m\n        \
               labels:\n          \
                 severity: warning\n          \
                 team: {owner}\n          \
                 funnel: {n}\n        \
               annotations:\n          \
                 summary: The {n} funnel converts below {pct}%\n          \
                 description: >-\n            \
                   {final_step} per {entry} over the last hour is\n            \
                   {{{{ $value | humanizePercentage }}}}, below the {pct}% threshold, for 15 minutes\n            \
                   (with at least {min} entries in the hour).\n          \
                 runbook: |\n{runbook}\n",
            runbook = indented(&conversion_runbook(f), "            "),
            min = f.min_hourly_entries,
            owner = f.owner,
            pct = percent(ratio),
            final_step = f.final_step(),
            entry = f.entry_step(),
        );
    }
    let _ = write!(
        out,
        "      - alert: {camel}FunnelAbsent\n        \
           expr: absent({METRIC}{{funnel=\"{n}\"}})\n        \
           for: 10m\n        \
           labels:\n          \
             severity: warning\n          \
             team: {owner}\n          \
             funnel: {n}\n        \
           annotations:\n          \
             summary: No {n} funnel data for 10 minutes\n          \
             description: >-\n            \
               Prometheus holds no {METRIC}{{funnel=\"{n}\"}} series: the service is down,\n            \
               not scraped, or no longer records the funnel.\n          \
             runbook: |\n            \
               1. Check the scrape target or the collector pipeline that carries the service's metrics.\n            \
               2. Check that the service's catalog still registers the {n} funnel.\n",
        owner = f.owner,
    );
    out
}

/// promtool unit tests of [`funnel_rules`]: the conversion ratio recorded exactly,
/// the conversion alert firing on a low ratio and quiet on a healthy one, and the
/// absence alert.
#[must_use]
pub fn funnel_rule_tests(f: &FunnelDefinition, p: Provenance<'_>) -> String {
    let n = f.name;
    let labels = |step: &str| {
        format!(
            "{METRIC}{{funnel=\"{n}\", step=\"{step}\", source=\"direct\", device_type=\"desktop\", experiment_variant=\"control\"}}"
        )
    };
    let ratio = f.min_conversion_ratio.unwrap_or(0.02);
    // 100 entries a minute; a low run converts at most half the threshold, a
    // healthy one at least twice it.
    let low = (ratio * 50.0).floor().clamp(0.0, 100.0);
    let healthy = (ratio * 200.0).ceil().clamp(1.0, 100.0);
    let camel = camel(n);
    let mut out = String::new();
    let _ = write!(
        out,
        "# promtool unit tests of prometheus/rules/funnel_{n}.yml.\n\
         # Generated from {source}; do not edit: run `{command}`.\n\
         #\n\
         # Run with:  promtool test rules prometheus/tests/funnel_{n}_test.yml\n\
         rule_files:\n  \
           - ../rules/funnel_{n}.yml\n\
         evaluation_interval: 1m\n\
         tests:\n  \
           # {low} of 100 entries a minute convert: the ratio is recorded exactly, and\n  \
           # the conversion alert fires once the hour is full and 15 minutes have passed.\n  \
           - interval: 1m\n    \
             input_series:\n      \
               - series: '{entry}'\n        \
                 values: '0+100x120'\n      \
               - series: '{last}'\n        \
                 values: '0+{low}x120'\n      \
               - series: '{error}'\n        \
                 values: '0+3x120'\n    \
             promql_expr_test:\n      \
               - expr: funnel:business_funnel_conversion:ratio_rate1h\n        \
                 eval_time: 90m\n        \
                 exp_samples:\n          \
                   - labels: 'funnel:business_funnel_conversion:ratio_rate1h{{funnel=\"{n}\"}}'\n            \
                     value: {low_ratio}\n      \
               - expr: funnel:business_funnel_error:ratio_rate1h\n        \
                 eval_time: 90m\n        \
                 exp_samples:\n          \
                   - labels: 'funnel:business_funnel_error:ratio_rate1h{{funnel=\"{n}\"}}'\n            \
                     value: 0.03\n",
        source = p.source,
        command = p.command,
        entry = labels(f.entry_step()),
        last = labels(f.final_step()),
        error = labels(f.error_step),
        low = low,
        low_ratio = low / 100.0,
    );
    if f.min_conversion_ratio.is_some() {
        let _ = write!(
            out,
            "    alert_rule_test:\n      \
               - alertname: {camel}ConversionRateLow\n        \
                 eval_time: 90m\n        \
                 exp_alerts:\n          \
                   - exp_labels:\n              \
                       severity: warning\n              \
                       team: {owner}\n              \
                       funnel: {n}\n            \
                     exp_annotations:\n              \
                       summary: The {n} funnel converts below {pct}%\n              \
                       description: >-\n                \
                         {final_step} per {entry_step} over the last hour is\n                \
                         {low}%, below the {pct}% threshold, for 15 minutes\n                \
                         (with at least {min} entries in the hour).\n              \
                       runbook: |\n{runbook}\n  \
             # {healthy} of 100 entries a minute convert: no alert.\n  \
             - interval: 1m\n    \
               input_series:\n      \
                 - series: '{entry}'\n        \
                   values: '0+100x120'\n      \
                 - series: '{last}'\n        \
                   values: '0+{healthy}x120'\n    \
               alert_rule_test:\n      \
                 - alertname: {camel}ConversionRateLow\n        \
                   eval_time: 90m\n        \
                   exp_alerts: []\n",
            owner = f.owner,
            entry = labels(f.entry_step()),
            last = labels(f.final_step()),
            pct = percent(ratio),
            final_step = f.final_step(),
            entry_step = f.entry_step(),
            min = f.min_hourly_entries,
            runbook = indented(&conversion_runbook(f), "                "),
        );
    }
    let _ = write!(
        out,
        "\n  \
         # No series of the funnel at all: the absence alert fires after 10 minutes.\n  \
         - interval: 1m\n    \
           input_series:\n      \
             - series: 'up{{job=\"other\"}}'\n        \
               values: '1x30'\n    \
           alert_rule_test:\n      \
             - alertname: {camel}FunnelAbsent\n        \
               eval_time: 15m\n        \
               exp_alerts:\n          \
                 - exp_labels:\n              \
                     severity: warning\n              \
                     team: {owner}\n              \
                     funnel: {n}\n            \
                   exp_annotations:\n              \
                     summary: No {n} funnel data for 10 minutes\n              \
                     description: >-\n                \
                       Prometheus holds no {METRIC}{{funnel=\"{n}\"}} series: the service is down,\n                \
                       not scraped, or no longer records the funnel.\n              \
                     runbook: |\n                \
                       1. Check the scrape target or the collector pipeline that carries the service's metrics.\n                \
                       2. Check that the service's catalog still registers the {n} funnel.\n",
        owner = f.owner,
    );
    out
}
