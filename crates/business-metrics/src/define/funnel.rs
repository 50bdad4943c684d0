//! Funnel definitions: a name, ordered steps (the service's own enum), an error
//! step, and the conversion recorded on completion.

use super::names::{contains, ends_with, is_identifier, starts_with};
use crate::define::closed_set::ClosedSet;

/// The prefix of engagement milestone steps (`milestone_<name>`); no funnel step
/// may start with it.
pub const MILESTONE_PREFIX: &str = "milestone_";

/// A funnel, as the catalog and the generated rules, alerts and dashboards see it.
///
/// Made by [`funnel!`](crate::funnel), which checks it at compile time; the
/// [`Catalog`](crate::Catalog) checks it again against the other funnels.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct FunnelDefinition {
    /// The `funnel` attribute value (`checkout`, `signup`).
    pub name: &'static str,
    /// The steps, in funnel order: the first is the entry, the last the conversion.
    pub steps: &'static [&'static str],
    /// The step recorded when a run of the funnel fails (ends in `_error`).
    pub error_step: &'static str,
    /// The `conversion_type` recorded when a run completes.
    pub conversion_type: &'static str,
    /// What the funnel measures, in a sentence (docs and dashboards).
    pub description: &'static str,
    /// The team that owns the funnel and answers its alerts.
    pub owner: &'static str,
    /// Alert when the conversion ratio (last step over first, 1 h) stays below this
    /// (0 to 1) for 15 minutes; `None`: no conversion alert.
    pub min_conversion_ratio: Option<f64>,
    /// How many entries an hour must see before the ratio alert may fire.
    pub min_hourly_entries: u64,
}

/// The settings of a [`funnel!`](crate::funnel) besides its steps; every field has a
/// default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FunnelSettings {
    /// The error step (default `<name>_error`).
    pub error_step: Option<&'static str>,
    /// The conversion type recorded on completion (default: the funnel's name).
    pub conversion_type: Option<&'static str>,
    /// Description (default empty).
    pub description: &'static str,
    /// Owner (default `unowned`).
    pub owner: &'static str,
    /// Conversion alert threshold, 0 to 1 (default none).
    pub min_conversion_ratio: Option<f64>,
    /// Entries an hour below which the ratio alert stays quiet (default 100).
    pub min_hourly_entries: u64,
}

impl FunnelSettings {
    /// The defaults.
    pub const DEFAULT: Self = Self {
        error_step: None,
        conversion_type: None,
        description: "",
        owner: "unowned",
        min_conversion_ratio: None,
        min_hourly_entries: 100,
    };
}

impl FunnelDefinition {
    /// A definition from its parts; `default_error_step` is `<name>_error`.
    #[must_use]
    pub const fn new(
        name: &'static str,
        steps: &'static [&'static str],
        default_error_step: &'static str,
        settings: FunnelSettings,
    ) -> Self {
        Self {
            name,
            steps,
            error_step: match settings.error_step {
                Some(s) => s,
                None => default_error_step,
            },
            conversion_type: match settings.conversion_type {
                Some(s) => s,
                None => name,
            },
            description: settings.description,
            owner: settings.owner,
            min_conversion_ratio: settings.min_conversion_ratio,
            min_hourly_entries: settings.min_hourly_entries,
        }
    }

    /// The first step: the funnel's entry.
    #[must_use]
    pub fn entry_step(&self) -> &'static str {
        self.steps.first().copied().unwrap_or(self.error_step)
    }

    /// The last step: the conversion.
    #[must_use]
    pub fn final_step(&self) -> &'static str {
        self.steps.last().copied().unwrap_or(self.error_step)
    }

    /// Every `step` value the funnel records: its steps in order, then the error step.
    pub fn step_values(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.steps
            .iter()
            .copied()
            .chain(std::iter::once(self.error_step))
    }

    /// What is wrong with the definition, if anything.
    #[must_use]
    pub const fn problem(&self) -> Option<&'static str> {
        if !is_identifier(self.name) {
            return Some("the funnel name must be [a-z][a-z0-9_]* (no `__`, no trailing `_`), at most 64 bytes");
        }
        if self.steps.len() < 2 {
            return Some("a funnel needs at least two steps: an entry and a conversion");
        }
        if !is_identifier(self.error_step) || !ends_with(self.error_step, "_error") {
            return Some("the error step must be an identifier ending in `_error`");
        }
        if !is_identifier(self.conversion_type) {
            return Some("the conversion type must be [a-z][a-z0-9_]*, at most 64 bytes");
        }
        if !is_identifier(self.owner) {
            return Some("the owner must be [a-z][a-z0-9_]*, at most 64 bytes");
        }
        if let Some(r) = self.min_conversion_ratio {
            if !(r > 0.0 && r < 1.0) {
                return Some("min_conversion_ratio is a ratio: above 0 and below 1");
            }
        }
        let mut steps = self.steps;
        while let [step, rest @ ..] = steps {
            if !is_identifier(step) {
                return Some("every step must be [a-z][a-z0-9_]* (no `__`, no trailing `_`), at most 64 bytes");
            }
            if starts_with(step, MILESTONE_PREFIX) || ends_with(step, "_error") {
                return Some(
                    "a step may not be named like a reserved one (`milestone_*`, `*_error`)",
                );
            }
            if contains(rest, step) {
                return Some("duplicate step name");
            }
            steps = rest;
        }
        None
    }

    /// Stops the build when the definition is wrong ([`funnel!`](crate::funnel)
    /// calls it in a `const` item).
    // Evaluated in `const` items: the panic is a build error naming the problem.
    #[allow(clippy::panic)]
    pub const fn check(&self) {
        if let Some(problem) = self.problem() {
            panic!("{}", problem);
        }
    }
}

/// A funnel's steps: an enum of the service's own, declared with
/// [`funnel!`](crate::funnel). Recording takes the enum, never a step string.
pub trait Funnel: ClosedSet {
    /// The definition: name, steps, error step, conversion.
    const DEFINITION: FunnelDefinition;
    /// The step's position in [`FunnelDefinition::steps`].
    fn position(self) -> usize;
}

/// Declares a funnel: an enum of its steps, in order, and its
/// [`FunnelDefinition`](crate::FunnelDefinition), checked at compile time.
///
/// The settings after the steps are [`FunnelSettings`](crate::FunnelSettings)
/// fields; each has a default (error step `<name>_error`, conversion type the
/// funnel's name).
///
/// ```
/// business_metrics::funnel! {
///     /// A SaaS product's signup.
///     pub enum SignupStep: "signup" {
///         /// The landing page is viewed: the entry.
///         LandingView => "landing_view",
///         /// The signup form is started.
///         SignupStarted => "signup_started",
///         /// A paid plan is chosen: the conversion.
///         Subscribed => "subscribed",
///     }
///     conversion_type: Some("subscription"),
///     owner: "growth",
///     min_conversion_ratio: Some(0.02),
/// }
/// use business_metrics::Funnel;
/// assert_eq!(SignupStep::DEFINITION.error_step, "signup_error");
/// assert_eq!(SignupStep::Subscribed.position(), 2);
/// ```
///
/// Duplicate steps, a step named like a reserved one (`milestone_*`, `*_error`), or
/// a name that is not `[a-z][a-z0-9_]*` stop the build:
///
/// ```compile_fail
/// business_metrics::funnel! {
///     pub enum Bad: "bad" { A => "cart_view", B => "cart_view" }
/// }
/// ```
///
/// ```compile_fail
/// business_metrics::funnel! {
///     pub enum Bad: "bad" { A => "start", B => "milestone_done" }
/// }
/// ```
#[macro_export]
macro_rules! funnel {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $funnel:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
        $( $key:ident : $value:expr ),* $(,)?
    ) => {
        $crate::closed_set! {
            $(#[$meta])*
            $vis enum $name : "step" {
                $( $(#[$vmeta])* $variant => $text ),+
            }
        }

        impl $crate::Funnel for $name {
            const DEFINITION: $crate::FunnelDefinition = $crate::FunnelDefinition::new(
                $funnel,
                &[$($text),+],
                concat!($funnel, "_error"),
                $crate::FunnelSettings { $($key: $value,)* ..$crate::FunnelSettings::DEFAULT },
            );

            #[inline]
            fn position(self) -> usize {
                self as usize
            }
        }

        const _: () = <$name as $crate::Funnel>::DEFINITION.check();
    };
}
