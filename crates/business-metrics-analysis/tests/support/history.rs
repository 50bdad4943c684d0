//! Five weeks of shop history with known answers: daily and weekly seasonality, a
//! growing business, seeded Poisson noise, a process restart (counter reset), and an
//! incident of known size, written as OpenMetrics, backfilled with `promtool` and
//! served by a Prometheus the test starts.
//!
//! To keep the backfill to a few seconds, each day holds samples only from 14:00 to
//! 15:40 UTC (every 60 s), the stretch the impact windows read, so each day is one
//! two-hour TSDB block; the counters carry on across the gaps as if scraped.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::suboptimal_flops
)]

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{free_port, require_binary, ChildGuard, TempDir};

/// 2026-03-11 00:00:00 UTC, a Wednesday: the incident's day.
pub const INCIDENT_DAY: u64 = 1_773_187_200;
/// Seconds in a day.
pub const DAY: u64 = 86_400;
/// Days of history before the incident's day.
pub const HISTORY_DAYS: u64 = 35;
/// The incident: 15:05 to 15:35 UTC on [`INCIDENT_DAY`].
pub const INCIDENT_START: u64 = INCIDENT_DAY + 15 * 3_600 + 5 * 60;
/// Its end.
pub const INCIDENT_END: u64 = INCIDENT_START + 30 * 60;
/// What the incident left of each order: 40 %, a 60 % drop.
pub const INCIDENT_KEEPS: f64 = 0.4;
/// The days EUR has been sold (the incident's day and the two before it).
pub const EUR_DAYS: u64 = 3;

/// Each day's samples: 14:00 to 15:40 UTC.
const FIRST_MINUTE: u64 = 14 * 60;
const LAST_MINUTE: u64 = 15 * 60 + 40;
/// A restart on the incident's day at 14:50: every counter starts again from 0.
const RESTART: u64 = INCIDENT_DAY + 14 * 3_600 + 50 * 60;

/// Checkout entries (cart views) a minute at the weekday peak, before growth.
const ENTRIES_PER_MINUTE: f64 = 400.0;
/// Share of entries that complete.
const CONVERSION: f64 = 0.10;
/// Share of orders in each currency, and each order's value range in minor units.
pub const CURRENCIES: [(&str, f64, u64, u64); 3] = [
    ("USD", 0.65, 2_000, 8_000),
    ("JPY", 0.30, 2_000, 9_000),
    ("EUR", 0.05, 1_500, 6_000),
];

/// Growth a week: 2 %.
const WEEKLY_GROWTH: f64 = 1.02;

/// Traffic by weekday, Monday first.
const WEEKDAY: [f64; 7] = [1.0, 1.05, 1.1, 1.05, 0.95, 0.6, 0.7];

/// What really happened in a window, for every figure.
#[derive(Debug, Default, Clone)]
pub struct Truth {
    /// Entries.
    pub entries: f64,
    /// Completions as they happened.
    pub completions: f64,
    /// Completions had there been no incident.
    pub completions_without: f64,
    /// Expected completions (the Poisson means, no noise), had there been no incident.
    pub completions_mean: f64,
    /// Per currency: revenue as it happened and had there been no incident, minor units.
    pub revenue: Vec<(&'static str, f64, f64)>,
    /// Per currency: the expected number of orders in the window (Poisson mean).
    pub orders_mean: Vec<(&'static str, f64)>,
}

impl Truth {
    /// Revenue of `currency`: (as it happened, had there been no incident).
    pub fn revenue(&self, currency: &str) -> (f64, f64) {
        self.revenue
            .iter()
            .find(|r| r.0 == currency)
            .map_or((0.0, 0.0), |r| (r.1, r.2))
    }

    /// The expected number of `currency` orders in the window.
    pub fn orders_mean(&self, currency: &str) -> f64 {
        self.orders_mean
            .iter()
            .find(|r| r.0 == currency)
            .map_or(0.0, |r| r.1)
    }
}

/// The expected entries a minute ending at `t` (Unix seconds).
fn entry_rate(t: u64) -> f64 {
    let days_since = (t - (INCIDENT_DAY - HISTORY_DAYS * DAY)) as f64 / DAY as f64;
    let growth = WEEKLY_GROWTH.powf(days_since / 7.0);
    // 1970-01-01 was a Thursday: Monday-first weekday index.
    let weekday = ((t / DAY + 3) % 7) as usize;
    let hour = (t % DAY) as f64 / 3_600.0;
    // Weekdays peak at 15:00, weekends three hours later.
    let peak = if weekday >= 5 { 18.0 } else { 15.0 };
    let daily = 1.0 + 0.3 * (2.0 * std::f64::consts::PI * (hour - peak + 6.0) / 24.0).sin();
    ENTRIES_PER_MINUTE * growth * WEEKDAY[weekday] * daily
}

/// A Poisson draw with mean `mean` (normal approximation, means here are ≥ 10).
fn poisson(rng: &mut StdRng, mean: f64) -> u64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    (mean + mean.sqrt() * z).round().max(0.0) as u64
}

/// The OpenMetrics text of the history, and the truth of the window (start, end].
pub fn openmetrics(window: (u64, u64)) -> (String, Truth) {
    let mut rng = StdRng::seed_from_u64(20_260_311);
    let first_day = INCIDENT_DAY - HISTORY_DAYS * DAY;
    let mut entries = Vec::new();
    let mut completions = Vec::new();
    let mut revenue: Vec<Vec<(u64, u64)>> = vec![Vec::new(); CURRENCIES.len()];
    let (mut e_total, mut c_total) = (0_u64, 0_u64);
    let mut r_total = [0_u64; CURRENCIES.len()];
    let mut truth = Truth {
        revenue: CURRENCIES.iter().map(|c| (c.0, 0.0, 0.0)).collect(),
        orders_mean: CURRENCIES.iter().map(|c| (c.0, 0.0)).collect(),
        ..Truth::default()
    };
    for day in 0..=HISTORY_DAYS {
        let midnight = first_day + day * DAY;
        for minute in FIRST_MINUTE..=LAST_MINUTE {
            let t = midnight + minute * 60;
            if t == RESTART {
                (e_total, c_total) = (0, 0);
                r_total = [0; CURRENCIES.len()];
            }
            let in_window = t > window.0 && t <= window.1;
            let in_incident = t > INCIDENT_START && t <= INCIDENT_END;
            let rate = entry_rate(t);
            let e = poisson(&mut rng, rate);
            let would = poisson(&mut rng, rate * CONVERSION);
            let keep = if in_incident { INCIDENT_KEEPS } else { 1.0 };
            let mut c = 0;
            for (i, &(_, share, low, high)) in CURRENCIES.iter().enumerate() {
                let sold = day + EUR_DAYS > HISTORY_DAYS || i + 1 < CURRENCIES.len();
                let orders = (would as f64 * share).round() as u64;
                for _ in 0..orders {
                    let value = rng.random_range(low..=high);
                    let happened = rng.random::<f64>() < keep;
                    if happened {
                        c += 1;
                    }
                    if sold {
                        if happened {
                            r_total[i] += value;
                        }
                        if in_window {
                            let r = &mut truth.revenue[i];
                            r.2 += value as f64;
                            if happened {
                                r.1 += value as f64;
                            }
                        }
                    }
                }
                if in_window && sold {
                    truth.orders_mean[i].1 += rate * CONVERSION * share;
                }
                if sold {
                    revenue[i].push((t, r_total[i]));
                }
            }
            e_total += e;
            c_total += c;
            if in_window {
                truth.entries += e as f64;
                truth.completions += c as f64;
                truth.completions_without += CURRENCIES
                    .iter()
                    .map(|cur| (would as f64 * cur.1).round())
                    .sum::<f64>();
                truth.completions_mean += rate * CONVERSION;
            }
            entries.push((t, e_total));
            completions.push((t, c_total));
        }
    }
    let mut out = String::new();
    out.push_str("# TYPE business_funnel_step counter\n");
    for (step, values) in [("cart_view", &entries), ("order_confirmed", &completions)] {
        for (t, v) in values {
            writeln!(
                out,
                "business_funnel_step_total{{funnel=\"checkout\",step=\"{step}\",source=\"google_ads\",device_type=\"mobile\",experiment_variant=\"control\"}} {v} {t}"
            )
            .unwrap();
        }
    }
    out.push_str("# TYPE business_conversions counter\n");
    for (t, v) in &completions {
        writeln!(
            out,
            "business_conversions_total{{conversion_type=\"purchase\",source=\"google_ads\",device_type=\"mobile\"}} {v} {t}"
        )
        .unwrap();
    }
    out.push_str("# TYPE business_revenue_cents counter\n");
    for (i, &(currency, ..)) in CURRENCIES.iter().enumerate() {
        for (t, v) in &revenue[i] {
            writeln!(
                out,
                "business_revenue_cents_total{{product_category=\"electronics\",payment_method=\"credit_card\",region=\"global\",currency=\"{currency}\"}} {v} {t}"
            )
            .unwrap();
        }
    }
    out.push_str("# EOF\n");
    (out, truth)
}

/// A Prometheus serving backfilled OpenMetrics.
pub struct Backfilled {
    /// Its base URL.
    pub url: String,
    _child: ChildGuard,
    _dir: TempDir,
}

/// Backfills `openmetrics` with `promtool tsdb create-blocks-from openmetrics` and
/// starts Prometheus on the blocks (retention far beyond the history, which is
/// measured from the newest block), or `None` (after a notice) when prometheus or
/// promtool is missing outside CI.
pub fn serve(openmetrics: &str) -> Option<Backfilled> {
    let prometheus = require_binary("prometheus")?;
    let promtool = require_binary("promtool")?;
    let dir = TempDir::new("bizmetrics-impact");
    let data = dir.path().join("history.om");
    std::fs::write(&data, openmetrics).unwrap();
    let tsdb = dir.path().join("tsdb");
    let started = Instant::now();
    let output = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
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
    eprintln!("backfilled in {:.1} s", started.elapsed().as_secs_f64());
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
    )
    .unwrap();
    let port = free_port();
    let log = dir.path().join("prometheus.log");
    let mut child = ChildGuard::spawn(
        "prometheus",
        Command::new(&prometheus)
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=3650d")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    )
    .with_log(&log);
    let deadline = Instant::now() + Duration::from_secs(30);
    while ready_status(port) != Some(200) {
        child.assert_running();
        assert!(
            Instant::now() < deadline,
            "prometheus not ready within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Backfilled {
        url: format!("http://127.0.0.1:{port}"),
        _child: child,
        _dir: dir,
    })
}

fn ready_status(port: u16) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}
