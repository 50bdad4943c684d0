//! The simulator, seeded and bounded by a number of visitors, drives the real HTTP
//! API: its counts fall step by step along the signup funnel, match what it saw,
//! repeat exactly with the same seed, and an incident that fails every payment
//! leaves signup errors and no subscription.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use saas::simulator::{IncidentPlan, SimReport, Simulator, SimulatorConfig};
use saas::{Incident, SignupStep};
use support::{Scrape, TestSaas};

async fn run(saas: &TestSaas, seed: u64, visitors: u64, incidents: Vec<IncidentPlan>) -> SimReport {
    let mut config = SimulatorConfig::new(saas.base.clone());
    config.rate = 400.0;
    config.think_time = Duration::ZERO;
    // Patient visitors: a slow answer on a busy machine changes nothing.
    config.patience = None;
    config.visitors = Some(visitors);
    config.seed = Some(seed);
    config.incidents = incidents;
    Simulator::new(config, saas.incident.clone())
        .unwrap()
        .run(std::future::pending())
        .await
}

/// The recorded count of each signup step, in funnel order, then `signup_error`.
fn funnel_counts(m: &Scrape) -> Vec<(&'static str, f64)> {
    SignupStep::ALL
        .iter()
        .map(|s| s.as_str())
        .chain(["signup_error"])
        .map(|step| {
            let n = m.sum(
                "business_funnel_step_total",
                &[("funnel", "signup"), ("step", step)],
            );
            (step, n)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_run_walks_the_funnel_with_falling_counts_and_repeats_exactly() {
    let saas = TestSaas::start(0.0).await;
    let report = run(&saas, 42, 400, Vec::new()).await;
    assert_eq!(report.http_errors, 0, "{report:?}");
    let all = report.all();
    assert_eq!(report.incident, Default::default());
    let m = saas.scrape().await;
    let counts = funnel_counts(&m);

    // The metrics agree with what the simulator saw, step by step.
    for (step, (name, recorded)) in SignupStep::ALL.iter().zip(&counts) {
        assert_eq!(*recorded, all.reached(*step) as f64, "{name}");
    }
    assert_eq!(counts[6], ("signup_error", all.signup_errors() as f64));
    assert!(all.bounced > 0, "{all:?}");

    // Every step is reached by fewer visitors than the one before.
    let steps: Vec<f64> = counts[..6].iter().map(|(_, n)| *n).collect();
    assert!(
        steps.windows(2).all(|w| w[1] < w[0]),
        "counts do not fall along the funnel: {counts:?}"
    );
    assert!(steps[5] > 0.0, "nobody subscribed: {counts:?}");

    // Conversions, trials, churn, invoices and feature usage agree too.
    let sum = |name, labels: &[(&str, &str)]| m.sum(name, labels);
    assert_eq!(
        sum(
            "business_conversions_total",
            &[("conversion_type", "subscription")]
        ),
        all.reached(SignupStep::Subscribed) as f64
    );
    assert_eq!(
        sum(
            "business_conversions_total",
            &[("conversion_type", "trial_to_paid")]
        ),
        all.trial_conversions as f64
    );
    assert!(all.trial_conversions > 0, "{all:?}");
    assert_eq!(sum("saas_trials_started_total", &[]), all.trials as f64);
    assert_eq!(
        sum("saas_churned_subscriptions_total", &[]),
        report.churned as f64
    );
    assert_eq!(
        sum("saas_invoice_amount_cents_count", &[]),
        (all.reached(SignupStep::Subscribed) + all.trial_conversions + report.invoices) as f64
    );
    assert_eq!(
        sum("business_feature_usage_total", &[]),
        report.feature_uses as f64
    );
    // Trials convert over days: none within the first hour.
    assert_eq!(
        sum(
            "business_time_to_conversion_seconds_bucket",
            &[("conversion_type", "trial_to_paid"), ("le", "3600")]
        ),
        0.0
    );
    assert_eq!(
        sum("saas_seats", &[]),
        saas::Plan::ALL
            .iter()
            .map(|p| saas.state.subscriptions().seats(*p))
            .sum::<u64>() as f64
    );

    // The same seed on a fresh product: the same visitors, the same metrics.
    // Only the arrivals skipped for lack of room depend on timing.
    let again = TestSaas::start(0.0).await;
    let repeated = run(&again, 42, 400, Vec::new()).await;
    assert_eq!(
        SimReport {
            skipped: 0,
            ..repeated
        },
        SimReport {
            skipped: 0,
            ..report
        }
    );
    assert_eq!(funnel_counts(&again.scrape().await), counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_failing_every_payment_leaves_signup_errors_and_no_subscription() {
    let saas = TestSaas::start(0.0).await;
    let incident = IncidentPlan {
        start_after: Duration::ZERO,
        duration: Duration::from_secs(3_600),
        incident: Incident {
            extra_latency: Duration::ZERO,
            error_rate: 1.0,
        },
    };
    let report = run(&saas, 7, 300, vec![incident]).await;
    assert_eq!(report.http_errors, 0, "{report:?}");
    // Every visitor arrived during the incident, which ends with the run.
    assert_eq!(report.normal, Default::default());
    assert_eq!(saas.incident.current(), None);
    let during = report.incident;
    assert!(during.declined_signups > 0, "{during:?}");
    assert!(during.declined_conversions > 0, "{during:?}");
    assert_eq!(during.reached(SignupStep::Subscribed), 0);
    assert_eq!(during.trial_conversions, 0);

    let m = saas.scrape().await;
    let counts = funnel_counts(&m);
    assert_eq!(counts[5], ("subscribed", 0.0));
    assert_eq!(counts[6], ("signup_error", during.signup_errors() as f64));
    assert_eq!(m.sum("business_conversions_total", &[]), 0.0);
    assert!(!m.has("saas_mrr_cents"));
    assert!(!m.has("saas_invoice_amount_cents_count"));
    assert_eq!(
        m.sum(
            "http_server_request_duration_seconds_count",
            &[
                ("http_route", "/api/visits/{id}/subscribe"),
                ("error_type", "500")
            ]
        ),
        during.declined_signups as f64
    );
}
