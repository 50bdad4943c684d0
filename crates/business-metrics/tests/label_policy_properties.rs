//! Properties of the label policy over arbitrary input: it never panics, what it
//! returns is always a safe, bounded, stable label value, and each recording call
//! either records exactly one event or exactly one rejection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use business_metrics::catalog::names;
use business_metrics::{Dimension, LabelPolicy, RecordError, UserTier};
use proptest::prelude::*;

fn is_safe(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '@' | '+')
}

fn any_dimension() -> impl Strategy<Value = Dimension> {
    proptest::sample::select(Dimension::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn sanitized_values_are_safe_bounded_trimmed_and_stable(
        raw in "\\PC{0,80}|[ \\t\\n\\u{0}-\\u{1f}\\u{202e}a-z]{0,80}",
        max_len in 1usize..=LabelPolicy::MAX_MAX_LEN,
        dimension in any_dimension(),
    ) {
        let policy = LabelPolicy::builder().with_max_len(max_len).build().unwrap();
        let trimmed = raw.trim();
        match policy.apply(dimension, &raw) {
            Ok(value) => {
                prop_assert!(!value.is_empty());
                prop_assert!(value.len() <= max_len);
                prop_assert!(value.chars().all(is_safe), "{value:?}");
                prop_assert_eq!(value.chars().count(), trimmed.chars().count());
                // Applying the policy to its own output changes nothing.
                let again = policy.apply(dimension, &value).unwrap();
                prop_assert_eq!(again.as_ref(), value.as_ref());
            }
            Err(RecordError::EmptyValue { dimension: d }) => {
                prop_assert_eq!(d, dimension);
                prop_assert!(trimmed.is_empty());
            }
            Err(RecordError::ValueTooLong { dimension: d, len, max }) => {
                prop_assert_eq!(d, dimension);
                prop_assert_eq!((len, max), (trimmed.len(), max_len));
                prop_assert!(len > max);
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn allowlisted_dimensions_only_ever_yield_allowed_values_or_other(
        allowed in proptest::collection::vec("[a-z_]{1,12}", 1..6),
        raw in "\\PC{1,20}",
    ) {
        let policy = LabelPolicy::builder()
            .with_allowlist(Dimension::Source, allowed.clone())
            .build()
            .unwrap();
        if let Ok(value) = policy.apply(Dimension::Source, &raw) {
            prop_assert!(value == LabelPolicy::OTHER || allowed.iter().any(|a| a == value.as_ref()));
        }
        for a in &allowed {
            let value = policy.apply(Dimension::Source, a).unwrap();
            prop_assert_eq!(value.as_ref(), a.as_str());
        }
    }
}

#[test]
fn every_call_records_one_event_or_one_rejection_whatever_the_input() {
    let h = support::Harness::new();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    });
    let calls = std::cell::Cell::new(0u64);
    runner
        .run(&"\\PC{0,100}", |name| {
            let _ = h.metrics.record_feature_usage(&name, UserTier::Free, false);
            calls.set(calls.get() + 1);
            Ok(())
        })
        .unwrap();
    let m = h.collect();
    let recorded = m
        .get(names::FEATURE_USAGE)
        .map_or(0, support::Exported::total_u64);
    let rejected = m
        .get(names::REJECTED_EVENTS)
        .map_or(0, support::Exported::total_u64);
    assert_eq!(recorded + rejected, calls.get());
    assert!(calls.get() >= 256);
}
