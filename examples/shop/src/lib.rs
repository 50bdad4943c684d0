//! The demo shop: a checkout API instrumented with `business-metrics`, and a traffic
//! simulator that drives it.
//!
//! [`app`] builds the router from an [`AppState`]; `main` wires the exporter, so tests
//! call the same router on an ephemeral loopback port.
#![forbid(unsafe_code)]

pub mod active_users;
pub mod api;
pub mod config;
pub mod error;
pub mod incident;
pub mod json;
pub mod orders;
pub mod sessions;
pub mod simulator;
pub mod state;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;

pub use incident::{Incident, IncidentControl};
pub use state::AppState;

/// Applies the incident in force: added latency on every API request.
async fn incident_latency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(incident) = state.incident().current() {
        tokio::time::sleep(incident.extra_latency).await;
    }
    next.run(req).await
}

/// The service's router.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/sessions", post(api::create_session))
        .route("/api/sessions/{id}", delete(api::end_session))
        .route("/api/sessions/{id}/steps", post(api::record_step))
        .route("/api/sessions/{id}/features", post(api::record_feature))
        .route("/api/sessions/{id}/milestones", post(api::record_milestone))
        .route("/api/checkout/complete", post(api::complete_checkout))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            incident_latency,
        ));
    Router::new()
        .merge(api)
        .route("/healthz", get(api::healthz))
        .fallback(api::no_such_route)
        .method_not_allowed_fallback(api::method_not_allowed)
        // After every route and the fallback, so requests no route matched are
        // recorded too (without `http.route`).
        .layer(state.http().clone())
        .layer(DefaultBodyLimit::max(json::BODY_LIMIT))
        .with_state(state)
}
