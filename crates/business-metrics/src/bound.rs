//! Label combinations resolved once and held by the caller: the cheapest way to
//! record on a hot path.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::define::Funnel;
use crate::error::RecordError;
use crate::funnel_series::FunnelSeries;
use crate::input::{FunnelContext, Sale};
use crate::metrics::BusinessMetrics;
use crate::sale_series::SaleSeries;
use crate::types::CheckoutStep;
use crate::validate::{check_amount, check_duration};

/// A context of funnel `F` (the checkout by default) validated and resolved once:
/// its steps and conversions record straight onto their series, with no label
/// validation or lookup per call.
///
/// Created by [`BusinessMetrics::bind`] or [`BusinessMetrics::bind_funnel`]. Cheap
/// to clone, `Send` and `Sync`: keep one per context a service records often (with
/// label discipline, the set is small and known).
pub struct BoundFunnel<F: Funnel = CheckoutStep> {
    metrics: BusinessMetrics,
    series: Arc<FunnelSeries>,
    _funnel: PhantomData<fn(F)>,
}

impl<F: Funnel> Clone for BoundFunnel<F> {
    fn clone(&self) -> Self {
        Self {
            metrics: self.metrics.clone(),
            series: Arc::clone(&self.series),
            _funnel: PhantomData,
        }
    }
}

impl<F: Funnel> fmt::Debug for BoundFunnel<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundFunnel")
            .field("funnel", &F::DEFINITION.name)
            .field("series", &self.series)
            .finish()
    }
}

/// A sale combination (currency, category, payment method, region) validated and
/// resolved once. Created by [`BusinessMetrics::bind_sale`].
#[derive(Clone)]
pub struct BoundSale {
    metrics: BusinessMetrics,
    series: Arc<SaleSeries>,
}

impl fmt::Debug for BoundSale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundSale").finish_non_exhaustive()
    }
}

impl BusinessMetrics {
    /// Validates a context of funnel `F` once and creates its series at 0, as
    /// [`track`](Self::track) does.
    ///
    /// # Errors
    /// A source or experiment variant refused by the label policy, or a funnel not
    /// in the catalog; then nothing is recorded except the refusal on
    /// `business.rejected_events`.
    pub fn bind<F: Funnel>(&self, ctx: &FunnelContext<'_>) -> Result<BoundFunnel<F>, RecordError> {
        let series = self.rejected(self.funnel_series::<F>(ctx))?;
        series.get().touch(self.inner());
        Ok(BoundFunnel {
            metrics: self.clone(),
            series: series.into_arc(),
            _funnel: PhantomData,
        })
    }

    /// Validates a checkout context once: [`bind`](Self::bind) for [`CheckoutStep`].
    ///
    /// # Errors
    /// A source or experiment variant refused by the label policy.
    pub fn bind_funnel(&self, ctx: &FunnelContext<'_>) -> Result<BoundFunnel, RecordError> {
        self.bind(ctx)
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
            series: resolved.into_arc(),
        })
    }
}

impl<F: Funnel> BoundFunnel<F> {
    /// Records a step (`business.funnel_step`).
    #[inline]
    pub fn step(&self, step: F) {
        self.series
            .add_step(&self.metrics.inner().instruments, step.position());
    }

    /// Records a failed run: the funnel's error step.
    pub fn failed(&self) {
        self.series.add_step(
            &self.metrics.inner().instruments,
            self.series.error_position(),
        );
    }

    /// Records a completed run: the final step and the funnel's conversion taking
    /// `time_to_conversion_secs`.
    ///
    /// # Errors
    /// A negative, NaN or infinite duration; then nothing is recorded except the
    /// refusal on `business.rejected_events`.
    #[inline]
    pub fn completed(&self, time_to_conversion_secs: f64) -> Result<(), RecordError> {
        let m = &self.metrics;
        let secs = m.rejected(check_duration(
            "time_to_conversion",
            time_to_conversion_secs,
        ))?;
        self.series.complete(m.inner(), secs);
        Ok(())
    }
}

impl BoundFunnel<CheckoutStep> {
    /// Records `checkout_error`.
    pub fn checkout_failed(&self) {
        self.failed();
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
        self.series.complete(m.inner(), secs);
        sale.add(amount);
        Ok(())
    }
}

impl BoundSale {
    #[inline]
    fn add(&self, amount: u64) {
        let m = &self.metrics;
        self.series.add(m.inner(), amount, m.now_coarse());
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
