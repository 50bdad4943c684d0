//! Money as recorded: integer minor units of an ISO 4217 currency, told by a
//! `currency` label, shown in major units with exactly the currency's exponent of
//! decimals (JPY 0, USD 2, KWD 3).
//!
//! Exponents come from the `iso_currency` crate's ISO 4217 table. A label that is not
//! a code with an exponent there is never guessed: its amounts stay in minor units,
//! with a note.

use std::fmt;

/// The note on an amount whose currency label is not an ISO 4217 code with an exponent.
pub const UNKNOWN_CURRENCY_NOTE: &str = "unknown currency: minor units";

/// The note on an amount whose series has no currency label.
pub const MISSING_CURRENCY_NOTE: &str = "no currency label: minor units";

/// Writes `amount_minor` in major units with exactly `exponent` decimals, without a
/// currency code: `1499` at 0, `1499.00` from 149900 at 2, `1.499` at 3, `0.05` from 5
/// at 2. Exact for every `u64`: no floating point is involved.
///
/// ```
/// use business_metrics_analysis::format_minor;
///
/// assert_eq!(format_minor(149_900, 2), "1499.00");
/// assert_eq!(format_minor(1_499, 0), "1499");
/// assert_eq!(format_minor(7, 3), "0.007");
/// ```
#[must_use]
pub fn format_minor(amount_minor: u64, exponent: u32) -> String {
    let digits = amount_minor.to_string();
    // ISO 4217 exponents are 0 to 4; an exponent beyond usize is beyond any string.
    let decimals = usize::try_from(exponent).unwrap_or(usize::MAX);
    if decimals == 0 {
        return digits;
    }
    match digits.len().checked_sub(decimals) {
        Some(major_len) if major_len > 0 => {
            let (major, minor) = digits.split_at(major_len);
            format!("{major}.{minor}")
        }
        _ => {
            let zeros = "0".repeat(decimals.saturating_sub(digits.len()));
            format!("0.{zeros}{digits}")
        }
    }
}

/// Writes `amount_minor` of the currency labelled `code` in major units with its code,
/// or in minor units with a note when `code` is not an ISO 4217 code with an exponent:
/// `1499.00 USD`, `1499 JPY`, `1.499 KWD`, `250 XBT (unknown currency: minor units)`.
///
/// ```
/// use business_metrics_analysis::format_money;
///
/// assert_eq!(format_money(149_900, "USD"), "1499.00 USD");
/// assert_eq!(format_money(1_499, "KWD"), "1.499 KWD");
/// assert_eq!(format_money(250, "XBT"), "250 XBT (unknown currency: minor units)");
/// ```
#[must_use]
pub fn format_money(amount_minor: u64, code: &str) -> String {
    CurrencyLabel::parse(code).format(amount_minor)
}

/// An ISO 4217 currency that has a minor unit, with its exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoCurrency {
    currency: iso_currency::Currency,
    exponent: u32,
}

impl IsoCurrency {
    /// The currency of the upper-case code `code`, when ISO 4217 gives it an exponent
    /// (`XAU`, `XXX` and unknown codes have none).
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        let currency = iso_currency::Currency::from_code(code)?;
        let exponent = currency.exponent()?;
        Some(Self {
            currency,
            exponent: u32::from(exponent),
        })
    }

    /// The three-letter code.
    #[must_use]
    pub fn code(self) -> &'static str {
        self.currency.code()
    }

    /// Decimal places of the minor unit: 0 for JPY, 2 for USD, 3 for KWD.
    #[must_use]
    pub fn exponent(self) -> u32 {
        self.exponent
    }

    /// `amount_minor` in major units with the code: `1499.00 USD`.
    #[must_use]
    pub fn format(self, amount_minor: u64) -> String {
        format!(
            "{} {}",
            format_minor(amount_minor, self.exponent),
            self.code()
        )
    }
}

/// What a series' `currency` label says, read once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CurrencyLabel {
    /// An ISO 4217 code with an exponent.
    Iso(IsoCurrency),
    /// A label that is not an ISO 4217 code with an exponent (codes are upper case).
    Unknown(String),
    /// No label at all (or an empty one).
    Missing,
}

impl CurrencyLabel {
    /// Reads a label value as recorded. An empty value is [`CurrencyLabel::Missing`]:
    /// Prometheus does not tell an empty label from an absent one.
    #[must_use]
    pub fn parse(label: &str) -> Self {
        if label.is_empty() {
            Self::Missing
        } else {
            IsoCurrency::from_code(label).map_or_else(|| Self::Unknown(label.to_owned()), Self::Iso)
        }
    }

    /// The label as recorded (`""` when missing).
    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            Self::Iso(c) => c.code(),
            Self::Unknown(code) => code,
            Self::Missing => "",
        }
    }

    /// The exponent, for an ISO 4217 currency.
    #[must_use]
    pub fn exponent(&self) -> Option<u32> {
        match self {
            Self::Iso(c) => Some(c.exponent()),
            Self::Unknown(_) | Self::Missing => None,
        }
    }

    /// `amount_minor` in major units without the code (`1499.00`), for an ISO 4217
    /// currency; `None` when the exponent is unknown.
    #[must_use]
    pub fn major(&self, amount_minor: u64) -> Option<String> {
        self.exponent().map(|e| format_minor(amount_minor, e))
    }

    /// Why the amount stays in minor units, when it does.
    #[must_use]
    pub fn note(&self) -> Option<&'static str> {
        match self {
            Self::Iso(_) => None,
            Self::Unknown(_) => Some(UNKNOWN_CURRENCY_NOTE),
            Self::Missing => Some(MISSING_CURRENCY_NOTE),
        }
    }

    /// `amount_minor` with the code, in major units when the exponent is known:
    /// `1499.00 USD`, `250 XBT (unknown currency: minor units)`,
    /// `250 (no currency label: minor units)`.
    #[must_use]
    pub fn format(&self, amount_minor: u64) -> String {
        match self {
            Self::Iso(c) => c.format(amount_minor),
            Self::Unknown(code) => format!("{amount_minor} {code} ({UNKNOWN_CURRENCY_NOTE})"),
            Self::Missing => format!("{amount_minor} ({MISSING_CURRENCY_NOTE})"),
        }
    }
}

impl fmt::Display for CurrencyLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2^53: the largest integer up to which every integer is an exact `f64`.
    const EXACT_LIMIT: u64 = 1 << 53;

    #[test]
    fn amounts_take_exactly_the_exponents_decimals() {
        assert_eq!(format_money(1_499, "JPY"), "1499 JPY");
        assert_eq!(format_money(149_900, "USD"), "1499.00 USD");
        assert_eq!(format_money(1_499, "KWD"), "1.499 KWD");
        assert_eq!(format_minor(1_499, 0), "1499");
        assert_eq!(format_minor(149_900, 2), "1499.00");
        assert_eq!(format_minor(1_499, 3), "1.499");
        assert_eq!(format_minor(12_345, 4), "1.2345");
    }

    #[test]
    fn zero_and_small_amounts_keep_a_leading_zero() {
        assert_eq!(format_money(0, "JPY"), "0 JPY");
        assert_eq!(format_money(0, "USD"), "0.00 USD");
        assert_eq!(format_money(0, "KWD"), "0.000 KWD");
        assert_eq!(format_money(5, "USD"), "0.05 USD");
        assert_eq!(format_money(7, "KWD"), "0.007 KWD");
        assert_eq!(format_money(50, "USD"), "0.50 USD");
        assert_eq!(format_money(100, "USD"), "1.00 USD");
        assert_eq!(format_money(999, "KWD"), "0.999 KWD");
        assert_eq!(format_money(1_000, "KWD"), "1.000 KWD");
        assert_eq!(format_minor(1, 4), "0.0001");
    }

    #[test]
    fn large_amounts_are_exact_up_to_two_to_the_53() {
        assert_eq!(EXACT_LIMIT, 9_007_199_254_740_992);
        assert_eq!(format_money(EXACT_LIMIT, "USD"), "90071992547409.92 USD");
        assert_eq!(format_money(EXACT_LIMIT, "JPY"), "9007199254740992 JPY");
        assert_eq!(format_money(EXACT_LIMIT, "KWD"), "9007199254740.992 KWD");
        assert_eq!(
            format_money(EXACT_LIMIT - 1, "USD"),
            "90071992547409.91 USD"
        );
        assert_eq!(format_minor(u64::MAX, 2), "184467440737095516.15");
        assert_eq!(format_minor(u64::MAX, 25), "0.0000018446744073709551615");
    }

    #[test]
    fn exponents_come_from_iso_4217() {
        let exponent = |code| IsoCurrency::from_code(code).map(IsoCurrency::exponent);
        assert_eq!(exponent("JPY"), Some(0));
        assert_eq!(exponent("USD"), Some(2));
        assert_eq!(exponent("KWD"), Some(3));
        assert_eq!(exponent("BHD"), Some(3));
        assert_eq!(exponent("CLF"), Some(4));
        // No exponent: precious metals and "no currency".
        assert_eq!(exponent("XAU"), None);
        assert_eq!(exponent("XXX"), None);
    }

    #[test]
    fn labels_that_are_no_iso_code_with_an_exponent_stay_in_minor_units() {
        for label in ["XBT", "usd", "US", "USDT", "XAU", " USD"] {
            let currency = CurrencyLabel::parse(label);
            assert_eq!(currency, CurrencyLabel::Unknown(label.to_owned()));
            assert_eq!(currency.exponent(), None);
            assert_eq!(currency.major(250), None);
            assert_eq!(currency.note(), Some(UNKNOWN_CURRENCY_NOTE));
            assert_eq!(
                currency.format(250),
                format!("250 {label} (unknown currency: minor units)")
            );
        }
        let missing = CurrencyLabel::parse("");
        assert_eq!(missing, CurrencyLabel::Missing);
        assert_eq!(missing.format(250), "250 (no currency label: minor units)");
        assert_eq!(missing.code(), "");
    }

    #[test]
    fn a_known_label_keeps_its_code_and_exponent() {
        let usd = CurrencyLabel::parse("USD");
        assert_eq!(usd.code(), "USD");
        assert_eq!(usd.exponent(), Some(2));
        assert_eq!(usd.major(149_900).as_deref(), Some("1499.00"));
        assert_eq!(usd.note(), None);
        assert_eq!(usd.to_string(), "USD");
    }
}
