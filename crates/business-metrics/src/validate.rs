//! Checks of the numbers callers pass: durations, amounts, measurements.

use std::time::Instant;

use crate::error::RecordError;

/// The largest amount accepted, in minor units: 2^53, the largest integer every export
/// path (an `f64` histogram sum, a Prometheus sample) represents exactly.
pub const MAX_AMOUNT_MINOR: u64 = 1 << 53;

/// Checks a duration in seconds: finite and not negative.
pub(crate) fn check_duration(field: &'static str, secs: f64) -> Result<f64, RecordError> {
    if secs.is_finite() && secs >= 0.0 {
        // -0.0 passes the comparison; record it as 0.
        Ok(secs.abs())
    } else {
        Err(RecordError::InvalidDuration { field, value: secs })
    }
}

/// Checks a histogram measurement: finite and not negative.
pub(crate) fn check_measurement(instrument: &'static str, value: f64) -> Result<f64, RecordError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value.abs())
    } else {
        Err(RecordError::InvalidValue { instrument, value })
    }
}

/// Seconds from `start` to `now`, negative when `start` lies in the future.
pub(crate) fn seconds_between(start: Instant, now: Instant) -> f64 {
    match now.checked_duration_since(start) {
        Some(d) => d.as_secs_f64(),
        None => -start.duration_since(now).as_secs_f64(),
    }
}

/// Checks an amount of money: 1 to [`MAX_AMOUNT_MINOR`].
pub(crate) fn check_amount(amount: u64) -> Result<u64, RecordError> {
    check_amount_from(amount, 1)
}

/// Checks an amount of money that may be 0 (a gauge: MRR of a plan nobody is on).
pub(crate) fn check_level(amount: u64) -> Result<u64, RecordError> {
    check_amount_from(amount, 0)
}

fn check_amount_from(amount: u64, least: u64) -> Result<u64, RecordError> {
    let problem = if amount < least {
        "an amount must be at least 1; do not record zero-value orders as revenue"
    } else if amount > MAX_AMOUNT_MINOR {
        "an amount must be at most 2^53 minor units; check that it is in minor units"
    } else {
        return Ok(amount);
    };
    Err(RecordError::InvalidAmount {
        field: "amount_minor",
        value: amount,
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_must_be_finite_and_not_negative() {
        assert_eq!(check_duration("x", 0.0), Ok(0.0));
        assert_eq!(
            check_duration("x", -0.0).map(f64::is_sign_positive),
            Ok(true)
        );
        assert_eq!(check_duration("x", 12.5), Ok(12.5));
        for bad in [-1e-9, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(check_duration("x", bad).is_err(), "{bad}");
            assert!(check_measurement("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_must_be_positive_and_exactly_representable() {
        assert_eq!(check_amount(1), Ok(1));
        assert_eq!(check_amount(MAX_AMOUNT_MINOR), Ok(MAX_AMOUNT_MINOR));
        assert!(check_amount(0).is_err());
        assert_eq!(check_level(0), Ok(0));
        assert!(check_amount(MAX_AMOUNT_MINOR + 1).is_err());
        assert!(check_level(u64::MAX).is_err());
    }

    #[test]
    fn seconds_between_is_negative_for_a_future_start() {
        let now = Instant::now();
        let later = now + Duration::from_millis(1500);
        assert_eq!(seconds_between(now, later), 1.5);
        assert_eq!(seconds_between(later, now), -1.5);
    }
}
