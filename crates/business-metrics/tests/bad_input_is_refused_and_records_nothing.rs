//! Every invalid input returns a typed error, leaves every metric unchanged, and counts
//! one `business.rejected_events{reason}`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use business_metrics::catalog::names;
use business_metrics::{
    BusinessMetrics, CheckoutStep, DeviceType, Dimension, EngagementContext, EngagementSession,
    FunnelContext, FunnelStep, RecordError, Revenue, UserTier, MAX_AMOUNT_MINOR,
};
use support::{Harness, Point};

type Call = Box<dyn Fn(&BusinessMetrics) -> Result<(), RecordError>>;
type Expect = fn(&RecordError) -> bool;

fn ok_ctx() -> FunnelContext<'static> {
    FunnelContext::new("google_ads", DeviceType::Mobile)
}

fn engagement_ctx() -> EngagementContext<'static> {
    EngagementContext {
        user_tier: UserTier::Pro,
        entry_page: "/",
        is_new_user: false,
    }
}

/// Every bad input, given a session that has already ended.
fn cases(ended: &Arc<EngagementSession>) -> Vec<(&'static str, Call, Expect)> {
    let long = "x".repeat(65);
    let huge = "y".repeat(10_000);
    // 33 two-byte characters: 33 characters, 66 bytes; the limit counts bytes.
    let wide = "é".repeat(33);
    let huge_currency = "€".repeat(5_000);
    let long_milestone = "m".repeat(65);
    let ended_in_feature = Arc::clone(ended);
    let ended = Arc::clone(ended);
    vec![
        (
            "nan session",
            Box::new(|m| m.record_session_end(f64::NAN, UserTier::Pro, "/")),
            |e| matches!(e, RecordError::InvalidDuration { field: "session_duration", value } if value.is_nan()),
        ),
        (
            "negative session",
            Box::new(|m| m.record_session_end(-1.0, UserTier::Pro, "/")),
            |e| {
                *e == RecordError::InvalidDuration {
                    field: "session_duration",
                    value: -1.0,
                }
            },
        ),
        (
            "infinite session",
            Box::new(|m| m.record_session_end(f64::INFINITY, UserTier::Pro, "/")),
            |e| {
                *e == RecordError::InvalidDuration {
                    field: "session_duration",
                    value: f64::INFINITY,
                }
            },
        ),
        (
            "negative infinite conversion",
            Box::new(|m| m.record_conversion("purchase", &ok_ctx(), f64::NEG_INFINITY)),
            |e| {
                matches!(
                    e,
                    RecordError::InvalidDuration {
                        field: "time_to_conversion",
                        ..
                    }
                )
            },
        ),
        (
            "negative conversion",
            Box::new(|m| m.record_conversion("purchase", &ok_ctx(), -0.001)),
            |e| {
                matches!(
                    e,
                    RecordError::InvalidDuration {
                        field: "time_to_conversion",
                        ..
                    }
                )
            },
        ),
        (
            "future session start",
            Box::new(|m| {
                m.record_conversion_since("purchase", &ok_ctx(), m.now() + Duration::from_secs(10))
            }),
            |e| {
                *e == RecordError::InvalidDuration {
                    field: "time_to_conversion",
                    value: -10.0,
                }
            },
        ),
        (
            "zero amount",
            Box::new(|m| m.record_revenue(&Revenue::new(0, "books", "card", "eu"))),
            |e| matches!(e, RecordError::InvalidAmount { value: 0, .. }),
        ),
        (
            "amount past 2^53",
            Box::new(|m| {
                m.record_revenue(&Revenue::new(MAX_AMOUNT_MINOR + 1, "books", "card", "eu"))
            }),
            |e| matches!(e, RecordError::InvalidAmount { value, .. } if *value == MAX_AMOUNT_MINOR + 1),
        ),
        (
            "u64::MAX amount",
            Box::new(|m| m.record_revenue(&Revenue::new(u64::MAX, "books", "card", "eu"))),
            |e| {
                matches!(
                    e,
                    RecordError::InvalidAmount {
                        value: u64::MAX,
                        ..
                    }
                )
            },
        ),
        (
            "unknown currency",
            Box::new(|m| {
                m.record_revenue(&Revenue::new(100, "books", "card", "eu").with_currency("BTC"))
            }),
            |e| *e == RecordError::UnknownCurrency { code: "BTC".into() },
        ),
        (
            "empty currency",
            Box::new(|m| {
                m.record_revenue(&Revenue::new(100, "books", "card", "eu").with_currency(""))
            }),
            |e| {
                *e == RecordError::UnknownCurrency {
                    code: String::new(),
                }
            },
        ),
        (
            "blank category",
            Box::new(|m| m.record_revenue(&Revenue::new(100, " \t", "card", "eu"))),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::ProductCategory,
                }
            },
        ),
        (
            "empty payment method",
            Box::new(|m| m.record_revenue(&Revenue::new(100, "books", "", "eu"))),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::PaymentMethod,
                }
            },
        ),
        (
            "overlong region",
            Box::new(move |m| m.record_revenue(&Revenue::new(100, "books", "card", &long))),
            |e| {
                *e == RecordError::ValueTooLong {
                    dimension: Dimension::Region,
                    len: 65,
                    max: 64,
                }
            },
        ),
        (
            "empty source",
            Box::new(|m| {
                m.record_funnel_step(
                    CheckoutStep::CartView.into(),
                    &FunnelContext::new("", DeviceType::Mobile),
                )
            }),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::Source,
                }
            },
        ),
        (
            "empty variant",
            Box::new(|m| {
                m.record_funnel_step(
                    CheckoutStep::CartView.into(),
                    &ok_ctx().with_experiment_variant(" "),
                )
            }),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::ExperimentVariant,
                }
            },
        ),
        (
            "empty milestone",
            Box::new(|m| m.record_funnel_step(FunnelStep::Milestone(""), &ok_ctx())),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::Milestone,
                }
            },
        ),
        (
            "empty conversion type",
            Box::new(|m| m.record_conversion("", &ok_ctx(), 1.0)),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::ConversionType,
                }
            },
        ),
        (
            "empty feature",
            Box::new(|m| m.record_feature_usage("", UserTier::Free, true)),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::FeatureName,
                }
            },
        ),
        (
            "huge feature",
            Box::new(move |m| m.record_feature_usage(&huge, UserTier::Free, true)),
            |e| {
                *e == RecordError::ValueTooLong {
                    dimension: Dimension::FeatureName,
                    len: 10_000,
                    max: 64,
                }
            },
        ),
        (
            "empty entry page",
            Box::new(|m| m.record_session_end(1.0, UserTier::Free, "")),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::EntryPage,
                }
            },
        ),
        (
            "checkout with empty source",
            Box::new(|m| {
                m.checkout(&FunnelContext::new("", DeviceType::Tablet), m.now())
                    .map(drop)
            }),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::Source,
                }
            },
        ),
        (
            "engagement with empty page",
            Box::new(|m| {
                m.engagement(
                    &EngagementContext {
                        user_tier: UserTier::Pro,
                        entry_page: "",
                        is_new_user: false,
                    },
                    &ok_ctx(),
                )
                .map(drop)
            }),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::EntryPage,
                }
            },
        ),
        (
            "nan conversion",
            Box::new(|m| m.record_conversion("purchase", &ok_ctx(), f64::NAN)),
            |e| matches!(e, RecordError::InvalidDuration { field: "time_to_conversion", value } if value.is_nan()),
        ),
        (
            "infinite conversion",
            Box::new(|m| m.record_conversion("purchase", &ok_ctx(), f64::INFINITY)),
            |e| {
                *e == RecordError::InvalidDuration {
                    field: "time_to_conversion",
                    value: f64::INFINITY,
                }
            },
        ),
        (
            "most negative session",
            Box::new(|m| m.record_session_end(f64::MIN, UserTier::Free, "/")),
            |e| {
                *e == RecordError::InvalidDuration {
                    field: "session_duration",
                    value: f64::MIN,
                }
            },
        ),
        (
            "amount one past 2^53 as revenue of a checkout",
            Box::new(|m| {
                m.checkout(&ok_ctx(), m.now())?
                    .purchase_completed(&Revenue::new(MAX_AMOUNT_MINOR + 1, "books", "card", "eu"))
            }),
            |e| matches!(e, RecordError::InvalidAmount { field: "amount_minor", value, .. } if *value == MAX_AMOUNT_MINOR + 1),
        ),
        (
            "multi-byte region over the byte limit",
            Box::new(move |m| m.record_revenue(&Revenue::new(100, "books", "card", &wide))),
            |e| {
                *e == RecordError::ValueTooLong {
                    dimension: Dimension::Region,
                    len: 66,
                    max: 64,
                }
            },
        ),
        (
            "unicode white space only source",
            Box::new(|m| {
                m.record_funnel_step(
                    CheckoutStep::CartView.into(),
                    &FunnelContext::new("\u{a0}\u{2003}\u{3000}\u{85}\r\n", DeviceType::Mobile),
                )
            }),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::Source,
                }
            },
        ),
        (
            "huge non-ascii currency is not echoed whole",
            Box::new(move |m| {
                m.record_revenue(
                    &Revenue::new(100, "books", "card", "eu").with_currency(&huge_currency),
                )
            }),
            |e| matches!(e, RecordError::UnknownCurrency { code } if !code.is_empty() && code.chars().count() <= 16 && code.chars().all(|c| c == '€')),
        ),
        (
            "control character currency",
            Box::new(|m| {
                m.record_revenue(&Revenue::new(100, "books", "card", "eu").with_currency("U\u{0}D"))
            }),
            |e| {
                *e == RecordError::UnknownCurrency {
                    code: "U\u{0}D".into(),
                }
            },
        ),
        (
            "overlong milestone",
            Box::new(move |m| {
                m.record_funnel_step(FunnelStep::Milestone(&long_milestone), &ok_ctx())
            }),
            |e| {
                *e == RecordError::ValueTooLong {
                    dimension: Dimension::Milestone,
                    len: 65,
                    max: 64,
                }
            },
        ),
        (
            "engagement with overlong variant",
            Box::new(|m| {
                let variant = "v".repeat(65);
                m.engagement(
                    &engagement_ctx(),
                    &ok_ctx().with_experiment_variant(&variant),
                )
                .map(drop)
            }),
            |e| {
                *e == RecordError::ValueTooLong {
                    dimension: Dimension::ExperimentVariant,
                    len: 65,
                    max: 64,
                }
            },
        ),
        (
            "session ended twice",
            Box::new(move |_| ended.end().map(drop)),
            |e| *e == RecordError::SessionAlreadyEnded,
        ),
        (
            "empty feature in a session",
            Box::new(move |_| ended_in_feature.feature_used(" ")),
            |e| {
                *e == RecordError::EmptyValue {
                    dimension: Dimension::FeatureName,
                }
            },
        ),
    ]
}

fn without_rejections(mut m: std::collections::BTreeMap<String, support::Exported>) -> String {
    m.remove(names::REJECTED_EVENTS);
    format!("{m:?}")
}

#[test]
fn every_invalid_input_is_refused_with_its_error_and_changes_no_metric() {
    let h = Harness::new();
    // A baseline of valid events so that every instrument has series to compare.
    let checkout = h.metrics.checkout(&ok_ctx(), h.metrics.now()).unwrap();
    checkout.cart_view();
    checkout
        .purchase_completed(&Revenue::new(1_000, "books", "card", "eu"))
        .unwrap();
    h.metrics
        .record_feature_usage("export", UserTier::Free, true)
        .unwrap();
    h.metrics
        .record_session_end(12.0, UserTier::Free, "/")
        .unwrap();
    let ended = Arc::new(h.metrics.engagement(&engagement_ctx(), &ok_ctx()).unwrap());
    ended.end().unwrap();

    for (name, call, expected) in cases(&ended) {
        let before = h.collect();
        let rejected_before = before
            .get(names::REJECTED_EVENTS)
            .map_or(0, support::Exported::total_u64);
        let err = call(&h.metrics).expect_err(name);
        assert!(expected(&err), "{name}: unexpected error {err:?}");
        assert!(!err.to_string().is_empty());

        let after = h.collect();
        assert_eq!(
            without_rejections(after.clone()),
            without_rejections(before),
            "{name} changed a metric"
        );
        let rejected = &after[names::REJECTED_EVENTS];
        assert_eq!(rejected.total_u64(), rejected_before + 1, "{name}");
        assert!(
            rejected.point(&[("reason", err.reason())]).is_some(),
            "{name}"
        );
    }
}

#[test]
fn a_refused_purchase_leaves_the_funnel_untouched() {
    let h = Harness::new();
    let checkout = h.metrics.checkout(&ok_ctx(), h.metrics.now()).unwrap();
    let before = h.collect();
    for bad in [
        Revenue::new(0, "books", "card", "eu"),
        Revenue::new(10, "books", "card", "eu").with_currency("nope"),
        Revenue::new(10, "books", "", "eu"),
    ] {
        assert!(checkout.purchase_completed(&bad).is_err());
    }
    let after = h.collect();
    assert_eq!(
        without_rejections(after.clone()),
        without_rejections(before)
    );
    let r = &after[names::REJECTED_EVENTS];
    assert_eq!(
        r.point(&[("reason", "invalid_amount")]),
        Some(&Point::U64(1))
    );
    assert_eq!(
        r.point(&[("reason", "unknown_currency")]),
        Some(&Point::U64(1))
    );
    assert_eq!(r.point(&[("reason", "empty_value")]), Some(&Point::U64(1)));
}

#[test]
fn control_characters_and_odd_unicode_are_sanitized_not_refused() {
    let h = Harness::new();
    for raw in [
        "a\u{0}b",
        "tab\there",
        "quote\"and\\slash",
        "rtl\u{202e}mark",
        "emoji🙂",
    ] {
        h.metrics
            .record_feature_usage(raw, UserTier::Free, false)
            .unwrap();
    }
    let m = h.collect();
    let mut names: Vec<String> = m[names::FEATURE_USAGE]
        .points
        .keys()
        .map(|k| {
            k.iter()
                .find(|(key, _)| key == "feature_name")
                .unwrap()
                .1
                .clone()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["a_b", "emoji_", "quote_and_slash", "rtl_mark", "tab_here"]
    );
}
