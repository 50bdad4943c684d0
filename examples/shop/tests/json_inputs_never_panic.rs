//! Arbitrary request bodies never panic the JSON layer: they parse, or they are
//! refused with a 400 that names a field of the request (or no field for a body that
//! is not a JSON object). Arbitrary requests to the running service never get a 5xx
//! other than the checkout's payment-failure 500, always get a JSON error with a 4xx,
//! and a 4xx changes no business metric.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod support;

use proptest::prelude::*;
use serde_json::{json, Value};
use shop::api::{CompleteCheckout, CreateSession};
use shop::error::AppError;
use shop::json::parse;

const SESSION_FIELDS: &[&str] = &[
    "source",
    "device_type",
    "experiment_variant",
    "user_tier",
    "is_new_user",
    "entry_page",
    "region",
    "user_id",
];
const ORDER_FIELDS: &[&str] = &[
    "session_id",
    "order_id",
    "order_value_cents",
    "currency",
    "product_category",
    "payment_method",
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("\\PC{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object with some of the expected fields, each with an arbitrary value.
fn object_with(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(fields), any_json()), 0..10).prop_map(
        |pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
    )
}

fn check<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    fields: &[&str],
) -> Result<(), TestCaseError> {
    match parse::<T>(bytes) {
        Ok(_) => Ok(()),
        Err(AppError::BadRequest { field: None, .. }) => Ok(()),
        Err(AppError::BadRequest {
            field: Some(f),
            message,
        }) => {
            prop_assert!(fields.contains(&f.as_str()), "field {f:?} ({message})");
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!("unexpected {other:?}"))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_refused_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check::<CreateSession>(&bytes, SESSION_FIELDS)?;
        check::<CompleteCheckout>(&bytes, ORDER_FIELDS)?;
    }

    #[test]
    fn session_bodies_parse_or_name_the_offending_field(body in object_with(SESSION_FIELDS)) {
        check::<CreateSession>(body.to_string().as_bytes(), SESSION_FIELDS)?;
    }

    #[test]
    fn order_bodies_parse_or_name_the_offending_field(body in object_with(ORDER_FIELDS)) {
        check::<CompleteCheckout>(body.to_string().as_bytes(), ORDER_FIELDS)?;
    }
}

#[test]
fn a_complete_valid_body_parses() {
    let body = json!({
        "session_id": "s", "order_id": "o", "order_value_cents": 1, "product_category": "b", "payment_method": "c"
    });
    assert!(parse::<CompleteCheckout>(body.to_string().as_bytes()).is_ok());
}

/// Where a generated request goes.
#[derive(Clone, Copy, Debug)]
enum Route {
    CreateSession,
    Step,
    Feature,
    Milestone,
    Checkout,
    EndSession,
}

/// The id of the session opened for each case, wherever a request names one.
const OPEN: &str = "$OPEN";

/// A free-form string: mostly plausible, sometimes hostile.
fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => "[a-z_]{1,12}".prop_map(Value::from),
        2 => "\\PC{0,80}".prop_map(Value::from),
        1 => "[\\u{0}-\\u{1f}\\u{7f}\\u{85}\\u{a0}\\u{202e}\\u{feff} a-z]{0,20}".prop_map(Value::from),
        1 => "x{60,70}".prop_map(Value::from),
    ]
}

fn one_of(values: &[&str]) -> impl Strategy<Value = Value> {
    proptest::sample::select(values.iter().map(|v| Value::from(*v)).collect::<Vec<_>>())
}

/// A valid body from `template`, with up to one of its fields replaced by a
/// hostile string or any JSON at all, or removed.
fn mutated(
    template: impl Strategy<Value = Value>,
    fields: &'static [&'static str],
) -> impl Strategy<Value = Value> {
    let mutation = (
        proptest::sample::select(fields),
        prop_oneof![
            2 => text().prop_map(Some),
            1 => any_json().prop_map(Some),
            1 => Just(None),
        ],
    );
    (template, proptest::collection::vec(mutation, 0..2)).prop_map(|(mut body, mutations)| {
        for (field, replacement) in mutations {
            match replacement {
                Some(v) => body[field] = v,
                None => {
                    body.as_object_mut().unwrap().remove(field);
                }
            }
        }
        body
    })
}

fn session_body() -> impl Strategy<Value = Value> {
    let template = (
        one_of(&["google_ads", "direct", "newsletter"]),
        one_of(&["mobile", "desktop", "tablet", "other"]),
        one_of(&["control", "variant_b"]),
        one_of(&["free", "pro", "enterprise"]),
        any::<bool>(),
        one_of(&["/", "/pricing"]),
        one_of(&["us_east", "eu_central"]),
        one_of(&["user-1", "user-2"]),
    )
        .prop_map(|(s, d, v, t, n, e, r, u)| {
            json!({
                "source": s, "device_type": d, "experiment_variant": v, "user_tier": t,
                "is_new_user": n, "entry_page": e, "region": r, "user_id": u
            })
        });
    mutated(template, SESSION_FIELDS)
}

fn amount() -> impl Strategy<Value = Value> {
    prop_oneof![
        12 => (1..=shop::api::MAX_ORDER_VALUE_CENTS).prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
    ]
}

fn checkout_body() -> impl Strategy<Value = Value> {
    let template = (
        prop_oneof![9 => Just(OPEN), 1 => Just("nope")],
        one_of(&["ord-1", "ord-2"]),
        amount(),
        one_of(&["USD", "eur", "JPY", "XXX"]),
        one_of(&["books", "electronics"]),
        one_of(&["card", "paypal"]),
    )
        .prop_map(|(id, o, a, c, p, m)| {
            json!({
                "session_id": id, "order_id": o, "order_value_cents": a, "currency": c,
                "product_category": p, "payment_method": m
            })
        });
    mutated(template, ORDER_FIELDS)
}

/// The body for a route: usually a plausible object, sometimes any JSON or bytes.
fn body_for(route: Route) -> BoxedStrategy<Vec<u8>> {
    let structured: BoxedStrategy<Value> = match route {
        Route::CreateSession => session_body().boxed(),
        Route::Checkout => checkout_body().boxed(),
        Route::Step => mutated(
            one_of(&[
                "cart_view",
                "shipping_info",
                "payment_info",
                "order_review",
                "order_confirmed",
                "checkout_error",
            ])
            .prop_map(|v| json!({ "step": v })),
            &["step"],
        )
        .boxed(),
        Route::Feature => mutated(
            one_of(&["export", "search"]).prop_map(|v| json!({ "feature_name": v })),
            &["feature_name"],
        )
        .boxed(),
        Route::Milestone => mutated(
            one_of(&["first_order", "profile_done"]).prop_map(|v| json!({ "milestone": v })),
            &["milestone"],
        )
        .boxed(),
        Route::EndSession => Just(Value::Null).boxed(),
    };
    prop_oneof![
        10 => structured.prop_map(|v| v.to_string().into_bytes()),
        1 => any_json().prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
    ]
    .boxed()
}

fn request() -> impl Strategy<Value = (Route, String, Vec<u8>)> {
    let route = prop_oneof![
        1 => Just(Route::CreateSession),
        1 => Just(Route::Step),
        1 => Just(Route::Feature),
        1 => Just(Route::Milestone),
        3 => Just(Route::Checkout),
        1 => Just(Route::EndSession),
    ];
    // No `.` or `/`: those would address another route, not another session.
    let id = prop_oneof![
        3 => Just(OPEN.to_owned()),
        1 => "[a-zA-Z0-9%_~-]{1,40}",
    ];
    (route, id).prop_flat_map(|(route, id)| (Just(route), Just(id), body_for(route)))
}

/// How many answers of each class the cases got: 2xx, 4xx, the payment 500.
#[derive(Debug, Default)]
struct Outcomes {
    ok: u32,
    refused: u32,
    payment_failed: u32,
}

async fn check_request(
    shop: &support::TestShop,
    (route, id, body): (Route, String, Vec<u8>),
    outcomes: &std::cell::RefCell<Outcomes>,
) -> Result<(), TestCaseError> {
    let open = shop
        .open_session(json!({
            "source": "direct", "device_type": "desktop", "user_tier": "free",
            "is_new_user": false, "entry_page": "/", "region": "us_east"
        }))
        .await;
    let id = id.replace(OPEN, &open);
    let body = String::from_utf8_lossy(&body)
        .replace(OPEN, &open)
        .into_bytes();
    let path = match route {
        Route::CreateSession => "/api/sessions".to_owned(),
        Route::Step => format!("/api/sessions/{id}/steps"),
        Route::Feature => format!("/api/sessions/{id}/features"),
        Route::Milestone => format!("/api/sessions/{id}/milestones"),
        Route::Checkout => "/api/checkout/complete".to_owned(),
        Route::EndSession => format!("/api/sessions/{id}"),
    };
    let url = format!("{}{path}", shop.base);
    let req = match route {
        Route::EndSession => shop.client.delete(url),
        _ => shop
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body),
    };
    let before = shop.scrape().await.business();
    let resp = req.send().await.map_err(|e| {
        TestCaseError::fail(format!(
            "{route:?} {path}: no answer ({e}); did a handler panic?"
        ))
    })?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    let answer: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).map_err(|e| {
            TestCaseError::fail(format!(
                "{route:?} {path}: {status} with a non-JSON body ({e})"
            ))
        })?
    };
    match status {
        200..=299 => outcomes.borrow_mut().ok += 1,
        400 | 404 | 413 | 415 | 422 => {
            outcomes.borrow_mut().refused += 1;
            prop_assert!(
                answer["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{route:?} {path}: {status} {answer}"
            );
            prop_assert_eq!(
                shop.scrape().await.business(),
                before,
                "{:?} {}: a {} changed a business metric",
                route,
                path,
                status
            );
        }
        500 => {
            outcomes.borrow_mut().payment_failed += 1;
            prop_assert!(
                matches!(route, Route::Checkout)
                    && answer["success"] == json!(false)
                    && answer["error"] == json!("payment declined"),
                "{route:?} {path}: 500 {answer}"
            );
        }
        other => prop_assert!(false, "{route:?} {path}: unexpected {other} {answer}"),
    }
    Ok(())
}

#[test]
fn arbitrary_requests_get_no_5xx_but_the_payment_failure_and_4xx_record_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Half of the valid checkouts are declined, so the one allowed 500 happens too.
    let shop = rt.block_on(support::TestShop::start(0.5));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let outcomes = std::cell::RefCell::new(Outcomes::default());
    let result = runner.run(&request(), |case| {
        rt.block_on(check_request(&shop, case, &outcomes))
    });
    rt.block_on(async move { drop(shop) });
    result.unwrap();
    // The cases reached every kind of answer, so each check above was exercised.
    let o = outcomes.into_inner();
    eprintln!("{o:?}");
    assert!(o.ok > 0 && o.refused > 0 && o.payment_failed > 0, "{o:?}");
}
