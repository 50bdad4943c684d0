//! Label discipline: what free-form attribute values may become.
//!
//! Attribute *keys* are fixed by the typed API. Attribute *values* that come from
//! callers' strings (traffic source, region, feature name, ...) pass through a
//! [`LabelPolicy`]: white space is trimmed, empty and overlong values are refused,
//! characters outside a safe set become `_`, and, where an allowlist is configured for
//! the dimension, anything outside it becomes [`LabelPolicy::OTHER`]. Where no
//! allowlist is, the dimension's [`Budget`] keeps the first distinct values and
//! records later new ones as `other` too (see [`Budget`] for the defaults).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use crate::budget::Budget;
use crate::catalog::keys;
use crate::error::{PolicyError, RecordError};

/// A free-form dimension whose values pass through the [`LabelPolicy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dimension {
    /// `source`: where the visitor came from (`google_ads`, `direct`, ...).
    Source,
    /// `experiment_variant`: the A/B variant (`control`, ...).
    ExperimentVariant,
    /// `conversion_type`: what converted (`purchase`, `signup`, ...).
    ConversionType,
    /// `product_category`.
    ProductCategory,
    /// `payment_method`.
    PaymentMethod,
    /// `region`.
    Region,
    /// `feature_name`.
    FeatureName,
    /// `entry_page`.
    EntryPage,
    /// The `<name>` of a `milestone_<name>` funnel step.
    Milestone,
    /// A free-form attribute of a service's own instrument, by its key (see
    /// [`Attribute::free`](crate::define::Attribute::free)).
    Custom(&'static str),
}

impl Dimension {
    /// Every built-in dimension, in declaration order.
    pub const ALL: [Self; 9] = [
        Self::Source,
        Self::ExperimentVariant,
        Self::ConversionType,
        Self::ProductCategory,
        Self::PaymentMethod,
        Self::Region,
        Self::FeatureName,
        Self::EntryPage,
        Self::Milestone,
    ];

    /// The attribute key this dimension fills (`milestone` for milestones, whose values
    /// land in `step`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Source => keys::SOURCE,
            Self::ExperimentVariant => keys::EXPERIMENT_VARIANT,
            Self::ConversionType => keys::CONVERSION_TYPE,
            Self::ProductCategory => keys::PRODUCT_CATEGORY,
            Self::PaymentMethod => keys::PAYMENT_METHOD,
            Self::Region => keys::REGION,
            Self::FeatureName => keys::FEATURE_NAME,
            Self::EntryPage => keys::ENTRY_PAGE,
            Self::Milestone => "milestone",
            Self::Custom(key) => key,
        }
    }
}

impl Dimension {
    /// The dimension that fills attribute `key`: a built-in one when the key is
    /// one of theirs (`region` is [`Dimension::Region`] on every instrument), or
    /// [`Dimension::Custom`]. Allowlists and recording both go through it, so one
    /// allowlist governs a key wherever it appears.
    #[must_use]
    pub fn for_key(key: &'static str) -> Self {
        Self::ALL
            .into_iter()
            .find(|d| *d != Self::Milestone && d.as_str() == key)
            .unwrap_or(Self::Custom(key))
    }

    /// The same dimension, a [`Custom`](Self::Custom) one named like a built-in
    /// one turned into it.
    #[must_use]
    pub fn normalized(self) -> Self {
        match self {
            Self::Custom(key) => Self::for_key(key),
            other => other,
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rules free-form label values pass through. Cheap to clone.
///
/// The default policy has no allowlists, a maximum length of
/// [`LabelPolicy::DEFAULT_MAX_LEN`] bytes and the built-in budgets
/// ([`Budget::default_for`]).
///
/// [`apply`](Self::apply) is stateless: it trims, checks, sanitizes and applies the
/// allowlists. Budgets are applied by the [`BusinessMetrics`](crate::BusinessMetrics)
/// instance the policy is given to, when it records: each instance keeps the first
/// values of each budgeted dimension it records (per process, as one instance is
/// built per process), and records later new ones as [`OTHER`](Self::OTHER),
/// counting each such event on `business.label_budget_exhausted{dimension}`.
#[derive(Clone, Debug)]
pub struct LabelPolicy {
    max_len: usize,
    allowlists: Arc<HashMap<Dimension, HashSet<String>>>,
    budgets: Arc<HashMap<Dimension, Budget>>,
}

impl Default for LabelPolicy {
    fn default() -> Self {
        Self {
            max_len: Self::DEFAULT_MAX_LEN,
            allowlists: Arc::new(HashMap::new()),
            budgets: Arc::new(HashMap::new()),
        }
    }
}

impl LabelPolicy {
    /// Default maximum length of a value, in bytes.
    pub const DEFAULT_MAX_LEN: usize = 64;
    /// Largest maximum length a policy accepts.
    pub const MAX_MAX_LEN: usize = 256;
    /// The value that replaces anything outside an allowlist.
    pub const OTHER: &'static str = "other";

    /// Starts a policy builder.
    #[must_use]
    pub fn builder() -> LabelPolicyBuilder {
        LabelPolicyBuilder::default()
    }

    /// The maximum length of a value, in bytes.
    #[must_use]
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The allowlist configured for a dimension, if any.
    #[must_use]
    #[inline]
    pub fn allowlist(&self, dimension: Dimension) -> Option<&HashSet<String>> {
        if self.allowlists.is_empty() {
            return None;
        }
        self.allowlists.get(&dimension.normalized())
    }

    /// The budget of a dimension: [`Budget::Unlimited`] where an allowlist bounds
    /// it, the one set with [`LabelPolicyBuilder::with_budget`], or
    /// [`Budget::default_for`] it.
    #[must_use]
    pub fn budget(&self, dimension: Dimension) -> Budget {
        let dimension = dimension.normalized();
        if self.allowlists.contains_key(&dimension) {
            return Budget::Unlimited;
        }
        self.budgets
            .get(&dimension)
            .copied()
            .unwrap_or(Budget::default_for(dimension))
    }

    /// Applies the policy's stateless rules to one raw value: trimming, the length
    /// cap, sanitizing and the allowlist. Budgets are applied when an instance
    /// records (see the type's documentation), so checking a value here takes no
    /// room in a budget.
    ///
    /// # Errors
    /// [`RecordError::EmptyValue`] when nothing but white space is left, and
    /// [`RecordError::ValueTooLong`] when the trimmed value exceeds the maximum length.
    pub fn apply<'a>(
        &self,
        dimension: Dimension,
        raw: &'a str,
    ) -> Result<Cow<'a, str>, RecordError> {
        let value = check_and_sanitize(dimension, raw, self.max_len)?;
        match self.allowlist(dimension) {
            Some(list) if !list.contains(value.as_ref()) => Ok(Cow::Borrowed(Self::OTHER)),
            _ => Ok(value),
        }
    }
}

/// [`is_safe`] for an ASCII byte (`false` for any other byte).
#[inline]
fn is_safe_ascii(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/' | b'@' | b'+')
}

fn is_safe(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '@' | '+')
}

fn check_and_sanitize(
    dimension: Dimension,
    raw: &str,
    max_len: usize,
) -> Result<Cow<'_, str>, RecordError> {
    // Visible ASCII at both ends: nothing to trim.
    let trimmed = match raw.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => raw,
        [only] if only.is_ascii_graphic() => raw,
        _ => raw.trim(),
    };
    if trimmed.is_empty() {
        return Err(RecordError::EmptyValue { dimension });
    }
    if trimmed.len() > max_len {
        return Err(RecordError::ValueTooLong {
            dimension,
            len: trimmed.len(),
            max: max_len,
        });
    }
    // Most values are short ASCII: check their bytes without decoding characters.
    if trimmed.bytes().all(is_safe_ascii) || trimmed.chars().all(is_safe) {
        Ok(Cow::Borrowed(trimmed))
    } else {
        Ok(Cow::Owned(
            trimmed
                .chars()
                .map(|c| if is_safe(c) { c } else { '_' })
                .collect(),
        ))
    }
}

/// Builds a [`LabelPolicy`].
#[derive(Debug, Default)]
pub struct LabelPolicyBuilder {
    max_len: Option<usize>,
    allowlists: Vec<(Dimension, Vec<String>)>,
    budgets: Vec<(Dimension, Budget)>,
}

impl LabelPolicyBuilder {
    /// Sets the maximum value length in bytes (1 to [`LabelPolicy::MAX_MAX_LEN`]).
    #[must_use]
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = Some(max_len);
        self
    }

    /// Restricts a dimension to these values; everything else becomes `other`.
    ///
    /// Values are sanitized like recorded ones, so `"Google Ads"` allows what
    /// `"Google Ads"` records as (`Google_Ads`). Calling it twice for one dimension
    /// adds to its list.
    #[must_use]
    pub fn with_allowlist<I, S>(mut self, dimension: Dimension, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowlists
            .push((dimension, values.into_iter().map(Into::into).collect()));
        self
    }

    /// Sets how many distinct values of a dimension keep their own series: a number
    /// (`with_budget(Dimension::Source, 50)`, 1 to [`Budget::MAX`]) or
    /// [`Budget::Unlimited`]. Later new values are recorded as `other`. A
    /// [`Dimension::Custom`] budget applies to that attribute key of every service
    /// instrument. A dimension with an allowlist has no budget: its list bounds it.
    /// Calling it twice for one dimension keeps the last.
    #[must_use]
    pub fn with_budget(mut self, dimension: Dimension, budget: impl Into<Budget>) -> Self {
        self.budgets.push((dimension, budget.into()));
        self
    }

    /// Builds the policy.
    ///
    /// # Errors
    /// [`PolicyError::InvalidConfig`] when the maximum length is 0 or above
    /// [`LabelPolicy::MAX_MAX_LEN`], an allowlist entry is empty or too long, or a
    /// budget is 0 or above [`Budget::MAX`].
    pub fn build(self) -> Result<LabelPolicy, PolicyError> {
        let max_len = self.max_len.unwrap_or(LabelPolicy::DEFAULT_MAX_LEN);
        if max_len == 0 || max_len > LabelPolicy::MAX_MAX_LEN {
            return Err(PolicyError::InvalidConfig {
                name: "max_len".into(),
                reason: format!(
                    "{max_len} is out of range; choose 1 to {}",
                    LabelPolicy::MAX_MAX_LEN
                ),
            });
        }
        let mut lists: HashMap<Dimension, HashSet<String>> = HashMap::new();
        for (dimension, values) in self.allowlists {
            let mut set = HashSet::with_capacity(values.len());
            for value in &values {
                let clean = check_and_sanitize(dimension, value, max_len).map_err(|e| {
                    PolicyError::InvalidConfig {
                        name: format!("allowlist.{dimension}"),
                        reason: format!("entry {value:?}: {e}"),
                    }
                })?;
                set.insert(clean.into_owned());
            }
            lists.entry(dimension.normalized()).or_default().extend(set);
        }
        let mut budgets = HashMap::new();
        for (dimension, budget) in self.budgets {
            if let Budget::Values(n) = budget {
                if n == 0 || n > Budget::MAX {
                    return Err(PolicyError::InvalidConfig {
                        name: format!("budget.{dimension}"),
                        reason: format!(
                            "{n} is out of range; choose 1 to {}, Budget::Unlimited, or an \
                             allowlist (an empty one records every value as other)",
                            Budget::MAX
                        ),
                    });
                }
            }
            budgets.insert(dimension.normalized(), budget);
        }
        Ok(LabelPolicy {
            max_len,
            allowlists: Arc::new(lists),
            budgets: Arc::new(budgets),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_values_pass_through_borrowed() {
        let p = LabelPolicy::default();
        let v = p.apply(Dimension::EntryPage, "/dashboard").unwrap();
        assert!(matches!(v, Cow::Borrowed("/dashboard")));
        assert_eq!(
            p.apply(Dimension::Source, "  google_ads \n").unwrap(),
            "google_ads"
        );
        assert_eq!(p.apply(Dimension::Region, "münchen").unwrap(), "münchen");
    }

    #[test]
    fn unsafe_characters_become_underscores() {
        let p = LabelPolicy::default();
        assert_eq!(
            p.apply(Dimension::Source, "Google Ads").unwrap(),
            "Google_Ads"
        );
        assert_eq!(
            p.apply(Dimension::Source, "a\u{0}b\u{7}c\"d{e}").unwrap(),
            "a_b_c_d_e_"
        );
        assert_eq!(p.apply(Dimension::Source, "x\u{202e}y").unwrap(), "x_y");
    }

    #[test]
    fn empty_and_overlong_values_are_refused() {
        let p = LabelPolicy::builder().with_max_len(8).build().unwrap();
        assert_eq!(
            p.apply(Dimension::Source, " \t "),
            Err(RecordError::EmptyValue {
                dimension: Dimension::Source
            })
        );
        assert_eq!(p.apply(Dimension::Region, "12345678").unwrap(), "12345678");
        assert_eq!(
            p.apply(Dimension::Region, "123456789"),
            Err(RecordError::ValueTooLong {
                dimension: Dimension::Region,
                len: 9,
                max: 8
            })
        );
        // Length is measured in bytes: four 2-byte characters fit, five do not.
        assert!(p.apply(Dimension::Region, "éééé").is_ok());
        assert!(p.apply(Dimension::Region, "ééééé").is_err());
    }

    #[test]
    fn allowlisted_dimensions_map_the_rest_to_other() {
        let p = LabelPolicy::builder()
            .with_allowlist(Dimension::Source, ["google_ads", "Direct Mail"])
            .with_allowlist(Dimension::Source, ["newsletter"])
            .build()
            .unwrap();
        assert_eq!(
            p.apply(Dimension::Source, "google_ads").unwrap(),
            "google_ads"
        );
        assert_eq!(
            p.apply(Dimension::Source, "newsletter").unwrap(),
            "newsletter"
        );
        assert_eq!(
            p.apply(Dimension::Source, "Direct Mail").unwrap(),
            "Direct_Mail"
        );
        assert_eq!(p.apply(Dimension::Source, "tiktok").unwrap(), "other");
        // Other dimensions are unaffected.
        assert_eq!(p.apply(Dimension::Region, "tiktok").unwrap(), "tiktok");
        // Validation still comes first.
        assert!(p.apply(Dimension::Source, "").is_err());
    }

    #[test]
    fn a_custom_dimension_named_like_a_built_in_one_is_that_one() {
        assert_eq!(Dimension::for_key("region"), Dimension::Region);
        assert_eq!(Dimension::for_key("plan"), Dimension::Custom("plan"));
        assert_eq!(
            Dimension::for_key("milestone"),
            Dimension::Custom("milestone")
        );
        let p = LabelPolicy::builder()
            .with_allowlist(Dimension::Custom("region"), ["eu"])
            .with_allowlist(Dimension::Custom("plan_family"), ["smb"])
            .build()
            .unwrap();
        assert_eq!(p.apply(Dimension::Region, "us").unwrap(), "other");
        assert_eq!(p.apply(Dimension::Custom("region"), "eu").unwrap(), "eu");
        assert_eq!(
            p.apply(Dimension::Custom("plan_family"), "ent").unwrap(),
            "other"
        );
    }

    #[test]
    fn bad_policy_settings_are_reported_by_name() {
        let err = LabelPolicy::builder().with_max_len(0).build().unwrap_err();
        assert!(err.to_string().contains("max_len"), "{err}");
        let err = LabelPolicy::builder()
            .with_max_len(257)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("1 to 256"), "{err}");
        let err = LabelPolicy::builder()
            .with_allowlist(Dimension::Region, ["eu", " "])
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("allowlist.region"), "{err}");
        for n in [0, Budget::MAX + 1] {
            let err = LabelPolicy::builder()
                .with_budget(Dimension::Custom("plan_family"), n)
                .build()
                .unwrap_err();
            assert!(err.to_string().contains("budget.plan_family"), "{err}");
            assert!(err.to_string().contains("choose 1 to 65536"), "{err}");
        }
    }

    #[test]
    fn budgets_are_the_defaults_unless_set_and_none_where_an_allowlist_is() {
        let p = LabelPolicy::builder()
            .with_budget(Dimension::Source, 50)
            .with_budget(Dimension::Custom("region"), Budget::Unlimited)
            .with_budget(Dimension::Custom("plan_family"), 2)
            .with_budget(Dimension::Custom("plan_family"), 3)
            .with_allowlist(Dimension::PaymentMethod, ["card"])
            .build()
            .unwrap();
        assert_eq!(p.budget(Dimension::Source), Budget::Values(50));
        assert_eq!(p.budget(Dimension::Region), Budget::Unlimited);
        assert_eq!(
            p.budget(Dimension::Custom("plan_family")),
            Budget::Values(3)
        );
        assert_eq!(p.budget(Dimension::PaymentMethod), Budget::Unlimited);
        assert_eq!(p.budget(Dimension::EntryPage), Budget::Values(500));
        assert_eq!(
            LabelPolicy::default().budget(Dimension::Custom("plan")),
            Budget::Values(crate::budget::DEFAULT_CUSTOM_BUDGET)
        );
    }
}
