//! Definitions a service declares in its own words: funnels, closed sets of
//! attribute values, and business instruments. They join the built-in entries in
//! a [`Catalog`](crate::Catalog).

pub(crate) mod closed_set;
pub(crate) mod funnel;
pub(crate) mod instrument;
mod names;

pub use closed_set::{ClosedSet, ParseEnumError};
pub use funnel::{Funnel, FunnelDefinition, FunnelSettings, MILESTONE_PREFIX};
pub use instrument::{kind, Attribute, Buckets, DefinedKind, Definition, InstrumentDefinition};

/// Whether `s` is a label-safe name: `[a-z][a-z0-9_]*`, no `__`, no trailing
/// `_`, at most 64 bytes.
#[must_use]
pub const fn is_label_identifier(s: &str) -> bool {
    names::is_identifier(s)
}

#[doc(hidden)]
pub mod __private {
    pub use super::names::check_values;
}
