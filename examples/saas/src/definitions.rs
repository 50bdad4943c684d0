//! The product's own definitions: the signup funnel, its plans and churn reasons,
//! and its business instruments. [`catalog`] joins them to the built-in entries;
//! instruments, views, docs and rules all come from that one catalog.

use business_metrics::catalog::names::TIME_TO_CONVERSION;
use business_metrics::define::{kind, Attribute, Definition};
use business_metrics::{Catalog, DefinitionError};

/// The conversion a completed signup records.
pub const SUBSCRIPTION_CONVERSION: &str = "subscription";
/// The conversion a trial that turns into a paid subscription records.
pub const TRIAL_TO_PAID_CONVERSION: &str = "trial_to_paid";

business_metrics::funnel! {
    /// The signup funnel (`funnel="signup"`): from the landing page to a paid
    /// subscription. A failed run records `signup_error`; a completed one records a
    /// `subscription` conversion.
    pub enum SignupStep: "signup" {
        /// The landing page is viewed: the entry.
        LandingView => "landing_view",
        /// The signup form is started.
        SignupStarted => "signup_started",
        /// The e-mail address is confirmed.
        EmailVerified => "email_verified",
        /// The first workspace is created.
        WorkspaceCreated => "workspace_created",
        /// The first project is created.
        FirstProject => "first_project",
        /// A paid plan is chosen: the conversion.
        Subscribed => "subscribed",
    }
    conversion_type: Some(SUBSCRIPTION_CONVERSION),
    description: "A visitor's way from the landing page to a paid subscription",
    owner: "growth",
    min_conversion_ratio: Some(0.02),
}

business_metrics::closed_set! {
    /// The plans a workspace subscribes to (`plan`, and `user_tier` of feature usage).
    pub enum Plan: "plan" {
        /// The entry plan, for individuals.
        Starter => "starter",
        /// Small teams.
        Team => "team",
        /// Departments, with SSO.
        Business => "business",
        /// Whole organisations, with a contract.
        Enterprise => "enterprise",
    }
}

business_metrics::closed_set! {
    /// Why a subscription was cancelled (`reason`).
    pub enum ChurnReason: "churn_reason" {
        /// The price is too high for the value.
        TooExpensive => "too_expensive",
        /// A needed feature is missing.
        MissingFeatures => "missing_features",
        /// The customer moved to a competitor.
        SwitchedToCompetitor => "switched_to_competitor",
        /// The project the product served has ended.
        NoLongerNeeded => "no_longer_needed",
        /// Renewal payments kept failing (involuntary churn).
        PaymentFailed => "payment_failed",
    }
}

/// `saas.mrr_cents`: monthly recurring revenue of the active subscriptions, per
/// plan, region and currency.
pub const MRR: Definition<kind::MoneyGauge, 2> = Definition::money_gauge(
    "saas.mrr_cents",
    "Monthly recurring revenue of active subscriptions, in minor units of the currency",
    &[Attribute::closed::<Plan>("plan"), Attribute::free("region")],
)
.with_owner("finance")
.with_alert_threshold("total MRR falls by more than 5% within a day")
.checked();

/// `saas.seats`: seats paid for across the active subscriptions, per plan.
pub const SEATS: Definition<kind::Gauge, 1> = Definition::gauge(
    "saas.seats",
    "{seat}",
    "Seats paid for across active subscriptions",
    &[Attribute::closed::<Plan>("plan")],
)
.with_owner("product")
.checked();

/// `saas.churned_subscriptions`: cancelled subscriptions, per plan and reason.
pub const CHURNED_SUBSCRIPTIONS: Definition<kind::Counter, 2> = Definition::counter(
    "saas.churned_subscriptions",
    "{subscription}",
    "Subscriptions cancelled, by plan and reason",
    &[
        Attribute::closed::<Plan>("plan"),
        Attribute::closed::<ChurnReason>("reason"),
    ],
)
.with_owner("finance")
.with_alert_threshold("more than 5 cancellations an hour for `payment_failed` for 30 minutes")
.checked();

/// `saas.trials_started`: trials registered, per plan; the denominator of the
/// trial-to-paid rate.
pub const TRIALS_STARTED: Definition<kind::Counter, 1> = Definition::counter(
    "saas.trials_started",
    "{trial}",
    "Trials started, by plan",
    &[Attribute::closed::<Plan>("plan")],
)
.with_owner("growth")
.checked();

/// Invoice amounts from $10 to $5,000 in minor units: a seat of the smallest plan
/// to a large team's month.
pub const INVOICE_BUCKETS: &[f64] = &[
    1_000.0, 2_500.0, 5_000.0, 10_000.0, 25_000.0, 50_000.0, 100_000.0, 250_000.0, 500_000.0,
];

/// `saas.invoice_amount_cents`: the amount of each invoice paid, per plan and
/// currency.
pub const INVOICE_AMOUNT: Definition<kind::MoneyHistogram, 1> = Definition::money_histogram(
    "saas.invoice_amount_cents",
    "Amounts of paid invoices, in minor units of the currency",
    &[Attribute::closed::<Plan>("plan")],
    INVOICE_BUCKETS,
)
.with_owner("finance")
.checked();

/// `business.time_to_conversion` boundaries in seconds, from a minute to 30 days:
/// signups convert within minutes, trials within days.
pub const CONVERSION_TIME_BUCKETS: &[f64] = &[
    60.0,
    300.0,
    1_800.0,
    3_600.0,
    21_600.0,
    86_400.0,
    259_200.0,
    604_800.0,
    1_209_600.0,
    2_592_000.0,
];

/// Where the product's generated files come from (`examples/saas/generated/`).
pub const GENERATED: business_metrics::generate::Provenance<'static> =
    business_metrics::generate::Provenance {
        source: "examples/saas/src/definitions.rs",
        command: "cargo run -p saas --bin saas-generate -- --out examples/saas/generated",
        runbooks: "https://github.com/business-metrics-rs/business-metrics/blob/main/examples/saas/generated/runbooks",
    };

/// The product's catalog: the built-in entries, the signup funnel, the product's
/// instruments, and conversion-time buckets that reach 30 days.
///
/// # Errors
/// A [`DefinitionError`] if a definition clashes with the built-in entries (the
/// crate's tests build it, so a release never does).
pub fn catalog() -> Result<Catalog, DefinitionError> {
    Catalog::builder()
        .with_funnel::<SignupStep>()
        .with_conversion_type(TRIAL_TO_PAID_CONVERSION)
        .with_instrument(MRR)
        .with_instrument(SEATS)
        .with_instrument(CHURNED_SUBSCRIPTIONS)
        .with_instrument(TRIALS_STARTED)
        .with_instrument(INVOICE_AMOUNT)
        .with_buckets(TIME_TO_CONVERSION, CONVERSION_TIME_BUCKETS)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use business_metrics::Funnel as _;

    #[test]
    fn the_catalog_builds_with_the_signup_funnel_and_prometheus_names() {
        let catalog = catalog().unwrap();
        let signup = catalog.funnel("signup").unwrap();
        assert_eq!(signup.error_step, "signup_error");
        assert_eq!(signup.conversion_type, "subscription");
        assert_eq!(signup.entry_step(), "landing_view");
        assert_eq!(signup.final_step(), "subscribed");
        assert_eq!(SignupStep::DEFINITION.steps.len(), SignupStep::ALL.len());
        let prometheus = |name: &str| catalog.entry(name).unwrap().prometheus_name.clone();
        assert_eq!(prometheus("saas.mrr_cents"), "saas_mrr_cents");
        assert_eq!(prometheus("saas.seats"), "saas_seats");
        assert_eq!(
            prometheus("saas.churned_subscriptions"),
            "saas_churned_subscriptions_total"
        );
        assert_eq!(
            prometheus("saas.trials_started"),
            "saas_trials_started_total"
        );
        assert_eq!(
            prometheus("saas.invoice_amount_cents"),
            "saas_invoice_amount_cents"
        );
        assert_eq!(
            catalog
                .entry(TIME_TO_CONVERSION)
                .unwrap()
                .explicit_buckets()
                .unwrap()
                .last(),
            Some(&2_592_000.0)
        );
    }
}
