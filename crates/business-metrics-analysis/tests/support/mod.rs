//! Shared helpers of the real-Prometheus tests: a data set with known answers written
//! as OpenMetrics, backfilled with `promtool`, served by a Prometheus the test starts,
//! and the `bizmetrics` binary run against it.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::suboptimal_flops
)]

pub mod hostile;
pub mod money;
pub mod pki;

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::process::{Command, Output, Stdio};

pub use business_metrics_test_support::{free_port, require_binary, ChildGuard, TempDir};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------
// The data set and its known answers.

/// Seconds between samples, and the correlation's query step.
pub const STEP_SECONDS: u64 = 60;
/// Samples per series: three hours of minutes, both ends included.
pub const MINUTES: u64 = 180;
/// The business series trails the technical one by this many steps.
pub const TRUE_LAG_STEPS: usize = 3;
/// business = BASE + SLOPE · technical(t - lag) + noise.
pub const TRUE_SLOPE: f64 = -40.0;
const BASE: f64 = 100.0;
/// Noise is uniform on ±NOISE.
const NOISE: f64 = 5.0;

/// The correlation this design implies: technical is uniform on [0.5, 1.5), variance
/// 1/12; noise variance NOISE²/3; r = -√(var(signal) / (var(signal) + var(noise))).
pub fn true_r() -> f64 {
    let signal = TRUE_SLOPE * TRUE_SLOPE / 12.0;
    let noise = NOISE * NOISE / 3.0;
    -(signal / (signal + noise)).sqrt()
}

/// A funnel of the data set, recorded per variant, device and source.
pub struct FunnelData {
    /// The `funnel` label.
    pub name: &'static str,
    /// Its steps in funnel order.
    pub steps: &'static [&'static str],
    /// Per variant, each step's total over the last hour (steps in order), summed over
    /// devices and sources.
    pub variants: &'static [(&'static str, &'static [u64])],
    /// Steps recorded under the funnel's name that are not funnel steps (errors,
    /// milestones), with their total over the last hour in each variant.
    pub others: &'static [(&'static str, u64)],
}

/// Device shares (tenths).
pub const DEVICES: [(&str, u64); 2] = [("mobile", 6), ("desktop", 4)];
/// Source shares (tenths).
pub const SOURCES: [(&str, u64); 2] = [("google_ads", 5), ("newsletter", 5)];
pub const STEPS: [&str; 5] = [
    "cart_view",
    "shipping_info",
    "payment_info",
    "order_review",
    "order_confirmed",
];

/// The checkout funnel, in the built-in order.
pub const CHECKOUT: FunnelData = FunnelData {
    name: "checkout",
    steps: &STEPS,
    variants: &[
        ("control", &[10_000, 7_000, 5_000, 4_000, 1_000]),
        // 13 % against 10 %: z ≈ 6.6, clearly significant.
        ("variant_a", &[10_000, 7_500, 5_600, 4_600, 1_300]),
        // 10.1 % against 10 %: z ≈ 0.24, p ≈ 0.81, clearly not significant.
        ("variant_b", &[10_000, 7_000, 5_000, 4_000, 1_010]),
    ],
    others: &[("checkout_error", 3_000)],
};

/// A funnel a service defined itself. Its counts decrease along it, so Prometheus gives
/// its order; `signup_error` (between `signup_started` and `email_verified` by count)
/// and `milestone_x` (above `landing_view`) would break the order if they were not left
/// out, and the checkout's larger counts would if they leaked in.
pub const SIGNUP: FunnelData = FunnelData {
    name: "signup",
    steps: &[
        "landing_view",
        "signup_started",
        "email_verified",
        "workspace_created",
        "first_project",
        "subscribed",
    ],
    variants: &[
        // 5 % subscribe.
        ("control", &[8_000, 4_000, 3_000, 2_000, 1_000, 400]),
        // 7 %: z = 0.02 / √(0.06 · 0.94 · 2 / 8000) = 5.326, p = 1.0e-7.
        ("variant_a", &[8_000, 4_400, 3_400, 2_400, 1_200, 560]),
    ],
    others: &[("signup_error", 3_500), ("milestone_x", 12_000)],
};

/// The funnels of the data set.
pub const FUNNELS: [&FunnelData; 2] = [&CHECKOUT, &SIGNUP];

/// Deterministic uniform numbers in [0, 1) (a 64-bit LCG, top 53 bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// The data window: `start` and `end` are whole minutes, `end` about two hours ago.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// First sample, Unix seconds.
    pub start: u64,
    /// Last sample, Unix seconds.
    pub end: u64,
}

impl Window {
    pub fn new() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let end = (now / 60) * 60 - 2 * 3600;
        Self {
            start: end - MINUTES * STEP_SECONDS,
            end,
        }
    }
}

/// Writes the OpenMetrics text: a technical gauge, a business gauge trailing it, a
/// constant gauge, a gauge with two series, funnel counters per funnel, step,
/// variant, device and source whose increase over the last hour is exactly the totals of
/// [`FUNNELS`], and the money of [`money`].
/// The counters grow linearly, so the answer is exact although Prometheus 3's
/// left-open window (end - 1h, end] leaves out the sample at its start and
/// `increase()` extrapolates the 59 minutes it sees to the hour.
pub fn openmetrics(window: Window) -> String {
    let mut out = String::new();
    let n = MINUTES as usize + 1;
    let mut rng = Lcg(42);
    let technical: Vec<f64> = (0..n).map(|_| 0.5 + rng.next()).collect();
    let business: Vec<f64> = (0..n)
        .map(|i| {
            let cause = technical[i.saturating_sub(TRUE_LAG_STEPS)];
            BASE + TRUE_SLOPE * cause + NOISE * (2.0 * rng.next() - 1.0)
        })
        .collect();
    let ts = |i: usize| window.start + i as u64 * STEP_SECONDS;

    out.push_str("# TYPE shop_request_latency_seconds gauge\n");
    for (i, v) in technical.iter().enumerate() {
        writeln!(out, "shop_request_latency_seconds {v} {}", ts(i)).unwrap();
    }
    out.push_str("# TYPE shop_orders_per_minute gauge\n");
    for (i, v) in business.iter().enumerate() {
        writeln!(out, "shop_orders_per_minute {v} {}", ts(i)).unwrap();
    }
    out.push_str("# TYPE shop_constant gauge\n");
    for i in 0..n {
        writeln!(out, "shop_constant 7 {}", ts(i)).unwrap();
    }
    out.push_str("# TYPE shop_per_instance gauge\n");
    for instance in ["a", "b"] {
        for (i, v) in technical.iter().enumerate() {
            writeln!(
                out,
                "shop_per_instance{{instance=\"{instance}\"}} {v} {}",
                ts(i)
            )
            .unwrap();
        }
    }

    // Counter value at minute i is hourly · i / 60, unrounded: over any stretch of the
    // last hour it rises at exactly `hourly` an hour.
    out.push_str("# TYPE business_funnel_step counter\n");
    for funnel in FUNNELS {
        for &(variant, totals) in funnel.variants {
            let steps = funnel.steps.iter().zip(totals.iter().copied());
            let others = funnel.others.iter().map(|(step, total)| (step, *total));
            for (step, total) in steps.chain(others) {
                for (device, device_share) in DEVICES {
                    for (source, source_share) in SOURCES {
                        let hourly = total * device_share * source_share / 100;
                        for i in 0..n {
                            let value = hourly as f64 * i as f64 / 60.0;
                            writeln!(
                                out,
                                "business_funnel_step_total{{funnel=\"{}\",step=\"{step}\",source=\"{source}\",device_type=\"{device}\",experiment_variant=\"{variant}\"}} {value} {}",
                                funnel.name,
                                ts(i)
                            )
                            .unwrap();
                        }
                    }
                }
            }
        }
    }
    money::write_money(&mut out, window);
    out.push_str("# EOF\n");
    out
}

/// Expected counts of `funnel`'s steps (in order) over the last hour for one label value
/// (every series for any other `label`).
pub fn expected_counts(funnel: &FunnelData, label: &str, value: &str) -> Vec<u64> {
    let mut counts = vec![0; funnel.steps.len()];
    for &(variant, totals) in funnel.variants {
        for (device, device_share) in DEVICES {
            for (source, source_share) in SOURCES {
                let matches = match label {
                    "experiment_variant" => variant == value,
                    "device_type" => device == value,
                    "source" => source == value,
                    _ => true,
                };
                if matches {
                    for (c, total) in counts.iter_mut().zip(totals) {
                        *c += total * device_share * source_share / 100;
                    }
                }
            }
        }
    }
    counts
}

/// The step counts of one segment of a JSON funnel report, in step order.
pub fn step_counts(segment: &serde_json::Value) -> Vec<u64> {
    segment["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["count"].as_u64().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------
// Prometheus.

/// A Prometheus serving the backfilled data set.
pub struct Prometheus {
    pub url: String,
    pub window: Window,
    _child: ChildGuard,
    _dir: TempDir,
}

/// Backfills the data set and starts Prometheus on a free loopback port, or returns
/// `None` (after a notice) when prometheus or promtool is missing outside CI.
pub fn start_prometheus() -> Option<Prometheus> {
    start_prometheus_with(None, openmetrics)
}

/// A Prometheus serving the OpenMetrics text `data` writes for the window instead.
pub fn start_prometheus_serving(data: fn(Window) -> String) -> Option<Prometheus> {
    start_prometheus_with(None, data)
}

/// [`start_prometheus`] with Prometheus' `--web.config.file` (TLS, basic auth): its
/// URL is `https://` and readiness is read from its log, since every request needs
/// the credentials.
pub fn start_prometheus_with_web_config(web_config: &std::path::Path) -> Option<Prometheus> {
    start_prometheus_with(Some(web_config), openmetrics)
}

fn start_prometheus_with(
    web_config: Option<&std::path::Path>,
    data_set: fn(Window) -> String,
) -> Option<Prometheus> {
    let prometheus = require_binary("prometheus")?;
    let promtool = require_binary("promtool")?;
    let dir = TempDir::new("bizmetrics-e2e");
    let window = Window::new();
    let data = dir.path().join("data.om");
    std::fs::write(&data, data_set(window)).unwrap();
    let tsdb = dir.path().join("tsdb");
    let output = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&data)
        .arg(&tsdb)
        .output()
        .expect("run promtool");
    assert!(
        output.status.success(),
        "promtool failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
    )
    .unwrap();
    let port = free_port();
    let log = dir.path().join("prometheus.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut command = Command::new(&prometheus);
    if let Some(web_config) = web_config {
        command.arg(format!("--web.config.file={}", web_config.display()));
    }
    let mut guard = ChildGuard::spawn(
        "prometheus",
        command
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=30d")
            .stdout(Stdio::null())
            .stderr(log_file),
    )
    .with_log(&log);
    let scheme = if web_config.is_some() {
        wait_logged_ready(&mut guard, &log);
        "https"
    } else {
        wait_ready(&mut guard, port);
        "http"
    };
    Some(Prometheus {
        url: format!("{scheme}://127.0.0.1:{port}"),
        window,
        _child: guard,
        _dir: dir,
    })
}

fn wait_ready(guard: &mut ChildGuard, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        guard.assert_running();
        if http_get_status(port, "/-/ready") == Some(200) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus was not ready within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_logged_ready(guard: &mut ChildGuard, log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        guard.assert_running();
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains("Server is ready to receive web requests") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus was not ready within 30 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------
// The CLI.

/// Runs `bizmetrics` with `args`.
pub fn bizmetrics(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bizmetrics"))
        .args(args)
        .env_remove("PROMETHEUS_URL")
        .env_remove("PROMETHEUS_BEARER_TOKEN")
        .env_remove("PROMETHEUS_BASIC_AUTH")
        .env_remove("PROMETHEUS_TENANT")
        .env_remove("PROMETHEUS_CA_CERT")
        .output()
        .expect("run bizmetrics")
}

/// `bizmetrics correlate` arguments: `technical` against `business` over `range` ending
/// at `end`, at one-minute steps, followed by `extra`.
pub fn correlate_args<'a>(
    url: &'a str,
    technical: &'a str,
    business: &'a str,
    range: &'a str,
    end: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "correlate",
        "--prometheus",
        url,
        "--technical",
        technical,
        "--business",
        business,
        "--range",
        range,
        "--step",
        "1m",
        "--end",
        end,
    ];
    args.extend_from_slice(extra);
    args
}

/// `bizmetrics revenue` arguments at `end`, followed by `extra`.
pub fn revenue_args<'a>(url: &'a str, end: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["revenue", "--prometheus", url, "--end", end];
    args.extend_from_slice(extra);
    args
}

/// `bizmetrics funnel` arguments over the hour ending at `end`, followed by `extra`.
pub fn funnel_args<'a>(url: &'a str, end: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["funnel", "--prometheus", url, "--range", "1h", "--end", end];
    args.extend_from_slice(extra);
    args
}

/// Runs `bizmetrics`, expects success, and parses its JSON output.
pub fn bizmetrics_json(args: &[&str]) -> serde_json::Value {
    let output = bizmetrics(args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bizmetrics {args:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.contains("NaN"), "NaN in output: {stdout}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}
