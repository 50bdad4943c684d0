//! Label combinations resolved once and held by the caller: the cheapest way to
//! record on a hot path.

use crate::error::RecordError;
use crate::metrics::{
    check_amount, check_duration, checkout_step_index, BusinessMetrics, FunnelContext,
    FunnelSeries, Sale, SaleSeries, CHECKOUT_ERROR_INDEX,
};
use crate::series::Held;
use crate::types::CheckoutStep;

/// A funnel context validated and resolved once: its steps and purchases record
/// straight onto their series, with no label validation or lookup per call.
///
/// Created by [`BusinessMetrics::bind_funnel`]. Cheap to clone, `Send` and `Sync`:
/// keep one per context a service records often (with label discipline, the set is
/// small and known), like a [`CheckoutTracker`](crate::CheckoutTracker) that outlives
/// sessions.
#[derive(Clone, Debug)]
pub struct BoundFunnel {
    metrics: BusinessMetrics,
    funnel: Held<FunnelSeries>,
}

/// A sale combination (currency, category, payment method, region) validated and
/// resolved once. Created by [`BusinessMetrics::bind_sale`].
#[derive(Clone, Debug)]
pub struct BoundSale {
    metrics: BusinessMetrics,
    sale: Held<SaleSeries>,
}

impl BusinessMetrics {
    /// Validates a funnel context once and creates its checkout series at 0, as
    /// [`checkout`](Self::checkout) does.
    ///
    /// # Errors
    /// A source or experiment variant refused by the label policy; then nothing is
    /// recorded except the refusal on `business.rejected_events`.
    pub fn bind_funnel(&self, ctx: &FunnelContext<'_>) -> Result<BoundFunnel, RecordError> {
        let funnel = self.rejected(self.funnel(ctx))?;
        self.touch_funnel(funnel.get());
        Ok(BoundFunnel {
            metrics: self.clone(),
            funnel: Held::from_resolved(funnel),
        })
    }

    /// Validates a sale combination once.
    ///
    /// # Errors
    /// An unknown currency or a label value refused by the policy; then nothing is
    /// recorded except the refusal on `business.rejected_events`.
    pub fn bind_sale(&self, sale: &Sale<'_>) -> Result<BoundSale, RecordError> {
        let resolved = self.rejected(self.resolve_sale(sale))?;
        Ok(BoundSale {
            metrics: self.clone(),
            sale: Held::from_resolved(resolved),
        })
    }
}

impl BoundFunnel {
    #[inline]
    fn series(&self) -> Option<&FunnelSeries> {
        self.funnel.get(self.metrics.funnels())
    }

    /// Records a checkout step (`business.funnel_step`).
    #[inline]
    pub fn step(&self, step: CheckoutStep) {
        if let Some(funnel) = self.series() {
            self.metrics
                .add_checkout_step(funnel, checkout_step_index(step));
        }
    }

    /// Records `checkout_error`.
    pub fn checkout_failed(&self) {
        if let Some(funnel) = self.series() {
            self.metrics.add_checkout_step(funnel, CHECKOUT_ERROR_INDEX);
        }
    }

    /// Records a completed purchase, as
    /// [`CheckoutTracker::purchase_completed`](crate::CheckoutTracker::purchase_completed)
    /// does: the `order_confirmed` step, a `purchase` conversion taking
    /// `time_to_conversion_secs`, and the sale's revenue, order value and
    /// revenue-window amount.
    ///
    /// # Errors
    /// An amount of 0 or above [`MAX_AMOUNT_MINOR`](crate::MAX_AMOUNT_MINOR), or a
    /// negative, NaN or infinite duration; then nothing is recorded except the
    /// refusal on `business.rejected_events`.
    #[inline]
    pub fn purchase_completed(
        &self,
        sale: &BoundSale,
        amount_minor: u64,
        time_to_conversion_secs: f64,
    ) -> Result<(), RecordError> {
        let m = &self.metrics;
        let (amount, secs) = m.rejected(check_amount(amount_minor).and_then(|a| {
            Ok((
                a,
                check_duration("time_to_conversion", time_to_conversion_secs)?,
            ))
        }))?;
        if let Some(funnel) = self.series() {
            m.complete_purchase(funnel, secs);
        }
        sale.add(amount);
        Ok(())
    }
}

impl BoundSale {
    #[inline]
    fn add(&self, amount: u64) {
        let m = &self.metrics;
        if let Some(sale) = self.sale.get(m.sales()) {
            m.add_sale(amount, sale, m.now_coarse());
        }
    }

    /// Records a sale of `amount_minor`, as
    /// [`record_revenue`](BusinessMetrics::record_revenue) does.
    ///
    /// # Errors
    /// An amount of 0 or above [`MAX_AMOUNT_MINOR`](crate::MAX_AMOUNT_MINOR); then
    /// nothing is recorded except the refusal on `business.rejected_events`.
    #[inline]
    pub fn record(&self, amount_minor: u64) -> Result<(), RecordError> {
        let amount = self.metrics.rejected(check_amount(amount_minor))?;
        self.add(amount);
        Ok(())
    }
}
