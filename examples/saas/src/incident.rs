//! Incidents: added latency and payment errors, switched on and off at run time.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// What an incident does to the service while it lasts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Incident {
    /// Latency added to every API request.
    pub extra_latency: Duration,
    /// Probability that a payment (a subscription, a trial conversion, a renewal)
    /// fails with a processing error, 0 to 1.
    pub error_rate: f64,
}

/// The incident in force, shared by the handlers and the simulator that injects it.
#[derive(Clone, Debug, Default)]
pub struct IncidentControl(Arc<RwLock<Option<Incident>>>);

impl IncidentControl {
    /// Starts an incident (replacing any other).
    pub fn start(&self, incident: Incident) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(incident);
    }

    /// Ends the incident.
    pub fn stop(&self) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The incident in force, if any.
    pub fn current(&self) -> Option<Incident> {
        *self.0.read().unwrap_or_else(PoisonError::into_inner)
    }
}
