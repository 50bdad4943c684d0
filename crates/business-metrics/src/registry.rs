//! The catalog a service records with: the built-in entries plus the service's own
//! funnels and instruments, checked once when it is built.

use std::fmt;
use std::sync::Arc;

use crate::catalog::{self, InstrumentKind, MetricDescriptor, ValueType};
use crate::define::instrument::buckets_problem;
use crate::define::{Buckets, DefinedKind, FunnelDefinition, InstrumentDefinition};
use crate::types::CheckoutStep;
use crate::Funnel;

/// The `funnel` value engagement milestones are recorded under; no defined funnel
/// may use it.
pub const ENGAGEMENT_FUNNEL: &str = "engagement";

/// Suffixes that export paths add or read specially; an instrument name ending in
/// one would be spelled differently on some path, or collide with a histogram's
/// series.
const RESERVED_SUFFIXES: &[&str] = &[
    "_total", "_seconds", "_ratio", "_bucket", "_count", "_sum", "_info", "_created", "_bytes",
];

/// A definition the catalog refuses, naming the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DefinitionError {
    /// A funnel definition is wrong in itself.
    #[error("funnel {funnel:?}: {problem}")]
    InvalidFunnel {
        /// The funnel.
        funnel: String,
        /// What is wrong, and what to do.
        problem: String,
    },
    /// Two funnels share a name, or a step name is used by two funnels.
    #[error("funnel {funnel:?}: {problem}")]
    FunnelClash {
        /// The funnel added second.
        funnel: String,
        /// What it clashes with.
        problem: String,
    },
    /// A declared conversion type is not a label-safe name, or is taken.
    #[error("conversion type {conversion_type:?}: {problem}")]
    InvalidConversionType {
        /// The conversion type.
        conversion_type: String,
        /// What is wrong.
        problem: String,
    },
    /// An instrument definition is wrong in itself.
    #[error("instrument {name:?}: {problem}")]
    InvalidInstrument {
        /// The instrument's OpenTelemetry name.
        name: String,
        /// What is wrong, and what to do.
        problem: String,
    },
    /// An instrument's name, or its Prometheus spelling, is already taken.
    #[error("instrument {name:?}: its name or Prometheus name {prometheus_name:?} is already used by {other:?}; choose another name")]
    NameClash {
        /// The instrument added second.
        name: String,
        /// Its Prometheus name.
        prometheus_name: String,
        /// The entry it clashes with.
        other: String,
    },
    /// A bucket override names no histogram, or its buckets are wrong.
    #[error("buckets of {name:?}: {problem}")]
    InvalidBuckets {
        /// The instrument named.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// An instrument or funnel asked for by a recording call is not in the catalog
    /// the instance was built with.
    #[error("{what} {name:?} is not in this instance's catalog; add it with Catalog::builder() and build the instance with that catalog")]
    NotInCatalog {
        /// `funnel` or `instrument`.
        what: &'static str,
        /// Its name.
        name: String,
    },
}

/// Where a catalog entry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The crate's built-in entries.
    BuiltIn,
    /// A service's own definition.
    Service,
}

/// One instrument of a [`Catalog`]: everything known about its spelling.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CatalogEntry {
    /// OpenTelemetry instrument name.
    pub name: &'static str,
    /// Instrument kind.
    pub kind: InstrumentKind,
    /// Value type.
    pub value_type: ValueType,
    /// Unit.
    pub unit: &'static str,
    /// Description (the Prometheus `HELP` text).
    pub description: &'static str,
    /// Attribute keys, in order.
    pub attributes: Vec<&'static str>,
    /// Closed attributes and their values.
    pub closed_values: Vec<(&'static str, &'static [&'static str])>,
    /// Histogram aggregation; `None` for the rest.
    pub buckets: Option<Buckets>,
    /// Owning team.
    pub owner: &'static str,
    /// Alert condition in words.
    pub alert_threshold: Option<&'static str>,
    /// The Prometheus name on every export path.
    pub prometheus_name: String,
    /// Whether amounts are money (minor units with a `currency` attribute).
    pub money: bool,
    /// Built in or the service's.
    pub origin: Origin,
}

impl CatalogEntry {
    fn built_in(d: &MetricDescriptor) -> Self {
        Self {
            name: d.name,
            kind: d.kind,
            value_type: d.value_type,
            unit: d.unit,
            description: d.description,
            attributes: d.attributes.to_vec(),
            closed_values: Vec::new(),
            buckets: d.is_histogram().then_some(Buckets::Explicit(d.buckets)),
            owner: d.owner,
            alert_threshold: d.alert_threshold,
            prometheus_name: d.prometheus_name.to_owned(),
            money: d.attributes.contains(&catalog::keys::CURRENCY),
            origin: Origin::BuiltIn,
        }
    }

    fn service(d: &InstrumentDefinition) -> Self {
        let (kind, value_type) = match d.kind {
            DefinedKind::Counter | DefinedKind::MoneyCounter => {
                (InstrumentKind::Counter, ValueType::U64)
            }
            DefinedKind::Histogram => (InstrumentKind::Histogram, ValueType::F64),
            DefinedKind::MoneyHistogram => (InstrumentKind::Histogram, ValueType::U64),
            DefinedKind::Gauge | DefinedKind::MoneyGauge => (InstrumentKind::Gauge, ValueType::U64),
        };
        let mut attributes: Vec<&'static str> = d.attributes.iter().map(|a| a.key).collect();
        if d.kind.is_money() {
            attributes.push(catalog::keys::CURRENCY);
        }
        let mut entry = Self {
            name: d.name,
            kind,
            value_type,
            unit: d.unit,
            description: d.description,
            attributes,
            closed_values: d
                .attributes
                .iter()
                .filter_map(|a| a.values.map(|v| (a.key, v)))
                .collect(),
            buckets: d.buckets,
            owner: d.owner,
            alert_threshold: d.alert_threshold,
            prometheus_name: String::new(),
            money: d.kind.is_money(),
            origin: Origin::Service,
        };
        entry.prometheus_name = catalog::translate(entry.name, entry.unit, entry.kind);
        entry
    }

    /// Whether it is a histogram.
    #[must_use]
    pub fn is_histogram(&self) -> bool {
        self.kind == InstrumentKind::Histogram
    }

    /// The explicit bucket boundaries, if it has them.
    #[must_use]
    pub fn explicit_buckets(&self) -> Option<&'static [f64]> {
        match self.buckets {
            Some(Buckets::Explicit(b)) => Some(b),
            _ => None,
        }
    }
}

struct Inner {
    entries: Vec<CatalogEntry>,
    funnels: Vec<FunnelDefinition>,
    definitions: Vec<InstrumentDefinition>,
    conversion_types: Vec<&'static str>,
}

/// The union of the built-in entries and a service's own definitions: the single
/// source of truth for instruments, views, docs, rules, alerts and dashboards.
/// Cheap to clone.
///
/// ```
/// use business_metrics::{catalog::names, Catalog};
///
/// # fn main() -> Result<(), business_metrics::DefinitionError> {
/// // Trials convert over days, not minutes: time_to_conversion gets buckets to 30 days.
/// let catalog = Catalog::builder()
///     .with_buckets(names::TIME_TO_CONVERSION, &[3600.0, 86_400.0, 604_800.0, 2_592_000.0])
///     .build()?;
/// assert_eq!(catalog.funnels()[0].name, "checkout");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Catalog(Arc<Inner>);

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field(
                "funnels",
                &self.0.funnels.iter().map(|d| d.name).collect::<Vec<_>>(),
            )
            .field(
                "instruments",
                &self.0.entries.iter().map(|e| e.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for Catalog {
    /// The built-in catalog: the checkout funnel and the guide's instruments.
    fn default() -> Self {
        Self(Arc::new(Inner {
            entries: catalog::CATALOG
                .iter()
                .map(CatalogEntry::built_in)
                .collect(),
            funnels: vec![CheckoutStep::DEFINITION],
            definitions: Vec::new(),
            conversion_types: Vec::new(),
        }))
    }
}

impl Catalog {
    /// The built-in catalog: the checkout funnel and the guide's instruments.
    #[must_use]
    pub fn built_in() -> Self {
        Self::default()
    }

    /// Starts from the built-in catalog.
    #[must_use]
    pub fn builder() -> CatalogBuilder {
        CatalogBuilder::default()
    }

    /// Every instrument, built-in first.
    #[must_use]
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.0.entries
    }

    /// The entry of an instrument, by OpenTelemetry name.
    #[must_use]
    pub fn entry(&self, name: &str) -> Option<&CatalogEntry> {
        self.0.entries.iter().find(|e| e.name == name)
    }

    /// Every funnel, the checkout first.
    #[must_use]
    pub fn funnels(&self) -> &[FunnelDefinition] {
        &self.0.funnels
    }

    /// A funnel by name.
    #[must_use]
    pub fn funnel(&self, name: &str) -> Option<&FunnelDefinition> {
        self.0.funnels.iter().find(|f| f.name == name)
    }

    /// The funnel whose completion records `conversion_type`.
    #[must_use]
    pub fn funnel_converting_to(&self, conversion_type: &str) -> Option<&FunnelDefinition> {
        self.0
            .funnels
            .iter()
            .find(|f| f.conversion_type == conversion_type)
    }

    /// Every conversion type the catalog knows: each funnel's, then the ones
    /// declared on their own ([`CatalogBuilder::with_conversion_type`]).
    pub fn conversion_types(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0
            .funnels
            .iter()
            .map(|f| f.conversion_type)
            .chain(self.0.conversion_types.iter().copied())
    }

    /// The service's own instrument definitions.
    #[must_use]
    pub fn definitions(&self) -> &[InstrumentDefinition] {
        &self.0.definitions
    }

    pub(crate) fn definition(&self, name: &str) -> Option<&InstrumentDefinition> {
        self.0.definitions.iter().find(|d| d.name == name)
    }
}

/// Builds a [`Catalog`]: the built-in entries plus a service's definitions.
#[derive(Debug, Default)]
pub struct CatalogBuilder {
    conversion_types: Vec<&'static str>,
    funnels: Vec<FunnelDefinition>,
    instruments: Vec<InstrumentDefinition>,
    buckets: Vec<(String, Buckets)>,
}

impl CatalogBuilder {
    /// Adds a funnel declared with [`funnel!`](crate::funnel).
    #[must_use]
    pub fn with_funnel<F: Funnel>(self) -> Self {
        self.with_funnel_definition(F::DEFINITION)
    }

    /// Adds a funnel definition.
    #[must_use]
    pub fn with_funnel_definition(mut self, definition: FunnelDefinition) -> Self {
        self.funnels.push(definition);
        self
    }

    /// Declares a conversion type that no funnel records on completion (a trial
    /// converting to a paid plan), recorded with
    /// [`record_conversion`](crate::BusinessMetrics::record_conversion); the docs
    /// list it.
    #[must_use]
    pub fn with_conversion_type(mut self, conversion_type: &'static str) -> Self {
        self.conversion_types.push(conversion_type);
        self
    }

    /// Adds a service instrument (see [`Definition`](crate::define::Definition)).
    #[must_use]
    pub fn with_instrument(mut self, definition: impl AsRef<InstrumentDefinition>) -> Self {
        self.instruments.push(*definition.as_ref());
        self
    }

    /// Replaces a histogram's bucket boundaries, built-in or the service's.
    #[must_use]
    pub fn with_buckets(mut self, name: impl Into<String>, boundaries: &'static [f64]) -> Self {
        self.buckets
            .push((name.into(), Buckets::Explicit(boundaries)));
        self
    }

    /// Makes a histogram, built-in or the service's, a base-2 exponential one.
    #[must_use]
    pub fn with_exponential_buckets(
        mut self,
        name: impl Into<String>,
        max_size: u32,
        max_scale: i8,
    ) -> Self {
        self.buckets.push((
            name.into(),
            Buckets::Exponential {
                max_size,
                max_scale,
            },
        ));
        self
    }

    /// Checks every definition and builds the catalog.
    ///
    /// # Errors
    /// A [`DefinitionError`] naming the first problem: a funnel or instrument wrong
    /// in itself, a duplicate funnel, a step used by two funnels, a reserved name,
    /// a name (or Prometheus spelling) already taken, or a bucket override that
    /// names no histogram or has wrong boundaries.
    pub fn build(self) -> Result<Catalog, DefinitionError> {
        let base = Catalog::default();
        let mut funnels = base.0.funnels.clone();
        for f in self.funnels {
            add_funnel(&mut funnels, f)?;
        }
        let mut conversion_types: Vec<&'static str> = Vec::new();
        for c in self.conversion_types {
            let invalid = |problem: String| DefinitionError::InvalidConversionType {
                conversion_type: c.to_owned(),
                problem,
            };
            if !crate::define::is_label_identifier(c) {
                return Err(invalid(
                    "a conversion type must be [a-z][a-z0-9_]* (no `__`, no trailing `_`), at most 64 bytes".to_owned(),
                ));
            }
            if let Some(f) = funnels.iter().find(|f| f.conversion_type == c) {
                return Err(invalid(format!("funnel {:?} records it already", f.name)));
            }
            if conversion_types.contains(&c) {
                return Err(invalid("declared twice".to_owned()));
            }
            conversion_types.push(c);
        }
        let mut entries = base.0.entries.clone();
        for d in &self.instruments {
            if let Some(problem) = d.problem() {
                return Err(DefinitionError::InvalidInstrument {
                    name: d.name.to_owned(),
                    problem: problem.to_owned(),
                });
            }
            if let Some(suffix) = RESERVED_SUFFIXES.iter().find(|s| d.name.ends_with(*s)) {
                return Err(DefinitionError::InvalidInstrument {
                    name: d.name.to_owned(),
                    problem: format!(
                        "the name ends in {suffix:?}, which export paths add or read themselves; drop the suffix"
                    ),
                });
            }
            let entry = CatalogEntry::service(d);
            if let Some(other) = entries.iter().find(|e| {
                e.name == entry.name
                    || e.prometheus_name == entry.prometheus_name
                    || histogram_series_clash(e, &entry)
            }) {
                return Err(DefinitionError::NameClash {
                    name: entry.name.to_owned(),
                    prometheus_name: entry.prometheus_name,
                    other: other.name.to_owned(),
                });
            }
            entries.push(entry);
        }
        for (name, buckets) in self.buckets {
            let Some(entry) = entries.iter_mut().find(|e| e.name == name) else {
                return Err(DefinitionError::InvalidBuckets {
                    name,
                    problem: "no instrument of that name in the catalog".to_owned(),
                });
            };
            if !entry.is_histogram() {
                return Err(DefinitionError::InvalidBuckets {
                    name,
                    problem: "not a histogram".to_owned(),
                });
            }
            if let Some(problem) = buckets_problem(buckets) {
                return Err(DefinitionError::InvalidBuckets {
                    name,
                    problem: problem.to_owned(),
                });
            }
            entry.buckets = Some(buckets);
        }
        let mut definitions = self.instruments;
        for d in &mut definitions {
            if let Some(e) = entries.iter().find(|e| e.name == d.name) {
                d.buckets = e.buckets;
            }
        }
        Ok(Catalog(Arc::new(Inner {
            entries,
            funnels,
            definitions,
            conversion_types,
        })))
    }
}

/// Whether a histogram's `_bucket`, `_sum` or `_count` series would carry the
/// other entry's name.
fn histogram_series_clash(a: &CatalogEntry, b: &CatalogEntry) -> bool {
    let clash = |h: &CatalogEntry, o: &CatalogEntry| {
        h.is_histogram()
            && ["_bucket", "_sum", "_count"]
                .iter()
                .any(|s| o.prometheus_name == format!("{}{s}", h.prometheus_name))
    };
    clash(a, b) || clash(b, a)
}

fn add_funnel(
    funnels: &mut Vec<FunnelDefinition>,
    f: FunnelDefinition,
) -> Result<(), DefinitionError> {
    if let Some(problem) = f.problem() {
        return Err(DefinitionError::InvalidFunnel {
            funnel: f.name.to_owned(),
            problem: problem.to_owned(),
        });
    }
    let clash = |problem: String| DefinitionError::FunnelClash {
        funnel: f.name.to_owned(),
        problem,
    };
    if f.name == ENGAGEMENT_FUNNEL {
        return Err(clash(format!(
            "{ENGAGEMENT_FUNNEL:?} is reserved for engagement milestones; choose another name"
        )));
    }
    for other in funnels.iter() {
        if other.name == f.name {
            return Err(clash("a funnel of that name is already defined".to_owned()));
        }
        if let Some(step) = f
            .step_values()
            .find(|s| other.step_values().any(|o| o == *s))
        {
            return Err(clash(format!(
                "step {step:?} is already a step of funnel {:?}; step names are unique across funnels so that a query by step alone stays unambiguous",
                other.name
            )));
        }
        if other.conversion_type == f.conversion_type {
            return Err(clash(format!(
                "conversion type {:?} is already recorded by funnel {:?}",
                f.conversion_type, other.name
            )));
        }
    }
    funnels.push(f);
    Ok(())
}
