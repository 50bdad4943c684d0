//! `bizmetrics report --out FILE.html`: the funnel, the experiment, the series with
//! their incident windows, their correlation and the impact in one self-contained page.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use business_metrics_analysis::impact::{impact, ImpactRequest};
use business_metrics_analysis::report::{
    alert_windows, render_html, ImpactSummary, IncidentWindow, ReportData, SeriesData,
};
use business_metrics_analysis::time::{format_rfc3339, Window};
use business_metrics_analysis::{
    discover_funnel, parse_duration, single_series, AnalysisError, CorrelationRequest, FunnelName,
    FunnelSpec, FunnelSteps, PrometheusClient, Segmentation, CHECKOUT_FUNNEL, DEFAULT_MIN_POINTS,
};

use super::{parse_end, By};

/// The `report` subcommand's arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// The HTML file to write.
    #[arg(long, value_name = "FILE.html")]
    out: PathBuf,
    /// Window ending at --end, e.g. 3h.
    #[arg(long, value_parser = parse_duration, required_unless_present = "start")]
    range: Option<Duration>,
    /// Start of the window instead of --range, RFC 3339 or Unix seconds.
    #[arg(long, value_parser = parse_end, conflicts_with = "range")]
    start: Option<SystemTime>,
    /// End of the window, RFC 3339 or Unix seconds (default: now).
    #[arg(long, value_parser = parse_end)]
    end: Option<SystemTime>,
    /// The funnel (its `funnel` label).
    #[arg(long, value_name = "NAME", default_value = CHECKOUT_FUNNEL)]
    funnel: FunnelName,
    /// The funnel's steps in order (default: built in, or read from Prometheus).
    #[arg(long, value_name = "STEP,STEP,...")]
    steps: Option<FunnelSteps>,
    /// The label the funnel chart is split by (the experiment chart always uses
    /// experiment_variant).
    #[arg(long, value_enum, default_value = "device_type")]
    by: By,
    /// PromQL giving one technical series (e.g. p99 latency).
    #[arg(long, requires = "business")]
    technical: Option<String>,
    /// PromQL giving one business series (e.g. a conversion ratio).
    #[arg(long, requires = "technical")]
    business: Option<String>,
    /// Resolution of the series, e.g. 1m.
    #[arg(long, value_parser = parse_duration, default_value = "1m")]
    step: Duration,
    /// Largest lag to search, the business metric trailing, e.g. 10m.
    #[arg(long, value_parser = parse_duration)]
    max_lag: Option<Duration>,
    /// Unit of the technical series (default: from its metric names).
    #[arg(long, value_name = "UNIT")]
    technical_unit: Option<String>,
    /// Unit of the business series (default: from its metric names).
    #[arg(long, value_name = "UNIT")]
    business_unit: Option<String>,
    /// An incident window START/END, RFC 3339 or Unix seconds; repeat for several.
    #[arg(long, value_name = "START/END", value_parser = parse_incident)]
    incident: Vec<IncidentWindow>,
    /// An alert whose firing, read from ALERTS{alertname="NAME", alertstate="firing"},
    /// marks incident windows; repeat for several.
    #[arg(long, value_name = "NAME")]
    alert: Vec<String>,
    /// The page's title.
    #[arg(long, default_value = "Business metrics report")]
    title: String,
}

fn parse_incident(text: &str) -> Result<IncidentWindow, String> {
    IncidentWindow::parse(text).map_err(|e| e.to_string())
}

/// The impact summary: what each incident window cost (or, without incidents, the
/// report's window), from `bizmetrics impact`'s analysis with its defaults (the hour
/// before as baseline, 6 days and 4 weeks of references) on the report's funnel.
/// The headline is the analysis' paragraph; the figures are its key figures, each
/// labelled with its window when there are several. A window whose figures have no
/// data in it nor in its references is said to have none; any other error stops the
/// report.
async fn impact_summary_for_report(
    client: &PrometheusClient,
    window: &Window,
    incidents: &[IncidentWindow],
    funnel: &FunnelSpec,
) -> anyhow::Result<Option<ImpactSummary>> {
    let windows: Vec<Window> = if incidents.is_empty() {
        vec![*window]
    } else {
        incidents
            .iter()
            .map(|i| Window::resolve(None, Some(i.start), Some(i.end), i.end))
            .collect::<Result<_, _>>()?
    };
    let several = windows.len() > 1;
    let (mut headlines, mut figures) = (Vec::new(), Vec::new());
    for w in windows {
        let request = ImpactRequest::new(w).with_funnel(funnel.clone());
        let label = format!("{} to {}", format_rfc3339(w.start), format_rfc3339(w.end));
        match impact(client, &request).await {
            Ok(report) => {
                headlines.push(report.to_string());
                figures.extend(report.key_figures().into_iter().map(|(name, value)| {
                    if several {
                        (format!("{label}: {name}"), value)
                    } else {
                        (name, value)
                    }
                }));
            }
            Err(AnalysisError::EmptyResult { .. }) => headlines.push(format!(
                "From {label}: no revenue or funnel data in the window, the hour before it \
                 or the same window on earlier days, so no impact."
            )),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(ImpactSummary {
        headline: headlines.join(" "),
        figures,
    }))
}

/// Gathers the analyses, writes the page and says where.
pub(crate) async fn run(
    client: &PrometheusClient,
    args: ReportArgs,
    now: SystemTime,
) -> anyhow::Result<String> {
    let window = Window::resolve(args.range, args.start, args.end, now)?;
    let (range, end) = (window.length(), window.end);
    let spec = match (args.steps, FunnelSpec::built_in(&args.funnel)) {
        (Some(steps), _) => FunnelSpec::new(args.funnel, steps),
        (None, Some(built_in)) => built_in,
        (None, None) => discover_funnel(client, args.funnel, range, Some(end)).await?,
    };
    let by = Segmentation::from(args.by);
    let funnel =
        business_metrics_analysis::funnel(client, &spec, range, Some(end), Some(by)).await?;
    let experiment = business_metrics_analysis::funnel(
        client,
        &spec,
        range,
        Some(end),
        Some(Segmentation::ExperimentVariant),
    )
    .await?;

    let mut incidents = args.incident;
    for alert in &args.alert {
        incidents.extend(alert_windows(client, alert, window.start, end, args.step).await?);
    }
    incidents.sort_by_key(|w| w.start);

    let (mut technical, mut business, mut correlation) = (None, None, None);
    if let (Some(t), Some(b)) = (args.technical, args.business) {
        let max_lag_steps = args.max_lag.map_or(0, |lag| {
            usize::try_from(lag.as_millis() / args.step.as_millis().max(1)).unwrap_or(usize::MAX)
        });
        let mut request = CorrelationRequest::new(t, b, window.start, end, args.step)
            .with_max_lag(max_lag_steps)
            .with_min_points(DEFAULT_MIN_POINTS);
        if let Some(unit) = args.technical_unit {
            request = request.with_technical_unit(unit);
        }
        if let Some(unit) = args.business_unit {
            request = request.with_business_unit(unit);
        }
        let (technical_unit, business_unit) = request.units();
        let read = |role: &'static str, query: String| async move {
            let series = client
                .query_range(&query, window.start, end, args.step)
                .await?;
            Ok::<_, AnalysisError>(single_series(role, &query, series)?.samples)
        };
        technical = Some(SeriesData {
            query: request.technical().to_owned(),
            unit: technical_unit,
            step_seconds: args.step.as_secs_f64(),
            samples: read("technical", request.technical().to_owned()).await?,
        });
        business = Some(SeriesData {
            query: request.business().to_owned(),
            unit: business_unit,
            step_seconds: args.step.as_secs_f64(),
            samples: read("business", request.business().to_owned()).await?,
        });
        correlation = Some(business_metrics_analysis::correlate(client, &request).await?);
    }
    let impact = impact_summary_for_report(client, &window, &incidents, &spec).await?;
    let data = ReportData {
        title: args.title,
        window: (window.start, end),
        funnel: Some(funnel),
        experiment: Some(experiment),
        technical,
        business,
        correlation,
        incidents,
        impact,
    };
    let html = render_html(&data);
    std::fs::write(&args.out, html).map_err(|e| AnalysisError::InvalidArgument {
        name: "--out".to_owned(),
        reason: format!("cannot write {}: {e}", args.out.display()),
    })?;
    Ok(format!("report written to {}", args.out.display()))
}
