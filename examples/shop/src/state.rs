//! Shared state of the service.

use std::sync::Arc;

use axum::extract::MatchedPath;
use axum::http::request::Parts;
use business_metrics::BusinessMetrics;
use business_metrics::HttpServerMetricsLayer;
use opentelemetry::metrics::Meter;
use opentelemetry::StringValue;
use rand::Rng;

use crate::active_users::ActiveUsers;
use crate::incident::IncidentControl;
use crate::orders::{OrderLedger, DEFAULT_REMEMBERED_ORDERS};
use crate::sessions::SessionStore;

/// Default number of open sessions the store holds.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;
/// Default number of distinct users tracked for the active-user gauges.
pub const DEFAULT_MAX_TRACKED_USERS: usize = 1_000_000;
/// Default share of payments declined outside incidents.
pub const DEFAULT_PAYMENT_FAILURE_RATE: f64 = 0.02;

/// The route template axum matched (`/api/sessions/{id}`), never the raw path;
/// none for a request no route matched.
fn matched_path(parts: &Parts) -> Option<StringValue> {
    let path = parts.extensions.get::<MatchedPath>()?;
    Some(path.as_str().to_owned().into())
}

/// Everything handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    metrics: BusinessMetrics,
    http: HttpServerMetricsLayer,
    sessions: SessionStore,
    orders: OrderLedger,
    active_users: ActiveUsers,
    incident: IncidentControl,
    payment_failure_rate: f64,
}

/// Builds [`AppState`].
#[derive(Debug)]
pub struct AppStateBuilder {
    metrics: BusinessMetrics,
    http: HttpServerMetricsLayer,
    incident: IncidentControl,
    max_sessions: usize,
    payment_failure_rate: f64,
}

impl AppStateBuilder {
    /// Sets the share of payments declined outside incidents (clamped to 0..=1).
    #[must_use]
    pub fn with_payment_failure_rate(mut self, rate: f64) -> Self {
        self.payment_failure_rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        self
    }

    /// Sets the maximum number of open sessions.
    #[must_use]
    pub fn with_max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max;
        self
    }

    /// Shares an incident switch with a simulator.
    #[must_use]
    pub fn with_incident_control(mut self, incident: IncidentControl) -> Self {
        self.incident = incident;
        self
    }

    /// Builds the state.
    pub fn build(self) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                metrics: self.metrics,
                http: self.http,
                sessions: SessionStore::new(self.max_sessions),
                orders: OrderLedger::new(DEFAULT_REMEMBERED_ORDERS),
                active_users: ActiveUsers::new(DEFAULT_MAX_TRACKED_USERS),
                incident: self.incident,
                payment_failure_rate: self.payment_failure_rate,
            }),
        }
    }
}

/// A payment that did not go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentFailure {
    /// The card issuer declined.
    Declined,
    /// The payment provider failed.
    ProcessingError,
}

impl PaymentFailure {
    /// The message the checkout answers with.
    pub fn message(self) -> &'static str {
        match self {
            Self::Declined => "payment declined",
            Self::ProcessingError => "payment processing error",
        }
    }
}

impl AppState {
    /// Starts a builder: business metrics and the meter for HTTP metrics.
    pub fn builder(metrics: BusinessMetrics, http_meter: &Meter) -> AppStateBuilder {
        AppStateBuilder {
            metrics,
            http: HttpServerMetricsLayer::new(http_meter).with_route(matched_path),
            incident: IncidentControl::default(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            payment_failure_rate: DEFAULT_PAYMENT_FAILURE_RATE,
        }
    }

    /// The business instruments.
    pub fn metrics(&self) -> &BusinessMetrics {
        &self.inner.metrics
    }

    /// The layer recording `http.server.request.duration`, with route templates
    /// from axum's [`MatchedPath`].
    pub fn http(&self) -> &HttpServerMetricsLayer {
        &self.inner.http
    }

    /// The open sessions.
    pub fn sessions(&self) -> &SessionStore {
        &self.inner.sessions
    }

    /// The orders already completed (checkout is idempotent by `order_id`).
    pub fn orders(&self) -> &OrderLedger {
        &self.inner.orders
    }

    /// Who was active when.
    pub fn active_users(&self) -> &ActiveUsers {
        &self.inner.active_users
    }

    /// Sets `business.active_users` for every window and tier from the users seen.
    /// The service calls it periodically.
    pub fn refresh_active_users(&self) {
        let now = std::time::Instant::now();
        for window in business_metrics::ActiveWindow::ALL {
            let counts = self.inner.active_users.counts(*window, now);
            self.inner.metrics.set_active_users_by_tier(*window, counts);
        }
    }

    /// The incident switch.
    pub fn incident(&self) -> &IncidentControl {
        &self.inner.incident
    }

    /// Charges a payment: declined at the configured rate, failing with a
    /// processing error at the incident's error rate.
    pub fn charge(&self) -> Result<(), PaymentFailure> {
        let mut rng = rand::rng();
        if let Some(incident) = self.incident().current() {
            if rng.random_bool(incident.error_rate.clamp(0.0, 1.0)) {
                return Err(PaymentFailure::ProcessingError);
            }
        }
        if rng.random_bool(self.inner.payment_failure_rate) {
            return Err(PaymentFailure::Declined);
        }
        Ok(())
    }
}
