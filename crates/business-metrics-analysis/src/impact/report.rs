//! The impact report: its figures, the sentence a manager pastes into an incident
//! review, and its JSON with every figure as a number.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::counterfactual::{Estimate, Expectation, Reference, ReferenceKind, ScaledReference};
use crate::definition::FunnelName;
use crate::duration::format_duration;
use crate::money::{format_minor, CurrencyLabel};
use crate::stats::{self, ProportionTest};
use crate::time::{format_rfc3339, Window};

/// One figure over the window: what happened and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The increase over the window (0 when it had no samples).
    pub actual: f64,
    /// Whether the window had samples at all; without them (a target down the whole
    /// window) the actual is counted as 0.
    pub window_had_data: bool,
    /// The increase over the baseline just before the window.
    pub in_baseline: Option<f64>,
    /// The expectation.
    pub expectation: Expectation,
}

impl Figure {
    /// Expected minus actual, with its interval, when there is an expectation.
    #[must_use]
    pub fn loss(&self) -> Option<(f64, f64, f64)> {
        self.expectation.estimate().map(|e| {
            (
                e.expected - self.actual,
                e.low - self.actual,
                e.high - self.actual,
            )
        })
    }
}

/// Revenue in one currency, in its minor units.
#[derive(Debug, Clone, PartialEq)]
pub struct MoneyImpact {
    /// The currency label, read once.
    pub currency: CurrencyLabel,
    /// The figure, in minor units.
    pub figure: Figure,
}

/// A count: completions or entries.
#[derive(Debug, Clone, PartialEq)]
pub struct CountImpact {
    /// What is counted, e.g. `checkout completions (order_confirmed)`.
    pub name: String,
    /// The figure.
    pub figure: Figure,
}

/// The conversion rate (completions over entries) during the window, over the
/// baseline, and expected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversionChange {
    /// During the window (`None` without entries).
    pub during: Option<f64>,
    /// Over the baseline just before the window.
    pub before: Option<f64>,
    /// Expected completions over expected entries.
    pub expected: Option<f64>,
    /// `during − expected`, a fraction (−0.021 is 2.1 points down).
    pub change: Option<f64>,
    /// Two-proportion z-test: group 1 the baseline, group 2 the window.
    pub test: Option<ProportionTest>,
}

impl ConversionChange {
    /// The rates of `completions` over `entries`.
    #[must_use]
    pub fn of(entries: &Figure, completions: &Figure) -> Self {
        let rate = |c: f64, e: f64| (e > 0.0 && c.is_finite()).then(|| c / e);
        let during = rate(completions.actual, entries.actual);
        let before = completions
            .in_baseline
            .zip(entries.in_baseline)
            .and_then(|(c, e)| rate(c, e));
        let expected = completions
            .expectation
            .estimate()
            .zip(entries.expectation.estimate())
            .and_then(|(c, e)| rate(c.expected, e.expected));
        let test = completions
            .in_baseline
            .zip(entries.in_baseline)
            .and_then(|(cb, eb)| {
                let (cb, eb) = (count(cb), count(eb));
                let (c, e) = (count(completions.actual), count(entries.actual));
                stats::two_proportion_test(cb.min(eb), eb, c.min(e), e).ok()
            });
        Self {
            during,
            before,
            expected,
            change: during.zip(expected).map(|(d, x)| d - x),
            test,
        }
    }
}

/// A figure as a count for the proportion test; figures are checked on reading.
fn count(value: f64) -> u64 {
    crate::reading::clamped_u64(value)
}

/// A figure as whole units for display; figures are checked on reading.
fn signed(value: f64) -> i64 {
    crate::reading::clamped_i64(value)
}

/// What an incident cost: revenue per currency, completions, entries and the
/// conversion rate over a window, against their expectation.
///
/// Its text ([`fmt::Display`]) is a paragraph for an incident review; its JSON has
/// every figure as a number (money in minor and major units).
#[derive(Debug, Clone, PartialEq)]
pub struct ImpactReport {
    /// The incident window.
    pub window: Window,
    /// The baseline's length.
    pub baseline: Duration,
    /// Days asked for.
    pub days: u32,
    /// Weeks asked for.
    pub weeks: u32,
    /// Earlier windows asked for.
    pub references_requested: usize,
    /// Fewest with data for an expectation.
    pub min_references: usize,
    /// The funnel whose entries and completions are counted.
    pub funnel: FunnelName,
    /// Revenue per currency, sorted by currency label.
    pub revenue: Vec<MoneyImpact>,
    /// Completions.
    pub completions: CountImpact,
    /// The funnel's entries.
    pub entries: CountImpact,
    /// The conversion rate.
    pub conversion: ConversionChange,
    /// The PromQL of revenue, entries and completions over the window.
    pub queries: [String; 3],
}

impl ImpactReport {
    fn kinds_requested(&self, kind: ReferenceKind) -> usize {
        Reference::set(self.days, self.weeks)
            .iter()
            .filter(|r| r.kind == kind)
            .count()
    }

    /// The estimate the closing sentence describes: the completions', else the
    /// first one there is.
    fn leading_estimate(&self) -> Option<&Estimate> {
        self.completions
            .figure
            .expectation
            .estimate()
            .or_else(|| {
                self.revenue
                    .iter()
                    .find_map(|m| m.figure.expectation.estimate())
            })
            .or_else(|| self.entries.figure.expectation.estimate())
    }

    /// `(from 8 earlier windows)` when a figure's estimate used other references
    /// than the closing sentence says.
    fn usage_note(&self, estimate: &Estimate) -> String {
        match self.leading_estimate() {
            Some(lead)
                if (lead.days_used, lead.weeks_used)
                    != (estimate.days_used, estimate.weeks_used) =>
            {
                format!(" (from {} earlier windows)", estimate.references_used())
            }
            _ => String::new(),
        }
    }

    fn baseline_words(&self) -> String {
        if self.baseline == Duration::from_secs(3_600) {
            "the hour".to_owned()
        } else {
            format!("the {}", format_duration(self.baseline))
        }
    }

    fn missing(&self, expectation: &Expectation) -> String {
        match expectation {
            Expectation::HistoryTooShort {
                with_data,
                needed,
                requested,
            } => format!(
                "history too short for an expectation: {with_data} of {requested} earlier \
                 windows have data, {needed} needed"
            ),
            _ => format!(
                "nothing recorded in {} before, so no expectation",
                self.baseline_words()
            ),
        }
    }

    fn money_clause(&self, m: &MoneyImpact) -> String {
        let f = &m.figure;
        let actual = money(&m.currency, signed(f.actual));
        let Some(e) = f.expectation.estimate() else {
            return format!("{actual} ({})", self.missing(&f.expectation));
        };
        let amount = |v: f64| money(&m.currency, signed(v));
        let bare = |v: f64| bare_money(&m.currency, signed(v));
        let mut out = format!(
            "{actual} against an expected {} ({} to {}){}",
            amount(e.expected),
            amount(e.low),
            bare(e.high),
            self.usage_note(e)
        );
        {
            let actual = signed(f.actual);
            out.push_str(&difference(
                signed(e.expected) - actual,
                signed(e.low) - actual,
                signed(e.high) - actual,
                |v| money(&m.currency, v),
                |v| bare_money(&m.currency, v),
            ));
        }
        out
    }

    fn count_sentence(&self, c: &CountImpact) -> String {
        format!("{}: {}.", capitalised(&c.name), self.count_clause(c))
    }

    /// `1,000 against 2,500 expected (2,300 to 2,700), about 1,500 fewer (…)`.
    fn count_clause(&self, c: &CountImpact) -> String {
        let f = &c.figure;
        let actual = grouped_int(signed(f.actual));
        let Some(e) = f.expectation.estimate() else {
            return format!("{actual} ({})", self.missing(&f.expectation));
        };
        let mut out = format!(
            "{actual} against {} expected ({} to {}){}",
            grouped_int(signed(e.expected)),
            grouped_int(signed(e.low)),
            grouped_int(signed(e.high)),
            self.usage_note(e)
        );
        if let Some((loss, low, high)) = f.loss() {
            let n = |v: i64| grouped_int(v);
            let (loss, low, high) = (signed(loss), signed(low), signed(high));
            if low > 0 {
                out.push_str(&format!(
                    ", about {} fewer ({} to {})",
                    n(loss),
                    n(low),
                    n(high)
                ));
            } else if high < 0 {
                out.push_str(&format!(
                    ", about {} more ({} to {})",
                    n(-loss),
                    n(-high),
                    n(-low)
                ));
            } else {
                out.push_str(", within the expected range");
            }
        }
        out
    }

    fn conversion_sentence(&self) -> Option<String> {
        self.conversion_parts()
            .map(|(name, clause)| format!("{name} was {clause}."))
    }

    /// The conversion's name and `8.0% against an expected 10.0% (…)`, when the
    /// window had entries.
    fn conversion_parts(&self) -> Option<(String, String)> {
        let c = &self.conversion;
        let during = c.during?;
        let name = match self.completions.name.strip_prefix(self.funnel.as_str()) {
            Some(_) => format!(
                "{} conversion ({} to {})",
                capitalised(self.funnel.as_str()),
                step_of(&self.entries.name),
                step_of(&self.completions.name)
            ),
            None => format!(
                "Conversion ({} over {})",
                self.completions.name, self.entries.name
            ),
        };
        let before = c
            .before
            .map(|b| format!("{} in {} before", percent(b), self.baseline_words()));
        let against = match (c.expected, before) {
            (Some(x), Some(b)) => format!(" against an expected {} ({b})", percent(x)),
            (Some(x), None) => format!(" against an expected {}", percent(x)),
            (None, Some(b)) => format!(" against {b}"),
            (None, None) => String::new(),
        };
        Some((name, format!("{}{against}", percent(during))))
    }

    /// The report's key figures, labelled, for a table: revenue in each currency
    /// (`Revenue (USD)`), completions, entries, the conversion rate (when the window
    /// had entries) and where the expectation came from. Each value reads as in the
    /// paragraph ([`fmt::Display`]): actual against expected with its interval, and
    /// the loss or gain, or why there is no expectation.
    #[must_use]
    pub fn key_figures(&self) -> Vec<(String, String)> {
        let mut figures: Vec<(String, String)> = self
            .revenue
            .iter()
            .map(|m| {
                let code = match m.currency.code() {
                    "" => "no currency label".to_owned(),
                    code => code.to_owned(),
                };
                (format!("Revenue ({code})"), self.money_clause(m))
            })
            .collect();
        if figures.is_empty() {
            figures.push(("Revenue".to_owned(), "none recorded".to_owned()));
        }
        for count in [&self.completions, &self.entries] {
            figures.push((capitalised(&count.name), self.count_clause(count)));
        }
        if let Some(conversion) = self.conversion_parts() {
            figures.push(conversion);
        }
        figures.push(("Expectation".to_owned(), self.closing_sentence()));
        figures
    }

    fn closing_sentence(&self) -> String {
        let Some(e) = self.leading_estimate() else {
            return format!(
                "No expectation: fewer than {} of the {} earlier windows have data.",
                self.min_references, self.references_requested
            );
        };
        let days = self.kinds_requested(ReferenceKind::Day);
        let weeks = self.kinds_requested(ReferenceKind::Week);
        let plural = |n: usize, one: &str| {
            if n == 1 {
                format!("the last {one}")
            } else {
                format!("the last {n} {one}s")
            }
        };
        let mut parts = Vec::new();
        if days > 0 {
            parts.push(format!("{} of {}", e.days_used, plural(days, "day")));
        }
        if weeks > 0 {
            parts.push(format!("{} of {}", e.weeks_used, plural(weeks, "week")));
        }
        format!(
            "Expectation from the same window on {}, scaled by {} before.",
            parts.join(" and "),
            self.baseline_words()
        )
    }

    fn window_words(&self) -> String {
        let (start, end) = (
            format_rfc3339(self.window.start),
            format_rfc3339(self.window.end),
        );
        let date = |t: &str| t.get(..10).unwrap_or_default().to_owned();
        let clock = |t: &str| {
            let hms = t.get(11..19).unwrap_or_default();
            match hms.strip_suffix(":00") {
                Some(hm) => hm.to_owned(),
                None => hms.to_owned(),
            }
        };
        if date(&start) == date(&end) {
            format!(
                "Between {} {} and {} UTC",
                date(&start),
                clock(&start),
                clock(&end)
            )
        } else {
            format!(
                "Between {} {} and {} {} UTC",
                date(&start),
                clock(&start),
                date(&end),
                clock(&end)
            )
        }
    }
}

/// `, a loss of about X (a to b)`, `, a gain of about X (a to b)`, or
/// `, within the expected range`, from the loss and its interval in minor units.
fn difference(
    loss: i64,
    low: i64,
    high: i64,
    amount: impl Fn(i64) -> String,
    bare: impl Fn(i64) -> String,
) -> String {
    if low > 0 {
        format!(
            ": a loss of about {} ({} to {})",
            amount(loss),
            bare(low),
            bare(high)
        )
    } else if high < 0 {
        format!(
            ": a gain of about {} ({} to {})",
            amount(-loss),
            bare(-high),
            bare(-low)
        )
    } else {
        ": within the expected range".to_owned()
    }
}

impl fmt::Display for ImpactReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let revenue: Vec<String> = self.revenue.iter().map(|m| self.money_clause(m)).collect();
        let revenue = if revenue.is_empty() {
            "no revenue was recorded".to_owned()
        } else {
            format!("revenue was {}", revenue.join("; "))
        };
        write!(f, "{}, {revenue}. ", self.window_words())?;
        f.write_str(&self.count_sentence(&self.completions))?;
        if let Some(conversion) = self.conversion_sentence() {
            write!(f, " {conversion}")?;
        }
        write!(f, " {}", self.closing_sentence())
    }
}

fn step_of(name: &str) -> &str {
    name.rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(name)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn percent(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// Digits grouped by thousands: `1,204,500`.
fn group(digits: &str) -> String {
    let len = digits.len();
    let mut out = String::with_capacity(len + len / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn grouped_int(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}", group(&value.unsigned_abs().to_string()))
}

/// An amount of minor units in major units with grouped thousands, without the
/// code: `1,204.50`; in minor units when the exponent is unknown.
fn bare_money(currency: &CurrencyLabel, minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let text = match currency.exponent() {
        Some(exponent) => format_minor(minor.unsigned_abs(), exponent),
        None => minor.unsigned_abs().to_string(),
    };
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    match fraction {
        Some(fraction) => format!("{sign}{}.{fraction}", group(whole)),
        None => format!("{sign}{}", group(whole)),
    }
}

/// `USD 1,204.50`, `JPY 12,000`, or `250 XBT (unknown currency: minor units)`.
fn money(currency: &CurrencyLabel, minor: i64) -> String {
    match (currency, currency.note()) {
        (CurrencyLabel::Iso(c), _) => format!("{} {}", c.code(), bare_money(currency, minor)),
        (_, note) => format!(
            "{} {}({})",
            bare_money(currency, minor),
            if currency.code().is_empty() {
                String::new()
            } else {
                format!("{} ", currency.code())
            },
            note.unwrap_or_default()
        ),
    }
}

// ---- JSON -------------------------------------------------------------------------

/// The expectation's fields in a figure's JSON, all `null` without one.
#[derive(Serialize)]
struct ExpectationFields<'a> {
    status: &'static str,
    references_with_data: usize,
    references_needed: Option<usize>,
    days_used: Option<usize>,
    weeks_used: Option<usize>,
    holdout_rms: Option<f64>,
    t: Option<f64>,
    references: &'a [ScaledReference],
}

impl<'a> ExpectationFields<'a> {
    fn of(e: &'a Expectation) -> Self {
        let estimate = e.estimate();
        let (with_data, needed) = match e {
            Expectation::HistoryTooShort {
                with_data, needed, ..
            } => (*with_data, Some(*needed)),
            _ => (estimate.map_or(0, Estimate::references_used), None),
        };
        Self {
            status: e.status(),
            references_with_data: with_data,
            references_needed: needed,
            days_used: estimate.map(|e| e.days_used),
            weeks_used: estimate.map(|e| e.weeks_used),
            holdout_rms: estimate.map(|e| e.holdout_rms),
            t: estimate.map(|e| e.t),
            references: estimate.map_or(&[], |e| e.references.as_slice()),
        }
    }
}

/// `{name, status, window_had_data, actual, baseline, expected, expected_low,
/// expected_high, loss, loss_low, loss_high, references_with_data, …}`, raw
/// `increase()` values (not rounded).
impl Serialize for CountImpact {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Count<'a> {
            name: &'a str,
            window_had_data: bool,
            actual: f64,
            baseline: Option<f64>,
            expected: Option<f64>,
            expected_low: Option<f64>,
            expected_high: Option<f64>,
            loss: Option<f64>,
            loss_low: Option<f64>,
            loss_high: Option<f64>,
            #[serde(flatten)]
            expectation: ExpectationFields<'a>,
        }
        let f = &self.figure;
        let e = f.expectation.estimate();
        let loss = f.loss();
        Count {
            name: &self.name,
            window_had_data: f.window_had_data,
            actual: f.actual,
            baseline: f.in_baseline,
            expected: e.map(|e| e.expected),
            expected_low: e.map(|e| e.low),
            expected_high: e.map(|e| e.high),
            loss: loss.map(|l| l.0),
            loss_low: loss.map(|l| l.1),
            loss_high: loss.map(|l| l.2),
            expectation: ExpectationFields::of(&f.expectation),
        }
        .serialize(serializer)
    }
}

/// `{currency, exponent, note, status, window_had_data, actual_minor, actual_major,
/// baseline_minor, expected_minor, expected_major, expected_low_minor, …, loss_minor,
/// loss_major, loss_low_minor, …}`: minor units as integers, major units as numbers
/// (`null` for an unknown currency).
impl Serialize for MoneyImpact {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Money<'a> {
            currency: &'a str,
            exponent: Option<u32>,
            note: Option<&'static str>,
            window_had_data: bool,
            actual_minor: i64,
            actual_major: Option<f64>,
            baseline_minor: Option<i64>,
            baseline_major: Option<f64>,
            expected_minor: Option<i64>,
            expected_major: Option<f64>,
            expected_low_minor: Option<i64>,
            expected_low_major: Option<f64>,
            expected_high_minor: Option<i64>,
            expected_high_major: Option<f64>,
            loss_minor: Option<i64>,
            loss_major: Option<f64>,
            loss_low_minor: Option<i64>,
            loss_low_major: Option<f64>,
            loss_high_minor: Option<i64>,
            loss_high_major: Option<f64>,
            #[serde(flatten)]
            expectation: ExpectationFields<'a>,
        }
        let f = &self.figure;
        let e = f.expectation.estimate();
        let exponent = self.currency.exponent();
        let major = |minor: Option<i64>| {
            let scale = 10f64.powi(i32::try_from(exponent?).ok()?);
            #[allow(clippy::cast_precision_loss)] // amounts below 2^53 minor units
            minor.map(|m| m as f64 / scale)
        };
        let actual = signed(f.actual);
        let expected = e.map(|e| signed(e.expected));
        let low = e.map(|e| signed(e.low));
        let high = e.map(|e| signed(e.high));
        let baseline = f.in_baseline.map(signed);
        let minus_actual = |v: Option<i64>| v.map(|v| v - actual);
        Money {
            currency: self.currency.code(),
            exponent,
            note: self.currency.note(),
            window_had_data: f.window_had_data,
            actual_minor: actual,
            actual_major: major(Some(actual)),
            baseline_minor: baseline,
            baseline_major: major(baseline),
            expected_minor: expected,
            expected_major: major(expected),
            expected_low_minor: low,
            expected_low_major: major(low),
            expected_high_minor: high,
            expected_high_major: major(high),
            loss_minor: minus_actual(expected),
            loss_major: major(minus_actual(expected)),
            loss_low_minor: minus_actual(low),
            loss_low_major: major(minus_actual(low)),
            loss_high_minor: minus_actual(high),
            loss_high_major: major(minus_actual(high)),
            expectation: ExpectationFields::of(&f.expectation),
        }
        .serialize(serializer)
    }
}

/// `{start, end, start_unix, end_unix, window_seconds, baseline_seconds, days, weeks,
/// references_requested, min_references, confidence, funnel, revenue, completions,
/// entries, conversion, queries, summary}`.
impl Serialize for ImpactReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Queries<'a> {
            revenue: &'a str,
            entries: &'a str,
            completions: &'a str,
        }
        #[derive(Serialize)]
        struct Report<'a> {
            start: String,
            end: String,
            start_unix: f64,
            end_unix: f64,
            window_seconds: f64,
            baseline_seconds: f64,
            days: u32,
            weeks: u32,
            references_requested: usize,
            min_references: usize,
            confidence: f64,
            funnel: &'a FunnelName,
            revenue: &'a [MoneyImpact],
            completions: &'a CountImpact,
            entries: &'a CountImpact,
            conversion: &'a ConversionChange,
            queries: Queries<'a>,
            summary: String,
        }
        let unix = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        };
        let [revenue, entries, completions] = &self.queries;
        Report {
            start: format_rfc3339(self.window.start),
            end: format_rfc3339(self.window.end),
            start_unix: unix(self.window.start),
            end_unix: unix(self.window.end),
            window_seconds: self.window.length().as_secs_f64(),
            baseline_seconds: self.baseline.as_secs_f64(),
            days: self.days,
            weeks: self.weeks,
            references_requested: self.references_requested,
            min_references: self.min_references,
            confidence: super::counterfactual::CONFIDENCE,
            funnel: &self.funnel,
            revenue: &self.revenue,
            completions: &self.completions,
            entries: &self.entries,
            conversion: &self.conversion,
            queries: Queries {
                revenue,
                entries,
                completions,
            },
            summary: self.to_string(),
        }
        .serialize(serializer)
    }
}
