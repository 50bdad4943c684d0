//! Funnel definitions: a funnel's name and its steps in order, each name checked once.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The built-in funnel's name (the `funnel` label of its steps).
pub const CHECKOUT_FUNNEL: &str = "checkout";

/// The checkout funnel's steps, in order.
pub const CHECKOUT_STEPS: [&str; 5] = [
    "cart_view",
    "shipping_info",
    "payment_info",
    "order_review",
    "order_confirmed",
];

/// The funnels whose order is known without asking Prometheus.
const BUILT_IN: [(&str, &[&str]); 1] = [(CHECKOUT_FUNNEL, &CHECKOUT_STEPS)];

/// The longest funnel or step name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// A step whose name ends so records an error (`checkout_error`); it is never a funnel step.
pub const ERROR_STEP_SUFFIX: &str = "_error";

/// A step whose name starts so records an engagement milestone; it is never a funnel step.
pub const MILESTONE_STEP_PREFIX: &str = "milestone_";

/// Why a funnel definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DefinitionError {
    /// A name was empty.
    #[error("empty {what} name; use lower-case letters, digits and underscores, e.g. `signup`")]
    EmptyName {
        /// `funnel` or `step`.
        what: &'static str,
    },
    /// A name was longer than [`MAX_NAME_BYTES`].
    #[error(
        "{what} name `{name}` is {len} bytes long, at most {max} are allowed; use a shorter name",
        max = MAX_NAME_BYTES
    )]
    NameTooLong {
        /// `funnel` or `step`.
        what: &'static str,
        /// The name given.
        name: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A name did not match `[a-z][a-z0-9_]*`.
    #[error(
        "invalid {what} name `{name}`: {reason}; use lower-case letters, digits and \
         underscores, starting with a letter, e.g. `signup` or `cart_view`"
    )]
    InvalidName {
        /// `funnel` or `step`.
        what: &'static str,
        /// The name given.
        name: String,
        /// Which character is wrong.
        reason: String,
    },
    /// Fewer than two steps were given.
    #[error(
        "a funnel needs at least 2 steps, {count} given; list them in funnel order, \
         e.g. `landing_view,signup_started`"
    )]
    TooFewSteps {
        /// How many were given.
        count: usize,
    },
    /// A step was given twice.
    #[error("step `{step}` is listed twice; list each step once, in funnel order")]
    DuplicateStep {
        /// The step.
        step: String,
    },
}

/// Checks `name` against `[a-z][a-z0-9_]*` and [`MAX_NAME_BYTES`].
fn check_name(what: &'static str, name: &str) -> Result<(), DefinitionError> {
    let mut chars = name.char_indices();
    let Some((_, first)) = chars.next() else {
        return Err(DefinitionError::EmptyName { what });
    };
    if name.len() > MAX_NAME_BYTES {
        return Err(DefinitionError::NameTooLong {
            what,
            name: name.to_owned(),
            len: name.len(),
        });
    }
    let invalid = |reason: String| DefinitionError::InvalidName {
        what,
        name: name.to_owned(),
        reason,
    };
    if !first.is_ascii_lowercase() {
        return Err(invalid(format!(
            "it starts with `{first}`, not a lower-case letter"
        )));
    }
    match chars.find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')) {
        Some((at, c)) => Err(invalid(format!(
            "`{c}` at byte {at} is not a lower-case letter, digit or underscore"
        ))),
        None => Ok(()),
    }
}

/// A funnel's name, the value of its steps' `funnel` label: `[a-z][a-z0-9_]*`, at most
/// [`MAX_NAME_BYTES`] bytes. Safe to put in a PromQL string or regular expression as is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct FunnelName(String);

impl FunnelName {
    /// Checks `name`.
    ///
    /// # Errors
    ///
    /// [`DefinitionError`] says what is wrong with the name.
    pub fn new(name: &str) -> Result<Self, DefinitionError> {
        check_name("funnel", name)?;
        Ok(Self(name.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for FunnelName {
    type Err = DefinitionError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::new(name)
    }
}

impl fmt::Display for FunnelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A step's name, the value of its `step` label: `[a-z][a-z0-9_]*`, at most
/// [`MAX_NAME_BYTES`] bytes. Safe to put in a PromQL string or regular expression as is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct StepName(String);

impl StepName {
    /// Checks `name`.
    ///
    /// # Errors
    ///
    /// [`DefinitionError`] says what is wrong with the name.
    pub fn new(name: &str) -> Result<Self, DefinitionError> {
        check_name("step", name)?;
        Ok(Self(name.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the step records an error (its name ends in [`ERROR_STEP_SUFFIX`]).
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.0.ends_with(ERROR_STEP_SUFFIX)
    }

    /// Whether the step records a milestone (its name starts with [`MILESTONE_STEP_PREFIX`]).
    #[must_use]
    pub fn is_milestone(&self) -> bool {
        self.0.starts_with(MILESTONE_STEP_PREFIX)
    }
}

impl FromStr for StepName {
    type Err = DefinitionError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::new(name)
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A funnel's steps in order: at least two, none twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FunnelSteps(Vec<StepName>);

impl FunnelSteps {
    /// Checks that there are at least two steps and none twice.
    ///
    /// # Errors
    ///
    /// [`DefinitionError::TooFewSteps`] or [`DefinitionError::DuplicateStep`].
    pub fn new(steps: impl IntoIterator<Item = StepName>) -> Result<Self, DefinitionError> {
        let steps: Vec<StepName> = steps.into_iter().collect();
        if steps.len() < 2 {
            return Err(DefinitionError::TooFewSteps { count: steps.len() });
        }
        let mut seen = BTreeSet::new();
        if let Some(step) = steps.iter().find(|s| !seen.insert(*s)) {
            return Err(DefinitionError::DuplicateStep {
                step: step.to_string(),
            });
        }
        Ok(Self(steps))
    }

    /// The steps in funnel order.
    #[must_use]
    pub fn as_slice(&self) -> &[StepName] {
        &self.0
    }
}

/// Parses `a,b,c` (spaces around names are ignored).
impl FromStr for FunnelSteps {
    type Err = DefinitionError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        let steps = list
            .split(',')
            .map(|s| StepName::new(s.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(steps)
    }
}

/// Writes `a,b,c`, what [`FunnelSteps::from_str`] reads.
impl fmt::Display for FunnelSteps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(StepName::as_str).collect();
        f.write_str(&names.join(","))
    }
}

/// Where a funnel's step order came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepsFrom {
    /// A definition: built in (checkout) or given by the caller (`--steps`).
    Definition,
    /// The step counts in Prometheus, largest first (see [`crate::discover_funnel`]).
    Prometheus,
}

impl fmt::Display for StepsFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Definition => "definition",
            Self::Prometheus => "prometheus",
        })
    }
}

/// A funnel to analyse: its name, its steps in order, and where that order came from.
///
/// ```
/// use business_metrics_analysis::{FunnelSpec, StepsFrom, CHECKOUT_STEPS};
///
/// let signup = FunnelSpec::parse("signup", &["landing_view", "signup_started", "subscribed"])?;
/// assert_eq!(signup.name().as_str(), "signup");
/// assert_eq!(signup.steps().as_slice().len(), 3);
/// assert_eq!(signup.steps_from(), StepsFrom::Definition);
///
/// let checkout = FunnelSpec::checkout();
/// assert_eq!(checkout.steps().to_string(), CHECKOUT_STEPS.join(","));
/// assert!(FunnelSpec::parse("signup", &["landing_view"]).is_err());
/// # Ok::<(), business_metrics_analysis::DefinitionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelSpec {
    name: FunnelName,
    steps: FunnelSteps,
    steps_from: StepsFrom,
}

impl FunnelSpec {
    /// A defined funnel.
    #[must_use]
    pub fn new(name: FunnelName, steps: FunnelSteps) -> Self {
        Self {
            name,
            steps,
            steps_from: StepsFrom::Definition,
        }
    }

    /// A defined funnel from plain strings.
    ///
    /// # Errors
    ///
    /// [`DefinitionError`]: a name is invalid, fewer than two steps, or a step twice.
    pub fn parse(name: &str, steps: &[&str]) -> Result<Self, DefinitionError> {
        let steps = steps
            .iter()
            .map(|s| StepName::new(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(FunnelName::new(name)?, FunnelSteps::new(steps)?))
    }

    /// The built-in checkout funnel ([`CHECKOUT_FUNNEL`], [`CHECKOUT_STEPS`]).
    #[must_use]
    pub fn checkout() -> Self {
        Self::built_in_unchecked(CHECKOUT_FUNNEL, &CHECKOUT_STEPS)
    }

    /// The built-in definition of `name`, if it has one (only `checkout` has).
    #[must_use]
    pub fn built_in(name: &FunnelName) -> Option<Self> {
        BUILT_IN
            .iter()
            .find(|(built_in, _)| *built_in == name.as_str())
            .map(|(built_in, steps)| Self::built_in_unchecked(built_in, steps))
    }

    /// The funnel `name` with the order read from Prometheus.
    pub(crate) fn read_from_prometheus(name: FunnelName, steps: FunnelSteps) -> Self {
        Self {
            name,
            steps,
            steps_from: StepsFrom::Prometheus,
        }
    }

    /// A definition from [`BUILT_IN`], whose names a unit test checks.
    fn built_in_unchecked(name: &str, steps: &[&str]) -> Self {
        Self::new(
            FunnelName(name.to_owned()),
            FunnelSteps(steps.iter().map(|s| StepName((*s).to_owned())).collect()),
        )
    }

    /// The funnel's name.
    #[must_use]
    pub fn name(&self) -> &FunnelName {
        &self.name
    }

    /// The steps in funnel order.
    #[must_use]
    pub fn steps(&self) -> &FunnelSteps {
        &self.steps
    }

    /// Where the order came from.
    #[must_use]
    pub fn steps_from(&self) -> StepsFrom {
        self.steps_from
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_error(name: &str) -> DefinitionError {
        match FunnelName::new(name) {
            Ok(n) => panic!("`{n}` was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn every_built_in_definition_passes_the_checks() {
        for (name, steps) in BUILT_IN {
            let checked = FunnelSpec::parse(name, steps).unwrap_or_else(|e| panic!("{e}"));
            let name = FunnelName::new(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(FunnelSpec::built_in(&name), Some(checked));
        }
        assert_eq!(
            FunnelSpec::checkout().steps().to_string(),
            "cart_view,shipping_info,payment_info,order_review,order_confirmed"
        );
        let signup = FunnelName::new("signup").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(FunnelSpec::built_in(&signup), None);
    }

    #[test]
    fn names_are_lower_case_letters_digits_and_underscores_starting_with_a_letter() {
        for good in ["a", "signup", "checkout_v2", "a_1_b", &"x".repeat(64)] {
            assert_eq!(
                FunnelName::new(good).map(|n| n.to_string()),
                Ok(good.to_owned())
            );
            assert_eq!(
                StepName::new(good).map(|n| n.to_string()),
                Ok(good.to_owned())
            );
        }
        assert_eq!(
            name_error(""),
            DefinitionError::EmptyName { what: "funnel" }
        );
        assert_eq!(
            name_error("Signup"),
            DefinitionError::InvalidName {
                what: "funnel",
                name: "Signup".to_owned(),
                reason: "it starts with `S`, not a lower-case letter".to_owned(),
            }
        );
        assert_eq!(
            name_error("sign-up").to_string(),
            "invalid funnel name `sign-up`: `-` at byte 4 is not a lower-case letter, digit or \
             underscore; use lower-case letters, digits and underscores, starting with a \
             letter, e.g. `signup` or `cart_view`"
        );
        for bad in ["1st", "_x", "a b", "a\"}", "a|b", "é", "sign.up"] {
            assert!(
                matches!(name_error(bad), DefinitionError::InvalidName { .. }),
                "{bad}"
            );
        }
        let long = "x".repeat(65);
        assert_eq!(
            name_error(&long),
            DefinitionError::NameTooLong {
                what: "funnel",
                name: long.clone(),
                len: 65,
            }
        );
        assert_eq!(
            StepName::new(&long).map_err(|e| e.to_string()),
            Err(format!(
                "step name `{long}` is 65 bytes long, at most 64 are allowed; use a shorter name"
            ))
        );
    }

    #[test]
    fn a_step_list_has_two_steps_or_more_and_none_twice() {
        let steps: FunnelSteps = "landing_view, signup_started,subscribed"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(steps.to_string(), "landing_view,signup_started,subscribed");
        assert_eq!(
            "landing_view".parse::<FunnelSteps>(),
            Err(DefinitionError::TooFewSteps { count: 1 })
        );
        assert_eq!(
            "a,b,a".parse::<FunnelSteps>(),
            Err(DefinitionError::DuplicateStep {
                step: "a".to_owned()
            })
        );
        assert_eq!(
            "a,,b".parse::<FunnelSteps>(),
            Err(DefinitionError::EmptyName { what: "step" })
        );
        assert!(matches!(
            "a,B".parse::<FunnelSteps>(),
            Err(DefinitionError::InvalidName { what: "step", .. })
        ));
        assert_eq!(
            FunnelSpec::parse("signup", &[]),
            Err(DefinitionError::TooFewSteps { count: 0 })
        );
    }

    #[test]
    fn error_and_milestone_steps_are_recognised_by_name() {
        let step = |name| StepName::new(name).unwrap_or_else(|e| panic!("{e}"));
        assert!(step("signup_error").is_error());
        assert!(!step("error_page").is_error());
        assert!(step("milestone_x").is_milestone());
        assert!(!step("first_milestone").is_milestone());
    }
}
