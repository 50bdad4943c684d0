//! The demo SaaS product: a signup, trial and subscription API instrumented with
//! `business-metrics` through its own definitions, and a traffic simulator that
//! drives it.
//!
//! Nothing here is special-cased in the libraries: the signup funnel, the plans,
//! MRR, seats, churn and invoices are [`definitions`] the product declares, joined
//! to the built-in entries by [`catalog`], the one source its instruments, the
//! exporter's views, docs and rules are made from.
//!
//! [`app`] builds the router from an [`AppState`]; `main` wires the exporter, so
//! tests call the same router on an ephemeral loopback port.
//!
//! | Route | Records |
//! |---|---|
//! | `POST /api/visits` | `landing_view` of `funnel="signup"` |
//! | `POST /api/visits/{id}/steps` | `signup_started`, `email_verified`, `workspace_created`, `first_project` |
//! | `POST /api/visits/{id}/fail` | `signup_error` |
//! | `POST /api/visits/{id}/subscribe` | `subscribed`, a `subscription` conversion, MRR, seats, the first invoice |
//! | `POST /api/trials` | `saas.trials_started` |
//! | `POST /api/trials/{id}/convert` | a `trial_to_paid` conversion taking the trial's age, MRR, seats, the first invoice |
//! | `POST /api/subscriptions/{id}/seats` | MRR, seats |
//! | `POST /api/subscriptions/{id}/invoices` | an invoice |
//! | `POST /api/subscriptions/{id}/cancel` | churn, MRR, seats |
//! | `POST /api/subscriptions/{id}/features` | `business.feature_usage` with the plan as `user_tier` |
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod definitions;
pub mod error;
pub mod incident;
pub mod json;
pub mod metrics;
pub mod pricing;
pub mod simulator;
pub mod state;
pub mod store;
pub mod subscriptions;
pub mod trials;
pub mod visits;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

pub use definitions::{catalog, ChurnReason, Plan, SignupStep, GENERATED};
pub use incident::{Incident, IncidentControl};
pub use metrics::SaasMetrics;
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
        .route("/api/visits", post(api::create_visit))
        .route("/api/visits/{id}/steps", post(api::record_step))
        .route("/api/visits/{id}/fail", post(api::fail_visit))
        .route("/api/visits/{id}/subscribe", post(api::subscribe))
        .route("/api/trials", post(api::create_trial))
        .route("/api/trials/{id}/convert", post(api::convert_trial))
        .route("/api/subscriptions/{id}/seats", post(api::change_seats))
        .route("/api/subscriptions/{id}/invoices", post(api::pay_invoice))
        .route(
            "/api/subscriptions/{id}/cancel",
            post(api::cancel_subscription),
        )
        .route(
            "/api/subscriptions/{id}/features",
            post(api::record_feature),
        )
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
