//! Collector faults, injected for real on loopback: no collector at all, the
//! project's collector (`otelcol-business`) killed and restarted mid-run, and a collector that accepts connections
//! but never answers. Recording goes on, failures are logged at a bounded rate and
//! without secrets, memory stays bounded, the cumulative totals that finally arrive
//! equal what was recorded, exports give up at the configured timeout, and shutdown
//! keeps its bound.
//!
//! The tests run one at a time (a lock), so the memory and latency figures they print
//! (`cargo test --test collector_faults -- --nocapture`) are not disturbed by each other.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use business_metrics::{BusinessMetrics, DeviceType, FunnelContext, FunnelStep, Revenue};
use business_metrics_exporter::{
    ExporterBuilder, ExporterKind, MetricsGuard, OtlpProtocol, ShutdownError,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric;
use support::*;

/// An OTLP header value: must never appear in a log line.
const HEADER_SECRET: &str = "hdr-secret-5b1e9c";
/// A secret in the endpoint URL's query string: must never appear either.
const URL_SECRET: &str = "url-secret-77aa";

const SOURCES: [&str; 4] = ["google_ads", "direct", "newsletter", "social"];
const DEVICES: [DeviceType; 3] = [DeviceType::Mobile, DeviceType::Desktop, DeviceType::Tablet];
const CATEGORIES: [&str; 5] = ["electronics", "books", "clothing", "home", "toys"];
const REGIONS: [&str; 4] = ["us_east", "us_west", "eu_central", "ap_south"];

/// One test at a time: memory and latency figures need the process to themselves.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---- captured logs ----------------------------------------------------------------

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter(self.0.clone())
    }
}

/// Everything logged in this process (the SDK's reader thread logs too, so the
/// subscriber must be the global one), installed on first use.
fn logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::util::SubscriberInitExt as _;
        let buffer = LogBuffer::default();
        tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .with_ansi(false)
            .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
            .finish()
            .try_init()
            .expect("no other subscriber in this test binary");
        buffer
    })
}

fn all_logs() -> String {
    String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned()
}

/// The exporter's export-failure lines about `endpoint` (`host:port`), in order.
fn export_lines(endpoint: &str) -> Vec<String> {
    let about = format!("to {endpoint} ");
    all_logs()
        .lines()
        .filter(|l| l.contains("business_metrics_exporter::export_log") && l.contains(&about))
        .map(str::to_owned)
        .collect()
}

/// How many failed exports the lines account for: 1 per first-failure line, N per
/// "N further ... failures" summary.
fn reported_failures(lines: &[String]) -> u64 {
    lines
        .iter()
        .map(|l| match l.split_once(" further metrics export failures") {
            Some((head, _)) => head.rsplit(' ').next().unwrap().parse().unwrap(),
            None if l.contains(" failed: ") => 1,
            None => 0,
        })
        .sum()
}

/// The number just before `unit` in `text` ("... in the last 3 s" → 3).
fn number_before(text: &str, unit: &str) -> u64 {
    let (head, _) = text.split_once(unit).unwrap();
    head.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn wait_for_failures(endpoint: &str, at_least: u64) -> u64 {
    let endpoint = endpoint.to_owned();
    poll_until(
        &format!("{at_least} failed exports to {endpoint} to be reported"),
        Duration::from_secs(60),
        || {
            let n = reported_failures(&export_lines(&endpoint));
            async move {
                if n >= at_least {
                    Ok(n)
                } else {
                    Err(format!("{n} so far"))
                }
            }
        },
    )
    .await
}

// ---- pipelines, workloads, measurements ---------------------------------------------

fn otlp(protocol: OtlpProtocol, endpoint: String) -> ExporterBuilder {
    otlp_pipeline(protocol, endpoint, "collector-faults")
}

fn endpoint_url(protocol: OtlpProtocol, addr: SocketAddr) -> String {
    match protocol {
        OtlpProtocol::Grpc => format!("http://{addr}"),
        _ => format!("http://{addr}/v1/metrics"),
    }
}

/// Shuts down off the async workers (the gRPC channel needs them); returns the result
/// and how long it took.
async fn timed_shutdown(guard: MetricsGuard) -> (Result<(), ShutdownError>, Duration) {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let result = guard.shutdown();
        (result, started.elapsed())
    })
    .await
    .unwrap()
}

/// The exact totals a workload recorded, per series.
#[derive(Debug, Default)]
struct Tally {
    revenue: BTreeMap<Labels, i64>,
    funnel: BTreeMap<Labels, i64>,
}

/// Records `n` purchases (a cart view and a sale each) over a bounded set of label
/// values, numbered from `from`, and adds them to `tally`.
fn record_purchases(metrics: &BusinessMetrics, from: u64, n: u64, tally: &mut Tally) {
    for i in from..from + n {
        let k = usize::try_from(i).unwrap();
        let (source, device) = (SOURCES[k % 4], DEVICES[k % 3]);
        let (category, region) = (CATEGORIES[k % 5], REGIONS[k % 4]);
        let amount = 100 + i % 997;
        metrics
            .record_funnel_step(
                FunnelStep::Checkout(business_metrics::CheckoutStep::CartView),
                &FunnelContext::new(source, device),
            )
            .unwrap();
        metrics
            .record_revenue(&Revenue::new(amount, category, "card", region))
            .unwrap();
        *tally
            .funnel
            .entry(labels(&[
                ("device_type", device.as_str()),
                ("experiment_variant", "control"),
                ("source", source),
                ("funnel", "checkout"),
                ("step", "cart_view"),
            ]))
            .or_default() += 1;
        *tally
            .revenue
            .entry(labels(&[
                ("currency", "USD"),
                ("payment_method", "card"),
                ("product_category", category),
                ("region", region),
            ]))
            .or_default() += amount as i64;
    }
}

/// A sum's non-zero series (series touched with 0 at start-up are left out).
fn nonzero(m: Option<&opentelemetry_proto::tonic::metrics::v1::Metric>) -> BTreeMap<Labels, i64> {
    m.map(int_sum_points)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| *v != 0)
        .collect()
}

/// What one export carried: the newest data-point time, and the non-zero revenue and
/// funnel series.
type Snapshot = (u64, BTreeMap<Labels, i64>, BTreeMap<Labels, i64>);

/// The snapshot of one request.
fn snapshot(req: &ExportMetricsServiceRequest) -> Snapshot {
    let m = business_metrics(req);
    let time = match m
        .get("business.revenue_cents")
        .and_then(|m| m.data.as_ref())
    {
        Some(metric::Data::Sum(s)) => s.data_points.iter().map(|p| p.time_unix_nano).max(),
        _ => None,
    };
    (
        time.unwrap_or(0),
        nonzero(m.get("business.revenue_cents")),
        nonzero(m.get("business.funnel_step")),
    )
}

/// All snapshots that reached the receiver, oldest data first.
fn snapshots(received: &Received) -> Vec<Snapshot> {
    let mut all: Vec<_> = per_resource(&received.all())
        .iter()
        .map(snapshot)
        .filter(|(t, _, _)| *t > 0)
        .collect();
    all.sort_by_key(|(t, _, _)| *t);
    all
}

async fn wait_for_tally(received: &Received, tally: &Tally) {
    received
        .wait_until(Duration::from_secs(30), |reqs| {
            per_resource(reqs)
                .iter()
                .map(snapshot)
                .any(|(_, r, f)| r == tally.revenue && f == tally.funnel)
        })
        .await;
}

/// VmRSS of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Records a steady stream of purchases for `span`: batches of 100, a short pause
/// between batches. Returns the number of recording calls made.
async fn steady_load(metrics: &BusinessMetrics, span: Duration, from: &mut u64) -> u64 {
    let end = Instant::now() + span;
    let mut tally = Tally::default();
    let mut calls = 0;
    while Instant::now() < end {
        record_purchases(metrics, *from, 100, &mut tally);
        *from += 100;
        calls += 200;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    calls
}

/// Median, 99th percentile and maximum of one `record_revenue` call, over `rounds`
/// rounds of 2,000 calls 100 ms apart (so collections and exports overlap them).
#[derive(Debug, Clone, Copy)]
struct Latency {
    median: Duration,
    p99: Duration,
    max: Duration,
    calls: usize,
}

async fn record_latency(metrics: &BusinessMetrics, rounds: usize) -> Latency {
    let mut samples = Vec::with_capacity(rounds * 2_000);
    for round in 0..rounds {
        for i in 0..2_000 {
            let revenue = Revenue::new(
                1_000 + (i % 7) as u64,
                CATEGORIES[i % 5],
                "card",
                REGIONS[(i + round) % 4],
            );
            let started = Instant::now();
            metrics.record_revenue(&revenue).unwrap();
            samples.push(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    samples.sort();
    let at = |percent: usize| samples[(samples.len() - 1) * percent / 100];
    Latency {
        median: at(50),
        p99: at(99),
        max: *samples.last().unwrap(),
        calls: samples.len(),
    }
}

/// A collector that accepts TCP connections and never reads or answers.
struct BlackHole {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn black_hole() -> BlackHole {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    BlackHole {
        addr,
        accepted,
        task,
    }
}

/// The sum of every sample of `name` in a Prometheus text exposition.
fn sum_samples(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

// ---- 1. no collector at start -------------------------------------------------------

/// The service starts and records with nothing listening at the OTLP endpoint; export
/// failures are logged as one warning plus at most one summary per interval, never
/// with a header value or a URL secret.
async fn absent_collector(protocol: OtlpProtocol) {
    let _serial = SERIAL.lock().await;
    logs();
    let endpoint = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let host_port = endpoint.to_string();
    let url = match protocol {
        OtlpProtocol::Grpc => endpoint_url(protocol, endpoint),
        _ => format!("{}?api_key={URL_SECRET}", endpoint_url(protocol, endpoint)),
    };
    let log_interval = Duration::from_secs(1);
    let started = Instant::now();
    let guard = otlp(protocol, url)
        .with_exporters([ExporterKind::Otlp, ExporterKind::Prometheus])
        .with_prometheus_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .with_otlp_header("x-api-key", HEADER_SECRET)
        .with_otlp_timeout(Duration::from_millis(100))
        .with_export_interval(Duration::from_millis(50))
        .with_export_failure_log_interval(log_interval)
        .with_shutdown_timeout(Duration::from_secs(3))
        .init()
        .expect("the pipeline starts without a collector");

    // It records and serves normally: the bridge shows the exact values.
    record_workload(&guard.business_metrics());
    let scrape = http_get(guard.prometheus_addr().unwrap(), "/metrics", &[])
        .await
        .unwrap();
    assert_eq!(scrape.status, 200);
    assert_eq!(
        sum_samples(&scrape.body, "business_revenue_cents_total"),
        REVENUE_TOTAL as f64
    );
    assert_eq!(sum_samples(&scrape.body, "business_conversions_total"), 1.0);

    const ATTEMPTS: u64 = 40;
    wait_for_failures(&host_port, ATTEMPTS).await;
    let (result, shutdown_took) = timed_shutdown(guard).await;
    let elapsed = started.elapsed();
    assert!(result.is_err(), "the final export cannot succeed");
    assert!(shutdown_took < Duration::from_secs(4), "{shutdown_took:?}");

    let lines = export_lines(&host_port);
    let failures = reported_failures(&lines);
    eprintln!(
        "absent collector ({protocol:?}): {failures} failed exports in {elapsed:.2?}, \
         {} log lines:\n{}",
        lines.len(),
        lines.join("\n")
    );
    assert!(failures >= ATTEMPTS, "{failures}");
    // First failure at once, then at most one summary per interval, plus the summary
    // flushed at shutdown.
    let bound = 2 + usize::try_from(elapsed.as_millis() / log_interval.as_millis()).unwrap();
    assert!(
        lines.len() <= bound,
        "{} lines for {elapsed:?} (bound {bound})",
        lines.len()
    );
    assert!(lines.len() as u64 * 5 <= failures, "not rate-limited");

    let first = &lines[0];
    assert!(first.contains(" WARN "), "{first}");
    assert!(
        first.contains(&format!("metrics export to {host_port} failed: ")),
        "{first}"
    );
    let (summaries, last) = lines[1..].split_at(lines.len() - 2);
    assert!(!summaries.is_empty());
    for line in summaries {
        assert!(line.contains(" WARN "), "{line}");
        assert!(
            line.contains(&format!(
                " further metrics export failures to {host_port} in the last "
            )),
            "{line}"
        );
        assert!(line.contains(" s; last error: "), "{line}");
        // A summary covers at least one interval.
        assert!(number_before(line, " s; last error") >= 1, "{line}");
    }
    // At shutdown, the failures not reported yet.
    assert!(
        last[0].contains(&format!(
            " further metrics export failures to {host_port} in the last "
        )) && last[0].contains(" s; shutting down"),
        "{}",
        last[0]
    );
    assert!(!lines.iter().any(|l| l.contains("recovered")));

    let everything = all_logs();
    assert!(
        !everything.contains(HEADER_SECRET),
        "a header value was logged"
    );
    assert!(!everything.contains(URL_SECRET), "a URL secret was logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absent_grpc_collector_is_logged_at_a_bounded_rate_and_recording_goes_on() {
    absent_collector(OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absent_http_collector_is_logged_at_a_bounded_rate_without_secrets() {
    absent_collector(OtlpProtocol::HttpProtobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_while_the_collector_is_absent() {
    let _serial = SERIAL.lock().await;
    logs();
    let rss_before = rss_kib();
    let endpoint = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let guard = otlp(
        OtlpProtocol::Grpc,
        endpoint_url(OtlpProtocol::Grpc, endpoint),
    )
    .with_otlp_timeout(Duration::from_millis(100))
    .with_export_interval(Duration::from_millis(10))
    .with_export_failure_log_interval(Duration::from_secs(1))
    .with_shutdown_timeout(Duration::from_secs(3))
    .init()
    .unwrap();
    let metrics = guard.business_metrics();
    let mut next = 0;

    // Warm-up: every series exists, allocator arenas and channels are in use.
    let warm_started = Instant::now();
    let mut calls = steady_load(&metrics, Duration::from_millis(1500), &mut next).await;
    let rss_start = rss_kib();
    let measured_started = Instant::now();
    let mut rss = Vec::new();
    for _ in 0..10 {
        calls += steady_load(&metrics, Duration::from_millis(500), &mut next).await;
        rss.push(rss_kib());
    }
    let measured = measured_started.elapsed();
    let (result, _) = timed_shutdown(guard).await;
    assert!(result.is_err());
    let failures = reported_failures(&export_lines(&endpoint.to_string()));
    let peak = *rss.iter().max().unwrap();
    let growth = peak.saturating_sub(rss_start);
    let total = warm_started.elapsed();
    eprintln!(
        "memory, collector absent: {calls} recording calls and {failures} failed exports in \
         {total:.2?}, the last {measured:.2?} measured; VmRSS before the pipeline {rss_before} \
         KiB, after warm-up {rss_start} KiB, then every 0.5 s {rss:?} KiB; growth {growth} KiB"
    );
    // Enough export cycles that a per-export leak of even a few KiB would show.
    assert!(failures >= 200, "only {failures} export cycles");
    assert!(
        growth < 4 * 1024,
        "VmRSS grew by {growth} KiB while the collector was absent: {rss:?}"
    );
}

// ---- 2. collector killed and restarted ---------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_killed_and_restarted_delivers_every_event_exactly_once() {
    let _serial = SERIAL.lock().await;
    logs();
    let receiver = grpc_receiver().await;
    let Some(mut collector) = Otelcol::forwarding_to(receiver.addr).await else {
        return;
    };
    let host_port = format!("127.0.0.1:{}", collector.ports.grpc);
    let guard = otlp(OtlpProtocol::Grpc, collector.grpc_endpoint())
        .with_otlp_timeout(Duration::from_millis(500))
        .with_export_interval(Duration::from_millis(200))
        .with_export_failure_log_interval(Duration::from_secs(1))
        .with_shutdown_timeout(Duration::from_secs(5))
        .init()
        .unwrap();
    let metrics = guard.business_metrics();
    let mut tally = Tally::default();

    // Before the fault: delivered through the collector.
    record_purchases(&metrics, 0, 500, &mut tally);
    wait_for_tally(&receiver.received, &tally).await;

    // The collector dies (SIGKILL: whatever it held is lost); recording goes on.
    collector.kill();
    record_purchases(&metrics, 500, 700, &mut tally);
    wait_for_failures(&host_port, 3).await;
    record_purchases(&metrics, 1_200, 300, &mut tally);

    // It comes back on the same port; more events; then a normal shutdown.
    collector.restart().await;
    record_purchases(&metrics, 1_500, 400, &mut tally);
    let recovered = poll_until(
        "the exporter to log its recovery",
        Duration::from_secs(30),
        || {
            let line = export_lines(&host_port)
                .into_iter()
                .find(|l| l.contains(" recovered after "));
            async move { line.ok_or_else(|| "not yet".to_owned()) }
        },
    )
    .await;
    let (result, _) = timed_shutdown(guard).await;
    result.unwrap();
    wait_for_tally(&receiver.received, &tally).await;

    let snaps = snapshots(&receiver.received);
    let events: i64 = tally.funnel.values().sum();
    let cents: i64 = tally.revenue.values().sum();
    eprintln!(
        "collector restart: {events} purchases ({cents} cents) over {} revenue and {} funnel \
         series; {} snapshots reached the receiver; {recovered}",
        tally.revenue.len(),
        tally.funnel.len(),
        snaps.len()
    );
    assert_eq!(events, 1_900);
    assert!(recovered.contains(" INFO "), "{recovered}");
    assert!(
        number_before(&recovered, " failed exports") >= 2,
        "{recovered}"
    );

    // The newest data equals every event recorded: nothing lost.
    let (_, revenue, funnel) = snaps.last().unwrap();
    assert_eq!(revenue, &tally.revenue);
    assert_eq!(funnel, &tally.funnel);
    // Never more than recorded, never going backwards: nothing counted twice.
    let mut previous: Option<&Snapshot> = None;
    for snap in &snaps {
        for (series, value) in snap.1.iter().chain(&snap.2) {
            let recorded = tally
                .revenue
                .get(series)
                .or_else(|| tally.funnel.get(series));
            assert!(
                recorded.is_some_and(|r| value <= r),
                "{series:?} = {value}, recorded {recorded:?}"
            );
            if let Some(prev) = previous {
                let before = prev.1.get(series).or_else(|| prev.2.get(series));
                assert!(before.is_none_or(|b| b <= value), "{series:?} went back");
            }
        }
        previous = Some(snap);
    }
}

// ---- 3. a collector that never answers ----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_collector_exports_time_out_at_the_configured_timeout() {
    let _serial = SERIAL.lock().await;
    logs();
    let timeout = Duration::from_millis(800);
    for (protocol, from_env) in [
        (OtlpProtocol::Grpc, false),
        (OtlpProtocol::HttpProtobuf, true),
        (OtlpProtocol::Grpc, true),
        (OtlpProtocol::HttpProtobuf, false),
    ] {
        let hole = black_hole().await;
        let url = endpoint_url(protocol, hole.addr);
        let builder = if from_env {
            business_metrics_exporter::builder()
                .with_env_vars([("OTEL_EXPORTER_OTLP_TIMEOUT", "800")])
                .with_exporters([ExporterKind::Otlp])
                .with_otlp_protocol(protocol)
                .with_otlp_endpoint(url)
        } else {
            otlp(protocol, url).with_otlp_timeout(timeout)
        };
        let guard = builder
            .with_export_interval(Duration::from_secs(3600))
            .with_shutdown_timeout(Duration::from_secs(5))
            .init()
            .unwrap();
        assert_eq!(guard.config().otlp.timeout, Some(timeout));
        record_workload(&guard.business_metrics());

        // One export, on demand: it fails when the timeout fires.
        let guard = Arc::new(guard);
        let flushing = guard.clone();
        let (flushed, took) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let result = flushing.force_flush();
            (result, started.elapsed())
        })
        .await
        .unwrap();
        let how = if from_env {
            "OTEL_EXPORTER_OTLP_TIMEOUT=800"
        } else {
            "with_otlp_timeout(800 ms)"
        };
        eprintln!("hanging collector ({protocol:?}, {how}): the export failed after {took:.2?}");
        assert!(flushed.is_err(), "an unanswered export must fail");
        assert!(hole.accepted.load(Ordering::SeqCst) >= 1, "never connected");
        assert!(took >= timeout, "gave up before the timeout: {took:?}");
        assert!(
            took < timeout + Duration::from_millis(1500),
            "gave up late: {took:?}"
        );
        let lines = export_lines(&hole.addr.to_string());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains(" failed: "), "{}", lines[0]);

        let guard = Arc::into_inner(guard).unwrap();
        let (result, took) = timed_shutdown(guard).await;
        assert!(result.is_err());
        assert!(took < Duration::from_secs(6), "{took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_collector_never_slows_recording_and_shutdown_keeps_its_bound() {
    let _serial = SERIAL.lock().await;
    logs();

    // Baseline: a collector that answers.
    let receiver = grpc_receiver().await;
    let guard = otlp(
        OtlpProtocol::Grpc,
        endpoint_url(OtlpProtocol::Grpc, receiver.addr),
    )
    .with_export_interval(Duration::from_millis(100))
    .init()
    .unwrap();
    let metrics = guard.business_metrics();
    record_workload(&metrics);
    receiver
        .received
        .wait_until(Duration::from_secs(10), |r| r.len() >= 2)
        .await;
    let baseline = record_latency(&metrics, 10).await;
    timed_shutdown(guard).await.0.unwrap();

    // A collector that never answers: with a 1 s timeout and a 100 ms interval an
    // export is in flight nearly all the time.
    let hole = black_hole().await;
    let shutdown_bound = Duration::from_secs(2);
    let guard = otlp(
        OtlpProtocol::Grpc,
        endpoint_url(OtlpProtocol::Grpc, hole.addr),
    )
    .with_otlp_timeout(Duration::from_secs(1))
    .with_export_interval(Duration::from_millis(100))
    .with_export_failure_log_interval(Duration::from_secs(1))
    .with_shutdown_timeout(shutdown_bound)
    .init()
    .unwrap();
    let metrics = guard.business_metrics();
    record_workload(&metrics);
    wait_for_failures(&hole.addr.to_string(), 1).await;
    let hanging = record_latency(&metrics, 10).await;
    let (result, shutdown_took) = timed_shutdown(guard).await;
    let failures = reported_failures(&export_lines(&hole.addr.to_string()));
    eprintln!(
        "record_revenue latency over {} calls: answering collector median {:?} p99 {:?} max \
         {:?}; hanging collector median {:?} p99 {:?} max {:?} ({} connections held, {failures} \
         timed-out exports logged); shutdown took {shutdown_took:.2?} (bound {shutdown_bound:?}) \
         and returned {result:?}",
        baseline.calls,
        baseline.median,
        baseline.p99,
        baseline.max,
        hanging.median,
        hanging.p99,
        hanging.max,
        hole.accepted.load(Ordering::SeqCst),
    );
    assert!(hole.accepted.load(Ordering::SeqCst) >= 1);
    // Recording never waits for an export (which hangs for 1 s here).
    assert!(hanging.p99 < Duration::from_millis(50), "{hanging:?}");
    assert!(hanging.median < Duration::from_millis(5), "{hanging:?}");
    // Shutdown: its bound plus slack, and an error saying the last values may be lost.
    assert!(
        shutdown_took < shutdown_bound + Duration::from_secs(1),
        "{shutdown_took:?}"
    );
    assert!(result.is_err());
}
