//! A self-contained HTML report: the charts of the analyses as inline SVG, with no
//! script, font or request at view time (its Content-Security-Policy forbids them).
//!
//! [`ReportData`] holds what the analyses found: the funnel per segment, the
//! experiment's variants, the technical and business series, their correlation and
//! the incident windows ([`IncidentWindow`]: given as `START/END`, or read from an
//! alert's `ALERTS` series with [`alert_windows`]), and an impact summary.
//! [`render_html`] draws it:
//!
//! - the funnel per segment (a bar per step on one scale, with drop-off);
//! - each variant's overall conversion with its 95 % Wilson interval against the
//!   control;
//! - the technical and the business series over time, incident windows shaded;
//! - the pairs at the best lag with the least-squares line, and the correlogram
//!   (r against lag, refused lags greyed);
//! - the impact summary.
//!
//! Every label (segment names, queries, units) is HTML-escaped; every chart has a
//! title, a description and axis titles with units; every data mark carries a
//! `data-mark` attribute.

mod bars;
mod charts;
mod html;
mod incidents;
mod svg;

use std::time::SystemTime;

use serde::Serialize;

pub use bars::block_bar;
pub use html::render_html;
pub use incidents::{alert_query, alert_windows, windows_from_samples, IncidentWindow};
pub use svg::escape;

use crate::client::Sample;
use crate::correlate::CorrelationReport;
use crate::funnel::FunnelReport;
use crate::units::Unit;

/// One series of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesData {
    /// The PromQL that gave it.
    pub query: String,
    /// Its unit.
    pub unit: Unit,
    /// Seconds between samples.
    pub step_seconds: f64,
    /// The samples, oldest first.
    pub samples: Vec<Sample>,
}

/// What an incident cost, in a headline and a few labelled figures, for the report's
/// impact section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactSummary {
    /// One sentence, e.g. `412 checkouts (9 %) lost during 3 incidents`.
    pub headline: String,
    /// Labelled figures, shown as a table.
    pub figures: Vec<(String, String)>,
}

/// Everything the report shows; a missing part is said to be missing, not drawn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportData {
    /// The page's title.
    pub title: String,
    /// The window analysed.
    pub window: (SystemTime, SystemTime),
    /// The funnel per segment.
    pub funnel: Option<FunnelReport>,
    /// The funnel by experiment variant, with its comparisons.
    pub experiment: Option<FunnelReport>,
    /// The technical series.
    pub technical: Option<SeriesData>,
    /// The business series.
    pub business: Option<SeriesData>,
    /// Their correlation.
    pub correlation: Option<CorrelationReport>,
    /// Incident windows, shaded on the series.
    pub incidents: Vec<IncidentWindow>,
    /// The impact summary.
    pub impact: Option<ImpactSummary>,
}
