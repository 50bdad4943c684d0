//! Shared state of the service.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::MatchedPath;
use axum::http::request::Parts;
use business_metrics::HttpServerMetricsLayer;
use business_metrics::{BusinessMetrics, DefinitionError};
use opentelemetry::metrics::Meter;
use opentelemetry::StringValue;
use rand::Rng;

use crate::error::Resource;
use crate::incident::IncidentControl;
use crate::metrics::SaasMetrics;
use crate::store::Store;
use crate::subscriptions::SubscriptionStore;
use crate::trials::Trial;
use crate::visits::Visit;

/// Default number of open visits the store holds.
pub const DEFAULT_MAX_VISITS: usize = 100_000;
/// Default number of open trials the store holds.
pub const DEFAULT_MAX_TRIALS: usize = 100_000;
/// Default number of active subscriptions the store holds.
pub const DEFAULT_MAX_SUBSCRIPTIONS: usize = 100_000;
/// Default share of payments declined outside incidents.
pub const DEFAULT_PAYMENT_FAILURE_RATE: f64 = 0.02;

/// `rate` as a probability: clamped to 0..=1, NaN as 0.
pub fn probability(rate: f64) -> f64 {
    if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    }
}

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
    metrics: SaasMetrics,
    http: HttpServerMetricsLayer,
    visits: Store<Visit>,
    trials: Store<Trial>,
    subscriptions: SubscriptionStore,
    incident: IncidentControl,
    payment_failure_rate: f64,
}

/// Builds [`AppState`].
#[derive(Debug)]
pub struct AppStateBuilder {
    metrics: BusinessMetrics,
    http: HttpServerMetricsLayer,
    incident: IncidentControl,
    max_visits: usize,
    max_trials: usize,
    max_subscriptions: usize,
    payment_failure_rate: f64,
}

impl AppStateBuilder {
    /// Sets the share of payments declined outside incidents (clamped to 0..=1).
    #[must_use]
    pub fn with_payment_failure_rate(mut self, rate: f64) -> Self {
        self.payment_failure_rate = probability(rate);
        self
    }

    /// Sets the maximum number of open visits.
    #[must_use]
    pub fn with_max_visits(mut self, max: usize) -> Self {
        self.max_visits = max;
        self
    }

    /// Sets the maximum number of open trials.
    #[must_use]
    pub fn with_max_trials(mut self, max: usize) -> Self {
        self.max_trials = max;
        self
    }

    /// Sets the maximum number of active subscriptions.
    #[must_use]
    pub fn with_max_subscriptions(mut self, max: usize) -> Self {
        self.max_subscriptions = max;
        self
    }

    /// Shares an incident switch with a simulator.
    #[must_use]
    pub fn with_incident_control(mut self, incident: IncidentControl) -> Self {
        self.incident = incident;
        self
    }

    /// Builds the state.
    ///
    /// # Errors
    /// [`DefinitionError::NotInCatalog`] when the metrics were not built with
    /// [`crate::catalog`].
    pub fn build(self) -> Result<AppState, DefinitionError> {
        Ok(AppState {
            inner: Arc::new(Inner {
                metrics: SaasMetrics::new(self.metrics)?,
                http: self.http,
                visits: Store::new(Resource::Visit, self.max_visits),
                trials: Store::new(Resource::Trial, self.max_trials),
                subscriptions: SubscriptionStore::new(self.max_subscriptions),
                incident: self.incident,
                payment_failure_rate: self.payment_failure_rate,
            }),
        })
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
    /// The message the API answers with.
    pub fn message(self) -> &'static str {
        match self {
            Self::Declined => "payment declined",
            Self::ProcessingError => "payment processing error",
        }
    }
}

impl AppState {
    /// Starts a builder: business metrics built with [`crate::catalog`], and the
    /// meter for HTTP metrics.
    pub fn builder(metrics: BusinessMetrics, http_meter: &Meter) -> AppStateBuilder {
        AppStateBuilder {
            metrics,
            http: HttpServerMetricsLayer::new(http_meter).with_route(matched_path),
            incident: IncidentControl::default(),
            max_visits: DEFAULT_MAX_VISITS,
            max_trials: DEFAULT_MAX_TRIALS,
            max_subscriptions: DEFAULT_MAX_SUBSCRIPTIONS,
            payment_failure_rate: DEFAULT_PAYMENT_FAILURE_RATE,
        }
    }

    /// The product's instruments.
    pub fn metrics(&self) -> &SaasMetrics {
        &self.inner.metrics
    }

    /// The layer recording `http.server.request.duration`, with route templates
    /// from axum's [`MatchedPath`].
    pub fn http(&self) -> &HttpServerMetricsLayer {
        &self.inner.http
    }

    /// The open visits.
    pub fn visits(&self) -> &Store<Visit> {
        &self.inner.visits
    }

    /// The open trials.
    pub fn trials(&self) -> &Store<Trial> {
        &self.inner.trials
    }

    /// The active subscriptions.
    pub fn subscriptions(&self) -> &SubscriptionStore {
        &self.inner.subscriptions
    }

    /// The incident switch.
    pub fn incident(&self) -> &IncidentControl {
        &self.inner.incident
    }

    /// Drops visits idle for `idle` and trials past their length (the service calls
    /// it periodically). Returns how many visits and trials went.
    pub fn expire(&self, idle: Duration) -> (usize, usize) {
        let now = SystemTime::now();
        let visits = self.inner.visits.expire(idle, |_| false);
        // A trial's idle time says nothing; its length does.
        let trials = self
            .inner
            .trials
            .expire(Duration::MAX, |t| t.is_expired(now));
        (visits, trials)
    }

    /// Charges a payment: declined at the configured rate, failing with a
    /// processing error at the incident's error rate.
    ///
    /// # Errors
    /// The [`PaymentFailure`].
    pub fn charge(&self) -> Result<(), PaymentFailure> {
        let mut rng = rand::rng();
        if let Some(incident) = self.incident().current() {
            if rng.random_bool(probability(incident.error_rate)) {
                return Err(PaymentFailure::ProcessingError);
            }
        }
        if rng.random_bool(self.inner.payment_failure_rate) {
            return Err(PaymentFailure::Declined);
        }
        Ok(())
    }
}
