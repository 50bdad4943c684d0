//! Prometheus metric and label names, checked once so they can be put in PromQL as is.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Why a metric or label name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name was empty.
    #[error("empty {what} name; give one matching {pattern}")]
    Empty {
        /// `metric` or `label`.
        what: &'static str,
        /// The pattern names must match.
        pattern: &'static str,
    },
    /// The name did not match its pattern.
    #[error("invalid {what} name `{name}`: {reason}; give one matching {pattern}")]
    Invalid {
        /// `metric` or `label`.
        what: &'static str,
        /// The name given.
        name: String,
        /// Which character is wrong.
        reason: String,
        /// The pattern names must match.
        pattern: &'static str,
    },
}

/// One kind of name: what it is called, its pattern, and the characters it admits.
struct Rule {
    what: &'static str,
    pattern: &'static str,
    /// Whether `:` is admitted (metric names only).
    colon: bool,
}

const METRIC: Rule = Rule {
    what: "metric",
    pattern: "[a-zA-Z_:][a-zA-Z0-9_:]*",
    colon: true,
};

const LABEL: Rule = Rule {
    what: "label",
    pattern: "[a-zA-Z_][a-zA-Z0-9_]*",
    colon: false,
};

impl Rule {
    fn check(&self, name: &str) -> Result<(), NameError> {
        let admits = |c: char| c.is_ascii_alphabetic() || c == '_' || (self.colon && c == ':');
        let mut chars = name.char_indices();
        let Some((_, first)) = chars.next() else {
            return Err(NameError::Empty {
                what: self.what,
                pattern: self.pattern,
            });
        };
        let invalid = |reason: String| NameError::Invalid {
            what: self.what,
            name: name.to_owned(),
            reason,
            pattern: self.pattern,
        };
        if !admits(first) {
            return Err(invalid(format!("it starts with `{first}`")));
        }
        match chars.find(|&(_, c)| !(admits(c) || c.is_ascii_digit())) {
            Some((at, c)) => Err(invalid(format!("`{c}` at byte {at} is not allowed"))),
            None => Ok(()),
        }
    }
}

/// A Prometheus metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`, e.g.
/// `business_revenue_cents_total`. Safe to put in PromQL as is.
///
/// ```
/// use business_metrics_analysis::MetricName;
///
/// assert_eq!(MetricName::new("saas_mrr_cents")?.as_str(), "saas_mrr_cents");
/// assert!(MetricName::new("mrr{plan=\"pro\"}").is_err());
/// # Ok::<(), business_metrics_analysis::NameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct MetricName(String);

impl MetricName {
    /// Checks `name`.
    ///
    /// # Errors
    ///
    /// [`NameError`] says what is wrong with the name.
    pub fn new(name: &str) -> Result<Self, NameError> {
        METRIC.check(name)?;
        Ok(Self(name.to_owned()))
    }

    /// A name of this crate's own (a constant its tests check).
    pub(crate) fn known(name: &'static str) -> Self {
        Self(name.to_owned())
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Prometheus label name, `[a-zA-Z_][a-zA-Z0-9_]*`, e.g. `region`. Safe to put in
/// PromQL as is.
///
/// ```
/// use business_metrics_analysis::LabelName;
///
/// assert_eq!(LabelName::new("region")?.as_str(), "region");
/// assert!(LabelName::new("re-gion").is_err());
/// # Ok::<(), business_metrics_analysis::NameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LabelName(String);

impl LabelName {
    /// Checks `name`.
    ///
    /// # Errors
    ///
    /// [`NameError`] says what is wrong with the name.
    pub fn new(name: &str) -> Result<Self, NameError> {
        LABEL.check(name)?;
        Ok(Self(name.to_owned()))
    }

    /// `job`: the label of a scrape job, and of OpenTelemetry's `service.name`
    /// (with `service.namespace`) in Prometheus.
    #[must_use]
    pub fn job() -> Self {
        Self("job".to_owned())
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! name_traits {
    ($name:ident) => {
        impl FromStr for $name {
            type Err = NameError;

            fn from_str(name: &str) -> Result<Self, Self::Err> {
                Self::new(name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_traits!(MetricName);
name_traits!(LabelName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_admit_colons_and_label_names_do_not() {
        for good in [
            "a",
            "_a",
            ":a",
            "job:revenue:rate5m",
            "saas_mrr_cents",
            "A9_",
        ] {
            assert!(MetricName::new(good).is_ok(), "{good}");
        }
        for good in ["a", "_a", "region", "A9_", "__name__"] {
            assert!(LabelName::new(good).is_ok(), "{good}");
        }
        for bad in ["", "9a", "a-b", "a b", "a{b}", "é", "a\"}"] {
            assert!(MetricName::new(bad).is_err(), "{bad}");
            assert!(LabelName::new(bad).is_err(), "{bad}");
        }
        assert!(LabelName::new(":a").is_err());
        assert!(LabelName::new("a:b").is_err());
    }

    #[test]
    fn refusals_say_which_character_and_the_pattern() {
        let message = MetricName::new("mrr-eur").map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err(
                "invalid metric name `mrr-eur`: `-` at byte 3 is not allowed; \
                 give one matching [a-zA-Z_:][a-zA-Z0-9_:]*"
                    .to_owned()
            )
        );
        let message = LabelName::new("1region").map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err("invalid label name `1region`: it starts with `1`; \
                 give one matching [a-zA-Z_][a-zA-Z0-9_]*"
                .to_owned())
        );
    }
}
