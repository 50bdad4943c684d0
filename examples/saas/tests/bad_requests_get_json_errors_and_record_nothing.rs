//! Every kind of bad request answers 4xx with a JSON error naming the field, and no
//! business metric (built-in or the product's) changes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::SystemTime;

use serde_json::{json, Value};
use support::TestSaas;

/// `base` with `overrides` applied; a `null` override removes the field.
fn with(mut base: Value, overrides: &Value) -> Value {
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

fn visit(overrides: &Value) -> Value {
    with(
        json!({ "source": "direct", "device_type": "desktop", "experiment_variant": "control" }),
        overrides,
    )
}

fn terms(overrides: &Value) -> Value {
    with(
        json!({ "plan": "team", "region": "eu_central", "currency": "EUR", "seats": 3 }),
        overrides,
    )
}

fn trial(overrides: &Value) -> Value {
    with(
        json!({ "plan": "team", "source": "newsletter", "device_type": "mobile" }),
        overrides,
    )
}

fn conversion(overrides: &Value) -> Value {
    with(json!({ "region": "us_east", "seats": 2 }), overrides)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_answer_4xx_naming_the_field_and_change_no_business_metric() {
    let saas = TestSaas::start(0.0).await;
    // Something of everything exists before: an open visit, a closed one, an open
    // trial and an active subscription.
    let open = saas.visit(visit(&json!({}))).await;
    let closed = saas.visit(visit(&json!({}))).await;
    assert_eq!(
        saas.post_empty(&format!("/api/visits/{closed}/fail"))
            .await
            .0,
        204
    );
    let subscriber = saas.visit(visit(&json!({}))).await;
    let sub = saas
        .create(
            &format!("/api/visits/{subscriber}/subscribe"),
            terms(&json!({})),
            "subscription_id",
        )
        .await;
    let open_trial = saas
        .create("/api/trials", trial(&json!({})), "trial_id")
        .await;
    let before = saas.business_series().await;

    let steps = format!("/api/visits/{open}/steps");
    let closed_steps = format!("/api/visits/{closed}/steps");
    let subscribe = format!("/api/visits/{open}/subscribe");
    let convert = format!("/api/trials/{open_trial}/convert");
    let seats = format!("/api/subscriptions/{sub}/seats");
    let cancel = format!("/api/subscriptions/{sub}/cancel");
    let features = format!("/api/subscriptions/{sub}/features");
    let now = unix_now();
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Value, u16, Option<&str>)> = vec![
        // Visits.
        ("missing source", "/api/visits", visit(&json!({ "source": null })), 400, Some("source")),
        ("numeric source", "/api/visits", visit(&json!({ "source": 5 })), 400, Some("source")),
        ("missing device", "/api/visits", visit(&json!({ "device_type": null })), 400, Some("device_type")),
        ("unknown device", "/api/visits", visit(&json!({ "device_type": "phone" })), 422, Some("device_type")),
        ("empty source", "/api/visits", visit(&json!({ "source": "  " })), 422, Some("source")),
        ("oversize source", "/api/visits", visit(&json!({ "source": "s".repeat(65) })), 422, Some("source")),
        ("empty variant", "/api/visits", visit(&json!({ "experiment_variant": "" })), 422, Some("experiment_variant")),
        ("numeric variant", "/api/visits", visit(&json!({ "experiment_variant": 7 })), 400, Some("experiment_variant")),
        ("empty object", "/api/visits", json!({}), 400, Some("source")),
        ("not an object", "/api/visits", json!([1, 2]), 400, None),
        ("null body", "/api/visits", Value::Null, 400, None),
        // Steps.
        ("unknown step", &steps, json!({ "step": "teleport" }), 422, Some("step")),
        ("step in capitals", &steps, json!({ "step": "SIGNUP_STARTED" }), 422, Some("step")),
        ("landing view via steps", &steps, json!({ "step": "landing_view" }), 422, Some("step")),
        ("subscribed via steps", &steps, json!({ "step": "subscribed" }), 422, Some("step")),
        ("error step via steps", &steps, json!({ "step": "signup_error" }), 422, Some("step")),
        ("missing step", &steps, json!({}), 400, Some("step")),
        ("step as list", &steps, json!({ "step": ["signup_started"] }), 400, Some("step")),
        ("step of unknown visit", "/api/visits/nope/steps", json!({ "step": "signup_started" }), 404, Some("visit_id")),
        ("step of closed visit", &closed_steps, json!({ "step": "signup_started" }), 404, Some("visit_id")),
        // Subscriptions from a visit.
        ("unknown plan", &subscribe, terms(&json!({ "plan": "gold" })), 422, Some("plan")),
        ("missing plan", &subscribe, terms(&json!({ "plan": null })), 400, Some("plan")),
        ("zero seats", &subscribe, terms(&json!({ "seats": 0 })), 422, Some("seats")),
        ("too many seats", &subscribe, terms(&json!({ "seats": 10_001 })), 422, Some("seats")),
        ("negative seats", &subscribe, terms(&json!({ "seats": -1 })), 400, Some("seats")),
        ("fractional seats", &subscribe, terms(&json!({ "seats": 2.5 })), 400, Some("seats")),
        ("seats as string", &subscribe, terms(&json!({ "seats": "3" })), 400, Some("seats")),
        ("unknown currency", &subscribe, terms(&json!({ "currency": "XYZ" })), 422, Some("currency")),
        ("unpriced currency", &subscribe, terms(&json!({ "currency": "JPY" })), 422, Some("currency")),
        ("numeric currency", &subscribe, terms(&json!({ "currency": 978 })), 400, Some("currency")),
        ("empty region", &subscribe, terms(&json!({ "region": "" })), 422, Some("region")),
        ("oversize region", &subscribe, terms(&json!({ "region": "r".repeat(300) })), 422, Some("region")),
        ("subscribe unknown visit", "/api/visits/nope/subscribe", terms(&json!({})), 404, Some("visit_id")),
        // Trials.
        ("trial of unknown plan", "/api/trials", trial(&json!({ "plan": "gold" })), 422, Some("plan")),
        ("trial of unknown device", "/api/trials", trial(&json!({ "device_type": "watch" })), 422, Some("device_type")),
        ("trial with empty source", "/api/trials", trial(&json!({ "source": "" })), 422, Some("source")),
        ("trial from the future", "/api/trials", trial(&json!({ "started_at": now + 3_600 })), 422, Some("started_at")),
        ("trial over", "/api/trials", trial(&json!({ "started_at": now - 40 * 86_400 })), 422, Some("started_at")),
        ("trial at u64::MAX", "/api/trials", trial(&json!({ "started_at": u64::MAX })), 422, Some("started_at")),
        ("negative start", "/api/trials", trial(&json!({ "started_at": -1 })), 400, Some("started_at")),
        ("start as string", "/api/trials", trial(&json!({ "started_at": "yesterday" })), 400, Some("started_at")),
        ("convert zero seats", &convert, conversion(&json!({ "seats": 0 })), 422, Some("seats")),
        ("convert unpriced currency", &convert, conversion(&json!({ "currency": "KWD" })), 422, Some("currency")),
        ("convert empty region", &convert, conversion(&json!({ "region": " " })), 422, Some("region")),
        ("convert missing region", &convert, conversion(&json!({ "region": null })), 400, Some("region")),
        ("convert unknown trial", "/api/trials/nope/convert", conversion(&json!({})), 404, Some("trial_id")),
        // Active subscriptions.
        ("zero seats change", &seats, json!({ "seats": 0 }), 422, Some("seats")),
        ("missing seats change", &seats, json!({}), 400, Some("seats")),
        ("seats of unknown subscription", "/api/subscriptions/nope/seats", json!({ "seats": 2 }), 404, Some("subscription_id")),
        ("unknown churn reason", &cancel, json!({ "reason": "bored" }), 422, Some("reason")),
        ("missing churn reason", &cancel, json!({}), 400, Some("reason")),
        ("cancel unknown subscription", "/api/subscriptions/nope/cancel", json!({ "reason": "too_expensive" }), 404, Some("subscription_id")),
        ("empty feature", &features, json!({ "feature_name": "" }), 422, Some("feature_name")),
        ("oversize feature", &features, json!({ "feature_name": "f".repeat(65) }), 422, Some("feature_name")),
        ("feature of unknown subscription", "/api/subscriptions/nope/features", json!({ "feature_name": "api" }), 404, Some("subscription_id")),
    ];
    for (name, path, body, status, field) in cases {
        let (got, resp) = saas.post(path, body).await;
        assert_eq!(got, status, "{name}: {resp}");
        assert!(
            resp["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{name}: {resp}"
        );
        assert_eq!(resp["field"].as_str(), field, "{name}: {resp}");
    }

    // Requests without a JSON body.
    for (name, path, status, field) in [
        (
            "fail unknown visit",
            "/api/visits/nope/fail",
            404,
            Some("visit_id"),
        ),
        (
            "invoice of unknown subscription",
            "/api/subscriptions/nope/invoices",
            404,
            Some("subscription_id"),
        ),
        (
            "id that is not UTF-8",
            "/api/visits/%FF/fail",
            404,
            Some("visit_id"),
        ),
        ("no such route", "/api/orders", 404, None),
        ("no body", &steps, 415, None),
    ] {
        let (got, resp) = saas.post_empty(path).await;
        assert_eq!(got, status, "{name}: {resp}");
        assert_eq!(resp["field"].as_str(), field, "{name}: {resp}");
    }
    let (got, resp) = saas
        .send(saas.client.get(format!("{}/api/visits", saas.base)))
        .await;
    assert_eq!(got, 405, "{resp}");
    let (got, resp) = saas
        .send(
            saas.client
                .post(format!("{}/api/visits", saas.base))
                .header("content-type", "text/plain")
                .body(visit(&json!({})).to_string()),
        )
        .await;
    assert_eq!(got, 415, "{resp}");
    let (got, resp) = saas
        .post(
            "/api/visits",
            visit(&json!({ "source": "s".repeat(17 * 1024) })),
        )
        .await;
    assert_eq!(
        (got, resp),
        (
            413,
            json!({ "error": "request body is larger than 16384 bytes", "field": null })
        )
    );

    // Nothing recorded, nothing claimed: the visit, the trial and the subscription
    // are as they were.
    assert_eq!(saas.business_series().await, before);
    assert_eq!(saas.state.visits().len(), 1);
    assert_eq!(saas.state.trials().len(), 1);
    assert_eq!(saas.state.subscriptions().len(), 1);
    saas.step(&open, "signup_started").await;
    saas.create(&convert, conversion(&json!({})), "subscription_id")
        .await;
}
