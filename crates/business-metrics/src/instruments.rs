//! The OpenTelemetry instruments of a catalog, created once per instance.

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, ObservableGauge};
use opentelemetry::{KeyValue, Value};

use crate::catalog::{keys, names};
use crate::custom::CustomInstrument;
use crate::define::Buckets;
use crate::registry::{Catalog, CatalogEntry};
use crate::revenue_window::RevenueWindow;
use crate::series::{CountedInstrument, CounterCells};

pub(crate) struct Instruments {
    pub(crate) funnel_step: CountedInstrument,
    pub(crate) conversions: CountedInstrument,
    pub(crate) time_to_conversion: Histogram<f64>,
    pub(crate) revenue: CountedInstrument,
    pub(crate) order_value: Histogram<u64>,
    pub(crate) feature_usage: CountedInstrument,
    pub(crate) session_duration: Histogram<f64>,
    pub(crate) active_users: Gauge<u64>,
    /// The crate's own reports stay synchronous counters: they are rare, and
    /// nothing records them from a hot path.
    pub(crate) rejected: Counter<u64>,
    pub(crate) label_budget_exhausted: Counter<u64>,
    /// The service's own instruments, by name.
    pub(crate) custom: HashMap<&'static str, Arc<CustomInstrument>>,
    // Held so the callbacks' registrations live as long as the instance.
    _revenue_per_minute: ObservableGauge<u64>,
}

/// Builds OpenTelemetry instruments from catalog entries.
pub(crate) struct Factory<'a> {
    pub(crate) meter: &'a Meter,
    pub(crate) catalog: &'a Catalog,
    /// How many attribute sets each counted instrument keeps a cell for.
    pub(crate) counter_series_limit: usize,
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

    /// A counter whose counts live in the crate's cells, reported by an observable
    /// counter of the same name.
    pub(crate) fn counted(&self, name: &'static str) -> CountedInstrument {
        CountedInstrument::new(
            self.meter,
            name,
            self.entry(name).map(|e| (e.unit, e.description)),
            Arc::new(CounterCells::new(self.counter_series_limit)),
        )
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
    pub(crate) fn new(f: &Factory<'_>, window: &Arc<RevenueWindow>, cache_capacity: usize) -> Self {
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
            funnel_step: f.counted(names::FUNNEL_STEP),
            conversions: f.counted(names::CONVERSIONS),
            time_to_conversion: f.f64_histogram(names::TIME_TO_CONVERSION),
            revenue: f.counted(names::REVENUE_CENTS),
            order_value: f.u64_histogram(names::ORDER_VALUE_CENTS),
            feature_usage: f.counted(names::FEATURE_USAGE),
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
        }
    }
}
