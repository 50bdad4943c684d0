//! The series of one sale combination: revenue, order value and the revenue window.

use std::sync::{Arc, PoisonError};
use std::time::Instant;

use opentelemetry::{KeyValue, StringValue, Value};

use crate::budget::Folded;
use crate::catalog::keys;
use crate::currency::Currency;
use crate::metrics::Inner;
use crate::revenue_window::RegionSums;
use crate::series::{Binding, CounterSeries, HistogramSeries};

/// A validated sale's labels.
pub(crate) struct SaleLabels {
    pub(crate) currency: Currency,
    pub(crate) product_category: StringValue,
    pub(crate) payment_method: StringValue,
    pub(crate) region: StringValue,
    /// The dimensions a budget folded into `other`.
    pub(crate) folded: Folded,
}

/// The series of one sale combination (currency, category, payment method, region).
pub(crate) struct SaleSeries {
    revenue: CounterSeries,
    order_value: Arc<HistogramSeries<u64>>,
    region: Arc<RegionSums>,
    /// Counted once per sale on `business.label_budget_exhausted`.
    folded: Folded,
}

impl SaleSeries {
    pub(crate) fn new(inner: &Inner, labels: &SaleLabels, binding: Binding) -> Self {
        let i = &inner.instruments;
        let category = &labels.product_category;
        let order_value = || {
            Arc::new(HistogramSeries::new(
                &i.order_value,
                vec![
                    KeyValue::new(keys::PRODUCT_CATEGORY, Value::String(category.clone())),
                    KeyValue::new(keys::CURRENCY, labels.currency.code()),
                ],
                binding,
            ))
        };
        let order_value = match binding {
            // Bounded by the sales cache: one entry per cached category and currency.
            Binding::Bound => Arc::clone(
                inner
                    .order_values
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry((Arc::from(category.as_str()), labels.currency))
                    .or_insert_with(order_value),
            ),
            Binding::Unbound => order_value(),
        };
        Self {
            revenue: CounterSeries::new(
                &i.revenue.cells,
                vec![
                    KeyValue::new(keys::PRODUCT_CATEGORY, Value::String(category.clone())),
                    KeyValue::new(
                        keys::PAYMENT_METHOD,
                        Value::String(labels.payment_method.clone()),
                    ),
                    KeyValue::new(keys::REGION, Value::String(labels.region.clone())),
                    KeyValue::new(keys::CURRENCY, labels.currency.code()),
                ],
            ),
            order_value,
            region: inner.window.region(labels.region.as_str(), labels.currency),
            folded: labels.folded.clone(),
        }
    }

    /// Records a validated amount at `at` (an instant of the instance's clock).
    #[inline]
    pub(crate) fn add(&self, inner: &Inner, amount: u64, at: Instant) {
        self.order_value.record(amount);
        inner.window.add_at(&self.region, at, amount);
        self.revenue.add(amount);
        self.folded.count(&inner.instruments.label_budget_exhausted);
    }
}
