//! Arbitrary request bodies never panic the JSON layer: they parse, or they are
//! refused with a 400 that names a field of the request (or no field for a body that
//! is not a JSON object).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

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
