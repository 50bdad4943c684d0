//! `bizmetrics`: funnel, correlation and revenue analyses of business metrics in
//! Prometheus.
//!
//! ```text
//! bizmetrics correlate --prometheus http://localhost:9090 \
//!     --technical 'histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m])))' \
//!     --business 'sum(rate(business_funnel_step_total{funnel="checkout", step="order_confirmed"}[5m]))' \
//!     --range 7d --step 5m --max-lag 30m
//! bizmetrics funnel --prometheus http://localhost:9090 --range 1h --by experiment_variant
//! bizmetrics funnel --funnel signup --range 1d --by source
//! bizmetrics funnel --funnel signup --steps landing_view,signup_started,subscribed --range 1d
//! bizmetrics revenue --prometheus http://localhost:9090 --range 1h
//! bizmetrics revenue --range 1d --by region --json
//! bizmetrics revenue --metric saas_mrr_cents --gauge --by plan
//! ```
//!
//! `funnel` analyses the funnel named by `--funnel` (the `funnel` label; default
//! `checkout`). Its steps are taken in the order given by `--steps`; without it,
//! `checkout` has its built-in order and any other funnel's order is read from
//! Prometheus: its steps by count over the range, largest first, error steps
//! (`…_error`) and milestones (`milestone_…`) left out. The report says which
//! (`steps from definition` or `steps from prometheus`; `"steps_from"` in `--json`).
//!
//! `revenue` reads money recorded in integer minor units with a `currency` label: a
//! counter's increase over `--range` (`--metric`, default `business_revenue_cents_total`),
//! or with `--gauge` a gauge's latest value (`--metric saas_mrr_cents --gauge`), summed
//! by currency and by the `--by` label if given. Amounts are shown in major units with
//! exactly the currency's ISO 4217 exponent of decimals:
//!
//! ```text
//! revenue over 1h: 1499 JPY, 1.499 KWD, 1499.00 USD
//! ```
//!
//! A currency label that is not an ISO 4217 code with an exponent is shown in minor
//! units with the note `(unknown currency: minor units)`. `--json` gives per row the
//! segment, currency, exponent, `amount_minor` (an integer) and `amount_major` (a
//! string, exact). A value that is NaN, infinite, negative or above 2^53 is a data
//! problem (exit 5).
//!
//! Every subcommand reads the window as `--range` ending at `--end` (default: now), or
//! from `--start` to `--end`; times are RFC 3339 (`2026-12-02T14:02:00Z`, with an offset
//! such as `+01:00`) or Unix seconds.
//!
//! Production stores (Prometheus behind auth and TLS, Thanos, Mimir, Cortex, hosted
//! ones) take `--bearer-token` or `--basic-auth user:password` (or
//! `PROMETHEUS_BEARER_TOKEN`, `PROMETHEUS_BASIC_AUTH`, `--bearer-token-file`,
//! `--basic-auth-file`), `--header 'Name: value'`, `--tenant` (`X-Scope-OrgID`) and
//! `--ca-cert` for a private CA. HTTPS is verified against the system's CAs by
//! default. Secrets never appear in help, messages or debug output; a redirect to
//! another host is not followed. `--job checkout` (or `--matcher 'env="prod"'`,
//! repeated) restricts every query bizmetrics builds to that service; `correlate`
//! sends its PromQL as written and refuses them (put the matcher in the PromQL).
//!
//! Nothing Prometheus answers is taken on trust: an answer larger than
//! `--max-response-size` (default 16 MiB) is refused without being read to its end
//! (exit 4); a count that is NaN, infinite, negative or above 2^53 (the largest
//! integer a float holds exactly), an amount of money likewise, and an infinite sample
//! to correlate are data problems (exit 5) naming the query and the series;
//! `--max-lag` is capped at the largest lag the points allow (the number of points
//! minus `--min-points`), with a warning saying so.
//!
//! Exit codes: 0 success; 2 usage (bad arguments, durations, times, URL, credentials,
//! headers, CA certificate, sizes); 3 Prometheus unreachable (TLS failures included)
//! or too slow; 4 Prometheus rejected the query, answered something else than its
//! API, redirected to another host, or answered more than `--max-response-size`; 5 a
//! data problem (several series where one is needed, no data, too few aligned points,
//! a constant series, a value that is no count or amount of money, an infinite
//! sample); 6 Prometheus refused the credentials (HTTP 401 or 403).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use business_metrics_analysis::explain::format_significant;
use business_metrics_analysis::report::block_bar;
use business_metrics_analysis::time::{TimeError, Window};
use business_metrics_analysis::{
    discover_funnel, parse_duration, AnalysisError, ClientError, CorrelationReport,
    CorrelationRequest, FunnelName, FunnelReport, FunnelSpec, FunnelSteps, LabelName, MetricName,
    RevenueRequest, Segmentation, StepName, StepsFrom, CHECKOUT_FUNNEL, DEFAULT_MIN_POINTS,
};
use clap::{Parser, Subcommand, ValueEnum};

#[path = "bizmetrics/html_report.rs"]
mod html_report;
#[path = "bizmetrics/impact.rs"]
mod impact;
#[path = "bizmetrics/store.rs"]
mod store;

/// Cells of the funnel table's bar at the largest count.
const FUNNEL_BAR_WIDTH: usize = 20;

/// Exit code: bad arguments.
const EXIT_USAGE: u8 = 2;
/// Exit code: Prometheus could not be reached in time.
const EXIT_UNREACHABLE: u8 = 3;
/// Exit code: Prometheus rejected the query.
const EXIT_QUERY: u8 = 4;
/// Exit code: the data does not allow the analysis.
const EXIT_DATA: u8 = 5;
/// Exit code: Prometheus refused the credentials.
const EXIT_AUTH: u8 = 6;

#[derive(Debug, Parser)]
#[command(
    name = "bizmetrics",
    version,
    about = "Funnel, correlation and revenue analyses of business metrics stored in Prometheus",
    after_help = "Exit codes: 0 ok, 2 usage, 3 Prometheus unreachable, 4 query error \
                  (or an answer that is no Prometheus answer, a redirect to another host, \
                  an answer above --max-response-size), 5 data problem (several series, \
                  no data, too few points, constant series, a value that is no count or \
                  amount of money, an infinite sample), 6 credentials refused"
)]
struct Cli {
    /// Base URL of the Prometheus server.
    #[arg(
        long,
        global = true,
        env = "PROMETHEUS_URL",
        default_value = "http://localhost:9090"
    )]
    prometheus: String,
    /// Timeout of each request to Prometheus (Prometheus duration syntax).
    #[arg(long, global = true, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print a JSON report instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    store: store::StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// What an incident window cost: revenue per currency, completions and
    /// conversion against the same window on earlier days and weeks.
    Impact(impact::ImpactArgs),
    /// Correlate a technical metric with a business metric over time.
    Correlate {
        /// PromQL giving one technical series (the suspected cause).
        #[arg(long)]
        technical: String,
        /// PromQL giving one business series (the outcome).
        #[arg(long)]
        business: String,
        /// How far back from --end to look, e.g. 7d.
        #[arg(long, value_parser = parse_duration, required_unless_present = "start")]
        range: Option<Duration>,
        /// Start of the range instead of --range, RFC 3339 or Unix seconds.
        #[arg(long, value_parser = parse_end, conflicts_with = "range")]
        start: Option<SystemTime>,
        /// Resolution, e.g. 5m.
        #[arg(long, value_parser = parse_duration)]
        step: Duration,
        /// Largest lag to search, the business metric trailing (e.g. 30m); none by
        /// default. Capped, with a warning, at the largest lag the points allow.
        #[arg(long, value_parser = parse_duration)]
        max_lag: Option<Duration>,
        /// Fewest aligned points to report from (at least 4).
        #[arg(long, default_value_t = DEFAULT_MIN_POINTS)]
        min_points: usize,
        /// End of the range, RFC 3339 or Unix seconds (default: now).
        #[arg(long, value_parser = parse_end)]
        end: Option<SystemTime>,
        /// Unit of the technical series, e.g. s (default: read from the metric name's
        /// suffix, e.g. _seconds; the report says which).
        #[arg(long, value_name = "UNIT")]
        technical_unit: Option<String>,
        /// Unit of the business series, e.g. ratio or orders/min (default: read from
        /// the metric names; a quotient of two like series is a ratio).
        #[arg(long, value_name = "UNIT")]
        business_unit: Option<String>,
    },
    /// Step counts, conversion and drop-off of a funnel (checkout by default).
    Funnel {
        /// The funnel (its `funnel` label), e.g. signup.
        #[arg(long, value_name = "NAME", default_value = CHECKOUT_FUNNEL)]
        funnel: FunnelName,
        /// The funnel's steps in order, comma-separated, e.g. landing_view,subscribed
        /// (default: checkout's built-in order; any other funnel's is read from
        /// Prometheus, its steps by count, largest first).
        #[arg(long, value_name = "STEP,STEP,...")]
        steps: Option<FunnelSteps>,
        /// Window ending at --end, e.g. 1h.
        #[arg(long, value_parser = parse_duration, required_unless_present = "start")]
        range: Option<Duration>,
        /// Start of the window instead of --range, RFC 3339 or Unix seconds.
        #[arg(long, value_parser = parse_end, conflicts_with = "range")]
        start: Option<SystemTime>,
        /// Split the funnel by a label.
        #[arg(long, value_enum)]
        by: Option<By>,
        /// End of the window, RFC 3339 or Unix seconds (default: now).
        #[arg(long, value_parser = parse_end)]
        end: Option<SystemTime>,
    },
    /// Money per currency: a counter's increase over a range, or a gauge's latest value.
    Revenue {
        /// The money instrument, in minor units with a `currency` label (default:
        /// business_revenue_cents_total; required with --gauge).
        #[arg(long, value_name = "NAME")]
        metric: Option<MetricName>,
        /// Read --metric as a gauge, its latest value (e.g. saas_mrr_cents), instead of
        /// a counter's increase over --range.
        #[arg(long, requires = "metric", conflicts_with = "range")]
        gauge: bool,
        /// Window ending at --end over which the counter's increase is taken, e.g. 1h.
        #[arg(long, value_parser = parse_duration, required_unless_present_any = ["gauge", "start"])]
        range: Option<Duration>,
        /// Start of the counter's window instead of --range, RFC 3339 or Unix seconds.
        #[arg(long, value_parser = parse_end, conflicts_with_all = ["range", "gauge"])]
        start: Option<SystemTime>,
        /// Split the amounts by a label besides currency, e.g. region.
        #[arg(long, value_name = "LABEL")]
        by: Option<LabelName>,
        /// End of the window (the gauge's time), RFC 3339 or Unix seconds (default: now).
        #[arg(long, value_parser = parse_end)]
        end: Option<SystemTime>,
    },
    /// One self-contained HTML page of charts: the funnel per segment, the experiment's
    /// intervals, the series with incident windows shaded, their correlation
    /// (scatter and correlogram) and what each incident window cost (as `impact`
    /// measures it; the report's window without incidents).
    Report(html_report::ReportArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum By {
    DeviceType,
    Source,
    ExperimentVariant,
}

impl From<By> for Segmentation {
    fn from(by: By) -> Self {
        match by {
            By::DeviceType => Self::DeviceType,
            By::Source => Self::Source,
            By::ExperimentVariant => Self::ExperimentVariant,
        }
    }
}

/// `--start`/`--end`: RFC 3339 or Unix seconds, as the Prometheus HTTP API takes them.
fn parse_end(text: &str) -> Result<SystemTime, String> {
    business_metrics_analysis::time::parse_time(text).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

fn exit_code(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<TimeError>().is_some() {
        return EXIT_USAGE;
    }
    let analysis = error.downcast_ref::<AnalysisError>();
    let client = error.downcast_ref::<ClientError>().or(match analysis {
        Some(AnalysisError::Client(c)) => Some(c),
        _ => None,
    });
    match (analysis, client) {
        (
            _,
            Some(
                ClientError::InvalidUrl { .. }
                | ClientError::InvalidCredentials { .. }
                | ClientError::InvalidHeader { .. }
                | ClientError::InvalidCaCertificate { .. }
                | ClientError::Tls { .. },
            ),
        ) => EXIT_USAGE,
        (_, Some(ClientError::Unauthorized { .. })) => EXIT_AUTH,
        (_, Some(ClientError::Unreachable { .. } | ClientError::Timeout { .. })) => {
            EXIT_UNREACHABLE
        }
        (_, Some(_)) => EXIT_QUERY,
        (Some(AnalysisError::InvalidArgument { .. }), None) => EXIT_USAGE,
        (Some(a), None) if a.is_data_problem() => EXIT_DATA,
        _ => 1,
    }
}

async fn run(cli: Cli) -> anyhow::Result<String> {
    let client = cli.store.client(&cli.prometheus, cli.timeout)?;
    let now = SystemTime::now();
    match cli.command {
        Command::Impact(args) => impact::run(&client, args, cli.json).await,
        Command::Correlate {
            technical,
            business,
            range,
            start,
            step,
            max_lag,
            min_points,
            end,
            technical_unit,
            business_unit,
        } => {
            if cli.store.selects_series() {
                return Err(AnalysisError::InvalidArgument {
                    name: "--job/--matcher".to_owned(),
                    reason: "correlate sends --technical and --business as written; put the \
                             matchers in their selectors, e.g. metric{job=\"checkout\"}"
                        .to_owned(),
                }
                .into());
            }
            let Window { start, end } = Window::resolve(range, start, end, now)?;
            let max_lag_steps = max_lag.map_or(0, |lag| {
                usize::try_from(lag.as_millis() / step.as_millis().max(1)).unwrap_or(usize::MAX)
            });
            let mut request = CorrelationRequest::new(technical, business, start, end, step)
                .with_max_lag(max_lag_steps)
                .with_min_points(min_points);
            if let Some(unit) = technical_unit {
                request = request.with_technical_unit(unit);
            }
            if let Some(unit) = business_unit {
                request = request.with_business_unit(unit);
            }
            let report = business_metrics_analysis::correlate(&client, &request).await?;
            if cli.json {
                Ok(serde_json::to_string_pretty(&report)?)
            } else {
                Ok(correlation_table(&report))
            }
        }
        Command::Funnel {
            funnel,
            steps,
            range,
            start,
            by,
            end,
        } => {
            // One end for the order and the counts, so both read the same window.
            let window = Window::resolve(range, start, end, now)?;
            let (range, end) = (window.length(), window.end);
            let spec = match (steps, FunnelSpec::built_in(&funnel)) {
                (Some(steps), _) => FunnelSpec::new(funnel, steps),
                (None, Some(built_in)) => built_in,
                (None, None) => discover_funnel(&client, funnel, range, Some(end)).await?,
            };
            let report = business_metrics_analysis::funnel(
                &client,
                &spec,
                range,
                Some(end),
                by.map(Segmentation::from),
            )
            .await?;
            if cli.json {
                Ok(serde_json::to_string_pretty(&report)?)
            } else {
                Ok(funnel_table(&report))
            }
        }
        Command::Revenue {
            metric,
            gauge,
            range,
            start,
            by,
            end,
        } => {
            let (range, end) = if gauge {
                (None, end)
            } else {
                let window = Window::resolve(range, start, end, now)?;
                (Some(window.length()), Some(window.end))
            };
            let request = match (metric, range, gauge) {
                (Some(metric), _, true) => RevenueRequest::gauge(metric),
                (Some(metric), Some(range), false) => RevenueRequest::counter(metric, range),
                (None, Some(range), false) => RevenueRequest::revenue(range),
                (None, _, true) | (_, None, false) => {
                    return Err(AnalysisError::InvalidArgument {
                        name: "--range".to_owned(),
                        reason: "give the counter's window, e.g. --range 1h, or read a \
                                 gauge with --metric NAME --gauge"
                            .to_owned(),
                    }
                    .into())
                }
            };
            let request = match by {
                Some(by) => request.with_by(by)?,
                None => request,
            };
            let report = business_metrics_analysis::revenue(&client, &request, end).await?;
            if cli.json {
                Ok(serde_json::to_string_pretty(&report)?)
            } else {
                Ok(report.to_string())
            }
        }
        Command::Report(args) => html_report::run(&client, args, now).await,
    }
}

/// Left-aligns the first `left` columns (names) and right-aligns the others (numbers).
fn table(rows: &[Vec<String>], left: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            row.iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, &w))| {
                    if i < left {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn p_value(p: f64) -> String {
    if p >= 1e-4 {
        format!("{p:.4}")
    } else {
        format!("{p:.2e}")
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn correlation_table(r: &CorrelationReport) -> String {
    let rows = vec![
        vec!["technical".to_owned(), r.technical_query.clone()],
        vec![
            "technical unit".to_owned(),
            format!("{} ({})", r.technical_unit.label(), r.technical_unit.source),
        ],
        vec!["business".to_owned(), r.business_query.clone()],
        vec![
            "business unit".to_owned(),
            format!("{} ({})", r.business_unit.label(), r.business_unit.source),
        ],
        vec!["aligned points".to_owned(), r.aligned_points.to_string()],
        vec![
            "best lag".to_owned(),
            format!("{} step(s), {}s", r.lag_steps, r.lag_seconds),
        ],
        vec![
            "points used".to_owned(),
            format!(
                "{} (worth about {:.0} independent)",
                r.points, r.effective_points
            ),
        ],
        vec!["pearson r".to_owned(), format!("{:.4}", r.pearson)],
        vec![
            "95% interval".to_owned(),
            format!(
                "[{:.4}, {:.4}]",
                r.confidence_interval.lower, r.confidence_interval.upper
            ),
        ],
        vec![
            "p-value".to_owned(),
            format!("{} ({} lag(s) tried)", p_value(r.p_value), r.lags_tried),
        ],
        vec!["spearman rho".to_owned(), format!("{:.4}", r.spearman)],
        vec![
            "r at lag 0".to_owned(),
            r.pearson_at_lag_zero
                .map_or_else(|| "undefined".to_owned(), |v| format!("{v:.4}")),
        ],
        vec![
            "impact (slope)".to_owned(),
            format!("{} {}", format_significant(r.slope), r.slope_unit),
        ],
        vec![
            "typical change".to_owned(),
            format!(
                "{} {} of technical (1 sd) goes with {} {} of business",
                format_significant(r.technical_std_dev),
                r.technical_unit.label(),
                format_significant(r.typical_effect),
                r.business_unit.label()
            ),
        ],
        vec![
            "intercept".to_owned(),
            format!(
                "{} {}",
                format_significant(r.intercept),
                r.business_unit.label()
            ),
        ],
        vec![
            "strength".to_owned(),
            format!("{} {}", r.strength, r.direction),
        ],
    ];
    // Values are left-aligned here: render as two left-aligned columns.
    let width = rows
        .iter()
        .filter_map(|r| r.first())
        .map(String::len)
        .max()
        .unwrap_or(0);
    let mut out: Vec<String> = rows
        .iter()
        .map(|row| {
            format!(
                "{:<width$}  {}",
                row.first().map_or("", String::as_str),
                row.get(1).map_or("", String::as_str)
            )
        })
        .collect();
    out.push(String::new());
    out.push(r.summary.clone());
    out.push(String::new());
    out.extend(r.explanation.iter().cloned());
    for warning in &r.warnings {
        out.push(format!("warning: {warning}"));
    }
    out.join("\n")
}

fn funnel_table(report: &FunnelReport) -> String {
    let order: Vec<&str> = report
        .steps
        .as_slice()
        .iter()
        .map(StepName::as_str)
        .collect();
    let how = match report.steps_from {
        StepsFrom::Prometheus => " (by count, largest first)",
        _ => "",
    };
    let mut out = table(
        &[
            vec!["funnel".to_owned(), report.funnel.to_string()],
            vec![
                "steps from".to_owned(),
                format!("{}{how}", report.steps_from),
            ],
            vec!["steps".to_owned(), order.join(" > ")],
        ],
        2,
    );
    out.push_str("\n\n");
    // Bars share one scale, the largest count, so segments compare by length.
    let largest = report
        .segments
        .iter()
        .flat_map(|s| s.steps.iter().map(|step| step.count))
        .max()
        .unwrap_or(0);
    let mut rows = vec![vec![
        report.by.clone().unwrap_or_else(|| "segment".to_owned()),
        "step".to_owned(),
        "bar".to_owned(),
        "count".to_owned(),
        "step conv".to_owned(),
        "overall".to_owned(),
        "drop-off".to_owned(),
    ]];
    for segment in &report.segments {
        let name = if segment.segment.is_empty() {
            "(none)"
        } else {
            &segment.segment
        };
        for step in &segment.steps {
            rows.push(vec![
                name.to_owned(),
                step.step.to_string(),
                block_bar(step.count, largest, FUNNEL_BAR_WIDTH),
                step.count.to_string(),
                percent(step.step_conversion),
                percent(step.overall_conversion),
                step.drop_off
                    .map_or_else(|| "-".to_owned(), |d| d.to_string()),
            ]);
        }
    }
    out.push_str(&table(&rows, 3));
    if !report.comparisons.is_empty() {
        let mut rows = vec![vec![
            "variant".to_owned(),
            "vs".to_owned(),
            "conversion".to_owned(),
            "control".to_owned(),
            "z".to_owned(),
            "p-value".to_owned(),
            "significant".to_owned(),
        ]];
        for c in &report.comparisons {
            rows.push(vec![
                c.variant.clone(),
                c.control.clone(),
                percent(Some(c.test.p2)),
                percent(Some(c.test.p1)),
                format!("{:.3}", c.test.z),
                p_value(c.test.p_value),
                if c.significant {
                    format!("yes (p < {})", report.alpha)
                } else {
                    "no".to_owned()
                },
            ]);
        }
        out.push_str("\n\n");
        out.push_str(&table(&rows, 2));
    }
    out
}
