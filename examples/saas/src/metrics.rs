//! [`SaasMetrics`]: the product's business instruments, with methods named in its
//! own words. Handlers record through it and nothing else.

use business_metrics::define::kind;
use business_metrics::{
    BusinessMetrics, DefinitionError, FunnelContext, FunnelTracker, Instrument, Money, RecordError,
};

use crate::definitions::{
    ChurnReason, Plan, SignupStep, CHURNED_SUBSCRIPTIONS, INVOICE_AMOUNT, MRR, SEATS,
    TRIALS_STARTED, TRIAL_TO_PAID_CONVERSION,
};

/// The instruments of the product's catalog, resolved once. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SaasMetrics {
    business: BusinessMetrics,
    mrr: Instrument<kind::MoneyGauge, 2>,
    seats: Instrument<kind::Gauge, 1>,
    churned: Instrument<kind::Counter, 2>,
    trials: Instrument<kind::Counter, 1>,
    invoices: Instrument<kind::MoneyHistogram, 1>,
}

impl SaasMetrics {
    /// The product's instruments on an instance built with [`crate::catalog`].
    ///
    /// # Errors
    /// [`DefinitionError::NotInCatalog`] when the instance was built with another
    /// catalog.
    pub fn new(business: BusinessMetrics) -> Result<Self, DefinitionError> {
        Ok(Self {
            mrr: business.instrument(&MRR)?,
            seats: business.instrument(&SEATS)?,
            churned: business.instrument(&CHURNED_SUBSCRIPTIONS)?,
            trials: business.instrument(&TRIALS_STARTED)?,
            invoices: business.instrument(&INVOICE_AMOUNT)?,
            business,
        })
    }

    /// The underlying instance (its label policy, its clock).
    pub fn business(&self) -> &BusinessMetrics {
        &self.business
    }

    /// Starts tracking a visitor's signup from now; records nothing yet. The run
    /// owns its handles, so the visit store can keep it between requests.
    ///
    /// # Errors
    /// A source or experiment variant refused by the label policy.
    pub fn signup(
        &self,
        visitor: &FunnelContext<'_>,
    ) -> Result<FunnelTracker<'static, SignupStep>, RecordError> {
        self.business
            .track(visitor, self.business.now())
            .map(FunnelTracker::into_owned)
    }

    /// A trial of `plan` was registered.
    ///
    /// # Errors
    /// Never for a plan of the enum; the signature is the instrument's.
    pub fn trial_started(&self, plan: Plan) -> Result<(), RecordError> {
        self.trials.add(1, [plan.as_str()])
    }

    /// A trial turned into a paid subscription after `trial_age_secs`.
    ///
    /// # Errors
    /// A negative, NaN or infinite age, or a context refused by the label policy.
    pub fn trial_converted(
        &self,
        visitor: &FunnelContext<'_>,
        trial_age_secs: f64,
    ) -> Result<(), RecordError> {
        self.business
            .record_conversion(TRIAL_TO_PAID_CONVERSION, visitor, trial_age_secs)
    }

    /// An invoice of `plan` was paid.
    ///
    /// # Errors
    /// An amount of 0 or one that does not fit exactly.
    pub fn invoice_paid(&self, plan: Plan, amount: Money) -> Result<(), RecordError> {
        self.invoices.record_amount(amount, [plan.as_str()])
    }

    /// A subscription of `plan` was cancelled for `reason`.
    ///
    /// # Errors
    /// Never for values of the enums; the signature is the instrument's.
    pub fn churned(&self, plan: Plan, reason: ChurnReason) -> Result<(), RecordError> {
        self.churned.add(1, [plan.as_str(), reason.as_str()])
    }

    /// Sets the monthly recurring revenue of `plan` in `region` (a value the label
    /// policy already passed) to `amount`.
    ///
    /// # Errors
    /// An amount that does not fit exactly, or a region the policy refuses.
    pub fn set_mrr(&self, plan: Plan, region: &str, amount: Money) -> Result<(), RecordError> {
        self.mrr.set(amount, [plan.as_str(), region])
    }

    /// Sets the number of paid seats of `plan`.
    ///
    /// # Errors
    /// Never for a plan of the enum; the signature is the instrument's.
    pub fn set_seats(&self, plan: Plan, seats: u64) -> Result<(), RecordError> {
        self.seats.set(seats, [plan.as_str()])
    }

    /// A customer on `plan` used a feature.
    ///
    /// # Errors
    /// An empty or overlong feature name.
    pub fn feature_used(
        &self,
        feature_name: &str,
        plan: Plan,
        is_new_user: bool,
    ) -> Result<(), RecordError> {
        self.business
            .record_feature_usage(feature_name, plan, is_new_user)
    }
}
