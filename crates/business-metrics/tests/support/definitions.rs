//! A service's own definitions, as a SaaS product would declare them: a signup
//! funnel, its plans and churn reasons, MRR, seats, invoices and churn.

use business_metrics::catalog::names;
use business_metrics::define::{kind, Attribute, Definition};
use business_metrics::Catalog;

business_metrics::funnel! {
    /// The signup funnel.
    pub enum SignupStep: "signup" {
        /// Entry.
        LandingView => "landing_view",
        /// Form started.
        SignupStarted => "signup_started",
        /// Email verified.
        EmailVerified => "email_verified",
        /// Workspace created.
        WorkspaceCreated => "workspace_created",
        /// First project.
        FirstProject => "first_project",
        /// Paid plan chosen.
        Subscribed => "subscribed",
    }
    conversion_type: Some("subscription"),
    owner: "growth",
    min_conversion_ratio: Some(0.05),
}

business_metrics::closed_set! {
    /// Plans.
    pub enum Plan: "plan" {
        /// Entry plan.
        Starter => "starter",
        /// Per seat.
        Team => "team",
        /// Contract.
        Enterprise => "enterprise",
    }
}

business_metrics::closed_set! {
    /// Why a subscription ended.
    pub enum ChurnReason: "reason" {
        /// Too expensive.
        Price => "price",
        /// Missing features.
        Features => "features",
    }
}

/// Monthly recurring revenue per plan and region.
pub const MRR: Definition<kind::MoneyGauge, 2> = Definition::money_gauge(
    "saas.mrr_cents",
    "Monthly recurring revenue in minor units",
    &[Attribute::closed::<Plan>("plan"), Attribute::free("region")],
)
.with_owner("finance")
.checked();

/// Seats in use per plan.
pub const SEATS: Definition<kind::Gauge, 1> = Definition::gauge(
    "saas.seats",
    "{seat}",
    "Seats in use",
    &[Attribute::closed::<Plan>("plan")],
)
.with_owner("product")
.checked();

/// Invoice amounts per plan.
pub const INVOICES: Definition<kind::MoneyHistogram, 1> = Definition::money_histogram(
    "saas.invoice_amount_cents",
    "Invoice amounts in minor units",
    &[Attribute::closed::<Plan>("plan")],
    &[10_000.0, 50_000.0, 150_000.0, 500_000.0],
)
.with_owner("finance")
.checked();

/// Subscriptions ended, by plan and reason.
pub const CHURN: Definition<kind::Counter, 2> = Definition::counter(
    "saas.churned_subscriptions",
    "{subscription}",
    "Subscriptions cancelled",
    &[
        Attribute::closed::<Plan>("plan"),
        Attribute::closed::<ChurnReason>("reason"),
    ],
)
.with_owner("growth")
.with_alert_threshold("churn above 2% of subscriptions per week")
.checked();

/// Time to conversion up to 30 days: trials convert over days.
pub const TTC_BUCKETS: &[f64] = &[3_600.0, 86_400.0, 259_200.0, 604_800.0, 2_592_000.0];

/// The built-in entries plus the definitions above.
pub fn catalog() -> Catalog {
    Catalog::builder()
        .with_funnel::<SignupStep>()
        .with_conversion_type("trial_to_paid")
        .with_instrument(MRR)
        .with_instrument(SEATS)
        .with_instrument(INVOICES)
        .with_instrument(CHURN)
        .with_buckets(names::TIME_TO_CONVERSION, TTC_BUCKETS)
        .build()
        .expect("the definitions are valid")
}
