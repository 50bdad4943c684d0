//! Each instrument is exported with exactly the name, kind, unit, description,
//! attribute keys and bucket boundaries of its catalog entry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use business_metrics::catalog::{InstrumentKind, CATALOG};
use business_metrics::{
    ActiveWindow, DeviceType, Dimension, FunnelContext, LabelPolicy, Revenue, UserTier,
};
use support::Point;

#[test]
fn every_catalog_entry_is_exported_as_declared() {
    // One entry page kept: a second one is folded into `other` and counted.
    let h = support::Harness::with_policy(
        LabelPolicy::builder()
            .with_budget(Dimension::EntryPage, 1)
            .build()
            .unwrap(),
    );
    let m = &h.metrics;
    let checkout = m
        .checkout(&FunnelContext::new("direct", DeviceType::Mobile), m.now())
        .unwrap();
    checkout.cart_view();
    checkout
        .purchase_completed(&Revenue::new(1_234, "books", "card", "eu"))
        .unwrap();
    m.record_feature_usage("search", UserTier::Pro, true)
        .unwrap();
    m.record_session_end(3.0, UserTier::Pro, "/").unwrap();
    m.record_session_end(4.0, UserTier::Pro, "/pricing")
        .unwrap();
    m.set_active_users(ActiveWindow::Monthly, UserTier::Pro, 10);
    let _ = m.record_session_end(-3.0, UserTier::Pro, "/");

    let exported = h.collect();
    assert_eq!(exported.len(), CATALOG.len(), "{:?}", exported.keys());
    for d in CATALOG {
        let e = exported
            .get(d.name)
            .unwrap_or_else(|| panic!("{} not exported", d.name));
        assert_eq!(e.unit, d.unit, "{}", d.name);
        assert_eq!(e.description, d.description, "{}", d.name);
        let shape = match d.kind {
            InstrumentKind::Counter => "monotonic_sum",
            InstrumentKind::Histogram => "histogram",
            InstrumentKind::Gauge | InstrumentKind::ObservableGauge => "gauge",
            _ => unreachable!(),
        };
        assert_eq!(e.shape, shape, "{}", d.name);
        let mut keys: Vec<String> = d.attributes.iter().map(|k| (*k).to_owned()).collect();
        keys.sort();
        assert_eq!(e.key_sets(), [keys], "{}", d.name);
        for p in e.points.values() {
            if let Point::Histogram { bounds, .. } = p {
                assert_eq!(bounds, d.buckets, "{}", d.name);
            } else {
                assert!(!d.is_histogram(), "{}", d.name);
            }
        }
    }
}
