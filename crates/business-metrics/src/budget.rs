//! Label budgets: how many distinct values of each free-form dimension an instance
//! keeps before it records new ones as [`LabelPolicy::OTHER`].
//!
//! An allowlist bounds a dimension a deployment knows in advance; a budget bounds
//! one it does not. The first values seen keep their own series, later new ones
//! share `other`, and each event recorded with a value folded that way is counted
//! on `business.label_budget_exhausted{dimension}`. Budgets are small enough that
//! the series of every built-in instrument stay below the exporter's cardinality
//! limit, so a flood of sources, regions or pages never reaches the SDK's overflow
//! series, which would merge every label, `funnel` and `step` included.
//!
//! [`LabelPolicy::OTHER`]: crate::LabelPolicy::OTHER

use std::borrow::Cow;

use opentelemetry::metrics::Counter;
use opentelemetry::KeyValue;

use crate::catalog::keys;
use crate::define::InstrumentDefinition;
use crate::labels::{Dimension, LabelPolicy};
use crate::series::{bytes_eq, SeriesCache};

/// How many distinct values of a dimension an instance keeps.
///
/// Set per dimension with
/// [`LabelPolicyBuilder::with_budget`](crate::LabelPolicyBuilder::with_budget).
/// Each [`BusinessMetrics`](crate::BusinessMetrics) instance (one per process) keeps
/// the first `n` distinct values, after the policy's trimming and sanitizing, that
/// it records for the dimension; later new values are recorded as `other`, and each
/// event recorded with such a value increments
/// `business.label_budget_exhausted{dimension}`. `other` itself, values refused by
/// the policy and the conversion types the catalog names take no room. A kept
/// value costs its length plus a few dozen bytes, so a budget's memory is bounded
/// by `n` times the policy's maximum length. Values already kept are checked
/// without a lock or a shared write; combinations already cached skip the check.
///
/// # The default budgets
///
/// Each instrument's series are the product of its dimensions' value counts: a
/// budget of `n` allows `n + 1` values (`other` included), closed sets their own.
/// With the defaults, the built-in catalog's worst cases against the exporter's
/// default limit of 2000 series per instrument are:
///
/// | Instrument | Series at most |
/// |---|---|
/// | `business.funnel_step` | (6 checkout steps + 4 + 1 milestones) × 4 devices × (10 + 1) sources × (3 + 1) variants = 1936 |
/// | `business.conversions` | (`purchase` + 4 + 1 types) × (10 + 1) sources × 4 devices = 264 |
/// | `business.time_to_conversion` | `purchase` + 4 + 1 types = 6 |
/// | `business.revenue_cents` | (10 + 1) categories × (4 + 1) payment methods × (8 + 1) regions = 495 per currency: 1980 for 4 currencies |
/// | `business.order_value_cents` | (10 + 1) categories = 11 per currency |
/// | `business.revenue_per_minute_cents` | (8 + 1) regions = 9 per currency |
/// | `business.feature_usage` | (300 + 1) features × 3 tiers × 2 = 1806 |
/// | `business.session_duration` | (500 + 1) pages × 3 tiers = 1503 |
///
/// A service's own free-form attributes get [`DEFAULT_CUSTOM_BUDGET`] values each:
/// 31 series per closed combination for one such attribute, 961 for two. A service
/// that adds funnels (each step adds 176 series to `business.funnel_step` at the
/// defaults), uses more currencies or more free-form attributes lowers budgets with
/// [`LabelPolicyBuilder::with_budget`](crate::LabelPolicyBuilder::with_budget) or
/// raises the exporter's limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Budget {
    /// The first `n` distinct values (1 to [`Budget::MAX`]) keep their own series;
    /// later new ones are recorded as `other`.
    Values(usize),
    /// Every value keeps its own series (up to the exporter's cardinality limit,
    /// past which the SDK merges every label into its overflow series).
    Unlimited,
}

impl Budget {
    /// The largest budget a policy accepts: the values it keeps cost at most this
    /// many times the maximum value length in memory.
    pub const MAX: usize = 1 << 16;

    /// The built-in budget of a dimension (see [above](Budget#the-default-budgets)
    /// for the arithmetic behind each).
    #[must_use]
    pub const fn default_for(dimension: Dimension) -> Self {
        Self::Values(match dimension {
            Dimension::Source | Dimension::ProductCategory => 10,
            Dimension::ExperimentVariant => 3,
            Dimension::ConversionType | Dimension::PaymentMethod | Dimension::Milestone => 4,
            Dimension::Region => 8,
            Dimension::FeatureName => 300,
            Dimension::EntryPage => 500,
            Dimension::Custom(_) => DEFAULT_CUSTOM_BUDGET,
        })
    }
}

impl From<usize> for Budget {
    fn from(n: usize) -> Self {
        Self::Values(n)
    }
}

/// The built-in budget of each free-form attribute of a service's own instruments
/// ([`Dimension::Custom`]).
pub const DEFAULT_CUSTOM_BUDGET: usize = 30;

/// The dimensions of one event or one resolved combination whose values a budget
/// recorded as `other`. Empty (and without an allocation) for nearly every one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Folded(Vec<Dimension>);

impl Folded {
    pub(crate) fn push(&mut self, dimension: Dimension) {
        self.0.push(dimension.normalized());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Counts one event on `counter` (`business.label_budget_exhausted`) per folded
    /// dimension.
    #[inline]
    pub(crate) fn count(&self, counter: &Counter<u64>) {
        if !self.0.is_empty() {
            self.count_each(counter);
        }
    }

    #[cold]
    fn count_each(&self, counter: &Counter<u64>) {
        for d in &self.0 {
            counter.add(1, &[KeyValue::new(keys::DIMENSION, d.as_str())]);
        }
    }
}

/// The values each budgeted dimension has kept so far, for one instance.
///
/// Each dimension's values sit in an insert-only table: checking a value already
/// kept takes no lock and writes nothing shared; keeping a new one takes the
/// table's insert lock; once a table is full, new values are refused without it.
pub(crate) struct LabelBudgets {
    /// By position in [`Dimension::ALL`]; `None` when unlimited.
    built_in: [Option<SeriesCache<()>>; Dimension::ALL.len()],
    /// The service's own free-form attribute keys.
    custom: Box<[(&'static str, SeriesCache<()>)]>,
}

fn table(budget: Budget) -> Option<SeriesCache<()>> {
    match budget {
        Budget::Values(n) => Some(SeriesCache::new(n)),
        Budget::Unlimited => None,
    }
}

impl LabelBudgets {
    /// The tables of `policy`'s budgets, for the built-in dimensions and the
    /// free-form attributes of `definitions`.
    pub(crate) fn new(policy: &LabelPolicy, definitions: &[InstrumentDefinition]) -> Self {
        let built_in = Dimension::ALL.map(|d| table(policy.budget(d)));
        let mut custom: Vec<(&'static str, SeriesCache<()>)> = Vec::new();
        for a in definitions.iter().flat_map(|d| d.attributes) {
            if a.values.is_some() {
                continue;
            }
            if let Dimension::Custom(key) = Dimension::for_key(a.key) {
                if custom.iter().all(|(k, _)| *k != key) {
                    if let Some(t) = table(policy.budget(Dimension::Custom(key))) {
                        custom.push((key, t));
                    }
                }
            }
        }
        Self {
            built_in,
            custom: custom.into_boxed_slice(),
        }
    }

    #[inline]
    fn table(&self, dimension: Dimension) -> Option<&SeriesCache<()>> {
        match dimension.normalized() {
            Dimension::Custom(key) => self
                .custom
                .iter()
                .find(|(k, _)| std::ptr::eq(*k, key) || *k == key)
                .map(|(_, t)| t),
            d => {
                let i = Dimension::ALL.iter().position(|x| *x == d)?;
                self.built_in.get(i)?.as_ref()
            }
        }
    }

    /// `value` (already through the policy) if its dimension's budget keeps it,
    /// `other` and a note in `folded` if the budget is used up. `other` itself is
    /// always kept and takes no room.
    pub(crate) fn admit<'a>(
        &self,
        dimension: Dimension,
        value: Cow<'a, str>,
        folded: &mut Folded,
    ) -> Cow<'a, str> {
        let Some(table) = self.table(dimension) else {
            return value;
        };
        if bytes_eq(value.as_bytes(), LabelPolicy::OTHER.as_bytes()) {
            return value;
        }
        let key = [value.as_ref()];
        if table.get(&key).is_some()
            || (!table.is_full() && table.insert_with(&key, || ()).is_some())
        {
            return value;
        }
        folded.push(dimension);
        Cow::Borrowed(LabelPolicy::OTHER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budgets(policy: &LabelPolicy) -> LabelBudgets {
        LabelBudgets::new(policy, &[])
    }

    #[test]
    fn the_first_values_are_kept_and_later_ones_fold_into_other() {
        let policy = LabelPolicy::builder()
            .with_budget(Dimension::Source, 2)
            .build()
            .unwrap();
        let b = budgets(&policy);
        let mut folded = Folded::default();
        for v in ["a", "b", "a", "other", "b"] {
            assert_eq!(b.admit(Dimension::Source, Cow::Borrowed(v), &mut folded), v);
        }
        assert!(folded.is_empty());
        assert_eq!(
            b.admit(Dimension::Source, Cow::Borrowed("c"), &mut folded),
            "other"
        );
        assert_eq!(
            b.admit(Dimension::Custom("source"), Cow::Borrowed("d"), &mut folded),
            "other"
        );
        assert_eq!(folded, Folded(vec![Dimension::Source, Dimension::Source]));
        // Other dimensions have their own budgets.
        assert_eq!(
            b.admit(Dimension::Region, Cow::Borrowed("c"), &mut folded),
            "c"
        );
    }

    #[test]
    fn unlimited_and_allowlisted_dimensions_are_not_budgeted() {
        let policy = LabelPolicy::builder()
            .with_budget(Dimension::Region, Budget::Unlimited)
            .with_budget(Dimension::Source, 1)
            .with_allowlist(Dimension::Source, ["a", "b"])
            .build()
            .unwrap();
        let b = budgets(&policy);
        let mut folded = Folded::default();
        for i in 0..1_000 {
            let v = format!("r{i}");
            assert_eq!(
                b.admit(Dimension::Region, Cow::Owned(v.clone()), &mut folded),
                v
            );
        }
        for v in ["a", "b"] {
            assert_eq!(b.admit(Dimension::Source, Cow::Borrowed(v), &mut folded), v);
        }
        assert!(folded.is_empty());
    }

    #[test]
    fn custom_dimensions_have_the_budget_of_their_key() {
        use crate::define::{Attribute, Definition};
        const D: Definition<crate::define::kind::Counter, 2> = Definition::counter(
            "test.budgeted",
            "{thing}",
            "Things",
            &[Attribute::free("plan_family"), Attribute::free("region")],
        );
        let policy = LabelPolicy::builder()
            .with_budget(Dimension::Custom("plan_family"), 1)
            .build()
            .unwrap();
        let b = LabelBudgets::new(&policy, &[*D.definition()]);
        let mut folded = Folded::default();
        let key = Dimension::Custom("plan_family");
        assert_eq!(b.admit(key, Cow::Borrowed("smb"), &mut folded), "smb");
        assert_eq!(b.admit(key, Cow::Borrowed("ent"), &mut folded), "other");
        assert_eq!(folded, Folded(vec![key]));
        // A key no definition declares has no table.
        let unknown = Dimension::Custom("unknown");
        assert_eq!(b.admit(unknown, Cow::Borrowed("x"), &mut folded), "x");
    }

    #[test]
    fn the_default_budgets_keep_every_built_in_instrument_below_2000_series() {
        let v = |d: Dimension| match Budget::default_for(d) {
            Budget::Values(n) => n + 1,
            Budget::Unlimited => usize::MAX,
        };
        let devices = crate::DeviceType::ALL.len();
        let tiers = crate::UserTier::ALL.len();
        let checkout_steps = crate::CHECKOUT_STEP_VALUES.len();
        let funnel_step = (checkout_steps + v(Dimension::Milestone))
            * devices
            * v(Dimension::Source)
            * v(Dimension::ExperimentVariant);
        assert_eq!(funnel_step, 1936);
        let conversions = (1 + v(Dimension::ConversionType)) * v(Dimension::Source) * devices;
        assert_eq!(conversions, 264);
        let revenue_per_currency =
            v(Dimension::ProductCategory) * v(Dimension::PaymentMethod) * v(Dimension::Region);
        assert_eq!(4 * revenue_per_currency, 1980);
        assert_eq!(v(Dimension::FeatureName) * tiers * 2, 1806);
        assert_eq!(v(Dimension::EntryPage) * tiers, 1503);
        for n in [funnel_step, conversions, 4 * revenue_per_currency] {
            assert!(n < 2000);
        }
    }
}
