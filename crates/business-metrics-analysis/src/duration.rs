//! Prometheus duration syntax: `7d`, `5m`, `1h30m`, `250ms`.

use std::time::Duration;

/// Why a duration could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The text was empty.
    #[error("empty duration; write a number and a unit, e.g. `5m` or `1h30m`")]
    Empty,
    /// A number was not followed by a unit, or a unit was not one of Prometheus'.
    #[error("invalid duration `{input}`: {reason}; use units ms, s, m, h, d, w, y, e.g. `1h30m`")]
    Invalid {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The duration was zero.
    #[error("duration `{input}` is zero; give a positive duration")]
    Zero {
        /// The text given.
        input: String,
    },
}

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration: one or more `<integer><unit>` terms with units in
/// decreasing order, each at most once (`1h30m`, not `30m1h`). Units: `ms`, `s`, `m`,
/// `h`, `d`, `w`, `y` (a year is 365 days). Zero is rejected.
///
/// # Errors
///
/// [`DurationError`] names what is wrong with the text.
///
/// ```
/// use std::time::Duration;
/// use business_metrics_analysis::parse_duration;
///
/// assert_eq!(parse_duration("1h30m")?, Duration::from_secs(5_400));
/// assert!(parse_duration("30m1h").is_err());
/// # Ok::<(), business_metrics_analysis::DurationError>(())
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let invalid = |reason: &str| DurationError::Invalid {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    let mut rest = text;
    let mut total_ms: u64 = 0;
    // Index into UNITS of the last unit seen; later units must come after it.
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid("expected a number"));
        }
        let (number, after) = rest.split_at(digits);
        let value: u64 = number.parse().map_err(|_| invalid("number too large"))?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        if unit_len == 0 {
            return Err(invalid("missing unit after number"));
        }
        let (unit, after) = after.split_at(unit_len);
        let index = UNITS
            .iter()
            .position(|(name, _)| *name == unit)
            .ok_or_else(|| invalid(&format!("unknown unit `{unit}`")))?;
        if last_unit.is_some_and(|last| index <= last) {
            return Err(invalid("units must appear once each, largest first"));
        }
        last_unit = Some(index);
        let unit_ms = UNITS.get(index).map_or(1, |(_, ms)| *ms);
        total_ms = value
            .checked_mul(unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| invalid("duration too large"))?;
        rest = after;
    }
    if total_ms == 0 {
        return Err(DurationError::Zero {
            input: input.to_owned(),
        });
    }
    Ok(Duration::from_millis(total_ms))
}

/// Formats a duration in Prometheus syntax for use in PromQL (`[3600s]`, `[1500ms]`).
#[must_use]
pub fn format_promql_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// Formats a duration the way a person writes it in Prometheus syntax, largest units
/// first: `1h`, `1h30m`, `1w` (7 days), `1s500ms`; what [`parse_duration`] reads back.
///
/// ```
/// use std::time::Duration;
/// use business_metrics_analysis::format_duration;
///
/// assert_eq!(format_duration(Duration::from_secs(5_400)), "1h30m");
/// ```
#[must_use]
pub fn format_duration(duration: Duration) -> String {
    let mut rest = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if rest == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, unit_ms) in UNITS {
        let count = rest / unit_ms;
        if count > 0 {
            out.push_str(&format!("{count}{unit}"));
            rest -= count * unit_ms;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_durations_add_up() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("1s500ms"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse_duration("1y"), Ok(Duration::from_secs(365 * 86_400)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
    }

    #[test]
    fn malformed_durations_are_rejected() {
        for bad in [
            "", "5", "m", "5x", "30m1h", "1h1h", "1.5h", "-5m", "0s", "5 m",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn durations_are_written_largest_unit_first() {
        assert_eq!(format_duration(Duration::from_secs(3_600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(5_400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(7 * 86_400)), "1w");
        assert_eq!(format_duration(Duration::from_millis(1_500)), "1s500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        for text in ["1h", "1h30m", "2d3h", "1y2w", "250ms", "59m59s"] {
            let d = parse_duration(text).unwrap_or_default();
            assert_eq!(format_duration(d), text);
        }
    }

    #[test]
    fn promql_formatting_round_trips() {
        for text in ["1h", "90s", "1500ms", "7d"] {
            let d = parse_duration(text).unwrap_or_default();
            assert_eq!(parse_duration(&format_promql_duration(d)), Ok(d));
        }
    }
}
