//! The checkout funnel of one session.

use std::time::Instant;

use crate::error::RecordError;
use crate::metrics::{
    check_duration, checkout_step_index, seconds_between, BusinessMetrics, FunnelContext,
    FunnelSeries, Revenue, CHECKOUT_ERROR_INDEX,
};
use crate::series::Held;
use crate::types::CheckoutStep;

/// Records one session's way through the checkout funnel.
///
/// Created by [`BusinessMetrics::checkout`], which validates the context once and
/// creates the session's funnel series at 0; the steps themselves cannot fail.
#[derive(Clone, Debug)]
pub struct CheckoutTracker {
    metrics: BusinessMetrics,
    funnel: Held<FunnelSeries>,
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
        let funnel = self.rejected(self.funnel(ctx))?;
        self.touch_funnel(funnel.get());
        Ok(CheckoutTracker {
            metrics: self.clone(),
            funnel: Held::from_resolved(funnel),
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

    #[inline]
    fn funnel(&self) -> Option<&FunnelSeries> {
        self.funnel.get(self.metrics.funnels())
    }

    /// Records the checkout step at `index` of the funnel's step values.
    #[inline]
    fn record(&self, index: usize) {
        if let Some(funnel) = self.funnel() {
            self.metrics.add_checkout_step(funnel, index);
        }
    }

    /// Records a step of the funnel.
    #[inline]
    pub fn step(&self, step: CheckoutStep) {
        self.record(checkout_step_index(step));
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
        let now = m.now();
        let (secs, (amount, sale)) = m.rejected((|| {
            let secs = check_duration(
                "time_to_conversion",
                seconds_between(self.session_start, now),
            )?;
            Ok((secs, m.sale(revenue)?))
        })())?;
        if let Some(funnel) = self.funnel() {
            m.complete_purchase(funnel, secs);
        }
        m.add_sale(amount, sale.get(), now);
        Ok(())
    }

    /// Records a failed checkout (`checkout_error`).
    pub fn checkout_failed(&self) {
        self.record(CHECKOUT_ERROR_INDEX);
    }
}
