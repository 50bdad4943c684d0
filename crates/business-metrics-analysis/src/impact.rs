//! Incident cost: the revenue (per currency), completions and conversion rate an
//! incident window had, against what the same window would have had without it.
//!
//! # The method
//!
//! For a window `W` = (start, end] and a baseline `B` = (start − baseline, start]
//! just before it (an hour by default), every figure (revenue in each currency, a
//! funnel's entries, its completions or a conversion type's count) is read as
//! Prometheus' `increase()` over `W` and over `B`, so counter resets are handled.
//! The same two windows are read on earlier days: 1 to `days` days back (the same
//! time of day) and 1 to `weeks` weeks back (the same time on the same weekday),
//! each evaluated exactly whole days (86 400 s, UTC) before; a day that is a whole
//! number of weeks back counts as a week. Then, per figure
//! ([`counterfactual::estimate`]):
//!
//! 1. each earlier window r estimates the window as `w_r · b₀ / b_r`: its increase
//!    scaled by the current baseline's increase over its own baseline's. Daily and
//!    weekly seasonality come from the earlier windows' shape; the ratio brings in
//!    today's level, so a growing business or a slow weekday is accounted for;
//! 2. the expectation is the median of these estimates;
//! 3. the interval comes from hold-outs: each earlier window is predicted from the
//!    others the same way (with its own baseline as the level), and `s`, the root
//!    mean square of the relative errors, gives the 95 % prediction interval
//!    `expected · (1 ± t·s)` with `t` Student's 97.5 % quantile at hold-outs − 1
//!    degrees of freedom (the lower end at least 0);
//! 4. with fewer than `min_references` earlier windows that have data (4 by
//!    default), the history is too short and no expectation is given; without
//!    anything recorded in the current baseline there is nothing to scale to.
//!
//! The loss is expected minus actual, its interval the expectation's interval minus
//! the actual. The conversion rate is completions over the funnel's first step,
//! during the window, over the baseline, and expected (expected completions over
//! expected entries), with a two-proportion test of the window against the baseline.
//! Money is never summed across currencies: each currency is its own figure, in its
//! own minor units, shown by its ISO 4217 exponent.
//!
//! Limits: days are UTC days, so a daylight-saving change in the history moves a
//! local-time peak by an hour in the references before it; an incident that began
//! before `start` lowers the baseline and so the expectation (move `start` back or
//! shorten the baseline); the baseline is one window, so on sparse figures (a few
//! events an hour) the interval is wide.
//!
//! ```
//! use std::time::Duration;
//! use business_metrics_analysis::impact::{ConversionType, ImpactRequest};
//! use business_metrics_analysis::time::{parse_time, Window};
//!
//! let start = parse_time("2026-03-11T14:00:00Z")?;
//! let end = parse_time("2026-03-11T14:30:00Z")?;
//! let window = Window::resolve(None, Some(start), Some(end), end)?;
//! let request = ImpactRequest::new(window)
//!     .with_conversion_type(ConversionType::new("purchase")?)
//!     .with_days(6)
//!     .with_weeks(4);
//! assert_eq!(request.references().len(), 10);
//! assert_eq!(
//!     request.completions_query(Duration::from_secs(1_800)),
//!     r#"sum(increase(business_conversions_total{conversion_type="purchase"}[1800s]))"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod counterfactual;
mod report;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::client::{format_labels, PrometheusClient};
use crate::definition::{FunnelSpec, StepName};
use crate::duration::format_promql_duration;
use crate::error::AnalysisError;
use crate::funnel::FUNNEL_METRIC;
use crate::matcher::{braces, continue_selector, LabelMatcher};
use crate::money::CurrencyLabel;
use crate::reading::{checked_u32, not_a_count};
use crate::revenue::{CURRENCY_LABEL, REVENUE_METRIC};
use crate::time::Window;

pub use counterfactual::{
    Estimate, Expectation, Reference, ReferenceKind, ReferenceReading, ScaledReference, CONFIDENCE,
};
pub use report::{ConversionChange, CountImpact, Figure, ImpactReport, MoneyImpact};

/// The conversions counter, labelled `conversion_type`.
pub const CONVERSIONS_METRIC: &str = "business_conversions_total";

/// The default baseline: the hour before the window.
pub const DEFAULT_BASELINE: Duration = Duration::from_secs(3_600);

/// The default number of day references (1 to 6 days back).
pub const DEFAULT_DAYS: u32 = 6;

/// The default number of week references (1 to 4 weeks back).
pub const DEFAULT_WEEKS: u32 = 4;

/// The default fewest earlier windows with data for an expectation.
pub const DEFAULT_MIN_REFERENCES: usize = 4;

const DAY_SECONDS: u64 = 86_400;

/// A `conversion_type` label value, `[a-z][a-z0-9_]*` (at most
/// [`crate::MAX_NAME_BYTES`] bytes), e.g. `purchase`. Safe to put in PromQL as is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ConversionType(String);

impl ConversionType {
    /// Checks `name`.
    ///
    /// # Errors
    ///
    /// [`AnalysisError::InvalidArgument`] naming what is wrong with it.
    pub fn new(name: &str) -> Result<Self, AnalysisError> {
        let invalid = |reason: &str| AnalysisError::InvalidArgument {
            name: format!("conversion type `{name}`"),
            reason: format!(
                "{reason}; use lower-case letters, digits and underscores, starting with a \
                 letter, e.g. purchase"
            ),
        };
        let mut bytes = name.bytes();
        match bytes.next() {
            None => return Err(invalid("it is empty")),
            Some(first) if !first.is_ascii_lowercase() => {
                return Err(invalid("it does not start with a lower-case letter"))
            }
            Some(_) => {}
        }
        if !bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(invalid("it has a character other than a-z, 0-9 and _"));
        }
        if name.len() > crate::definition::MAX_NAME_BYTES {
            return Err(invalid("it is too long"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The label value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ConversionType {
    type Err = AnalysisError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::new(name)
    }
}

impl fmt::Display for ConversionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What counts as a completion.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Completions {
    /// The funnel's last step (`order_confirmed` for checkout).
    LastStep,
    /// [`CONVERSIONS_METRIC`] of one `conversion_type`.
    Conversions(ConversionType),
}

/// An incident window and how its expectation is formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpactRequest {
    window: Window,
    baseline: Duration,
    days: u32,
    weeks: u32,
    min_references: usize,
    funnel: FunnelSpec,
    completions: Completions,
    /// The client's matchers (`job="checkout"`), added to every selector.
    matchers: Vec<LabelMatcher>,
}

impl ImpactRequest {
    /// The incident `window`, with the defaults: the hour before as baseline
    /// ([`DEFAULT_BASELINE`]), 6 days and 4 weeks of references, at least 4 with data,
    /// the checkout funnel and its last step as completions.
    #[must_use]
    pub fn new(window: Window) -> Self {
        Self {
            window,
            baseline: DEFAULT_BASELINE,
            days: DEFAULT_DAYS,
            weeks: DEFAULT_WEEKS,
            min_references: DEFAULT_MIN_REFERENCES,
            funnel: FunnelSpec::checkout(),
            completions: Completions::LastStep,
            matchers: Vec::new(),
        }
    }

    /// The baseline's length: the stretch just before the window whose level the
    /// earlier windows are scaled to.
    ///
    /// # Errors
    ///
    /// [`AnalysisError::InvalidArgument`] for a zero baseline.
    pub fn with_baseline(mut self, baseline: Duration) -> Result<Self, AnalysisError> {
        if baseline.is_zero() {
            return Err(AnalysisError::InvalidArgument {
                name: "baseline".to_owned(),
                reason: "it is zero; give the stretch before the window to scale by, e.g. 1h"
                    .to_owned(),
            });
        }
        self.baseline = baseline;
        Ok(self)
    }

    /// Day references: 1 to `days` days back.
    #[must_use]
    pub fn with_days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }

    /// Week references: 1 to `weeks` weeks back.
    #[must_use]
    pub fn with_weeks(mut self, weeks: u32) -> Self {
        self.weeks = weeks;
        self
    }

    /// The fewest earlier windows with data for an expectation (at least 3, the
    /// fewest the interval's hold-out needs).
    ///
    /// # Errors
    ///
    /// [`AnalysisError::InvalidArgument`] below 3.
    pub fn with_min_references(mut self, min: usize) -> Result<Self, AnalysisError> {
        if min < 3 {
            return Err(AnalysisError::InvalidArgument {
                name: "minimum references".to_owned(),
                reason: format!("{min} is below 3, the fewest an interval can be drawn from"),
            });
        }
        self.min_references = min;
        Ok(self)
    }

    /// The funnel whose first step counts entries (and whose last step counts
    /// completions unless [`ImpactRequest::with_conversion_type`] is given).
    #[must_use]
    pub fn with_funnel(mut self, funnel: FunnelSpec) -> Self {
        self.funnel = funnel;
        self
    }

    /// Counts completions as [`CONVERSIONS_METRIC`] of `conversion_type`.
    #[must_use]
    pub fn with_conversion_type(mut self, conversion_type: ConversionType) -> Self {
        self.completions = Completions::Conversions(conversion_type);
        self
    }

    /// The window.
    #[must_use]
    pub fn window(&self) -> Window {
        self.window
    }

    /// The baseline's length.
    #[must_use]
    pub fn baseline(&self) -> Duration {
        self.baseline
    }

    /// The funnel.
    #[must_use]
    pub fn funnel(&self) -> &FunnelSpec {
        &self.funnel
    }

    /// What counts as a completion.
    #[must_use]
    pub fn completions(&self) -> &Completions {
        &self.completions
    }

    /// The earlier windows, nearest first ([`Reference::set`]).
    #[must_use]
    pub fn references(&self) -> Vec<Reference> {
        Reference::set(self.days, self.weeks)
    }

    fn entry_step(&self) -> Option<&StepName> {
        self.funnel.steps().as_slice().first()
    }

    fn last_step(&self) -> Option<&StepName> {
        self.funnel.steps().as_slice().last()
    }

    /// Revenue per currency over `range`:
    /// `sum by (currency) (increase(business_revenue_cents_total[range]))`.
    #[must_use]
    pub fn revenue_query(&self, range: Duration) -> String {
        format!(
            "sum by ({CURRENCY_LABEL}) (increase({REVENUE_METRIC}{}[{}]))",
            braces(&self.matchers),
            format_promql_duration(range)
        )
    }

    /// The funnel's entries (its first step) over `range`.
    #[must_use]
    pub fn entries_query(&self, range: Duration) -> String {
        self.step_query(self.entry_step(), range)
    }

    /// Completions over `range`: the funnel's last step, or the conversion type.
    #[must_use]
    pub fn completions_query(&self, range: Duration) -> String {
        match &self.completions {
            Completions::LastStep => self.step_query(self.last_step(), range),
            Completions::Conversions(kind) => format!(
                "sum(increase({CONVERSIONS_METRIC}{{conversion_type=\"{kind}\"{}}}[{}]))",
                continue_selector(&self.matchers),
                format_promql_duration(range)
            ),
        }
    }

    fn step_query(&self, step: Option<&StepName>, range: Duration) -> String {
        // Funnel and step names are `[a-z][a-z0-9_]*`: nothing to escape.
        format!(
            "sum(increase({FUNNEL_METRIC}{{funnel=\"{}\", step=\"{}\"{}}}[{}]))",
            self.funnel.name(),
            step.map_or("", StepName::as_str),
            continue_selector(&self.matchers),
            format_promql_duration(range)
        )
    }

    /// What the completions are called in the report: `checkout completions
    /// (order_confirmed)` or `purchase conversions`.
    fn completions_name(&self) -> String {
        match &self.completions {
            Completions::LastStep => format!(
                "{} completions ({})",
                self.funnel.name(),
                self.last_step().map_or("", StepName::as_str)
            ),
            Completions::Conversions(kind) => format!("{kind} conversions"),
        }
    }
}

/// A figure's increase over windows ending whole days before a time, by days back.
type Daily = BTreeMap<u32, f64>;

/// What a figure holds, for its checks and messages.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Minor units of a currency.
    Money,
    /// A count of events.
    Count,
}

impl Kind {
    /// The data error for a value of this kind that is none.
    fn invalid(self, role: &str, query: &str, series: &str, reason: String) -> AnalysisError {
        let (role, query, series) = (role.to_owned(), query.to_owned(), series.to_owned());
        match self {
            Self::Money => AnalysisError::InvalidAmount {
                role,
                query,
                series,
                reason,
            },
            Self::Count => AnalysisError::InvalidCount {
                role,
                query,
                series,
                reason,
            },
        }
    }
}

/// Reads `promql` at `at` and at each whole day before it up to `max_days`, per
/// label set. Every value must be a count or an amount (finite, from 0 to 2^53).
async fn daily(
    client: &PrometheusClient,
    (role, kind): (&str, Kind),
    promql: &str,
    at: SystemTime,
    max_days: u32,
) -> Result<BTreeMap<BTreeMap<String, String>, Daily>, AnalysisError> {
    let day = Duration::from_secs(DAY_SECONDS);
    let first = at
        .checked_sub(day.saturating_mul(max_days))
        .filter(|t| *t >= UNIX_EPOCH)
        .ok_or_else(|| AnalysisError::InvalidArgument {
            name: "references".to_owned(),
            reason: format!("{max_days} days before the window reach before 1970"),
        })?;
    let at_seconds = at
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let series = client.query_range(promql, first, at, day).await?;
    let mut out = BTreeMap::new();
    for s in series {
        let mut values = Daily::new();
        for p in &s.samples {
            if let Some(reason) = not_a_count(p.value) {
                return Err(kind.invalid(role, promql, &format_labels(&s.labels), reason));
            }
            let back = checked_u32((at_seconds - p.timestamp) / 86_400.0);
            if let Some(back) = back.filter(|b| *b <= max_days) {
                values.insert(back, p.value);
            }
        }
        out.insert(s.labels, values);
    }
    Ok(out)
}

/// One figure from its daily readings of the window and of the baseline.
fn figure(
    window: &Daily,
    baseline: &Daily,
    references: &[Reference],
    min_references: usize,
) -> Figure {
    let readings: Vec<ReferenceReading> = references
        .iter()
        .filter_map(|r| {
            Some(ReferenceReading {
                reference: *r,
                window: *window.get(&r.days_back)?,
                baseline: *baseline.get(&r.days_back)?,
            })
        })
        .collect();
    let current_baseline = baseline.get(&0).copied();
    let expectation = counterfactual::estimate(
        current_baseline,
        &readings,
        min_references,
        references.len(),
    );
    let actual = window.get(&0).copied();
    Figure {
        actual: actual.unwrap_or(0.0).max(0.0),
        window_had_data: actual.is_some(),
        in_baseline: current_baseline,
        expectation,
    }
}

/// Refuses an expectation beyond what a figure can hold: an earlier window whose
/// baseline was near 0 scales its window by a huge ratio.
fn check_expectation(
    figure: &Figure,
    kind: Kind,
    role: &str,
    query: &str,
    series: &str,
) -> Result<(), AnalysisError> {
    let Some(e) = figure.expectation.estimate() else {
        return Ok(());
    };
    for value in [e.expected, e.low, e.high] {
        if let Some(reason) = not_a_count(value) {
            return Err(kind.invalid(
                role,
                query,
                series,
                format!(
                    "an expectation that is {}, from earlier windows whose baseline was near \
                     0",
                    reason.trim_start_matches("a ").trim_start_matches("an ")
                ),
            ));
        }
    }
    Ok(())
}

/// Measures the incident `request` describes: its window's revenue per currency,
/// completions, entries and conversion rate against their expectation.
///
/// # Errors
///
/// [`AnalysisError::InvalidArgument`] when fewer references are asked for than an
/// expectation needs or they reach before 1970, [`AnalysisError::EmptyResult`] when
/// neither revenue nor the funnel has data in the window or its references,
/// [`AnalysisError::InvalidAmount`] or [`AnalysisError::InvalidCount`] when a value
/// read (or an expectation drawn from them) is NaN, infinite, negative or above 2^53,
/// [`AnalysisError::Client`] when Prometheus is unreachable or refuses a query.
pub async fn impact(
    client: &PrometheusClient,
    request: &ImpactRequest,
) -> Result<ImpactReport, AnalysisError> {
    let references = request.references();
    if references.len() < request.min_references {
        return Err(AnalysisError::InvalidArgument {
            name: "references".to_owned(),
            reason: format!(
                "{} day(s) and {} week(s) give {} earlier windows, fewer than the {} an \
                 expectation needs; ask for more days or weeks",
                request.days,
                request.weeks,
                references.len(),
                request.min_references
            ),
        });
    }
    let max_days = references.iter().map(|r| r.days_back).max().unwrap_or(0);
    // Every selector keeps to the client's services (`--job checkout`).
    let request = &ImpactRequest {
        matchers: client.matchers().to_vec(),
        ..request.clone()
    };
    let window = request.window;
    let length = window.length();
    let read = |what: (&'static str, Kind), query: String, at: SystemTime| async move {
        let result = daily(client, what, &query, at, max_days).await;
        result.map(|series| (query, series))
    };
    let (revenue, entries, completions) = (
        ("revenue", Kind::Money),
        ("entries", Kind::Count),
        ("completions", Kind::Count),
    );
    let (revenue_query, revenue_w) =
        read(revenue, request.revenue_query(length), window.end).await?;
    let (revenue_b_query, revenue_b) = read(
        revenue,
        request.revenue_query(request.baseline),
        window.start,
    )
    .await?;
    let (entries_query, entries_w) =
        read(entries, request.entries_query(length), window.end).await?;
    let (entries_b_query, entries_b) = read(
        entries,
        request.entries_query(request.baseline),
        window.start,
    )
    .await?;
    let (completions_query, completions_w) =
        read(completions, request.completions_query(length), window.end).await?;
    let (completions_b_query, completions_b) = read(
        completions,
        request.completions_query(request.baseline),
        window.start,
    )
    .await?;
    // The queries an expectation is drawn from, named when it is absurd.
    let from = |w: &str, b: &str| format!("{w}; {b}");

    let min = request.min_references;
    let empty = Daily::new();
    let currencies: BTreeMap<String, ()> = revenue_w
        .keys()
        .chain(revenue_b.keys())
        .map(|labels| (labels.get(CURRENCY_LABEL).cloned().unwrap_or_default(), ()))
        .collect();
    let by_currency = |series: &BTreeMap<BTreeMap<String, String>, Daily>, code: &str| {
        series
            .iter()
            .find(|(labels, _)| labels.get(CURRENCY_LABEL).map_or("", String::as_str) == code)
            .map_or_else(Daily::new, |(_, d)| d.clone())
    };
    let revenue: Vec<MoneyImpact> = currencies
        .keys()
        .map(|code| {
            let figure = figure(
                &by_currency(&revenue_w, code),
                &by_currency(&revenue_b, code),
                &references,
                min,
            );
            let series =
                format_labels(&BTreeMap::from([(CURRENCY_LABEL.to_owned(), code.clone())]));
            check_expectation(
                &figure,
                Kind::Money,
                "revenue",
                &from(&revenue_query, &revenue_b_query),
                &series,
            )?;
            Ok(MoneyImpact {
                currency: CurrencyLabel::parse(code),
                figure,
            })
        })
        .collect::<Result<_, AnalysisError>>()?;
    // `sum(...)` gives one series without labels, or none.
    let single = |s: &BTreeMap<BTreeMap<String, String>, Daily>| {
        s.values().next().cloned().unwrap_or_else(|| empty.clone())
    };
    let (entries_w, entries_b) = (single(&entries_w), single(&entries_b));
    let (completions_w, completions_b) = (single(&completions_w), single(&completions_b));
    if revenue.is_empty()
        && completions_w.is_empty()
        && completions_b.is_empty()
        && entries_w.is_empty()
    {
        return Err(AnalysisError::EmptyResult {
            role: "impact".to_owned(),
            query: format!("{revenue_query}; {completions_query}"),
        });
    }
    let completions = CountImpact {
        name: request.completions_name(),
        figure: figure(&completions_w, &completions_b, &references, min),
    };
    let entries = CountImpact {
        name: format!(
            "{} entries ({})",
            request.funnel.name(),
            request.entry_step().map_or("", StepName::as_str)
        ),
        figure: figure(&entries_w, &entries_b, &references, min),
    };
    let none = format_labels(&BTreeMap::new());
    check_expectation(
        &completions.figure,
        Kind::Count,
        "completions",
        &from(&completions_query, &completions_b_query),
        &none,
    )?;
    check_expectation(
        &entries.figure,
        Kind::Count,
        "entries",
        &from(&entries_query, &entries_b_query),
        &none,
    )?;
    let conversion = ConversionChange::of(&entries.figure, &completions.figure);
    Ok(ImpactReport {
        window,
        baseline: request.baseline,
        days: request.days,
        weeks: request.weeks,
        references_requested: references.len(),
        min_references: min,
        funnel: request.funnel.name().clone(),
        revenue,
        completions,
        entries,
        conversion,
        queries: [revenue_query, entries_query, completions_query],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_time;

    fn request() -> ImpactRequest {
        let t = |s| parse_time(s).unwrap_or_else(|e| panic!("{e}"));
        let window = Window::resolve(
            None,
            Some(t("2026-03-11T14:00:00Z")),
            Some(t("2026-03-11T14:30:00Z")),
            UNIX_EPOCH,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        ImpactRequest::new(window)
    }

    #[test]
    fn queries_read_each_figure_as_an_increase() {
        let r = request();
        let half_hour = Duration::from_secs(1_800);
        assert_eq!(
            r.revenue_query(half_hour),
            "sum by (currency) (increase(business_revenue_cents_total[1800s]))"
        );
        assert_eq!(
            r.entries_query(half_hour),
            "sum(increase(business_funnel_step_total{funnel=\"checkout\", step=\"cart_view\"}[1800s]))"
        );
        assert_eq!(
            r.completions_query(half_hour),
            "sum(increase(business_funnel_step_total{funnel=\"checkout\", step=\"order_confirmed\"}[1800s]))"
        );
        let signup = FunnelSpec::parse("signup", &["landing_view", "subscribed"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.with_funnel(signup).completions_name(),
            "signup completions (subscribed)"
        );
    }

    #[test]
    fn the_clients_matchers_keep_every_selector_to_one_service() {
        let r = ImpactRequest {
            matchers: vec![LabelMatcher::job("checkout")],
            ..request()
        };
        let minute = Duration::from_secs(60);
        assert_eq!(
            r.revenue_query(minute),
            "sum by (currency) (increase(business_revenue_cents_total{job=\"checkout\"}[60s]))"
        );
        assert_eq!(
            r.entries_query(minute),
            "sum(increase(business_funnel_step_total{funnel=\"checkout\", step=\"cart_view\", job=\"checkout\"}[60s]))"
        );
        let purchase = ConversionType::new("purchase").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.with_conversion_type(purchase).completions_query(minute),
            "sum(increase(business_conversions_total{conversion_type=\"purchase\", job=\"checkout\"}[60s]))"
        );
    }

    #[test]
    fn conversion_types_are_label_values_that_need_no_escaping() {
        for good in ["purchase", "trial_start", "a1"] {
            assert!(ConversionType::new(good).is_ok(), "{good}");
        }
        for bad in ["", "Purchase", "1a", "a-b", "a\"}", &"a".repeat(65)] {
            assert!(
                matches!(
                    ConversionType::new(bad),
                    Err(AnalysisError::InvalidArgument { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn settings_below_what_an_interval_needs_are_refused() {
        assert!(request().with_min_references(2).is_err());
        assert!(request().with_baseline(Duration::ZERO).is_err());
        assert_eq!(request().with_days(0).with_weeks(2).references().len(), 2);
    }

    #[test]
    fn a_window_without_samples_counts_as_zero_against_its_references() {
        let references = Reference::set(4, 0);
        let mut window = Daily::new();
        let mut baseline = Daily::new();
        for d in 1..=4 {
            window.insert(d, 50.0);
            baseline.insert(d, 100.0);
        }
        baseline.insert(0, 120.0);
        let f = figure(&window, &baseline, &references, 4);
        assert!(!f.window_had_data);
        assert!(f.actual.abs() < f64::EPSILON);
        assert_eq!(f.expectation.estimate().map(|e| e.expected), Some(60.0));
    }
}
