//! ISO 4217 currency codes.

use std::fmt;
use std::str::FromStr;

use crate::error::RecordError;

/// Active ISO 4217 codes of currencies that payments are made in, sorted.
///
/// Fund codes (`BOV`, `CHE`, `USN`, ...), precious metals (`XAU`, ...), bond units,
/// special drawing rights, and the testing and "no currency" codes (`XTS`, `XXX`) are
/// left out: revenue is never booked in them.
const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP",
    "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD",
    "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY",
    "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD",
    "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK",
    "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG",
    "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS",
    "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// A validated ISO 4217 currency code. The default is [`Currency::USD`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(&'static str);

impl Currency {
    /// United States dollar.
    pub const USD: Self = Self("USD");
    /// Euro.
    pub const EUR: Self = Self("EUR");
    /// Pound sterling.
    pub const GBP: Self = Self("GBP");
    /// Japanese yen (no minor unit: amounts are whole yen).
    pub const JPY: Self = Self("JPY");

    /// Parses a code, ignoring ASCII case and surrounding white space.
    ///
    /// # Errors
    /// [`RecordError::UnknownCurrency`] when the code is not an active ISO 4217
    /// currency code.
    pub fn parse(code: &str) -> Result<Self, RecordError> {
        let trimmed = code.trim();
        let bytes = trimmed.as_bytes();
        if let [a, b, c] = bytes {
            let upper = [
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ];
            if let Ok(upper) = std::str::from_utf8(&upper) {
                if let Ok(i) = CODES.binary_search(&upper) {
                    if let Some(code) = CODES.get(i) {
                        return Ok(Self(code));
                    }
                }
            }
        }
        let shown: String = trimmed.chars().take(16).collect();
        Err(RecordError::UnknownCurrency { code: shown })
    }

    /// The upper-case three-letter code.
    #[must_use]
    pub const fn code(self) -> &'static str {
        self.0
    }

    /// Every code [`Currency::parse`] accepts, sorted.
    #[must_use]
    pub fn all() -> &'static [&'static str] {
        CODES
    }
}

impl Default for Currency {
    fn default() -> Self {
        Self::USD
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl FromStr for Currency {
    type Err = RecordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_unique_and_three_upper_case_letters() {
        assert!(CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(CODES
            .iter()
            .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn parse_accepts_any_case_and_refuses_unknown_codes() {
        assert_eq!(Currency::parse("usd"), Ok(Currency::USD));
        assert_eq!(Currency::parse(" Eur "), Ok(Currency::EUR));
        assert_eq!("JPY".parse::<Currency>(), Ok(Currency::JPY));
        assert_eq!(Currency::default().code(), "USD");
        for bad in ["", "US", "USDX", "XXX", "XTS", "HRK", "ÜSD", "U\u{0}D"] {
            assert!(
                matches!(
                    Currency::parse(bad),
                    Err(RecordError::UnknownCurrency { .. })
                ),
                "{bad:?}"
            );
        }
        let long = "x".repeat(100);
        match Currency::parse(&long) {
            Err(RecordError::UnknownCurrency { code }) => assert_eq!(code.len(), 16),
            other => panic!("unexpected {other:?}"),
        }
    }
}
