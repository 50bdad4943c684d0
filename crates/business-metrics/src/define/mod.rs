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

#[doc(hidden)]
pub mod __private {
    pub use super::names::check_values;
}
