//! Closed sets of attribute values: a service's own enums (its plans, its device
//! kinds) as label values, checked at compile time.

/// A value outside a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}; expected one of: {}", .expected.join(", "))]
pub struct ParseEnumError {
    kind: &'static str,
    value: String,
    expected: &'static [&'static str],
}

impl ParseEnumError {
    /// An error for `value`, shown by its first 64 characters.
    #[must_use]
    pub fn new(kind: &'static str, value: &str, expected: &'static [&'static str]) -> Self {
        Self {
            kind,
            value: value.chars().take(64).collect(),
            expected,
        }
    }

    /// Which set the value was parsed for (`device_type`, `step`, ...).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

/// An enum whose variants are the only values an attribute can take.
///
/// Implemented by [`closed_set!`](crate::closed_set) (and by
/// [`funnel!`](crate::funnel) for a funnel's steps); the values are checked at
/// compile time to be label-safe (`[a-z0-9_]`, at most 64 bytes) and distinct.
pub trait ClosedSet: Copy + Send + Sync + std::fmt::Debug + 'static {
    /// What the set is called in messages (`plan`, `device_type`).
    const KIND: &'static str;
    /// Every value, in declaration order.
    const VALUES: &'static [&'static str];
    /// The attribute value.
    fn label(self) -> &'static str;
}

/// Declares a closed set of attribute values: an enum with `ALL`, `as_str`,
/// `Display`, `FromStr` and [`ClosedSet`](crate::ClosedSet).
///
/// ```
/// business_metrics::closed_set! {
///     /// The plans a customer can be on.
///     pub enum Plan: "plan" {
///         /// Free.
///         Starter => "starter",
///         /// Per seat.
///         Team => "team",
///     }
/// }
/// assert_eq!(Plan::Team.as_str(), "team");
/// assert_eq!("starter".parse::<Plan>(), Ok(Plan::Starter));
/// ```
///
/// A value that is not label-safe, or a duplicate, stops the build:
///
/// ```compile_fail
/// business_metrics::closed_set! {
///     pub enum Bad: "bad" { A => "same", B => "same" }
/// }
/// ```
#[macro_export]
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The attribute value.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        const _: () = $crate::__private::check_values($kind, &[$($text),+]);

        impl $crate::ClosedSet for $name {
            const KIND: &'static str = $kind;
            const VALUES: &'static [&'static str] = &[$($text),+];

            #[inline]
            fn label(self) -> &'static str {
                self.as_str()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ParseEnumError;

            /// Parses the attribute value, exactly as `as_str` spells it.
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::ParseEnumError::new($kind, s, &[$($text),+])),
                }
            }
        }
    };
}
