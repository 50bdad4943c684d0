//! A correlation in words: its summary, what the figures mean and how sure they are,
//! and the warnings about what could mislead.

use crate::correlate::{CorrelationReport, Direction};
use crate::correlogram::LagCorrelation;
use crate::period::{self, Periodicity};
use crate::stats::Strength;
use crate::units::Unit;

/// How the warning about unknown units begins.
pub(crate) const UNKNOWN_UNITS: &str = "units unknown";

/// `value` with about four significant digits: `12.93`, `0.003142`, `1.235e7`.
#[must_use]
pub fn format_significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor();
    if !(-4.0..7.0).contains(&magnitude) {
        return format!("{value:.3e}");
    }
    let decimals = crate::reading::clamped_usize(3.0 - magnitude, 7);
    format!("{value:.decimals$}")
}

/// The warning for units the report could not name, if any.
pub(crate) fn unknown_units(technical: &Unit, business: &Unit) -> Option<String> {
    let missing: Vec<String> = [("technical", technical), ("business", business)]
        .into_iter()
        .filter(|(_, u)| u.name.is_none())
        .map(|(role, u)| format!("{role} ({})", u.source))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{UNKNOWN_UNITS}: {}; the slope means little without them, so name them \
             (--technical-unit, --business-unit)",
            missing.join(", ")
        )
    })
}

fn when(report: &CorrelationReport) -> String {
    if report.lag_steps == 0 {
        "at the same time".to_owned()
    } else {
        format!(
            "{} step(s) ({}s) later",
            report.lag_steps, report.lag_seconds
        )
    }
}

/// The one-sentence summary.
pub(crate) fn summary(report: &CorrelationReport) -> String {
    let when = when(report);
    let see = if report.periodicity.is_some() && !report.warnings.is_empty() {
        "; the series repeat, see the warnings"
    } else {
        ""
    };
    match report.strength {
        Strength::Weak => format!(
            "weak correlation: the business metric does not follow the technical one \
             reliably (best {when}){see}"
        ),
        Strength::Strong | Strength::Moderate => {
            let moves = if report.slope < 0.0 { "falls" } else { "rises" };
            format!(
                "{} {} correlation: the business metric {moves} by {} {} of the technical \
                 metric, {when}; a typical rise of the technical metric (one standard \
                 deviation, {} {}) goes with a {} of {} {}{see}",
                report.strength,
                report.direction,
                format_significant(report.slope.abs()),
                report.slope_unit,
                format_significant(report.technical_std_dev),
                report.technical_unit.label(),
                if report.slope < 0.0 { "fall" } else { "rise" },
                format_significant(report.typical_effect.abs()),
                report.business_unit.label(),
            )
        }
    }
}

/// What the figures mean and how sure they are.
pub(crate) fn explanation(report: &CorrelationReport) -> Vec<String> {
    let (t, b) = (&report.technical_unit, &report.business_unit);
    let r = report.pearson;
    let share = r * r * 100.0;
    let mut lines = vec![format!(
        "Units: the technical metric in {} ({}), the business metric in {} ({}); the \
         slope is in {}.",
        t.label(),
        t.source,
        b.label(),
        b.source,
        report.slope_unit
    )];
    let pairs = if report.lag_steps == 0 {
        format!("Over {} pairs taken at the same time", report.points)
    } else {
        format!(
            "Over {} pairs, each business value taken {} step(s) ({}s) after the technical one",
            report.points, report.lag_steps, report.lag_seconds
        )
    };
    lines.push(match report.strength {
        Strength::Weak => format!(
            "{pairs}, the technical metric accounts for only \
             {share:.0} % of the business metric's variation (r² = {:.2}): nothing here to \
             act on.",
            r * r
        ),
        Strength::Strong | Strength::Moderate => format!(
            "{pairs}: when the technical metric was higher, the \
             business metric was {}. The least-squares line is business = {} {} {} × \
             technical; the technical metric accounts for {share:.0} % of the business \
             metric's variation (r² = {:.2}).",
            match report.direction {
                Direction::Negative => "lower",
                Direction::Positive => "higher",
            },
            format_significant(report.intercept),
            if report.slope < 0.0 { "-" } else { "+" },
            format_significant(report.slope.abs()),
            r * r
        ),
    });
    let interval = &report.confidence_interval;
    let verdict = if interval.lower <= 0.0 && interval.upper >= 0.0 {
        " The interval includes 0: the data do not show a relationship at all."
    } else if report.p_value < 0.05 {
        " A correlation this strong is unlikely to be chance."
    } else {
        " That could well be chance."
    };
    lines.push(format!(
        "How sure: r = {r:.3}, 95 % interval [{:.3}, {:.3}], from {} pairs worth about \
         {:.0} independent ones (a series that changes slowly resembles itself from one \
         point to the next); {} after trying {} lag(s) (Bonferroni).{verdict}",
        interval.lower,
        interval.upper,
        report.points,
        report.effective_points,
        format_p(report.p_value),
        report.lags_tried
    ));
    lines.push(
        "A correlation is not a cause: both series may follow a third one (traffic, time \
         of day); check the lag and the incident windows before blaming the technical \
         metric."
            .to_owned(),
    );
    lines
}

/// `p = 0.0123`, `p = 3.20e-7`, or `p < 1e-15` where doubles run out.
fn format_p(p: f64) -> String {
    if p >= 1e-4 {
        format!("p = {p:.4}")
    } else if p >= 1e-15 {
        format!("p = {p:.2e}")
    } else {
        "p < 1e-15".to_owned()
    }
}

/// The warning for a largest lag beyond what the points allow.
pub(crate) fn lag_capped(
    asked: usize,
    searched: usize,
    min_points: usize,
    step: std::time::Duration,
) -> String {
    let span = |k: usize| {
        crate::duration::format_duration(step.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX)))
    };
    format!(
        "the largest lag asked for, {asked} steps ({}), is more than the points allow: \
         every lag needs at least {min_points} pairs and the series span {} points, so \
         lags 0 to {searched} steps ({}) were searched",
        span(asked),
        searched + min_points,
        span(searched)
    )
}

/// The warnings a dominant period brings: refused lags, and lags known only up to
/// whole periods. `refused_strongest` is the strongest lag of all when it was refused.
pub(crate) fn periodicity(
    found: &Periodicity,
    max_lag: usize,
    refused_strongest: Option<(&LagCorrelation, f64)>,
) -> Vec<String> {
    let p = found.period_steps;
    let ranges: Vec<String> = period::refused_ranges(max_lag, p)
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a} to {b}")
            }
        })
        .collect();
    if ranges.is_empty() && max_lag < p {
        return Vec::new();
    }
    let mut text = format!(
        "the {} series repeats every {p} steps ({}s; autocorrelation {:.2} at one period), \
         as recurring incidents do.",
        found.series, found.period_seconds, found.autocorrelation
    );
    if !ranges.is_empty() {
        text.push_str(&format!(
            " Lags {} (steps) lie near half a period, where the series is in anti-phase \
             with itself and a fall looks like a rise, so they were refused",
            ranges.join(", ")
        ));
        if let Some((lag, r)) = refused_strongest {
            text.push_str(&format!(
                "; the strongest |r| of all, {r:.3} at {} step(s), was one of them",
                lag.lag_steps
            ));
        }
        text.push('.');
    }
    text.push_str(&format!(
        " Lags one period apart fit alike: the lag is known only up to multiples of {p} \
         steps."
    ));
    vec![text]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(format_significant(12.934_5), "12.93");
        assert_eq!(format_significant(-0.003_141_59), "-0.003142");
        assert_eq!(format_significant(40.0), "40.00");
        assert_eq!(format_significant(123_456.0), "123456");
        assert_eq!(format_significant(12_345_678.0), "1.235e7");
        assert_eq!(format_significant(0.0), "0");
    }
}
