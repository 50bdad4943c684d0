//! The checkout funnel of one session.

use std::time::Instant;

use crate::error::RecordError;
use crate::metrics::{seconds_between, BusinessMetrics, FunnelContext, FunnelLabels, Revenue};
use crate::types::{CheckoutStep, CHECKOUT_ERROR_STEP, PURCHASE_CONVERSION};
use opentelemetry::StringValue;

/// Records one session's way through the checkout funnel.
///
/// Created by [`BusinessMetrics::checkout`], which validates the context once and
/// creates the session's funnel series at 0; the steps themselves cannot fail.
#[derive(Clone, Debug)]
pub struct CheckoutTracker {
    metrics: BusinessMetrics,
    labels: FunnelLabels,
    session_start: Instant,
}

impl BusinessMetrics {
    /// Starts tracking a checkout for a session that started at `session_start`
    /// (an instant of this instance's [clock](Self::now)).
    ///
    /// # Errors
    /// A source or experiment variant refused by the label policy.
    pub fn checkout(
        &self,
        ctx: &FunnelContext<'_>,
        session_start: Instant,
    ) -> Result<CheckoutTracker, RecordError> {
        let labels = self.rejected(self.funnel_labels(ctx))?;
        self.touch_funnel(&labels);
        Ok(CheckoutTracker {
            metrics: self.clone(),
            labels,
            session_start,
        })
    }
}

impl CheckoutTracker {
    /// When the session started.
    #[must_use]
    pub fn session_start(&self) -> Instant {
        self.session_start
    }

    /// Records a step of the funnel.
    pub fn step(&self, step: CheckoutStep) {
        self.metrics
            .add_funnel_step(&self.labels, StringValue::from(step.as_str()));
    }

    /// Records `cart_view`: the funnel's entry.
    pub fn cart_view(&self) {
        self.step(CheckoutStep::CartView);
    }

    /// Records `shipping_info`.
    pub fn shipping_info(&self) {
        self.step(CheckoutStep::ShippingInfo);
    }

    /// Records `payment_info`.
    pub fn payment_info(&self) {
        self.step(CheckoutStep::PaymentInfo);
    }

    /// Records `order_review`.
    pub fn order_review(&self) {
        self.step(CheckoutStep::OrderReview);
    }

    /// Records a completed purchase: the `order_confirmed` step, a `purchase`
    /// conversion with the time since the session start, and the revenue.
    ///
    /// # Errors
    /// Anything [`BusinessMetrics::record_revenue`] refuses, or a session start in the
    /// future; then nothing is recorded.
    pub fn purchase_completed(&self, revenue: &Revenue<'_>) -> Result<(), RecordError> {
        let m = &self.metrics;
        let (sale, secs) = m.rejected((|| {
            let secs = crate::metrics::check_duration(
                "time_to_conversion",
                seconds_between(self.session_start, m.now()),
            )?;
            Ok((m.sale(revenue)?, secs))
        })())?;
        self.step(CheckoutStep::OrderConfirmed);
        m.add_conversion(&self.labels, StringValue::from(PURCHASE_CONVERSION), secs);
        m.add_sale(sale);
        Ok(())
    }

    /// Records a failed checkout (`checkout_error`).
    pub fn checkout_failed(&self) {
        self.metrics
            .add_funnel_step(&self.labels, StringValue::from(CHECKOUT_ERROR_STEP));
    }
}
