//! Errors returned when an event is refused.

use crate::labels::Dimension;

/// Why a business event was refused. Nothing of a refused event is recorded.
///
/// Every refusal also increments `business.rejected_events` with the `reason`
/// attribute given by [`RecordError::reason`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A duration was negative, NaN or infinite.
    #[error("invalid duration for {field}: {value} seconds; pass a finite, non-negative number of seconds")]
    InvalidDuration {
        /// Which duration (`time_to_conversion`, `session_duration`).
        field: &'static str,
        /// The refused value.
        value: f64,
    },
    /// An amount was zero or too large to be represented exactly.
    #[error("invalid amount for {field}: {value} minor units; {problem}")]
    InvalidAmount {
        /// Which amount (`amount_minor`).
        field: &'static str,
        /// The refused value.
        value: u64,
        /// What is wrong with it, and what to do.
        problem: &'static str,
    },
    /// A label value or name was empty (after trimming white space).
    #[error("empty value for {dimension}; pass a non-empty name")]
    EmptyValue {
        /// The dimension whose value was empty.
        dimension: Dimension,
    },
    /// A label value or name was longer than the policy allows.
    #[error("value for {dimension} is {len} bytes long, more than the {max} allowed; use a shorter, stable name")]
    ValueTooLong {
        /// The dimension whose value was too long.
        dimension: Dimension,
        /// Its length in bytes.
        len: usize,
        /// The policy's maximum.
        max: usize,
    },
    /// A currency code that is not an active ISO 4217 code.
    #[error("unknown currency {code:?}; pass an ISO 4217 code such as \"USD\" or \"EUR\"")]
    UnknownCurrency {
        /// The refused code (its first 16 characters).
        code: String,
    },
    /// A session guard was ended a second time.
    #[error("session already ended; a session's duration is recorded once")]
    SessionAlreadyEnded,
    /// A histogram measurement was negative, NaN or infinite.
    #[error("invalid value for {instrument}: {value}; pass a finite, non-negative number")]
    InvalidValue {
        /// The instrument.
        instrument: &'static str,
        /// The refused value.
        value: f64,
    },
    /// A closed attribute was given a value outside its set.
    #[error("unknown value for {attribute}: {value:?}; expected one of: {}", .expected.join(", "))]
    UnknownValue {
        /// The attribute key.
        attribute: &'static str,
        /// The refused value (its first 64 characters).
        value: String,
        /// The set's values.
        expected: &'static [&'static str],
    },
    /// A funnel or instrument that is not in the instance's catalog.
    #[error("definition {name:?} is not in this instance's catalog; add it with Catalog::builder() and build the instance with that catalog")]
    NotInCatalog {
        /// The funnel's or instrument's name.
        name: &'static str,
    },
}

impl RecordError {
    /// The `reason` attribute value recorded on `business.rejected_events`.
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::InvalidDuration { .. } => "invalid_duration",
            Self::InvalidAmount { .. } => "invalid_amount",
            Self::EmptyValue { .. } => "empty_value",
            Self::ValueTooLong { .. } => "value_too_long",
            Self::UnknownCurrency { .. } => "unknown_currency",
            Self::SessionAlreadyEnded => "session_already_ended",
            Self::InvalidValue { .. } => "invalid_value",
            Self::UnknownValue { .. } => "unknown_value",
            Self::NotInCatalog { .. } => "not_in_catalog",
        }
    }
}

/// Every value [`RecordError::reason`] can return, so dashboards can list them.
pub const REJECT_REASONS: &[&str] = &[
    "invalid_duration",
    "invalid_amount",
    "empty_value",
    "value_too_long",
    "unknown_currency",
    "session_already_ended",
    "invalid_value",
    "unknown_value",
    "not_in_catalog",
];

/// A label policy that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A setting is out of range or an allowlist entry is unusable.
    #[error("invalid label policy setting {name}: {reason}")]
    InvalidConfig {
        /// The setting.
        name: String,
        /// What is wrong, and what to do.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_reason_is_listed_and_messages_are_lower_case() {
        let errors = [
            RecordError::InvalidDuration {
                field: "session_duration",
                value: f64::NAN,
            },
            RecordError::InvalidAmount {
                field: "amount_minor",
                value: 0,
                problem: "x",
            },
            RecordError::EmptyValue {
                dimension: Dimension::Source,
            },
            RecordError::ValueTooLong {
                dimension: Dimension::Region,
                len: 70,
                max: 64,
            },
            RecordError::UnknownCurrency { code: "XXX".into() },
            RecordError::SessionAlreadyEnded,
            RecordError::InvalidValue {
                instrument: "saas.seats",
                value: -1.0,
            },
            RecordError::UnknownValue {
                attribute: "plan",
                value: "gold".into(),
                expected: &["team"],
            },
            RecordError::NotInCatalog { name: "signup" },
        ];
        for e in &errors {
            assert!(REJECT_REASONS.contains(&e.reason()));
            let msg = e.to_string();
            assert!(msg.starts_with(|c: char| c.is_lowercase()), "{msg}");
        }
        assert_eq!(errors.len(), REJECT_REASONS.len());
    }
}
