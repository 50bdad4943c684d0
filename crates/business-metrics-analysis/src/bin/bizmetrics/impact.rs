//! `bizmetrics impact`: what an incident window cost, against the same window on
//! earlier days and weeks scaled to the level just before it.

use std::time::{Duration, SystemTime};

use business_metrics_analysis::impact::{
    ConversionType, ImpactRequest, DEFAULT_DAYS, DEFAULT_MIN_REFERENCES, DEFAULT_WEEKS,
};
use business_metrics_analysis::time::Window;
use business_metrics_analysis::{
    discover_funnel, parse_duration, FunnelName, FunnelSpec, FunnelSteps, PrometheusClient,
    CHECKOUT_FUNNEL,
};

/// The arguments of `bizmetrics impact`.
#[derive(Debug, clap::Args)]
pub(crate) struct ImpactArgs {
    /// Start of the incident window, RFC 3339 (e.g. 2026-03-11T14:02:00Z) or Unix
    /// seconds.
    #[arg(long, value_parser = super::parse_end)]
    start: SystemTime,
    /// End of the incident window, RFC 3339 or Unix seconds.
    #[arg(long, value_parser = super::parse_end)]
    end: SystemTime,
    /// The stretch just before --start whose level the earlier windows are scaled to.
    #[arg(long, value_parser = parse_duration, default_value = "1h")]
    baseline: Duration,
    /// Day references: the same window 1 to DAYS days back.
    #[arg(long, default_value_t = DEFAULT_DAYS)]
    days: u32,
    /// Week references: the same window 1 to WEEKS weeks back.
    #[arg(long, default_value_t = DEFAULT_WEEKS)]
    weeks: u32,
    /// Fewest earlier windows with data for an expectation (at least 3); with fewer
    /// the report says the history is too short.
    #[arg(long, default_value_t = DEFAULT_MIN_REFERENCES)]
    min_references: usize,
    /// The funnel whose first step counts entries and whose last step counts
    /// completions (its `funnel` label).
    #[arg(long, value_name = "NAME", default_value = CHECKOUT_FUNNEL)]
    funnel: FunnelName,
    /// The funnel's steps in order (default: checkout's built-in order; any other
    /// funnel's is read from Prometheus).
    #[arg(long, value_name = "STEP,STEP,...")]
    steps: Option<FunnelSteps>,
    /// Count completions as business_conversions_total of this conversion_type
    /// (e.g. purchase) instead of the funnel's last step.
    #[arg(long, value_name = "TYPE")]
    conversion_type: Option<ConversionType>,
}

/// Runs `bizmetrics impact`: the report's sentence, or its JSON.
pub(crate) async fn run(
    client: &PrometheusClient,
    args: ImpactArgs,
    json: bool,
) -> anyhow::Result<String> {
    let window = Window::resolve(None, Some(args.start), Some(args.end), args.end)?;
    let funnel = match (args.steps, FunnelSpec::built_in(&args.funnel)) {
        (Some(steps), _) => FunnelSpec::new(args.funnel, steps),
        (None, Some(built_in)) => built_in,
        (None, None) => {
            // The order over the baseline and the window together.
            let range = window.length().saturating_add(args.baseline);
            discover_funnel(client, args.funnel, range, Some(window.end)).await?
        }
    };
    let mut request = ImpactRequest::new(window)
        .with_baseline(args.baseline)?
        .with_days(args.days)
        .with_weeks(args.weeks)
        .with_min_references(args.min_references)?
        .with_funnel(funnel);
    if let Some(kind) = args.conversion_type {
        request = request.with_conversion_type(kind);
    }
    let report = business_metrics_analysis::impact::impact(client, &request).await?;
    if json {
        Ok(serde_json::to_string_pretty(&report)?)
    } else {
        Ok(report.to_string())
    }
}
