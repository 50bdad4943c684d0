//! Points in time as the Prometheus HTTP API takes them: RFC 3339
//! (`2026-12-02T14:02:00Z`, `2026-12-02T15:02:00+01:00`) or Unix seconds
//! (`1796220120`, `1796220120.5`), and the window of an analysis, given as a range
//! ending at an end time or as a start and an end.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use business_metrics_analysis::time::{format_rfc3339, parse_time, Window};
//!
//! let end = parse_time("2026-12-02T14:02:00Z")?;
//! assert_eq!(end, parse_time("2026-12-02T15:02:00+01:00")?);
//! assert_eq!(end, parse_time("1796220120")?);
//! assert_eq!(format_rfc3339(end), "2026-12-02T14:02:00Z");
//!
//! let start = parse_time("2026-12-02T13:02:00Z")?;
//! let window = Window::resolve(None, Some(start), Some(end), UNIX_EPOCH)?;
//! assert_eq!(window.length(), Duration::from_secs(3_600));
//! # Ok::<(), business_metrics_analysis::time::TimeError>(())
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a time or a window could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// The text is neither RFC 3339 nor Unix seconds.
    #[error(
        "invalid time `{input}`: {reason}; give RFC 3339, e.g. 2026-12-02T14:02:00Z or \
         2026-12-02T15:02:00+01:00, or Unix seconds, e.g. 1796220120"
    )]
    Invalid {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The time is before 1970-01-01T00:00:00Z, which Prometheus cannot hold.
    #[error("time `{input}` is before 1970-01-01T00:00:00Z; give a later time")]
    BeforeEpoch {
        /// The text given.
        input: String,
    },
    /// The window's start is not before its end.
    #[error("the start {start} is not before the end {end}; give a start before the end")]
    StartNotBeforeEnd {
        /// The start, RFC 3339.
        start: String,
        /// The end, RFC 3339.
        end: String,
    },
    /// The range reaches back before 1970.
    #[error("the range {range} before {end} reaches before 1970; give a shorter range")]
    RangeBeforeEpoch {
        /// The range, Prometheus duration syntax.
        range: String,
        /// The end, RFC 3339.
        end: String,
    },
    /// Neither a range nor a start was given, or both were.
    #[error("give either a range (with an optional end) or a start (with an optional end)")]
    NoWindow,
}

/// Parses a time the way the Prometheus HTTP API does: RFC 3339 with a `Z` or a
/// `±hh:mm` offset and optional fractional seconds (`2026-12-02T14:02:00.250Z`; a
/// space or lower-case `t` may separate date and time), or Unix seconds with
/// optional decimals (`1796220120.25`). Fractions finer than a nanosecond are
/// dropped. Leap seconds (`:60`) and times before 1970 are rejected.
///
/// # Errors
///
/// [`TimeError::Invalid`] names what is wrong with the text;
/// [`TimeError::BeforeEpoch`] for a time before 1970.
pub fn parse_time(input: &str) -> Result<SystemTime, TimeError> {
    let text = input.trim();
    let invalid = |reason: &str| TimeError::Invalid {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    if text.is_empty() {
        return Err(invalid("empty"));
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_unix(text).ok_or_else(|| invalid("not a number of seconds"));
    }
    if text.starts_with('-')
        && text
            .bytes()
            .skip(1)
            .all(|b| b.is_ascii_digit() || b == b'.')
    {
        return Err(TimeError::BeforeEpoch {
            input: input.to_owned(),
        });
    }
    let seconds = parse_rfc3339(text).map_err(|reason| invalid(&reason))?;
    let (secs, nanos) = seconds;
    if secs < 0 {
        return Err(TimeError::BeforeEpoch {
            input: input.to_owned(),
        });
    }
    let secs = u64::try_from(secs).map_err(|_| invalid("out of range"))?;
    Ok(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Formats a time as RFC 3339 in UTC, with milliseconds only when it has them
/// (`2026-12-02T14:02:00Z`, `2026-12-02T14:02:00.250Z`); [`parse_time`] reads it back.
/// Times before 1970 are shown as 1970-01-01T00:00:00Z.
#[must_use]
pub fn format_rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (of_day / 3_600, of_day / 60 % 60, of_day % 60);
    let millis = since.subsec_millis();
    if millis == 0 {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
    }
}

/// The time span an analysis reads: from `start` to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The start.
    pub start: SystemTime,
    /// The end.
    pub end: SystemTime,
}

impl Window {
    /// The window given on a command line: a `range` ending at `end`, or from `start`
    /// to `end`; `end` defaults to `now`. Exactly one of `range` and `start` is given.
    ///
    /// # Errors
    ///
    /// [`TimeError::NoWindow`] when neither or both of `range` and `start` are given,
    /// [`TimeError::StartNotBeforeEnd`], [`TimeError::RangeBeforeEpoch`].
    pub fn resolve(
        range: Option<Duration>,
        start: Option<SystemTime>,
        end: Option<SystemTime>,
        now: SystemTime,
    ) -> Result<Self, TimeError> {
        let end = end.unwrap_or(now);
        let start = match (range, start) {
            (Some(range), None) => {
                // SystemTime reaches before 1970 on most platforms: check against it.
                let since_epoch = end.duration_since(UNIX_EPOCH).unwrap_or_default();
                since_epoch
                    .checked_sub(range)
                    .map(|start| UNIX_EPOCH + start)
                    .ok_or_else(|| TimeError::RangeBeforeEpoch {
                        range: crate::duration::format_duration(range),
                        end: format_rfc3339(end),
                    })?
            }
            (None, Some(start)) => start,
            _ => return Err(TimeError::NoWindow),
        };
        if start >= end {
            return Err(TimeError::StartNotBeforeEnd {
                start: format_rfc3339(start),
                end: format_rfc3339(end),
            });
        }
        Ok(Self { start, end })
    }

    /// How long the window is (zero if `end` is not after `start`).
    #[must_use]
    pub fn length(&self) -> Duration {
        self.end.duration_since(self.start).unwrap_or_default()
    }
}

/// `123`, `123.45`: seconds and nanoseconds.
fn parse_unix(text: &str) -> Option<SystemTime> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || fraction.contains('.') {
        return None;
    }
    let secs: u64 = whole.parse().ok()?;
    let nanos = parse_fraction(fraction)?;
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// Digits after a decimal point as nanoseconds, digits beyond the ninth dropped.
fn parse_fraction(digits: &str) -> Option<u32> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nanos = 0u32;
    for i in 0..9 {
        let digit = digits.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
        nanos = nanos * 10 + digit;
    }
    Some(nanos)
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` as seconds since the epoch (negative before
/// 1970) and nanoseconds.
fn parse_rfc3339(text: &str) -> Result<(i64, u32), String> {
    let (date, rest) = text
        .split_at_checked(10)
        .ok_or_else(|| "expected YYYY-MM-DDThh:mm:ss followed by Z or an offset".to_owned())?;
    let (year, month, day) = parse_date(date)?;
    let rest = rest
        .strip_prefix(['T', 't', ' '])
        .ok_or_else(|| "expected `T` between the date and the time".to_owned())?;
    let (clock, rest) = rest
        .split_at_checked(8)
        .ok_or_else(|| "expected the time as hh:mm:ss".to_owned())?;
    let (hour, minute, second) = parse_clock(clock)?;
    let (fraction, zone) = match rest.strip_prefix('.') {
        Some(after) => {
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let (fraction, zone) = after.split_at(digits);
            if digits == 0 {
                return Err("expected digits after the decimal point".to_owned());
            }
            (parse_fraction(fraction).unwrap_or(0), zone)
        }
        None => (0, rest),
    };
    let offset = parse_offset(zone)?;
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + i64::from(hour * 3_600 + minute * 60 + second);
    Ok((local - offset, fraction))
}

fn number(text: &str, what: &str) -> Result<u32, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} `{text}` is not a number"));
    }
    text.parse()
        .map_err(|_| format!("{what} `{text}` is out of range"))
}

fn parse_date(date: &str) -> Result<(i64, u32, u32), String> {
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected the date as YYYY-MM-DD".to_owned());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err("expected the date as YYYY-MM-DD".to_owned());
    }
    let year = i64::from(number(y, "year")?);
    let month = number(m, "month")?;
    let day = number(d, "day")?;
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} is not 01 to 12"));
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days_in_month {
        return Err(format!("day {day} is not in month {month:02} of {year}"));
    }
    Ok((year, month, day))
}

fn parse_clock(clock: &str) -> Result<(u32, u32, u32), String> {
    let mut parts = clock.split(':');
    let (Some(h), Some(m), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected the time as hh:mm:ss".to_owned());
    };
    if h.len() != 2 || m.len() != 2 || s.len() != 2 {
        return Err("expected the time as hh:mm:ss".to_owned());
    }
    let (hour, minute, second) = (
        number(h, "hour")?,
        number(m, "minute")?,
        number(s, "second")?,
    );
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!(
            "{clock} is not a time of day (00:00:00 to 23:59:59)"
        ));
    }
    Ok((hour, minute, second))
}

/// `Z` or `±hh:mm` as seconds east of UTC.
fn parse_offset(zone: &str) -> Result<i64, String> {
    if zone == "Z" || zone == "z" {
        return Ok(0);
    }
    let missing = || "expected `Z` or an offset such as +01:00 after the time".to_owned();
    let (sign, hhmm) = match zone.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        _ => return Err(missing()),
    };
    let (h, m) = hhmm.split_once(':').ok_or_else(missing)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(missing());
    }
    let (hours, minutes) = (number(h, "offset hour")?, number(m, "offset minute")?);
    if hours > 23 || minutes > 59 {
        return Err(format!("offset {zone} is out of range"));
    }
    Ok(sign * i64::from(hours * 3_600 + minutes * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn rfc3339_and_unix_seconds_name_the_same_instant() {
        let expected = Ok(at(1_796_220_120));
        assert_eq!(parse_time("2026-12-02T14:02:00Z"), expected);
        assert_eq!(parse_time("2026-12-02t14:02:00z"), expected);
        assert_eq!(parse_time("2026-12-02 14:02:00Z"), expected);
        assert_eq!(parse_time("2026-12-02T15:02:00+01:00"), expected);
        assert_eq!(parse_time("2026-12-02T09:32:00-04:30"), expected);
        assert_eq!(parse_time("1796220120"), expected);
        assert_eq!(parse_time(" 1796220120 "), expected);
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(UNIX_EPOCH));
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Ok(at(951_782_400)));
    }

    #[test]
    fn fractions_of_a_second_are_kept_to_the_nanosecond() {
        let half = Ok(at(1_796_220_120) + Duration::from_millis(500));
        assert_eq!(parse_time("2026-12-02T14:02:00.5Z"), half);
        assert_eq!(parse_time("1796220120.5"), half);
        assert_eq!(
            parse_time("2026-12-02T14:02:00.123456789123Z"),
            Ok(at(1_796_220_120) + Duration::from_nanos(123_456_789))
        );
    }

    #[test]
    fn malformed_times_say_what_to_write() {
        for bad in [
            "",
            "yesterday",
            "2026-12-02",
            "2026-12-02T14:02:00",
            "2026-12-02T14:02Z",
            "2026-13-02T14:02:00Z",
            "2026-02-29T14:02:00Z",
            "2026-12-02T24:00:00Z",
            "2026-12-02T23:59:60Z",
            "2026-12-02T14:02:00.Z",
            "2026-12-02T14:02:00+0100",
            "2026-12-02T14:02:00+24:00",
            "1.2.3",
            "1e9",
            "+1796220120",
        ] {
            assert!(
                matches!(parse_time(bad), Err(TimeError::Invalid { .. })),
                "{bad:?} should be invalid"
            );
        }
        assert_eq!(
            parse_time("2026-12-02").map_err(|e| e.to_string()),
            Err(
                "invalid time `2026-12-02`: expected `T` between the date and the time; \
                 give RFC 3339, e.g. 2026-12-02T14:02:00Z or 2026-12-02T15:02:00+01:00, \
                 or Unix seconds, e.g. 1796220120"
                    .to_owned()
            )
        );
    }

    #[test]
    fn times_before_1970_are_rejected() {
        for early in ["1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00", "-5"] {
            assert_eq!(
                parse_time(early),
                Err(TimeError::BeforeEpoch {
                    input: early.to_owned()
                })
            );
        }
    }

    #[test]
    fn formatting_round_trips() {
        assert_eq!(format_rfc3339(at(1_796_220_120)), "2026-12-02T14:02:00Z");
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(at(951_782_400)), "2000-02-29T00:00:00Z");
        let t = at(1_796_220_120) + Duration::from_millis(250);
        assert_eq!(format_rfc3339(t), "2026-12-02T14:02:00.250Z");
        for day in (0..80_000u64).step_by(97) {
            let t = at(day * 86_400 + 3_723);
            assert_eq!(parse_time(&format_rfc3339(t)), Ok(t));
        }
    }

    #[test]
    fn a_window_is_a_range_before_the_end_or_a_start_and_an_end() {
        let now = at(10_000);
        let hour = Duration::from_secs(3_600);
        assert_eq!(
            Window::resolve(Some(hour), None, None, now),
            Ok(Window {
                start: at(6_400),
                end: now
            })
        );
        assert_eq!(
            Window::resolve(Some(hour), None, Some(at(5_000)), now),
            Ok(Window {
                start: at(1_400),
                end: at(5_000)
            })
        );
        assert_eq!(
            Window::resolve(None, Some(at(1_000)), None, now).map(|w| w.length()),
            Ok(Duration::from_secs(9_000))
        );
        assert_eq!(
            Window::resolve(None, Some(at(1_000)), Some(at(1_000)), now),
            Err(TimeError::StartNotBeforeEnd {
                start: "1970-01-01T00:16:40Z".to_owned(),
                end: "1970-01-01T00:16:40Z".to_owned()
            })
        );
        assert_eq!(
            Window::resolve(Some(hour), None, Some(at(60)), now),
            Err(TimeError::RangeBeforeEpoch {
                range: "1h".to_owned(),
                end: "1970-01-01T00:01:00Z".to_owned()
            })
        );
        assert_eq!(
            Window::resolve(None, None, None, now),
            Err(TimeError::NoWindow)
        );
        assert_eq!(
            Window::resolve(Some(hour), Some(at(1)), None, now),
            Err(TimeError::NoWindow)
        );
    }
}
