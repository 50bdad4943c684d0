//! A traffic simulator that drives the shop's HTTP API like real visitors would.
//!
//! Visitors arrive at a steady or bursty rate; each one opens a session, may use a few
//! features, and walks the checkout funnel with probabilities that depend on their
//! device, traffic source and experiment variant. Slow responses make visitors give up
//! (each step's abandonment grows with the latency they just saw), and an incident adds
//! latency and payment errors for a window of time, so conversion visibly drops.
//!
//! Given a seed, the visitors are the same on every run: the same choices, in the
//! same order. With a [`latency_sensitivity`](SimulatorConfig::latency_sensitivity)
//! of 0 (slow answers change nothing), no payment failures
//! ([`AppStateBuilder::with_payment_failure_rate`](crate::state::AppStateBuilder::with_payment_failure_rate)
//! of 0, incidents of error rate 0 or 1) and a [`visitors`](SimulatorConfig::visitors)
//! count, a run's report (but for [`skipped`](SimReport::skipped), which depends on
//! timing) and the metrics it records are the same however busy the machine is.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::incident::{Incident, IncidentControl};

/// How visitors arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    /// At the configured rate.
    Steady,
    /// 5 s at three times the rate, then 15 s at a third of it, repeating.
    Bursty,
}

/// An incident to inject: from `start_after` (since the simulator started) for
/// `duration`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IncidentPlan {
    /// When it starts, after the simulator's start.
    pub start_after: Duration,
    /// How long it lasts.
    pub duration: Duration,
    /// What it does.
    pub incident: Incident,
}

/// Simulator settings.
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// The shop's base URL, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// New sessions per second (before the bursty multiplier).
    pub rate: f64,
    /// The most sessions in flight at once; arrivals beyond it are skipped.
    pub max_concurrent: usize,
    /// Steady or bursty arrivals.
    pub traffic: Traffic,
    /// Mean pause between a visitor's requests.
    pub think_time: Duration,
    /// Extra abandonment per second of latency a visitor just waited through (at
    /// most 80 % in all), on every step of the funnel. 0: visitors wait for every
    /// answer, so slow responses change nothing (the choices are the same).
    pub latency_sensitivity: f64,
    /// Incidents to inject.
    pub incidents: Vec<IncidentPlan>,
    /// Stop after this long; `None` runs until the shutdown signal.
    pub duration: Option<Duration>,
    /// Stop arrivals after this many visitors and wait for them all; `None` has no
    /// such limit.
    pub visitors: Option<u64>,
    /// Print a progress line this often; `None` prints nothing.
    pub progress: Option<Duration>,
    /// Seed for reproducible visitors; `None` seeds from the OS.
    pub seed: Option<u64>,
}

impl SimulatorConfig {
    /// Defaults against a base URL: 5 sessions/s, steady, 300 ms think time,
    /// visitors who give up on slow answers.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            rate: 5.0,
            max_concurrent: 256,
            traffic: Traffic::Steady,
            think_time: Duration::from_millis(300),
            latency_sensitivity: LATENCY_SENSITIVITY,
            incidents: Vec::new(),
            duration: None,
            visitors: None,
            progress: None,
            seed: None,
        }
    }
}

/// Counters of one phase (outside or during an incident).
#[derive(Debug, Default)]
struct PhaseCounters {
    sessions: AtomicU64,
    cart_views: AtomicU64,
    orders: AtomicU64,
    failed_payments: AtomicU64,
    revenue_cents: AtomicU64,
}

impl PhaseCounters {
    fn report(&self) -> PhaseReport {
        PhaseReport {
            sessions: self.sessions.load(Ordering::Relaxed),
            cart_views: self.cart_views.load(Ordering::Relaxed),
            orders: self.orders.load(Ordering::Relaxed),
            failed_payments: self.failed_payments.load(Ordering::Relaxed),
            revenue_cents: self.revenue_cents.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    normal: PhaseCounters,
    incident: PhaseCounters,
    http_errors: AtomicU64,
    skipped: AtomicU64,
}

/// What visitors did in one phase, as the simulator saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseReport {
    /// Sessions opened.
    pub sessions: u64,
    /// Sessions that viewed the cart.
    pub cart_views: u64,
    /// Orders confirmed.
    pub orders: u64,
    /// Checkouts whose payment failed.
    pub failed_payments: u64,
    /// Revenue of confirmed orders, in minor units.
    pub revenue_cents: u64,
}

impl PhaseReport {
    /// Orders per cart view, if any cart was viewed.
    pub fn conversion(&self) -> Option<f64> {
        (self.cart_views > 0).then(|| self.orders as f64 / self.cart_views as f64)
    }
}

/// What the simulator did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SimReport {
    /// Sessions started outside incidents.
    pub normal: PhaseReport,
    /// Sessions started during an incident.
    pub incident: PhaseReport,
    /// Requests answered with an unexpected status or not at all.
    pub http_errors: u64,
    /// Arrivals skipped because too many sessions were in flight.
    pub skipped: u64,
}

impl fmt::Display for SimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = |pick: fn(&PhaseReport) -> u64| pick(&self.normal) + pick(&self.incident);
        let (views, orders) = (all(|p| p.cart_views), all(|p| p.orders));
        let conversion = if views > 0 {
            orders as f64 / views as f64 * 100.0
        } else {
            0.0
        };
        let revenue = all(|p| p.revenue_cents);
        write!(
            f,
            "sessions {:>6}  cart views {:>6}  orders {:>5}  conversion {conversion:5.1}%  revenue ${}.{:02}  payment failures {}  http errors {}",
            all(|p| p.sessions),
            views,
            orders,
            revenue / 100,
            revenue % 100,
            all(|p| p.failed_payments),
            self.http_errors,
        )
    }
}

const SOURCES: &[(&str, f64, f64)] = &[
    // (source, weight, conversion factor per step)
    ("google_ads", 0.35, 1.0),
    ("direct", 0.25, 1.02),
    ("newsletter", 0.15, 1.05),
    ("social", 0.25, 0.9),
];
const DEVICES: &[(&str, f64, f64)] = &[
    ("mobile", 0.55, 0.92),
    ("desktop", 0.35, 1.0),
    ("tablet", 0.10, 0.96),
];
const TIERS: &[(&str, f64)] = &[("free", 0.70), ("pro", 0.25), ("enterprise", 0.05)];
const PAGES: &[(&str, f64)] = &[
    ("/", 0.4),
    ("/products", 0.3),
    ("/pricing", 0.15),
    ("/dashboard", 0.1),
    ("/blog", 0.05),
];
const REGIONS: &[(&str, f64)] = &[
    ("us_east", 0.35),
    ("us_west", 0.25),
    ("eu_central", 0.3),
    ("ap_south", 0.1),
];
const FEATURES: &[(&str, f64)] = &[
    ("search", 0.4),
    ("wishlist", 0.2),
    ("product_compare", 0.15),
    ("reviews", 0.15),
    ("dashboard_export", 0.1),
];
/// (category, weight, typical order value in cents)
const CATEGORIES: &[(&str, f64, u64)] = &[
    ("electronics", 0.25, 18_000),
    ("books", 0.25, 2_500),
    ("clothing", 0.2, 6_000),
    ("home", 0.2, 9_000),
    ("toys", 0.1, 3_500),
];
const PAYMENT_METHODS: &[(&str, f64)] = &[("card", 0.65), ("paypal", 0.25), ("apple_pay", 0.10)];

/// Continuation probabilities on desktop, control variant: cart_view ->
/// shipping_info -> payment_info -> order_review.
const STEP_CONTINUE: [f64; 3] = [0.70, 0.78, 0.82];
/// The `one_page` variant makes entering payment details easier.
const ONE_PAGE_PAYMENT_CONTINUE: f64 = 0.90;
/// The last step's continuation: order_review -> order_confirmed.
const CONFIRM_CONTINUE: f64 = 0.88;
/// How many distinct users visit.
const USER_POOL: u64 = 5_000;
/// Extra abandonment per second of latency a visitor just waited through, by default.
pub const LATENCY_SENSITIVITY: f64 = 1.5;
/// The most abandonment latency adds to a step.
const MAX_IMPATIENCE: f64 = 0.8;

/// The chance to go on with a step of base chance `p`, after waiting `latency` for
/// the last answer, for a visitor of the given sensitivity (see
/// [`SimulatorConfig::latency_sensitivity`]).
fn continue_chance(p: f64, latency: Duration, sensitivity: f64) -> f64 {
    // `max` turns a NaN or negative sensitivity into 0, `min` a NaN product into the cap.
    let impatience = (latency.as_secs_f64() * sensitivity.max(0.0)).min(MAX_IMPATIENCE);
    (p * (1.0 - impatience)).clamp(0.0, 1.0)
}

fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T], weight: impl Fn(&T) -> f64) -> &'a T {
    let total: f64 = items.iter().map(&weight).sum();
    let mut x = rng.random::<f64>() * total;
    for item in items {
        x -= weight(item);
        if x <= 0.0 {
            return item;
        }
    }
    // Rounding can leave a sliver at the end: it belongs to the last item.
    #[allow(clippy::expect_used)]
    items
        .last()
        .expect("the tables above are non-empty constants")
}

/// Drives the shop until its duration ends or `shutdown` resolves.
#[derive(Debug)]
pub struct Simulator {
    config: SimulatorConfig,
    client: reqwest::Client,
    incident: IncidentControl,
    counters: Arc<Counters>,
}

struct Visit {
    client: reqwest::Client,
    base: String,
    think: Duration,
    rng: SmallRng,
    counters: Arc<Counters>,
    during_incident: bool,
    last_latency: Duration,
    latency_sensitivity: f64,
}

impl Visit {
    fn phase(&self) -> &PhaseCounters {
        if self.during_incident {
            &self.counters.incident
        } else {
            &self.counters.normal
        }
    }

    async fn pause(&mut self) {
        let factor = self.rng.random_range(0.5..1.5);
        tokio::time::sleep(self.think.mul_f64(factor)).await;
    }

    /// Sends a request; returns the status, or `None` when it failed outright.
    async fn send(
        &mut self,
        req: reqwest::RequestBuilder,
    ) -> Option<(u16, Option<serde_json::Value>)> {
        let start = Instant::now();
        let result = req.send().await;
        self.last_latency = start.elapsed();
        match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.json::<serde_json::Value>().await.ok();
                Some((status, body))
            }
            Err(_) => {
                self.counters.http_errors.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// The body (or `Null`) when the status is the wanted one; counts anything else.
    fn expect(
        &self,
        got: Option<(u16, Option<serde_json::Value>)>,
        want: u16,
    ) -> Option<serde_json::Value> {
        match got {
            Some((status, body)) if status == want => Some(body.unwrap_or(serde_json::Value::Null)),
            Some(_) => {
                self.counters.http_errors.fetch_add(1, Ordering::Relaxed);
                None
            }
            None => None,
        }
    }

    /// Whether the visitor goes on, given the step's base probability and the
    /// latency just seen. One draw either way (every step's chance is below 1), so
    /// the choices that follow do not depend on the latency.
    fn continues(&mut self, p: f64) -> bool {
        let chance = continue_chance(p, self.last_latency, self.latency_sensitivity);
        self.rng.random_bool(chance)
    }

    async fn run(mut self) {
        let rng = &mut self.rng;
        let (source, _, source_factor) = *pick(rng, SOURCES, |s| s.1);
        let (device, _, device_factor) = *pick(rng, DEVICES, |d| d.1);
        let variant = if rng.random_bool(0.5) {
            "control"
        } else {
            "one_page"
        };
        let page = pick(rng, PAGES, |p| p.1).0;
        let region = pick(rng, REGIONS, |r| r.1).0;
        let is_new_user = rng.random_bool(0.3);
        // Visitors come from a pool of known users, so active-user counts are meaningful.
        let user = rng.random_range(0..USER_POOL);
        let tier = pick(&mut SmallRng::seed_from_u64(user), TIERS, |t| t.1).0;

        let base = self.base.clone();
        let create = self
            .client
            .post(format!("{base}/api/sessions"))
            .json(&json!({
                "source": source, "device_type": device, "experiment_variant": variant,
                "user_tier": tier, "is_new_user": is_new_user, "entry_page": page, "region": region,
                "user_id": format!("user-{user}"),
            }));
        let got = self.send(create).await;
        let Some(body) = self.expect(got, 201) else {
            return;
        };
        let Some(id) = body
            .get("session_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
        else {
            return;
        };
        self.phase().sessions.fetch_add(1, Ordering::Relaxed);
        let session = format!("{base}/api/sessions/{id}");

        // Engagement: a few features, and a first milestone for some new users.
        let uses = self.rng.random_range(0..=3);
        for _ in 0..uses {
            self.pause().await;
            let feature = pick(&mut self.rng, FEATURES, |f| f.1).0;
            let req = self
                .client
                .post(format!("{session}/features"))
                .json(&json!({ "feature_name": feature }));
            let got = self.send(req).await;
            self.expect(got, 204);
        }
        if is_new_user && self.rng.random_bool(0.3) {
            let req = self
                .client
                .post(format!("{session}/milestones"))
                .json(&json!({ "milestone": "first_search" }));
            let got = self.send(req).await;
            self.expect(got, 204);
        }

        // Checkout funnel.
        if self.rng.random_bool(0.7) {
            self.checkout(
                &session,
                &id,
                variant,
                source_factor * device_factor,
                region,
            )
            .await;
        }

        self.pause().await;
        let got = self.send(self.client.delete(&session)).await;
        self.expect(got, 204);
    }

    async fn checkout(
        &mut self,
        session: &str,
        id: &str,
        variant: &str,
        factor: f64,
        region: &str,
    ) {
        let steps = ["cart_view", "shipping_info", "payment_info", "order_review"];
        for (i, step) in steps.iter().enumerate() {
            if i > 0 {
                let mut p = STEP_CONTINUE.get(i - 1).copied().unwrap_or(0.0);
                if *step == "order_review" && variant == "one_page" {
                    p = ONE_PAGE_PAYMENT_CONTINUE;
                }
                if !self.continues((p * factor).min(0.99)) {
                    return;
                }
            }
            self.pause().await;
            let req = self
                .client
                .post(format!("{session}/steps"))
                .json(&json!({ "step": step }));
            let got = self.send(req).await;
            if self.expect(got, 204).is_none() {
                return;
            }
            if i == 0 {
                self.phase().cart_views.fetch_add(1, Ordering::Relaxed);
            }
        }
        if !self.continues((CONFIRM_CONTINUE * factor).min(0.99)) {
            return;
        }
        self.pause().await;
        let (category, _, typical) = *pick(&mut self.rng, CATEGORIES, |c| c.1);
        let value = (typical * self.rng.random_range(40..250) / 100).max(100);
        let method = pick(&mut self.rng, PAYMENT_METHODS, |m| m.1).0;
        let currency = if region == "eu_central" { "EUR" } else { "USD" };
        let order_id = format!("ord-{:016x}", self.rng.random::<u64>());
        let req = self
            .client
            .post(format!("{}/api/checkout/complete", self.base))
            .json(&json!({
                "session_id": id, "order_id": order_id, "order_value_cents": value,
                "currency": currency, "product_category": category, "payment_method": method,
            }));
        match self.send(req).await {
            Some((200, _)) => {
                let phase = self.phase();
                phase.orders.fetch_add(1, Ordering::Relaxed);
                phase.revenue_cents.fetch_add(value, Ordering::Relaxed);
            }
            Some((500, _)) => {
                self.phase().failed_payments.fetch_add(1, Ordering::Relaxed);
            }
            Some(_) => {
                self.counters.http_errors.fetch_add(1, Ordering::Relaxed);
            }
            None => {}
        }
    }
}

impl Simulator {
    /// A simulator that injects incidents through `incident` (share it with the
    /// shop's state).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(config: SimulatorConfig, incident: IncidentControl) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            config,
            client,
            incident,
            counters: Arc::new(Counters::default()),
        })
    }

    /// What the simulator has done so far.
    pub fn report(&self) -> SimReport {
        SimReport {
            normal: self.counters.normal.report(),
            incident: self.counters.incident.report(),
            http_errors: self.counters.http_errors.load(Ordering::Relaxed),
            skipped: self.counters.skipped.load(Ordering::Relaxed),
        }
    }

    fn planned_incident(&self, elapsed: Duration) -> Option<Incident> {
        self.config
            .incidents
            .iter()
            .find(|p| elapsed >= p.start_after && elapsed < p.start_after + p.duration)
            .map(|p| p.incident)
    }

    /// Starts or stops the incident the plan has at `elapsed`.
    fn follow_plan(&self, elapsed: Duration, incident_on: &mut bool) {
        match self.planned_incident(elapsed) {
            Some(incident) => {
                self.incident.start(incident);
                *incident_on = true;
            }
            None if *incident_on => {
                self.incident.stop();
                *incident_on = false;
            }
            None => {}
        }
    }

    fn rate_at(&self, elapsed: Duration) -> f64 {
        let base = self.config.rate.max(0.001);
        match self.config.traffic {
            Traffic::Steady => base,
            Traffic::Bursty if elapsed.as_secs() % 20 < 5 => base * 3.0,
            Traffic::Bursty => base / 3.0,
        }
    }

    #[allow(clippy::print_stdout)]
    fn print_progress(&self, elapsed: Duration) {
        let incident = match self.incident.current() {
            Some(i) => format!(
                "INCIDENT +{}ms latency, {:.0}% payment errors",
                i.extra_latency.as_millis(),
                i.error_rate * 100.0
            ),
            None => "no incident".to_owned(),
        };
        println!("[{:>5}s] {}  {incident}", elapsed.as_secs(), self.report());
    }

    fn visit(&self, seed: u64, during_incident: bool) -> Visit {
        Visit {
            client: self.client.clone(),
            base: self.config.base_url.trim_end_matches('/').to_owned(),
            think: self.config.think_time,
            rng: SmallRng::seed_from_u64(seed),
            counters: Arc::clone(&self.counters),
            during_incident,
            last_latency: Duration::ZERO,
            latency_sensitivity: self.config.latency_sensitivity,
        }
    }

    /// Runs until the configured duration ends, the configured visitors have all
    /// arrived, or `shutdown` resolves; then waits for the visitors in flight (at
    /// most 10 s after a shutdown), stops any incident, and returns what was done.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> SimReport {
        tokio::pin!(shutdown);
        let start = Instant::now();
        let mut seeder = match self.config.seed {
            Some(seed) => SmallRng::seed_from_u64(seed),
            None => SmallRng::from_os_rng(),
        };
        let permits = Arc::new(Semaphore::new(self.config.max_concurrent.max(1)));
        let mut visits = JoinSet::new();
        let mut arrived = 0u64;
        let mut next_arrival = Duration::ZERO;
        let mut next_progress = self.config.progress;
        let tick = Duration::from_millis(50);
        let mut incident_on = false;
        let mut shut_down = false;
        'arrivals: loop {
            let elapsed = start.elapsed();
            if self.config.duration.is_some_and(|d| elapsed >= d) {
                break;
            }
            self.follow_plan(elapsed, &mut incident_on);
            while next_arrival <= elapsed {
                if self.config.visitors.is_some_and(|n| arrived >= n) {
                    break 'arrivals;
                }
                next_arrival += Duration::from_secs_f64(1.0 / self.rate_at(next_arrival));
                match Arc::clone(&permits).try_acquire_owned() {
                    Ok(permit) => {
                        // Seeds are drawn only for visitors who come, so a skipped
                        // arrival does not change who comes next.
                        let visit = self.visit(seeder.random(), incident_on);
                        arrived += 1;
                        visits.spawn(async move {
                            visit.run().await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        self.counters.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            while visits.try_join_next().is_some() {}
            if let Some(at) = next_progress {
                if elapsed >= at {
                    self.print_progress(elapsed);
                    next_progress = self.config.progress.map(|p| at + p);
                }
            }
            let wake = next_arrival.saturating_sub(elapsed).min(tick);
            tokio::select! {
                () = &mut shutdown => {
                    shut_down = true;
                    break;
                }
                () = tokio::time::sleep(wake) => {}
            }
        }
        // The visitors in flight finish their visits, under the planned incidents,
        // unless a shutdown comes first (or 10 s pass after one). However slow the
        // machine, a run that was not shut down counts every visit to its end.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let drained = loop {
            self.follow_plan(start.elapsed(), &mut incident_on);
            if visits.is_empty() {
                break true;
            }
            tokio::select! {
                _ = visits.join_next() => {}
                () = tokio::time::sleep(tick) => {}
                () = &mut shutdown, if !shut_down => break false,
                () = tokio::time::sleep_until(deadline), if shut_down => break false,
            }
        };
        if !drained {
            visits.abort_all();
        }
        if incident_on {
            self.incident.stop();
        }
        if self.config.progress.is_some() {
            self.print_progress(start.elapsed());
        }
        self.report()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::float_cmp)]
    use super::*;

    #[test]
    fn slow_answers_lower_the_chance_to_go_on_up_to_a_cap() {
        let ms = Duration::from_millis;
        assert_eq!(
            continue_chance(0.8, Duration::ZERO, LATENCY_SENSITIVITY),
            0.8
        );
        // 200 ms at 1.5 per second: 30 % more abandonment, 0.8 × 0.7.
        let slow = continue_chance(0.8, ms(200), LATENCY_SENSITIVITY);
        assert!((slow - 0.56).abs() < 1e-12, "{slow}");
        // Five seconds would be 750 %: capped at 80 %, 0.8 × 0.2.
        let stalled = continue_chance(0.8, ms(5_000), LATENCY_SENSITIVITY);
        assert!((stalled - 0.16).abs() < 1e-12, "{stalled}");
    }

    #[test]
    fn without_latency_sensitivity_slow_answers_change_nothing() {
        for sensitivity in [0.0, -1.0, f64::NAN] {
            for latency in [Duration::ZERO, Duration::from_millis(150), Duration::MAX] {
                assert_eq!(continue_chance(0.7, latency, sensitivity), 0.7);
            }
        }
    }
}
