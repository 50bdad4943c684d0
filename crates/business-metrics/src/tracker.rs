//! One run through a funnel: [`FunnelTracker`], and the checkout's
//! [`CheckoutTracker`].

use std::fmt;
use std::marker::PhantomData;
use std::time::Instant;

use crate::define::Funnel;
use crate::error::RecordError;
use crate::funnel_series::FunnelSeries;
use crate::input::{FunnelContext, Revenue};
use crate::metrics::BusinessMetrics;
use crate::series::Resolved;
use crate::types::CheckoutStep;
use crate::validate::{check_duration, seconds_between};

/// Records one session's way through funnel `F`.
///
/// Created by [`BusinessMetrics::track`] (or [`BusinessMetrics::checkout`]), which
/// validates the context once and creates the funnel's series at 0; the steps
/// themselves cannot fail.
///
/// A tracker borrows the [`BusinessMetrics`] it came from: creating and dropping
/// one writes nothing that other threads' trackers read (no reference count), so a
/// tracker per request costs the same on every core of a busy machine. To keep a
/// session's run between requests (in a session store), turn it into a tracker
/// that owns its handles with [`into_owned`](Self::into_owned).
pub struct FunnelTracker<'m, F: Funnel> {
    metrics: Held<'m>,
    series: Resolved<'m, FunnelSeries>,
    session_start: Instant,
    _funnel: PhantomData<fn(F)>,
}

/// The instance a tracker records on: borrowed, or owned by a kept tracker.
#[derive(Clone)]
enum Held<'m> {
    Borrowed(&'m BusinessMetrics),
    Owned(BusinessMetrics),
}

impl Held<'_> {
    #[inline]
    fn get(&self) -> &BusinessMetrics {
        match self {
            Self::Borrowed(m) => m,
            Self::Owned(m) => m,
        }
    }
}

/// Records one session's way through the checkout funnel.
pub type CheckoutTracker<'m> = FunnelTracker<'m, CheckoutStep>;

impl<F: Funnel> Clone for FunnelTracker<'_, F> {
    fn clone(&self) -> Self {
        Self {
            metrics: self.metrics.clone(),
            series: self.series.clone(),
            session_start: self.session_start,
            _funnel: PhantomData,
        }
    }
}

impl<F: Funnel> fmt::Debug for FunnelTracker<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunnelTracker")
            .field("funnel", &F::DEFINITION.name)
            .field("series", self.series.get())
            .field("session_start", &self.session_start)
            .finish()
    }
}

impl BusinessMetrics {
    /// Starts tracking a run of funnel `F` for a session that started at
    /// `session_start` (an instant of this instance's [clock](Self::now)).
    ///
    /// # Errors
    /// A source or experiment variant refused by the label policy, or a funnel not
    /// in the instance's catalog.
    pub fn track<F: Funnel>(
        &self,
        ctx: &FunnelContext<'_>,
        session_start: Instant,
    ) -> Result<FunnelTracker<'_, F>, RecordError> {
        let series = self.rejected(self.funnel_series::<F>(ctx))?;
        series.get().touch(self.inner());
        Ok(FunnelTracker {
            metrics: Held::Borrowed(self),
            series,
            session_start,
            _funnel: PhantomData,
        })
    }

    /// Starts tracking a checkout: [`track`](Self::track) for [`CheckoutStep`].
    ///
    /// # Errors
    /// A source or experiment variant refused by the label policy.
    pub fn checkout(
        &self,
        ctx: &FunnelContext<'_>,
        session_start: Instant,
    ) -> Result<CheckoutTracker<'_>, RecordError> {
        self.track(ctx, session_start)
    }
}

impl<F: Funnel> FunnelTracker<'_, F> {
    /// The same run, owning its handles, to keep beyond the borrow of the
    /// instance (in a session store between requests). It costs one reference
    /// count each on the instance and the context's series.
    #[must_use]
    pub fn into_owned(self) -> FunnelTracker<'static, F> {
        FunnelTracker {
            metrics: Held::Owned(self.metrics.get().clone()),
            series: Resolved::Owned(self.series.into_arc()),
            session_start: self.session_start,
            _funnel: PhantomData,
        }
    }

    /// When the session started.
    #[must_use]
    pub fn session_start(&self) -> Instant {
        self.session_start
    }

    /// Records a step of the funnel.
    #[inline]
    pub fn step(&self, step: F) {
        self.series
            .get()
            .add_step(&self.metrics.get().inner().instruments, step.position());
    }

    /// Records a failed run: the funnel's error step.
    pub fn failed(&self) {
        self.series.get().add_step(
            &self.metrics.get().inner().instruments,
            self.series.get().error_position(),
        );
    }

    /// Records a completed run: the final step and the funnel's conversion, with
    /// the time since the session start.
    ///
    /// # Errors
    /// A session start in the future; then nothing is recorded.
    pub fn completed(&self) -> Result<(), RecordError> {
        let m = self.metrics.get();
        let secs = m.rejected(self.elapsed(m.now()))?;
        self.series.get().complete(m.inner(), secs);
        Ok(())
    }

    fn elapsed(&self, now: Instant) -> Result<f64, RecordError> {
        check_duration(
            "time_to_conversion",
            seconds_between(self.session_start, now),
        )
    }
}

impl FunnelTracker<'_, CheckoutStep> {
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
        let m = self.metrics.get();
        let now = m.now();
        let (secs, (amount, sale)) = m.rejected(
            self.elapsed(now)
                .and_then(|secs| Ok((secs, m.sale(revenue)?))),
        )?;
        self.series.get().complete(m.inner(), secs);
        sale.get().add(m.inner(), amount, now);
        Ok(())
    }

    /// Records a failed checkout (`checkout_error`).
    pub fn checkout_failed(&self) {
        self.failed();
    }
}
