//! A service's own funnel, closed sets and instruments get the checkout's
//! guarantees: exact values under the catalog's names, series created at 0, typed
//! refusals that record nothing and are counted, the label policy, and bucket
//! overrides; bad definitions are refused at build, naming the problem.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use business_metrics::catalog::names;
use business_metrics::define::{kind, Attribute, Definition};
use business_metrics::{
    Catalog, Currency, DefinitionError, DeviceType, Dimension, FunnelContext, LabelArg,
    LabelPolicy, Money, RecordError,
};
use support::definitions::*;
use support::{Harness, Point};

fn harness() -> Harness {
    harness_with(LabelPolicy::default())
}

fn harness_with(policy: LabelPolicy) -> Harness {
    Harness::configured(policy, None, |b| b.with_catalog(catalog()))
}

fn signup(step: &str) -> [(&str, &str); 5] {
    [
        ("funnel", "signup"),
        ("step", step),
        ("source", "newsletter"),
        ("device_type", "desktop"),
        ("experiment_variant", "control"),
    ]
}

#[test]
fn a_signup_run_records_its_steps_and_its_conversion_on_the_one_funnel_metric() {
    let h = harness();
    let ctx = FunnelContext::new("newsletter", DeviceType::Desktop);
    let run = h
        .metrics
        .track::<SignupStep>(&ctx, h.metrics.now())
        .unwrap();
    // Every step and the error step exist at 0 from the start.
    let m = h.collect();
    for step in [
        "landing_view",
        "signup_started",
        "email_verified",
        "workspace_created",
        "first_project",
        "subscribed",
        "signup_error",
    ] {
        assert_eq!(
            m[names::FUNNEL_STEP].point(&signup(step)),
            Some(&Point::U64(0)),
            "{step}"
        );
    }
    run.step(SignupStep::LandingView);
    run.step(SignupStep::SignupStarted);
    run.step(SignupStep::EmailVerified);
    run.step(SignupStep::WorkspaceCreated);
    run.step(SignupStep::FirstProject);
    h.clock.advance(Duration::from_secs(6 * 86_400));
    run.completed().unwrap();
    let failed = h
        .metrics
        .track::<SignupStep>(&ctx, h.metrics.now())
        .unwrap();
    failed.step(SignupStep::LandingView);
    failed.failed();

    let m = h.collect();
    let f = &m[names::FUNNEL_STEP];
    assert_eq!(f.point(&signup("landing_view")), Some(&Point::U64(2)));
    for step in [
        "signup_started",
        "email_verified",
        "workspace_created",
        "first_project",
        "subscribed",
        "signup_error",
    ] {
        assert_eq!(f.point(&signup(step)), Some(&Point::U64(1)), "{step}");
    }
    assert_eq!(f.points.len(), 7, "nothing but the signup funnel's series");
    assert_eq!(
        m[names::CONVERSIONS].point(&[
            ("conversion_type", "subscription"),
            ("source", "newsletter"),
            ("device_type", "desktop"),
        ]),
        Some(&Point::U64(1))
    );
    // Six days land in the overridden 7-day bucket, not in +Inf of a 1 h top bucket.
    assert_eq!(
        m[names::TIME_TO_CONVERSION].point(&[("conversion_type", "subscription")]),
        Some(&Point::Histogram {
            bounds: TTC_BUCKETS.to_vec(),
            counts: vec![0, 0, 0, 1, 0, 0],
            count: 1,
            sum: 518_400.0,
        })
    );
}

#[test]
fn a_funnel_missing_from_the_catalog_is_refused_and_counted() {
    let h = Harness::new(); // the built-in catalog only
    let ctx = FunnelContext::new("newsletter", DeviceType::Desktop);
    let err = h
        .metrics
        .track::<SignupStep>(&ctx, h.metrics.now())
        .unwrap_err();
    assert_eq!(err, RecordError::NotInCatalog { name: "signup" });
    let err = h
        .metrics
        .record_step(SignupStep::LandingView, &ctx)
        .unwrap_err();
    assert_eq!(err.reason(), "not_in_catalog");
    let m = h.collect();
    assert!(!m.contains_key(names::FUNNEL_STEP));
    assert_eq!(
        m[names::REJECTED_EVENTS].point(&[("reason", "not_in_catalog")]),
        Some(&Point::U64(2))
    );
    let err = h.metrics.instrument(&MRR).unwrap_err();
    assert!(matches!(err, DefinitionError::NotInCatalog { .. }), "{err}");
}

#[test]
fn service_instruments_record_exact_values_with_currency_and_closed_sets() {
    let policy = LabelPolicy::builder()
        .with_allowlist(Dimension::Region, ["eu_central", "us_east"])
        .build()
        .unwrap();
    let h = harness_with(policy);
    let mrr = h.metrics.instrument(&MRR).unwrap();
    let seats = h.metrics.instrument(&SEATS).unwrap();
    let invoices = h.metrics.instrument(&INVOICES).unwrap();
    let churn = h.metrics.instrument(&CHURN).unwrap();

    mrr.set(
        Money::new(4_990_000, Currency::USD),
        [LabelArg::from(Plan::Team), "eu_central".into()],
    )
    .unwrap();
    mrr.set(
        Money::new(1_499, Currency::KWD),
        [LabelArg::from(Plan::Enterprise), "mars".into()],
    )
    .unwrap();
    mrr.set(
        Money::new(0, Currency::JPY),
        [LabelArg::from(Plan::Starter), "us_east".into()],
    )
    .unwrap();
    seats.set(42, [Plan::Team]).unwrap();
    // A 1,499 USD invoice: in the (500, 1500] USD bucket.
    invoices
        .record_amount(Money::new(149_900, Currency::USD), [Plan::Team])
        .unwrap();
    churn.add(2, ["starter", "price"]).unwrap();

    // Refusals record nothing and are counted.
    assert_eq!(
        seats.set(1, ["gold"]).unwrap_err().reason(),
        "unknown_value"
    );
    assert_eq!(
        invoices
            .record_amount(Money::new(0, Currency::USD), [Plan::Team])
            .unwrap_err()
            .reason(),
        "invalid_amount"
    );
    assert_eq!(
        mrr.set(
            Money::new(1, Currency::USD),
            [LabelArg::from(Plan::Team), " ".into()]
        )
        .unwrap_err()
        .reason(),
        "empty_value"
    );

    let m = h.collect();
    let g = &m["saas.mrr_cents"];
    assert_eq!(g.unit, "{cent}");
    assert_eq!(
        g.point(&[
            ("plan", "team"),
            ("region", "eu_central"),
            ("currency", "USD")
        ]),
        Some(&Point::U64(4_990_000))
    );
    assert_eq!(
        g.point(&[
            ("plan", "enterprise"),
            ("region", "other"),
            ("currency", "KWD")
        ]),
        Some(&Point::U64(1_499)),
        "a region outside the allowlist becomes other"
    );
    assert_eq!(
        g.point(&[
            ("plan", "starter"),
            ("region", "us_east"),
            ("currency", "JPY")
        ]),
        Some(&Point::U64(0))
    );
    assert_eq!(g.points.len(), 3);
    assert_eq!(
        m["saas.seats"].point(&[("plan", "team")]),
        Some(&Point::U64(42))
    );
    assert_eq!(m["saas.seats"].points.len(), 1);
    assert_eq!(
        m["saas.invoice_amount_cents"].point(&[("plan", "team"), ("currency", "USD")]),
        Some(&Point::Histogram {
            bounds: vec![10_000.0, 50_000.0, 150_000.0, 500_000.0],
            counts: vec![0, 0, 1, 0, 0],
            count: 1,
            sum: 149_900.0,
        })
    );
    assert_eq!(
        m["saas.churned_subscriptions"].point(&[("plan", "starter"), ("reason", "price")]),
        Some(&Point::U64(2))
    );
    assert_eq!(m["saas.churned_subscriptions"].points.len(), 1);
    let rejected = &m[names::REJECTED_EVENTS];
    for (reason, n) in [
        ("unknown_value", 1),
        ("invalid_amount", 1),
        ("empty_value", 1),
    ] {
        assert_eq!(
            rejected.point(&[("reason", reason)]),
            Some(&Point::U64(n)),
            "{reason}"
        );
    }
}

fn refusal(builder: business_metrics::CatalogBuilder) -> String {
    builder.build().unwrap_err().to_string()
}

#[test]
fn bad_definitions_are_refused_at_build_naming_the_problem() {
    business_metrics::funnel! {
        /// Reuses a checkout step.
        pub enum Clash: "returns" { CartView => "cart_view", Refunded => "refunded" }
    }
    business_metrics::funnel! {
        /// Named like the milestones' funnel.
        pub enum Engagement: "engagement" { A => "opened", B => "shared" }
    }
    business_metrics::funnel! {
        /// Converts like the checkout.
        pub enum Purchase: "reorder" { A => "reorder_view", B => "reordered" }
        conversion_type: Some("purchase"),
    }
    let b = Catalog::builder;
    assert_eq!(
        refusal(b().with_funnel::<SignupStep>().with_funnel::<SignupStep>()),
        "funnel \"signup\": a funnel of that name is already defined"
    );
    assert!(refusal(b().with_funnel::<Clash>()).starts_with(
        "funnel \"returns\": step \"cart_view\" is already a step of funnel \"checkout\""
    ));
    assert!(refusal(b().with_funnel::<Engagement>()).contains("reserved for engagement milestones"));
    assert_eq!(
        refusal(b().with_funnel::<Purchase>()),
        "funnel \"reorder\": conversion type \"purchase\" is already recorded by funnel \"checkout\""
    );

    // Instruments: a clash with a built-in name, or with its Prometheus spelling.
    const SAME_NAME: Definition<kind::Counter, 0> =
        Definition::counter("business.conversions", "{conversion}", "Again", &[]);
    assert!(refusal(b().with_instrument(SAME_NAME)).starts_with(
        "instrument \"business.conversions\": its name or Prometheus name \"business_conversions_total\" is already used by \"business.conversions\""
    ));
    const SAME_PROMETHEUS: Definition<kind::Counter, 0> =
        Definition::counter("business.conversions_total", "{conversion}", "Again", &[]);
    assert!(refusal(b().with_instrument(SAME_PROMETHEUS)).contains("ends in \"_total\""));
    const BUCKET_SERIES: Definition<kind::Gauge, 0> = Definition::gauge(
        "business.order_value_cents.bucket",
        "{cent}",
        "Looks like a bucket",
        &[],
    );
    let msg = refusal(b().with_instrument(BUCKET_SERIES));
    assert!(
        msg.contains("business_order_value_cents_bucket")
            && msg.contains("business.order_value_cents"),
        "{msg}"
    );
    // Definitions made without `checked()` are checked at build.
    const BAD_UNIT: Definition<kind::Histogram, 0> =
        Definition::histogram("saas.latency", "ms", "Latency", &[], &[1.0]);
    assert!(refusal(b().with_instrument(BAD_UNIT))
        .starts_with("instrument \"saas.latency\": the unit must be"));
    const BAD_NAME: Definition<kind::Counter, 0> =
        Definition::counter("Saas.Signups", "{signup}", "Signups", &[]);
    assert!(refusal(b().with_instrument(BAD_NAME)).contains("identifiers joined by single dots"));
    const DUPLICATE_KEYS: Definition<kind::Counter, 2> = Definition::counter(
        "saas.logins",
        "{login}",
        "Logins",
        &[Attribute::free("region"), Attribute::free("region")],
    );
    assert!(refusal(b().with_instrument(DUPLICATE_KEYS)).ends_with("duplicate attribute key"));
    assert!(refusal(b().with_instrument(MRR).with_instrument(MRR))
        .contains("already used by \"saas.mrr_cents\""));

    // Bucket overrides.
    assert_eq!(
        refusal(b().with_buckets(names::CONVERSIONS, &[1.0])),
        "buckets of \"business.conversions\": not a histogram"
    );
    assert_eq!(
        refusal(b().with_buckets("saas.nothing", &[1.0])),
        "buckets of \"saas.nothing\": no instrument of that name in the catalog"
    );
    assert_eq!(
        refusal(b().with_buckets(names::ORDER_VALUE_CENTS, &[5.0, 5.0])),
        "buckets of \"business.order_value_cents\": bucket boundaries must increase"
    );
    assert_eq!(
        refusal(
            b().with_conversion_type("subscription")
                .with_funnel::<SignupStep>()
                .with_conversion_type("trial_to_paid")
                .with_conversion_type("trial_to_paid")
        ),
        "conversion type \"subscription\": funnel \"signup\" records it already"
    );
}
