//! A traffic simulator that drives the product's HTTP API like real visitors would.
//!
//! Visitors arrive at a steady or bursty rate. Most walk the signup funnel with
//! chances that depend on their source, device and experiment variant; some
//! subscribe, then use features, change seats, pay a renewal or cancel. Others are
//! trials that started days ago and may convert now. A response slower than a
//! visitor's patience makes them leave, and an incident adds latency and payment
//! errors for a window of time, so conversion visibly drops.
//!
//! Given a seed, the visitors are the same on every run: the same choices, in the
//! same order. With patient visitors ([`patience`](SimulatorConfig::patience)
//! `None`), no payment failures
//! ([`AppStateBuilder::with_payment_failure_rate`](crate::state::AppStateBuilder::with_payment_failure_rate)
//! of 0, incidents of error rate 0 or 1) and a
//! [`visitors`](SimulatorConfig::visitors) count, a run's report (but for
//! [`skipped`](SimReport::skipped), which depends on timing) and the metrics it
//! records are the same every time.

mod report;
mod visitor;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::incident::{Incident, IncidentControl};
use report::{bump, Counters};
pub use report::{PhaseReport, SimReport};
use visitor::Visitor;

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
    /// The product's base URL, e.g. `http://127.0.0.1:8081`.
    pub base_url: String,
    /// New visitors per second (before the bursty multiplier).
    pub rate: f64,
    /// The most visitors in flight at once; arrivals beyond it are skipped.
    pub max_concurrent: usize,
    /// Steady or bursty arrivals.
    pub traffic: Traffic,
    /// Mean pause between a visitor's requests.
    pub think_time: Duration,
    /// The least patience a visitor has: each waits for an answer between this
    /// and six times this long before leaving. `None`: visitors wait for every
    /// answer, so slow responses change nothing (the choices are the same).
    pub patience: Option<Duration>,
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
    /// Defaults against a base URL: 5 visitors/s, steady, 300 ms think time.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            rate: 5.0,
            max_concurrent: 256,
            traffic: Traffic::Steady,
            think_time: Duration::from_millis(300),
            patience: Some(Duration::from_millis(500)),
            incidents: Vec::new(),
            duration: None,
            visitors: None,
            progress: None,
            seed: None,
        }
    }
}

/// Drives the product until its duration or visitor count ends, or `shutdown`
/// resolves.
#[derive(Debug)]
pub struct Simulator {
    config: SimulatorConfig,
    client: reqwest::Client,
    incident: IncidentControl,
    counters: Arc<Counters>,
}

impl Simulator {
    /// A simulator that injects incidents through `incident` (share it with the
    /// product's state).
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
        self.counters.report()
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

    fn visitor(&self, seed: u64, during_incident: bool) -> Visitor {
        let mut rng = SmallRng::seed_from_u64(seed);
        // Drawn either way, so patient visitors make the same choices.
        let factor = rng.random_range(1.0..6.0);
        let patience = self.config.patience.map(|p| p.mul_f64(factor));
        Visitor {
            client: self.client.clone(),
            base: self.config.base_url.trim_end_matches('/').to_owned(),
            think: self.config.think_time,
            rng,
            counters: Arc::clone(&self.counters),
            during_incident,
            patience,
            lost_patience: false,
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
                        let visitor = self.visitor(seeder.random(), incident_on);
                        arrived += 1;
                        visits.spawn(async move {
                            visitor.run().await;
                            drop(permit);
                        });
                    }
                    Err(_) => bump(&self.counters.skipped),
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
        // The visitors in flight finish their journeys, under the planned incidents,
        // unless a shutdown comes first (or 10 s pass after one).
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
