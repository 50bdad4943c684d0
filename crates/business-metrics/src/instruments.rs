//! The OpenTelemetry instruments of a catalog, created once per instance.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, ObservableGauge};
use opentelemetry::{KeyValue, Value};

use crate::catalog::{keys, names};
use crate::custom::CustomInstrument;
use crate::define::Buckets;
use crate::metrics::Inner;
use crate::registry::{Catalog, CatalogEntry};
use crate::revenue_window::RevenueWindow;

/// The name of the instrument whose callback flushes the counts held by cached
/// series before each collection. It never reports a value, so no reader exports it.
pub(crate) const PENDING_COUNTS: &str = "business.pending_counts";

pub(crate) struct Instruments {
    pub(crate) funnel_step: Counter<u64>,
    pub(crate) conversions: Counter<u64>,
    pub(crate) time_to_conversion: Histogram<f64>,
    pub(crate) revenue: Counter<u64>,
    pub(crate) order_value: Histogram<u64>,
    pub(crate) feature_usage: Counter<u64>,
    pub(crate) session_duration: Histogram<f64>,
    pub(crate) active_users: Gauge<u64>,
    pub(crate) rejected: Counter<u64>,
    pub(crate) label_budget_exhausted: Counter<u64>,
    /// The service's own instruments, by name.
    pub(crate) custom: HashMap<&'static str, Arc<CustomInstrument>>,
    // Held so the callbacks' registrations live as long as the instance.
    _revenue_per_minute: ObservableGauge<u64>,
    _pending_counts: ObservableGauge<u64>,
}

/// Builds OpenTelemetry instruments from catalog entries.
pub(crate) struct Factory<'a> {
    pub(crate) meter: &'a Meter,
    pub(crate) catalog: &'a Catalog,
}

impl Factory<'_> {
    fn entry(&self, name: &str) -> Option<&CatalogEntry> {
        self.catalog.entry(name)
    }

    pub(crate) fn counter(&self, name: &'static str) -> Counter<u64> {
        let b = self.meter.u64_counter(name);
        match self.entry(name) {
            Some(e) => b.with_unit(e.unit).with_description(e.description).build(),
            None => b.build(),
        }
    }

    pub(crate) fn gauge(&self, name: &'static str) -> Gauge<u64> {
        let b = self.meter.u64_gauge(name);
        match self.entry(name) {
            Some(e) => b.with_unit(e.unit).with_description(e.description).build(),
            None => b.build(),
        }
    }

    pub(crate) fn f64_histogram(&self, name: &'static str) -> Histogram<f64> {
        let mut b = self.meter.f64_histogram(name);
        if let Some(e) = self.entry(name) {
            b = b.with_unit(e.unit).with_description(e.description);
            if let Some(Buckets::Explicit(bounds)) = e.buckets {
                b = b.with_boundaries(bounds.to_vec());
            }
        }
        b.build()
    }

    pub(crate) fn u64_histogram(&self, name: &'static str) -> Histogram<u64> {
        let mut b = self.meter.u64_histogram(name);
        if let Some(e) = self.entry(name) {
            b = b.with_unit(e.unit).with_description(e.description);
            if let Some(Buckets::Explicit(bounds)) = e.buckets {
                b = b.with_boundaries(bounds.to_vec());
            }
        }
        b.build()
    }
}

impl Instruments {
    pub(crate) fn new(
        f: &Factory<'_>,
        window: &Arc<RevenueWindow>,
        inner: Weak<Inner>,
        cache_capacity: usize,
    ) -> Self {
        let observed = Arc::clone(window);
        let mut revenue_per_minute = f
            .meter
            .u64_observable_gauge(names::REVENUE_PER_MINUTE_CENTS);
        if let Some(e) = f.entry(names::REVENUE_PER_MINUTE_CENTS) {
            revenue_per_minute = revenue_per_minute
                .with_unit(e.unit)
                .with_description(e.description);
        }
        let revenue_per_minute = revenue_per_minute
            .with_callback(move |observer| {
                // Never panics or blocks for long: a short lock and arithmetic.
                for (region, currency, total) in observed.snapshot() {
                    observer.observe(
                        total,
                        &[
                            KeyValue::new(keys::REGION, Value::String(region.into())),
                            KeyValue::new(keys::CURRENCY, currency.code()),
                        ],
                    );
                }
            })
            .build();
        Self {
            funnel_step: f.counter(names::FUNNEL_STEP),
            conversions: f.counter(names::CONVERSIONS),
            time_to_conversion: f.f64_histogram(names::TIME_TO_CONVERSION),
            revenue: f.counter(names::REVENUE_CENTS),
            order_value: f.u64_histogram(names::ORDER_VALUE_CENTS),
            feature_usage: f.counter(names::FEATURE_USAGE),
            session_duration: f.f64_histogram(names::SESSION_DURATION),
            active_users: f.gauge(names::ACTIVE_USERS),
            rejected: f.counter(names::REJECTED_EVENTS),
            label_budget_exhausted: f.counter(names::LABEL_BUDGET_EXHAUSTED),
            custom: f
                .catalog
                .definitions()
                .iter()
                .map(|d| {
                    (
                        d.name,
                        Arc::new(CustomInstrument::new(f, d, cache_capacity)),
                    )
                })
                .collect(),
            _revenue_per_minute: revenue_per_minute,
            _pending_counts: pending_counts(f.meter, inner),
        }
    }
}

/// The instrument that flushes `inner`'s cached series whenever a reader collects.
/// It holds `inner` weakly: dropping the last handle flushes one last time.
fn pending_counts(meter: &Meter, inner: Weak<Inner>) -> ObservableGauge<u64> {
    meter
        .u64_observable_gauge(PENDING_COUNTS)
        .with_description(
            "Never reported: its callback hands the counts held by pre-resolved \
             series to their counters before each collection.",
        )
        .with_callback(move |_| {
            if let Some(inner) = inner.upgrade() {
                inner.flush();
            }
        })
        .build()
}
