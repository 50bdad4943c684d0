//! The demo SaaS product: a signup, trial and subscription API recording its own
//! business metrics, with a built-in traffic simulator, exposing everything on a
//! Prometheus `/metrics` bridge.
//!
//! Run with:
//! ```text
//! cargo run -p saas
//! curl -s http://127.0.0.1:9464/metrics | grep -E '^(business|saas)_'
//! ```
//! `OTEL_METRICS_EXPORTER=otlp` (and the other standard `OTEL_*` variables) send the
//! metrics to a collector instead; `--help` lists the options.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use business_metrics_exporter::{ExporterKind, ListenerLimits, DEFAULT_CARDINALITY_LIMIT};
use clap::Parser;
use opentelemetry::metrics::MeterProvider as _;
use saas::config::{label_policy, Allowlist};
use saas::simulator::{IncidentPlan, Simulator, SimulatorConfig, Traffic};
use saas::state::probability;
use saas::{app, AppState, Incident, IncidentControl};
use tokio::sync::watch;

/// Demo SaaS product with a traffic simulator.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    after_help = "Metrics: a Prometheus `/metrics` endpoint on 127.0.0.1:9464 by default; move it with \
OTEL_EXPORTER_PROMETHEUS_PORT (0 picks a free port) and OTEL_EXPORTER_PROMETHEUS_HOST. \
OTEL_METRICS_EXPORTER=otlp (or otlp,prometheus) with OTEL_EXPORTER_OTLP_ENDPOINT sends \
OTLP to a collector instead."
)]
struct Args {
    /// Address the product's API listens on.
    #[arg(long, env = "SAAS_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Do not start the traffic simulator.
    #[arg(long)]
    no_simulate: bool,
    /// Simulated visitors per second.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Bursty arrivals (5 s at 3x the rate, 15 s at a third) instead of steady ones.
    #[arg(long)]
    bursty: bool,
    /// Mean pause of a simulated visitor between requests, in milliseconds.
    #[arg(long, default_value_t = 300)]
    think_time_ms: u64,
    /// Seconds after start when the first incident begins.
    #[arg(long, default_value_t = 60)]
    incident_at: u64,
    /// Seconds between the starts of incidents.
    #[arg(long, default_value_t = 300)]
    incident_every: u64,
    /// How long an incident lasts, in seconds.
    #[arg(long, default_value_t = 30)]
    incident_duration: u64,
    /// Latency an incident adds to every API request, in milliseconds.
    #[arg(long, default_value_t = 800)]
    incident_latency_ms: u64,
    /// Share of payments failing during an incident (0 to 1).
    #[arg(long, default_value_t = 0.3)]
    incident_error_rate: f64,
    /// Inject no incidents.
    #[arg(long)]
    no_incidents: bool,
    /// Share of payments declined outside incidents (0 to 1).
    #[arg(long, default_value_t = 0.02)]
    payment_failure_rate: f64,
    /// Close visits idle for this many seconds.
    #[arg(long, default_value_t = 1800)]
    visit_timeout: u64,
    /// Stop after this many seconds (default: run until SIGINT or SIGTERM).
    #[arg(long)]
    duration: Option<u64>,
    /// Stop after this many simulated visitors have arrived and finished.
    #[arg(long)]
    visitors: Option<u64>,
    /// Seed for reproducible simulated visitors.
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated visitors wait for every answer instead of leaving when one is slow
    /// (with --seed, --visitors and no payment failures, a run then repeats exactly).
    #[arg(long)]
    patient: bool,
    /// Restricts a free-form label to listed values, e.g. `region=us_east,eu_central`;
    /// others are recorded as `other`. Repeat it (or separate with `;`) per dimension:
    /// source, experiment_variant, feature_name or region.
    #[arg(
        long = "allowlist",
        env = "SAAS_ALLOWLIST",
        value_delimiter = ';',
        value_name = "DIMENSION=V1,V2"
    )]
    allowlists: Vec<Allowlist>,
    /// Distinct label sets each instrument keeps; further ones are summed into the
    /// `otel_metric_overflow="true"` series.
    #[arg(long, env = "SAAS_CARDINALITY_LIMIT", default_value_t = DEFAULT_CARDINALITY_LIMIT)]
    cardinality_limit: usize,
}

fn incident_plans(args: &Args) -> Vec<IncidentPlan> {
    if args.no_incidents {
        return Vec::new();
    }
    let incident = Incident {
        extra_latency: Duration::from_millis(args.incident_latency_ms),
        error_rate: probability(args.incident_error_rate),
    };
    // Enough incidents for a week of running; the list stays small.
    let every = args.incident_every.max(1);
    (0..2_016)
        .map(|k| IncidentPlan {
            start_after: Duration::from_secs(args.incident_at + k * every),
            duration: Duration::from_secs(args.incident_duration),
            incident,
        })
        .take_while(|p| p.start_after < Duration::from_secs(7 * 24 * 3600))
        .collect()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The exporter reports export failures (first one, rate-limited summaries,
    // recovery) through `tracing`: on stderr, at info and above.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .try_init();

    let catalog = saas::catalog().context("building the product's metric catalog")?;
    let policy = label_policy(&args.allowlists).context("reading --allowlist")?;
    let mut exporter = business_metrics_exporter::builder()
        .with_catalog(catalog)
        .with_label_policy(policy)
        .with_service_version(env!("CARGO_PKG_VERSION"))
        .with_default_exporters([ExporterKind::Prometheus])
        .with_cardinality_limit(args.cardinality_limit);
    if std::env::var_os(business_metrics_exporter::env::OTEL_SERVICE_NAME).is_none() {
        exporter = exporter.with_service_name("saas");
    }
    let telemetry = exporter.init().context("starting the metrics pipeline")?;
    // The pipeline's one instance, with its catalog and the deployment's label policy.
    let metrics = telemetry.business_metrics();
    let http_meter = telemetry.meter_provider().meter("saas");

    let incident = IncidentControl::default();
    let state = AppState::builder(metrics, &http_meter)
        .with_incident_control(incident.clone())
        .with_payment_failure_rate(args.payment_failure_rate)
        .build()
        .context("resolving the product's instruments")?;

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("saas listening on http://{addr}");
    match telemetry.prometheus_addr() {
        Some(p) => println!("metrics: curl -s http://{p}/metrics | grep -E '^(business|saas)_'"),
        None => println!("metrics: exported as configured by OTEL_METRICS_EXPORTER"),
    }

    // `stop` ends the simulator (signal or --duration); `serve` ends the server, only
    // after the simulator has drained, so no simulated visitor is cut off mid-request.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (serve_tx, serve_rx) = watch::channel(false);
    // A second signal stops serving at once (requests in flight get the drain
    // timeout), without waiting for the simulator; the flush still runs.
    let (force_tx, force_rx) = watch::channel(false);
    {
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            println!("shutting down");
            let _ = stop_tx.send(true);
            shutdown_signal().await;
            println!("second signal: closing connections now");
            let _ = force_tx.send(true);
        });
    }
    {
        let expiring = state.clone();
        let idle = Duration::from_secs(args.visit_timeout);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                expiring.expire(idle);
            }
        });
    }

    let simulator = if args.no_simulate {
        if let Some(secs) = args.duration {
            let stop_tx = stop_tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                let _ = stop_tx.send(true);
            });
        }
        let stop_rx = stop_rx.clone();
        tokio::spawn(async move {
            stopped(stop_rx).await;
            let _ = serve_tx.send(true);
        });
        None
    } else {
        let mut config = SimulatorConfig::new(format!("http://{addr}"));
        config.rate = args.rate;
        config.traffic = if args.bursty {
            Traffic::Bursty
        } else {
            Traffic::Steady
        };
        config.think_time = Duration::from_millis(args.think_time_ms);
        config.incidents = incident_plans(&args);
        config.duration = args.duration.map(Duration::from_secs);
        config.visitors = args.visitors;
        config.progress = Some(Duration::from_secs(5));
        config.seed = args.seed;
        if args.patient {
            config.patience = None;
        }
        println!(
            "simulating {} visitors/s{}; Ctrl-C stops",
            args.rate,
            if args.no_incidents {
                String::new()
            } else {
                format!(
                    ", incidents from {}s every {}s for {}s",
                    args.incident_at, args.incident_every, args.incident_duration
                )
            }
        );
        let sim = Simulator::new(config, incident)?;
        let stop_rx = stop_rx.clone();
        Some(tokio::spawn(async move {
            let report = sim.run(stopped(stop_rx)).await;
            // The server stops once the simulator is done (also when its --duration
            // or --visitors ends).
            let _ = serve_tx.send(true);
            report
        }))
    };

    // Bounded whatever clients do: header and connection time limits, a connection
    // cap, and on shutdown a drain timeout after which connections are dropped.
    let forced = force_rx.clone();
    business_metrics_exporter::serve(
        listener,
        app(state),
        ListenerLimits::default(),
        async move {
            tokio::select! {
                () = stopped(serve_rx) => {}
                () = stopped(force_rx) => {}
            }
        },
    )
    .await;

    if let Some(sim) = simulator {
        if *forced.borrow() {
            sim.abort();
        } else if let Ok(report) = sim.await {
            println!("simulated: {report}");
        }
    }
    // The flush blocks (bounded by the exporter's shutdown timeout); keep it off the
    // runtime's workers, which an OTLP/gRPC export needs.
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .context("joining the metrics shutdown")?
        .context("flushing the last metric values")?;
    Ok(())
}
