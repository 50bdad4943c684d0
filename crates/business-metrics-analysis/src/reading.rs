//! Reading Prometheus' floats as whole counts and amounts, and every other float to
//! integer conversion of the analyses: a value is checked to be finite and in range
//! before it becomes an integer, never cast blindly (a cast of NaN gives 0, of 1e30
//! gives `u64::MAX`, and the report would print either as a result).

/// The largest whole number read exactly: 2^53. Prometheus holds values as `f64`,
/// which stops holding every integer above it, so a count or an amount of minor units
/// above it is no reading but an accident.
pub(crate) const MAX_EXACT: u64 = 1 << 53;

#[allow(clippy::cast_precision_loss)] // 2^53 is an exact f64.
const MAX_EXACT_F64: f64 = MAX_EXACT as f64;

/// Why `value` is no count (or amount of minor units), if it is none: not a number,
/// infinite, negative, or above 2^53. The reason never spells NaN (it reads "a value
/// that is not a number") and quotes the value otherwise.
pub(crate) fn not_a_count(value: f64) -> Option<String> {
    if value.is_nan() {
        Some("a value that is not a number".to_owned())
    } else if value.is_infinite() {
        Some(format!(
            "an infinite value ({}Inf)",
            if value > 0.0 { "+" } else { "-" }
        ))
    } else if value < 0.0 {
        Some(format!("a negative value ({})", shown(value)))
    } else if value.round() > MAX_EXACT_F64 {
        Some(format!(
            "a value above 2^53 ({value:e}), more than a float holds exactly"
        ))
    } else {
        None
    }
}

/// `value` as a message quotes it: `-5`, `0.25`, or `-1e300` where plain digits
/// would run long.
pub(crate) fn shown(value: f64) -> String {
    if value != 0.0 && !(1e-6..1e15).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// `value` rounded to a whole count from 0 to 2^53, or why it is none
/// ([`not_a_count`]).
pub(crate) fn whole_count(value: f64) -> Result<u64, String> {
    match not_a_count(value) {
        Some(reason) => Err(reason),
        None => Ok(rounded_u64(value)),
    }
}

/// `value` rounded, when it is finite and within ±2^53 (where every integer is an
/// exact `f64`).
#[must_use]
pub(crate) fn checked_i64(value: f64) -> Option<i64> {
    let rounded = value.round();
    if rounded.is_finite() && rounded.abs() <= MAX_EXACT_F64 {
        #[allow(clippy::cast_possible_truncation)] // a whole number within ±2^53
        Some(rounded as i64)
    } else {
        None
    }
}

/// `value` rounded and held to ±2^53, for figures shown of values that were checked
/// on reading (a hand-built report with larger ones shows them at the bound); 0 for
/// NaN.
#[must_use]
pub(crate) fn clamped_i64(value: f64) -> i64 {
    if value.is_nan() {
        return 0;
    }
    checked_i64(value.clamp(-MAX_EXACT_F64, MAX_EXACT_F64)).unwrap_or(0)
}

/// `value` rounded and held to 0..=2^53 (0 for NaN): a count for a statistic whose
/// inputs were checked on reading.
#[must_use]
pub(crate) fn clamped_u64(value: f64) -> u64 {
    if value.is_nan() || value <= 0.0 {
        return 0;
    }
    rounded_u64(value.min(MAX_EXACT_F64))
}

/// `value` rounded, when it is a whole number from 0 to `u32::MAX`.
#[must_use]
pub(crate) fn checked_u32(value: f64) -> Option<u32> {
    let rounded = value.round();
    if rounded.is_finite() && (0.0..=f64::from(u32::MAX)).contains(&rounded) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..=u32::MAX
        Some(rounded as u32)
    } else {
        None
    }
}

/// `value` rounded down and held to `0..=max` (0 for NaN): a small size, such as a
/// number of decimals or of bar cells.
#[must_use]
pub(crate) fn clamped_usize(value: f64, max: u32) -> usize {
    let held = if value.is_nan() {
        0.0
    } else {
        value.floor().clamp(0.0, f64::from(max))
    };
    checked_u32(held).map_or(0, |v| usize::try_from(v).unwrap_or(usize::MAX))
}

/// `value` rounded to a `u64`; only called with values checked to lie in 0..=2^53.
fn rounded_u64(value: f64) -> u64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    // callers check 0 <= value <= 2^53 first
    let whole = value.round() as u64;
    whole
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_finite_and_within_two_to_the_53() {
        assert_eq!(whole_count(149_899.999_999_7), Ok(149_900));
        assert_eq!(whole_count(0.0), Ok(0));
        assert_eq!(whole_count(-0.0), Ok(0));
        assert_eq!(whole_count(9_007_199_254_740_992.0), Ok(MAX_EXACT));
        for (value, reason) in [
            (f64::NAN, "a value that is not a number"),
            (f64::INFINITY, "an infinite value (+Inf)"),
            (f64::NEG_INFINITY, "an infinite value (-Inf)"),
            (-5.0, "a negative value (-5)"),
            (-1e300, "a negative value (-1e300)"),
            (1.8e19, "a value above 2^53 (1.8e19)"),
        ] {
            match whole_count(value) {
                Err(r) => assert!(r.starts_with(reason), "{value}: {r}"),
                Ok(v) => panic!("{value} read as {v}"),
            }
        }
    }

    #[test]
    fn conversions_refuse_or_hold_what_does_not_fit() {
        assert_eq!(checked_i64(-3.6), Some(-4));
        assert_eq!(checked_i64(f64::NAN), None);
        assert_eq!(checked_i64(1e20), None);
        assert_eq!(clamped_i64(1e20), 1 << 53);
        assert_eq!(clamped_i64(-1e20), -(1 << 53));
        assert_eq!(clamped_i64(f64::NAN), 0);
        assert_eq!(clamped_u64(f64::INFINITY), MAX_EXACT);
        assert_eq!(clamped_u64(-1.0), 0);
        assert_eq!(checked_u32(35.0), Some(35));
        assert_eq!(checked_u32(-1.0), None);
        assert_eq!(checked_u32(1e10), None);
        assert_eq!(clamped_usize(7.9, 20), 7);
        assert_eq!(clamped_usize(f64::NAN, 20), 0);
        assert_eq!(clamped_usize(1e300, 20), 20);
    }
}
