//! What the simulator did, counted from the API's answers.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use business_metrics::Funnel as _;

use crate::definitions::SignupStep;

const STEPS: usize = SignupStep::ALL.len();

fn load(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Adds one to a counter.
pub(super) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Counters of one phase (outside or during an incident), by when a visitor
/// arrived.
#[derive(Debug, Default)]
pub(super) struct PhaseCounters {
    reached: [AtomicU64; STEPS],
    pub(super) bounced: AtomicU64,
    pub(super) declined_signups: AtomicU64,
    pub(super) trials: AtomicU64,
    pub(super) trial_conversions: AtomicU64,
    pub(super) declined_conversions: AtomicU64,
}

impl PhaseCounters {
    /// Counts a visitor that reached `step`.
    pub(super) fn reach(&self, step: SignupStep) {
        if let Some(c) = self.reached.get(step.position()) {
            bump(c);
        }
    }

    fn report(&self) -> PhaseReport {
        PhaseReport {
            reached: self.reached.each_ref().map(load),
            bounced: load(&self.bounced),
            declined_signups: load(&self.declined_signups),
            trials: load(&self.trials),
            trial_conversions: load(&self.trial_conversions),
            declined_conversions: load(&self.declined_conversions),
        }
    }
}

/// Every counter of a run.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) normal: PhaseCounters,
    pub(super) incident: PhaseCounters,
    pub(super) feature_uses: AtomicU64,
    pub(super) seat_changes: AtomicU64,
    pub(super) invoices: AtomicU64,
    pub(super) declined_invoices: AtomicU64,
    pub(super) churned: AtomicU64,
    pub(super) http_errors: AtomicU64,
    pub(super) skipped: AtomicU64,
}

impl Counters {
    pub(super) fn report(&self) -> SimReport {
        SimReport {
            normal: self.normal.report(),
            incident: self.incident.report(),
            feature_uses: load(&self.feature_uses),
            seat_changes: load(&self.seat_changes),
            invoices: load(&self.invoices),
            declined_invoices: load(&self.declined_invoices),
            churned: load(&self.churned),
            http_errors: load(&self.http_errors),
            skipped: load(&self.skipped),
        }
    }
}

/// What visitors who arrived in one phase did, as the simulator saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseReport {
    reached: [u64; STEPS],
    /// Signups abandoned on a bounced e-mail (`POST /api/visits/{id}/fail`).
    pub bounced: u64,
    /// Subscriptions whose first payment failed.
    pub declined_signups: u64,
    /// Trials registered.
    pub trials: u64,
    /// Trials converted to paid subscriptions.
    pub trial_conversions: u64,
    /// Trial conversions whose first payment failed.
    pub declined_conversions: u64,
}

impl PhaseReport {
    /// Visitors who reached `step` of the signup funnel.
    pub fn reached(&self, step: SignupStep) -> u64 {
        self.reached.get(step.position()).copied().unwrap_or(0)
    }

    /// Runs of the signup funnel that ended in `signup_error`.
    pub fn signup_errors(&self) -> u64 {
        self.bounced + self.declined_signups
    }

    /// Subscriptions per landing view, if there was any.
    pub fn conversion(&self) -> Option<f64> {
        let views = self.reached(SignupStep::LandingView);
        (views > 0).then(|| self.reached(SignupStep::Subscribed) as f64 / views as f64)
    }

    fn plus(&self, other: &Self) -> Self {
        let mut reached = self.reached;
        for (r, o) in reached.iter_mut().zip(other.reached) {
            *r += o;
        }
        Self {
            reached,
            bounced: self.bounced + other.bounced,
            declined_signups: self.declined_signups + other.declined_signups,
            trials: self.trials + other.trials,
            trial_conversions: self.trial_conversions + other.trial_conversions,
            declined_conversions: self.declined_conversions + other.declined_conversions,
        }
    }
}

/// What the simulator did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimReport {
    /// Visitors who arrived outside incidents.
    pub normal: PhaseReport,
    /// Visitors who arrived during an incident.
    pub incident: PhaseReport,
    /// Feature uses by subscribers.
    pub feature_uses: u64,
    /// Seat changes.
    pub seat_changes: u64,
    /// Renewal invoices paid.
    pub invoices: u64,
    /// Renewal invoices whose payment failed.
    pub declined_invoices: u64,
    /// Subscriptions cancelled.
    pub churned: u64,
    /// Requests answered with an unexpected status or not at all.
    pub http_errors: u64,
    /// Arrivals skipped because too many visitors were in flight.
    pub skipped: u64,
}

impl SimReport {
    /// Both phases together.
    pub fn all(&self) -> PhaseReport {
        self.normal.plus(&self.incident)
    }
}

impl fmt::Display for SimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = self.all();
        write!(
            f,
            "visits {:>6}  subscribed {:>5}  conversion {:5.1}%  trials {:>5} ({} converted)  churned {:>4}  payment failures {}  http errors {}",
            all.reached(SignupStep::LandingView),
            all.reached(SignupStep::Subscribed),
            all.conversion().unwrap_or(0.0) * 100.0,
            all.trials,
            all.trial_conversions,
            self.churned,
            all.declined_signups + all.declined_conversions + self.declined_invoices,
            self.http_errors,
        )
    }
}
