//! A known sequence of requests through the real HTTP API shows up with exact names,
//! labels and values on the product's own `/metrics`, and nothing of the checkout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::SystemTime;

use serde_json::json;
use support::{Scrape, TestSaas};

const FUNNEL: &str = "business_funnel_step_total";

/// The count of `step` of the signup funnel for one visitor context.
fn signup_step(m: &Scrape, step: &str, source: &str, device: &str, variant: &str) -> Option<f64> {
    m.get(
        FUNNEL,
        &[
            ("funnel", "signup"),
            ("step", step),
            ("source", source),
            ("device_type", device),
            ("experiment_variant", variant),
        ],
    )
}

fn unix_secs_ago(secs: u64) -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - secs
}

const DAY: u64 = 86_400;
const SIX_DAYS: f64 = 518_400.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signups_trials_and_subscriptions_record_exact_saas_metrics_and_no_checkout_series() {
    let saas = TestSaas::start(0.0).await;
    let (status, body) = saas
        .send(saas.client.get(format!("{}/healthz", saas.base)))
        .await;
    assert_eq!((status, body), (200, json!({ "status": "ok" })));

    // A signup all the way to a Team subscription, in euros.
    let visit = saas
        .visit(json!({ "source": "google_ads", "device_type": "mobile", "experiment_variant": "guided_onboarding" }))
        .await;
    assert_eq!(visit.len(), 32);
    for step in [
        "signup_started",
        "email_verified",
        "workspace_created",
        "first_project",
    ] {
        saas.step(&visit, step).await;
    }
    let (status, started) = saas
        .post(
            &format!("/api/visits/{visit}/subscribe"),
            json!({ "plan": "team", "region": "eu_central", "currency": "EUR", "seats": 3 }),
        )
        .await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["monthly_amount_minor"], 8_700);
    assert_eq!(started["currency"], "EUR");
    let team = started["subscription_id"].as_str().unwrap().to_owned();
    // The visit is over: it cannot subscribe twice.
    let (status, _) = saas
        .post(
            &format!("/api/visits/{visit}/subscribe"),
            json!({ "plan": "team", "region": "eu_central", "seats": 3 }),
        )
        .await;
    assert_eq!(status, 404);

    // A signup that fails after it started.
    let failed = saas
        .visit(json!({ "source": "direct", "device_type": "desktop" }))
        .await;
    saas.step(&failed, "signup_started").await;
    let (status, _) = saas.post_empty(&format!("/api/visits/{failed}/fail")).await;
    assert_eq!(status, 204);

    // A Business trial that started six days ago converts.
    let trial = saas
        .create(
            "/api/trials",
            json!({
                "plan": "business", "source": "newsletter", "device_type": "desktop",
                "started_at": unix_secs_ago(6 * DAY)
            }),
            "trial_id",
        )
        .await;
    let business = saas
        .create(
            &format!("/api/trials/{trial}/convert"),
            json!({ "region": "us_east", "seats": 10 }),
            "subscription_id",
        )
        .await;

    // The Team subscription grows, uses features and pays its second month; the
    // Business one uses the API and is cancelled.
    saas.post_no_content(
        &format!("/api/subscriptions/{team}/seats"),
        json!({ "seats": 5 }),
    )
    .await;
    for _ in 0..2 {
        saas.post_no_content(
            &format!("/api/subscriptions/{team}/features"),
            json!({ "feature_name": "dashboards" }),
        )
        .await;
    }
    let (status, invoice) = saas
        .post_empty(&format!("/api/subscriptions/{team}/invoices"))
        .await;
    assert_eq!(
        (status, invoice),
        (201, json!({ "amount_minor": 14_500, "currency": "EUR" }))
    );
    saas.post_no_content(
        &format!("/api/subscriptions/{business}/features"),
        json!({ "feature_name": "api" }),
    )
    .await;
    saas.post_no_content(
        &format!("/api/subscriptions/{business}/cancel"),
        json!({ "reason": "too_expensive" }),
    )
    .await;

    let text = saas.metrics_text().await;
    let m = Scrape::parse(&text);

    // The signup funnel, by context; every step of a context exists from its start.
    let won = |step| signup_step(&m, step, "google_ads", "mobile", "guided_onboarding");
    for step in [
        "landing_view",
        "signup_started",
        "email_verified",
        "workspace_created",
        "first_project",
        "subscribed",
    ] {
        assert_eq!(won(step), Some(1.0), "{step}");
    }
    assert_eq!(won("signup_error"), Some(0.0));
    let lost = |step| signup_step(&m, step, "direct", "desktop", "control");
    assert_eq!(lost("landing_view"), Some(1.0));
    assert_eq!(lost("signup_started"), Some(1.0));
    assert_eq!(lost("email_verified"), Some(0.0));
    assert_eq!(lost("signup_error"), Some(1.0));
    assert_eq!(m.sum(FUNNEL, &[("funnel", "signup")]), 9.0);

    // Conversions: the signup's within a minute, the trial's after six days.
    let conversions = |kind, source, device| {
        m.get(
            "business_conversions_total",
            &[
                ("conversion_type", kind),
                ("source", source),
                ("device_type", device),
            ],
        )
    };
    assert_eq!(
        conversions("subscription", "google_ads", "mobile"),
        Some(1.0)
    );
    assert_eq!(
        conversions("trial_to_paid", "newsletter", "desktop"),
        Some(1.0)
    );
    let took = |kind, le| {
        m.get(
            "business_time_to_conversion_seconds_bucket",
            &[("conversion_type", kind), ("le", le)],
        )
    };
    assert_eq!(took("subscription", "60"), Some(1.0));
    assert_eq!(took("trial_to_paid", "259200"), Some(0.0));
    assert_eq!(took("trial_to_paid", "604800"), Some(1.0));
    assert_eq!(took("trial_to_paid", "2592000"), Some(1.0));
    assert_eq!(took("trial_to_paid", "+Inf"), Some(1.0));
    let trial_secs = m
        .get(
            "business_time_to_conversion_seconds_sum",
            &[("conversion_type", "trial_to_paid")],
        )
        .unwrap();
    assert!(
        (SIX_DAYS..SIX_DAYS + 60.0).contains(&trial_secs),
        "{trial_secs}"
    );

    // MRR per plan, region and currency; seats per plan; both back to 0 on churn.
    let mrr = |plan, region, currency| {
        m.get(
            "saas_mrr_cents",
            &[("plan", plan), ("region", region), ("currency", currency)],
        )
    };
    assert_eq!(mrr("team", "eu_central", "EUR"), Some(14_500.0));
    assert_eq!(mrr("business", "us_east", "USD"), Some(0.0));
    assert_eq!(m.get("saas_seats", &[("plan", "team")]), Some(5.0));
    assert_eq!(m.get("saas_seats", &[("plan", "business")]), Some(0.0));
    assert_eq!(
        m.get(
            "saas_churned_subscriptions_total",
            &[("plan", "business"), ("reason", "too_expensive")]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get("saas_trials_started_total", &[("plan", "business")]),
        Some(1.0)
    );

    // Invoices: Team's first month (3 seats) and second (5 seats), Business' first.
    let invoice = |plan, currency, le| {
        m.get(
            "saas_invoice_amount_cents_bucket",
            &[("plan", plan), ("currency", currency), ("le", le)],
        )
    };
    assert_eq!(invoice("team", "EUR", "5000"), Some(0.0));
    assert_eq!(invoice("team", "EUR", "10000"), Some(1.0));
    assert_eq!(invoice("team", "EUR", "25000"), Some(2.0));
    assert_eq!(invoice("team", "EUR", "+Inf"), Some(2.0));
    assert_eq!(
        m.get(
            "saas_invoice_amount_cents_sum",
            &[("plan", "team"), ("currency", "EUR")]
        ),
        Some(23_200.0)
    );
    assert_eq!(invoice("business", "USD", "50000"), Some(0.0));
    assert_eq!(invoice("business", "USD", "100000"), Some(1.0));
    assert_eq!(
        m.get(
            "saas_invoice_amount_cents_sum",
            &[("plan", "business"), ("currency", "USD")]
        ),
        Some(59_000.0)
    );

    // Feature usage by plan; the trial's customer arrived six days ago: still new.
    let used = |feature, plan| {
        m.get(
            "business_feature_usage_total",
            &[
                ("feature_name", feature),
                ("user_tier", plan),
                ("is_new_user", "true"),
            ],
        )
    };
    assert_eq!(used("dashboards", "team"), Some(2.0));
    assert_eq!(used("api", "business"), Some(1.0));

    // The exposition types and units come from the product's definitions.
    for line in [
        "# TYPE saas_mrr_cents gauge",
        "# TYPE saas_seats gauge",
        "# TYPE saas_churned_subscriptions_total counter",
        "# TYPE saas_invoice_amount_cents histogram",
        "# HELP saas_mrr_cents Monthly recurring revenue of active subscriptions, in minor units of the currency",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing");
    }

    // Nothing of the checkout, nothing refused, no id as a label.
    assert!(
        m.samples
            .iter()
            .all(|s| s.labels.get("funnel").map(String::as_str) != Some("checkout")),
        "a checkout series appeared"
    );
    for absent in [
        "business_revenue_cents_total",
        "business_order_value_cents_count",
        "business_revenue_per_minute_cents",
        "business_session_duration_seconds_count",
        "business_rejected_events_total",
    ] {
        assert!(!m.has(absent), "{absent} appeared");
    }
    for id in [&visit, &failed, &trial, &team, &business] {
        assert!(m
            .samples
            .iter()
            .all(|s| !s.labels.values().any(|v| v.contains(id.as_str()))));
    }

    // Technical metrics beside the business ones, by route template.
    let http = |route, code| {
        m.sum(
            "http_server_request_duration_seconds_count",
            &[("http_route", route), ("http_response_status_code", code)],
        )
    };
    assert_eq!(http("/api/visits", "201"), 2.0);
    assert_eq!(http("/api/visits/{id}/steps", "204"), 5.0);
    assert_eq!(http("/api/visits/{id}/subscribe", "201"), 1.0);
    assert_eq!(http("/api/visits/{id}/subscribe", "404"), 1.0);
    assert_eq!(http("/api/trials/{id}/convert", "201"), 1.0);
    assert_eq!(http("/healthz", "200"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_first_payment_records_signup_error_and_no_subscription() {
    let saas = TestSaas::start(1.0).await;
    let visit = saas
        .visit(json!({ "source": "social", "device_type": "tablet" }))
        .await;
    let (status, body) = saas
        .post(
            &format!("/api/visits/{visit}/subscribe"),
            json!({ "plan": "starter", "region": "uk_south", "currency": "GBP", "seats": 1 }),
        )
        .await;
    assert_eq!(
        (status, body),
        (500, json!({ "error": "payment declined", "field": null }))
    );
    let trial = saas
        .create(
            "/api/trials",
            json!({ "plan": "team", "source": "social", "device_type": "tablet" }),
            "trial_id",
        )
        .await;
    let (status, _) = saas
        .post(
            &format!("/api/trials/{trial}/convert"),
            json!({ "region": "uk_south", "currency": "GBP", "seats": 2 }),
        )
        .await;
    assert_eq!(status, 500);
    // The trial stays open after a declined payment; the visit does not.
    assert_eq!(saas.state.trials().len(), 1);
    assert!(saas.state.visits().is_empty());

    let m = saas.scrape().await;
    let step = |step| signup_step(&m, step, "social", "tablet", "control");
    assert_eq!(step("signup_error"), Some(1.0));
    assert_eq!(step("subscribed"), Some(0.0));
    // The signup's conversion series exists from its start, at 0.
    assert_eq!(
        m.get(
            "business_conversions_total",
            &[
                ("conversion_type", "subscription"),
                ("source", "social"),
                ("device_type", "tablet")
            ]
        ),
        Some(0.0)
    );
    assert_eq!(m.sum("business_conversions_total", &[]), 0.0);
    for absent in [
        "business_time_to_conversion_seconds_count",
        "saas_mrr_cents",
        "saas_invoice_amount_cents_count",
        "saas_seats",
    ] {
        assert!(!m.has(absent), "{absent} appeared");
    }
    assert_eq!(
        m.sum(
            "http_server_request_duration_seconds_count",
            &[
                ("http_route", "/api/trials/{id}/convert"),
                ("error_type", "500")
            ]
        ),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_outside_the_allowlist_add_up_in_one_other_series() {
    let policy = saas::config::label_policy(&["region=us_east".parse().unwrap()]).unwrap();
    let saas = TestSaas::start_with_policy(policy).await;
    let mut subscriptions = Vec::new();
    for (region, seats) in [("mars", 2), ("venus", 3), ("us_east", 1)] {
        let visit = saas
            .visit(json!({ "source": "direct", "device_type": "desktop" }))
            .await;
        let id = saas
            .create(
                &format!("/api/visits/{visit}/subscribe"),
                json!({ "plan": "starter", "region": region, "seats": seats }),
                "subscription_id",
            )
            .await;
        subscriptions.push(id);
    }
    let mrr = |m: &Scrape, region| {
        m.get(
            "saas_mrr_cents",
            &[("plan", "starter"), ("region", region), ("currency", "USD")],
        )
    };
    let m = saas.scrape().await;
    assert_eq!(mrr(&m, "other"), Some(5.0 * 900.0));
    assert_eq!(mrr(&m, "us_east"), Some(900.0));
    assert_eq!(mrr(&m, "mars"), None);

    saas.post_no_content(
        &format!("/api/subscriptions/{}/cancel", subscriptions[0]),
        json!({ "reason": "no_longer_needed" }),
    )
    .await;
    let m = saas.scrape().await;
    assert_eq!(mrr(&m, "other"), Some(3.0 * 900.0));
    assert_eq!(m.get("saas_seats", &[("plan", "starter")]), Some(4.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_no_route_matched_are_counted_as_404_without_a_route() {
    let saas = TestSaas::start(0.0).await;
    let (status, _) = saas
        .send(saas.client.get(format!("{}/no/such/page/42", saas.base)))
        .await;
    assert_eq!(status, 404);
    assert_eq!(saas.post("/api/nothing", json!({})).await.0, 404);

    let m = saas.scrape().await;
    let unmatched = |method| {
        m.get(
            "http_server_request_duration_seconds_count",
            &[
                ("http_request_method", method),
                ("url_scheme", "http"),
                ("network_protocol_version", "1.1"),
                ("http_response_status_code", "404"),
            ],
        )
    };
    assert_eq!(unmatched("GET"), Some(1.0));
    assert_eq!(unmatched("POST"), Some(1.0));
    assert!(m.samples.iter().all(|s| !s
        .labels
        .values()
        .any(|v| v.contains("page/42") || v.contains("nothing"))));
}
