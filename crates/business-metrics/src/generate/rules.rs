//! Prometheus recording rules, alerts and promtool unit tests for one funnel.
//!
//! Every rule keeps `job` and `deployment_environment_name` (see [`super::fleet`]):
//! two services, or one service in staging and production, are judged apart.

use std::fmt::Write as _;

use crate::define::FunnelDefinition;

use super::fleet::{fleet_sum, FLEET};
use super::{runbook_url, GeneratedFile, Provenance};

const METRIC: &str = "business_funnel_step_total";
const STEP_RATE: &str = "funnel_step:business_funnel_step:rate5m";
const CONVERSION: &str = "funnel:business_funnel_conversion:ratio_rate1h";
const ERRORS: &str = "funnel:business_funnel_error:ratio_rate1h";
const ENTRIES: &str = "funnel:business_funnel_entries:increase1h";

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

/// The threshold in percent, as the alert's text shows it.
fn percent(ratio: f64) -> f64 {
    (ratio * 10_000.0).round() / 100.0
}

fn conversion_runbook(f: &FunnelDefinition) -> [String; 3] {
    let n = f.name;
    [
        format!("1. Find the step where runs stop: sum by (step) (rate({METRIC}{{job=\"<job>\", funnel=\"{n}\"}}[15m])) against the hour before."),
        format!("2. Look for failures: rate({}[15m]).", sel(f, f.error_step)),
        "3. Split by experiment_variant, source and device_type; roll back a release or experiment that lines up with the drop.".to_owned(),
    ]
}

const ABSENT_RUNBOOK: [&str; 2] = [
    "1. Check the scrape target or the collector pipeline that carries the service's metrics (up{job=\"<job>\"}).",
    "2. Check that the service's catalog still registers the funnel.",
];

fn indented<S: AsRef<str>>(lines: &[S], indent: &str) -> String {
    lines
        .iter()
        .map(|l| format!("{indent}{}\n", l.as_ref()))
        .collect()
}

/// Replaces each `@key@` of `template` with its value.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |t, (k, v)| {
        t.replace(&format!("@{k}@"), v)
    })
}

const RULES: &str = r#"# Recording rules and alerts of the `@n@` funnel (@steps@).
# Generated from @source@; do not edit: run `@command@`.
#
# Every rule keeps `job` and `deployment_environment_name` (the resource attribute
# deployment.environment.name, joined in from each process's target_info) and sums
# the instances of a job away, so services and environments are judged apart.
#
# Check with:  promtool check rules prometheus/rules/funnel_@n@.yml
# Tested by:   promtool test rules prometheus/tests/funnel_@n@_test.yml
groups:
  - name: funnel_@n@_recording
    rules:
      # Entries into each step per second, over 5 minutes.
      - record: @step_rate@
        expr: |
          @step_rate_expr@

      # Conversion over the last hour as a ratio (0 to 1): @final@ per @entry@;
      # 0 when runs entered and none converted, no series while nobody entered.
      - record: @conversion@
        expr: |
          (
            @final_sum@
            or
            0 * @entry_sum@
          )
          /
          (@entry_sum@ > 0)

      # Failed runs (@error@) per entry over the last hour, as a ratio (0 to 1).
      - record: @errors@
        expr: |
          (
            @error_sum@
            or
            0 * @entry_sum@
          )
          /
          (@entry_sum@ > 0)

      # Entries into the funnel over the last hour: whether a ratio has enough
      # runs behind it to be judged.
      - record: @entries@
        expr: |
          @entries_expr@

  - name: funnel_@n@_alerts
    rules:
"#;

const CONVERSION_ALERT: &str = r#"      - alert: @alert@
        expr: |
          @conversion@{funnel="@n@"} < @ratio@
          and on (@fleet@, funnel)
          @entries@{funnel="@n@"} >= @min@
        for: 15m
        labels:
          severity: warning
          team: @owner@
          funnel: @n@
        annotations:
          summary: The @n@ funnel of {{ $labels.job }} converts below @pct@%
          description: >-
            @final@ per @entry@ over the last hour in {{ $labels.job }}{{ with
            $labels.deployment_environment_name }} ({{ . }}){{ end }} is
            {{ $value | humanizePercentage }}, below the @pct@% threshold, for 15 minutes
            (with at least @min@ entries in the hour).
          runbook: |
@runbook@          runbook_url: @runbook_url@
"#;

const ABSENT_ALERT: &str = r#"      - alert: @alert@
        expr: |
          absent(@metric@{funnel="@n@"})
          or
          (
            group by (@fleet@, funnel) (last_over_time(@step_rate@{funnel="@n@"}[1d]))
            unless on (@fleet@, funnel)
            @step_rate@{funnel="@n@"}
          )
        for: 10m
        labels:
          severity: warning
          team: @owner@
          funnel: @n@
        annotations:
          summary: No @n@ funnel data{{ with $labels.job }} from {{ . }}{{ end }} for 10 minutes
          description: >-
            Prometheus holds no @metric@{funnel="@n@"} series{{ with $labels.job }}
            of {{ . }} (it had some in the last day){{ end }}: the service is down,
            not scraped, or no longer records the funnel.
          runbook: |
@runbook@          runbook_url: @runbook_url@
"#;

/// Recording rules and alerts of a funnel.
#[must_use]
pub fn funnel_rules(f: &FunnelDefinition, p: Provenance<'_>) -> String {
    let n = f.name;
    let entry_sum = fleet_sum(
        "funnel",
        &format!("rate({}[1h])", sel(f, f.entry_step())),
        "1h",
    );
    let steps = f.steps.join(" → ");
    let mut out = fill(
        RULES,
        &[
            ("steps", &steps),
            ("source", p.source),
            ("command", p.command),
            ("step_rate", STEP_RATE),
            (
                "step_rate_expr",
                &fleet_sum(
                    "funnel, step",
                    &format!("rate({METRIC}{{funnel=\"{n}\"}}[5m])"),
                    "5m",
                ),
            ),
            ("conversion", CONVERSION),
            (
                "final_sum",
                &fleet_sum(
                    "funnel",
                    &format!("rate({}[1h])", sel(f, f.final_step())),
                    "1h",
                ),
            ),
            ("entry_sum", &entry_sum),
            ("errors", ERRORS),
            (
                "error_sum",
                &fleet_sum(
                    "funnel",
                    &format!("rate({}[1h])", sel(f, f.error_step)),
                    "1h",
                ),
            ),
            ("entries", ENTRIES),
            (
                "entries_expr",
                &fleet_sum(
                    "funnel",
                    &format!("increase({}[1h])", sel(f, f.entry_step())),
                    "1h",
                ),
            ),
            ("final", f.final_step()),
            ("entry", f.entry_step()),
            ("error", f.error_step),
            ("n", n),
        ],
    );
    let camel = camel(n);
    if let Some(ratio) = f.min_conversion_ratio {
        let alert = format!("{camel}ConversionRateLow");
        out.push_str(&fill(
            CONVERSION_ALERT,
            &[
                ("alert", &alert),
                ("conversion", CONVERSION),
                ("entries", ENTRIES),
                ("ratio", &ratio.to_string()),
                ("min", &f.min_hourly_entries.to_string()),
                ("owner", f.owner),
                ("pct", &percent(ratio).to_string()),
                ("final", f.final_step()),
                ("entry", f.entry_step()),
                ("runbook", &indented(&conversion_runbook(f), "            ")),
                ("runbook_url", &runbook_url(p, &alert)),
                ("fleet", FLEET),
                ("n", n),
            ],
        ));
    }
    let alert = format!("{camel}FunnelAbsent");
    out.push_str(&fill(
        ABSENT_ALERT,
        &[
            ("alert", &alert),
            ("metric", METRIC),
            ("step_rate", STEP_RATE),
            ("owner", f.owner),
            ("runbook", &indented(&ABSENT_RUNBOOK, "            ")),
            ("runbook_url", &runbook_url(p, &alert)),
            ("fleet", FLEET),
            ("n", n),
        ],
    ));
    out
}

/// The runbook of each alert of a funnel, as `runbooks/<alert>.md`.
#[must_use]
pub fn funnel_runbooks(f: &FunnelDefinition, p: Provenance<'_>) -> Vec<GeneratedFile> {
    let n = f.name;
    let camel = camel(n);
    let header = format!(
        "<!-- Generated from {}; do not edit: run `{}`. -->\n",
        p.source, p.command
    );
    let mut out = Vec::new();
    if let Some(ratio) = f.min_conversion_ratio {
        let alert = format!("{camel}ConversionRateLow");
        out.push(GeneratedFile {
            path: format!("runbooks/{alert}.md").into(),
            text: format!(
                "{header}# {alert}\n\n\
                 ## What it means\n\n\
                 Over the last hour, fewer than {pct}% of the runs that entered the `{n}` funnel\n\
                 of one job (service) in one deployment environment reached `{last}` (the\n\
                 conversion, `{last}` per `{first}`), for 15 minutes, with at least {min} entries\n\
                 in that hour. The alert's `job` and `deployment_environment_name` labels say\n\
                 which service and environment; others are judged apart. Owner: {owner}.\n\n\
                 ## How to check\n\n\
                 - The ratio: `{CONVERSION}{{funnel=\"{n}\", job=\"<job>\"}}`; the funnel\n  \
                   dashboard (`funnel-{n}`) with `$job` and `$environment` set to the alert's labels.\n\
                 {steps}\n\
                 ## What to do\n\n\
                 - Roll back the release or experiment whose start lines up with the drop.\n\
                 - A failing dependency (payments, e-mail, sign-in) shows as `{error}` steps:\n  \
                   fix or fail over the dependency.\n\
                 - A change in traffic (a campaign that sends visitors who do not convert) is\n  \
                   not a fault: note it and silence the alert for the campaign's duration.\n",
                pct = percent(ratio),
                last = f.final_step(),
                first = f.entry_step(),
                min = f.min_hourly_entries,
                owner = f.owner,
                error = f.error_step,
                steps = conversion_runbook(f)
                    .iter()
                    .map(|l| format!("- {}\n", l.split_once(". ").map_or(l.as_str(), |(_, s)| s)))
                    .collect::<String>(),
            ),
        });
    }
    let alert = format!("{camel}FunnelAbsent");
    out.push(GeneratedFile {
        path: format!("runbooks/{alert}.md").into(),
        text: format!(
            "{header}# {alert}\n\n\
             ## What it means\n\n\
             Prometheus holds no `{METRIC}{{funnel=\"{n}\"}}` series for 10 minutes: none at all\n\
             (the alert has no `job` label), or none from one job and environment that had\n\
             some in the last day (the alert names them). Every other alert of the funnel is\n\
             blind meanwhile. Owner: {owner}.\n\n\
             ## How to check\n\n\
             - `up{{job=\"<job>\"}}` and Prometheus' targets page: is the target down or failing\n  \
               to scrape? Behind a collector, its logs and its `otelcol_exporter_send_failed_metric_points`.\n\
             - `curl -s http://<target>/metrics | grep 'funnel=\"{n}\"'`: does the service still\n  \
               export the funnel?\n\
             - Recent deploys: a catalog that no longer registers the `{n}` funnel, or a\n  \
               renamed job.\n\n\
             ## What to do\n\n\
             - Bring the service or its scrape back; a renamed or retired job resolves\n  \
               the alert within a day on its own, or silence it until then.\n",
            owner = f.owner,
        ),
    });
    out
}

/// The input series of one process of a test: `job`, `instance` and the
/// environment its `target_info` carries.
struct Process {
    job: &'static str,
    instance: &'static str,
    environment: &'static str,
}

const SHOP_A: Process = Process {
    job: "shop-a",
    instance: "10.0.0.1:9464",
    environment: "production",
};
const SHOP_B: Process = Process {
    job: "shop-b",
    instance: "10.0.0.2:9464",
    environment: "staging",
};

impl Process {
    fn target_info(&self, values: &str) -> String {
        format!(
            "      - series: 'target_info{{job=\"{}\", instance=\"{}\", deployment_environment_name=\"{}\"}}'\n        values: '{values}'\n",
            self.job, self.instance, self.environment
        )
    }

    fn step(&self, f: &FunnelDefinition, step: &str, values: &str) -> String {
        format!(
            "      - series: '{METRIC}{{job=\"{}\", instance=\"{}\", funnel=\"{}\", step=\"{step}\", source=\"direct\", device_type=\"desktop\", experiment_variant=\"control\"}}'\n        values: '{values}'\n",
            self.job, self.instance, f.name
        )
    }

    fn labels(&self, f: &FunnelDefinition) -> String {
        format!(
            "deployment_environment_name=\"{}\", funnel=\"{}\", job=\"{}\"",
            self.environment, f.name, self.job
        )
    }
}

/// promtool unit tests of [`funnel_rules`]: the ratios recorded exactly per job and
/// environment, the conversion alert firing for the job that converts too little
/// and not for the other, quiet on healthy traffic, and the absence alert for a
/// funnel never seen and for one job that stopped.
#[must_use]
pub fn funnel_rule_tests(f: &FunnelDefinition, p: Provenance<'_>) -> String {
    let n = f.name;
    let ratio = f.min_conversion_ratio.unwrap_or(0.02);
    // 100 entries a minute; a low run converts at most half the threshold, a
    // healthy one at least twice it.
    let low = (ratio * 50.0).floor().clamp(0.0, 100.0);
    let healthy = (ratio * 200.0).ceil().clamp(1.0, 100.0);
    let camel = camel(n);
    let (a, b) = (SHOP_A, SHOP_B);
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
           # Two jobs in two environments, 100 entries a minute each. In {a_job} ({a_env})\n  \
           # {low} convert and 3 fail, in {b_job} ({b_env}) {healthy} convert and none fail:\n  \
           # each ratio is recorded exactly for its own job, and only {a_job}'s\n  \
           # conversion alert fires.\n  \
           - interval: 1m\n    \
             input_series:\n",
        source = p.source,
        command = p.command,
        a_job = a.job,
        a_env = a.environment,
        b_job = b.job,
        b_env = b.environment,
    );
    out.push_str(&a.target_info("1x120"));
    out.push_str(&a.step(f, f.entry_step(), "0+100x120"));
    out.push_str(&a.step(f, f.final_step(), &format!("0+{low}x120")));
    out.push_str(&a.step(f, f.error_step, "0+3x120"));
    out.push_str(&b.target_info("1x120"));
    out.push_str(&b.step(f, f.entry_step(), "0+100x120"));
    out.push_str(&b.step(f, f.final_step(), &format!("0+{healthy}x120")));
    let expect = |record: &str, values: [f64; 2]| {
        format!(
            "      - expr: {record}\n        \
               eval_time: 90m\n        \
               exp_samples:\n          \
                 - labels: '{record}{{{}}}'\n            \
                   value: {}\n          \
                 - labels: '{record}{{{}}}'\n            \
                   value: {}\n",
            a.labels(f),
            values[0],
            b.labels(f),
            values[1]
        )
    };
    out.push_str("    promql_expr_test:\n");
    out.push_str(&expect(CONVERSION, [low / 100.0, healthy / 100.0]));
    out.push_str(&expect(ERRORS, [0.03, 0.0]));
    let _ = write!(
        out,
        "      # Rounded: promtool compares exactly, and the window's extrapolation\n      \
         # leaves floating point noise.\n      \
         - expr: round({ENTRIES})\n        \
           eval_time: 90m\n        \
           exp_samples:\n          \
             - labels: '{{{}}}'\n            \
               value: 6000\n          \
             - labels: '{{{}}}'\n            \
               value: 6000\n",
        a.labels(f),
        b.labels(f)
    );
    if f.min_conversion_ratio.is_some() {
        let runbook = indented(&conversion_runbook(f), "                ");
        let _ = write!(
            out,
            "    alert_rule_test:\n      \
               - alertname: {camel}ConversionRateLow\n        \
                 eval_time: 90m\n        \
                 exp_alerts:\n          \
                   - exp_labels:\n              \
                       severity: warning\n              \
                       team: {owner}\n              \
                       funnel: {n}\n              \
                       job: {a_job}\n              \
                       deployment_environment_name: {a_env}\n            \
                     exp_annotations:\n              \
                       summary: The {n} funnel of {a_job} converts below {pct}%\n              \
                       description: >-\n                \
                         {final_step} per {entry_step} over the last hour in {a_job} ({a_env}) is\n                \
                         {low}%, below the {pct}% threshold, for 15 minutes\n                \
                         (with at least {min} entries in the hour).\n              \
                       runbook: |\n{runbook}              \
                       runbook_url: {url}\n\n  \
             # {healthy} of 100 entries a minute convert: no alert.\n  \
             - interval: 1m\n    \
               input_series:\n",
            owner = f.owner,
            a_job = a.job,
            a_env = a.environment,
            pct = percent(ratio),
            final_step = f.final_step(),
            entry_step = f.entry_step(),
            min = f.min_hourly_entries,
            url = runbook_url(p, &format!("{camel}ConversionRateLow")),
        );
        out.push_str(&a.target_info("1x120"));
        out.push_str(&a.step(f, f.entry_step(), "0+100x120"));
        out.push_str(&a.step(f, f.final_step(), &format!("0+{healthy}x120")));
        let _ = write!(
            out,
            "    alert_rule_test:\n      \
               - alertname: {camel}ConversionRateLow\n        \
                 eval_time: 90m\n        \
                 exp_alerts: []\n"
        );
    }
    let absent_runbook = indented(&ABSENT_RUNBOOK, "                ");
    let absent_url = runbook_url(p, &format!("{camel}FunnelAbsent"));
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
                       Prometheus holds no {METRIC}{{funnel=\"{n}\"}} series:\n                \
                       the service is down, not scraped, or no longer records the funnel.\n              \
                     runbook: |\n{absent_runbook}              \
                     runbook_url: {absent_url}\n\n  \
         # {b_job} stops at 30m while {a_job} goes on: the series of {b_job} are absent from\n  \
         # 35m (the end of the 5 minute rate), and the alert fires for {b_job} alone 10\n  \
         # minutes later.\n  \
         - interval: 1m\n    \
           input_series:\n",
        owner = f.owner,
        a_job = a.job,
        b_job = b.job,
    );
    out.push_str(&a.target_info("1x60"));
    out.push_str(&a.step(f, f.entry_step(), "0+10x60"));
    out.push_str(&b.target_info("1x30"));
    out.push_str(&b.step(f, f.entry_step(), "0+10x30"));
    let _ = write!(
        out,
        "    alert_rule_test:\n      \
           - alertname: {camel}FunnelAbsent\n        \
             eval_time: 30m\n        \
             exp_alerts: []\n      \
           - alertname: {camel}FunnelAbsent\n        \
             eval_time: 55m\n        \
             exp_alerts:\n          \
               - exp_labels:\n              \
                   severity: warning\n              \
                   team: {owner}\n              \
                   funnel: {n}\n              \
                   job: {b_job}\n              \
                   deployment_environment_name: {b_env}\n            \
                 exp_annotations:\n              \
                   summary: No {n} funnel data from {b_job} for 10 minutes\n              \
                   description: >-\n                \
                     Prometheus holds no {METRIC}{{funnel=\"{n}\"}} series\n                \
                     of {b_job} (it had some in the last day): the service is down,\n                \
                     not scraped, or no longer records the funnel.\n              \
                   runbook: |\n{absent_runbook}              \
                   runbook_url: {absent_url}\n",
        owner = f.owner,
        b_job = b.job,
        b_env = b.environment,
    );
    out
}
