//! Money: ISO 4217 currencies with their minor-unit exponents, and amounts in minor
//! units.
//!
//! The currency table is the `iso_currency` crate's, which follows the ISO 4217
//! maintenance agency's list; the exponent (JPY 0, USD 2, KWD 3) governs how an
//! amount in minor units is shown.

use std::fmt;
use std::str::FromStr;

use crate::error::RecordError;

/// A currency that payments are made in: an active ISO 4217 code with a minor unit.
/// The default is [`Currency::USD`].
///
/// Fund codes (`BOV`, `USN`, ...), precious metals (`XAU`), the testing and "no
/// currency" codes (`XTS`, `XXX`) and superseded codes (`HRK`) are refused: revenue
/// is never booked in them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// United States dollar (exponent 2).
    pub const USD: Self = Self(iso_currency::Currency::USD);
    /// Euro (exponent 2).
    pub const EUR: Self = Self(iso_currency::Currency::EUR);
    /// Pound sterling (exponent 2).
    pub const GBP: Self = Self(iso_currency::Currency::GBP);
    /// Japanese yen (exponent 0: amounts are whole yen).
    pub const JPY: Self = Self(iso_currency::Currency::JPY);
    /// Kuwaiti dinar (exponent 3: amounts are fils).
    pub const KWD: Self = Self(iso_currency::Currency::KWD);

    /// Parses a code, ignoring ASCII case and surrounding white space.
    ///
    /// # Errors
    /// [`RecordError::UnknownCurrency`] when the code is not an active ISO 4217
    /// currency code that payments are made in.
    pub fn parse(code: &str) -> Result<Self, RecordError> {
        let trimmed = code.trim();
        if let [a, b, c] = trimmed.as_bytes() {
            let upper = [
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ];
            if let Some(currency) = std::str::from_utf8(&upper)
                .ok()
                .and_then(iso_currency::Currency::from_code)
                .filter(|c| is_payment_currency(*c))
            {
                return Ok(Self(currency));
            }
        }
        let shown: String = trimmed.chars().take(16).collect();
        Err(RecordError::UnknownCurrency { code: shown })
    }

    /// The upper-case three-letter code.
    #[must_use]
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// How many decimal places the minor unit has: 0 for JPY, 2 for USD, 3 for KWD.
    #[must_use]
    pub fn exponent(self) -> u32 {
        // `parse` only admits currencies that have one.
        self.0.exponent().map_or(0, u32::from)
    }

    /// Minor units per major unit: `10^exponent`.
    #[must_use]
    pub fn minor_per_major(self) -> u64 {
        10u64.pow(self.exponent())
    }

    /// An amount in minor units, written in major units with the currency's
    /// decimals and its code: `1499.00 USD`, `1499 JPY`, `1.499 KWD`.
    #[must_use]
    pub fn format_minor(self, amount_minor: u64) -> String {
        let exp = self.exponent();
        let per = self.minor_per_major();
        let (major, minor) = (amount_minor / per, amount_minor % per);
        let width = usize::try_from(exp).unwrap_or(0);
        if exp == 0 {
            format!("{major} {}", self.code())
        } else {
            format!("{major}.{minor:0width$} {}", self.code())
        }
    }

    /// Every currency [`Currency::parse`] accepts, sorted by code.
    #[must_use]
    pub fn every() -> Vec<Self> {
        Self::all()
            .into_iter()
            .filter_map(|code| Self::parse(code).ok())
            .collect()
    }

    /// Every code [`Currency::parse`] accepts, sorted.
    #[must_use]
    pub fn all() -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = (*b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            .iter()
            .flat_map(|a| {
                (*b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                    .iter()
                    .flat_map(move |b| (*b"ABCDEFGHIJKLMNOPQRSTUVWXYZ").map(|c| [*a, *b, c]))
            })
            .filter_map(|code| {
                let code = std::str::from_utf8(&code).ok()?;
                iso_currency::Currency::from_code(code).filter(|c| is_payment_currency(*c))
            })
            .map(|c| c.code())
            .collect();
        codes.sort_unstable();
        codes
    }
}

fn is_payment_currency(c: iso_currency::Currency) -> bool {
    c.exponent().is_some() && !c.is_fund() && !c.is_special() && c.is_superseded().is_none()
}

impl Default for Currency {
    fn default() -> Self {
        Self::USD
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = RecordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// An amount of money: integer minor units of a [`Currency`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    /// The amount in the currency's minor unit (cents for USD, yen for JPY, fils for
    /// KWD).
    pub amount_minor: u64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in minor units of `currency`.
    #[must_use]
    pub const fn new(amount_minor: u64, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.currency.format_minor(self.amount_minor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_any_case_and_refuses_what_payments_are_not_made_in() {
        assert_eq!(Currency::parse("usd"), Ok(Currency::USD));
        assert_eq!(Currency::parse(" Eur "), Ok(Currency::EUR));
        assert_eq!("JPY".parse::<Currency>(), Ok(Currency::JPY));
        assert_eq!(Currency::default().code(), "USD");
        for good in ["VED", "ZWG", "XCG", "SLE", "CHF", "KWD"] {
            assert_eq!(Currency::parse(good).map(Currency::code), Ok(good));
        }
        for bad in [
            "", "US", "USDX", "XXX", "XTS", "XAU", "BOV", "USN", "HRK", "ÜSD", "U\u{0}D",
        ] {
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

    #[test]
    fn exponents_come_from_iso_4217() {
        assert_eq!(Currency::JPY.exponent(), 0);
        assert_eq!(Currency::USD.exponent(), 2);
        assert_eq!(Currency::KWD.exponent(), 3);
        assert_eq!(Currency::parse("CLP").map(Currency::exponent), Ok(0));
        assert_eq!(Currency::parse("BHD").map(Currency::exponent), Ok(3));
        assert_eq!(Currency::KWD.minor_per_major(), 1000);
    }

    #[test]
    fn amounts_are_shown_in_major_units_by_the_exponent() {
        assert_eq!(Currency::USD.format_minor(149_900), "1499.00 USD");
        assert_eq!(Currency::USD.format_minor(5), "0.05 USD");
        assert_eq!(Currency::JPY.format_minor(1499), "1499 JPY");
        assert_eq!(Currency::KWD.format_minor(1_499), "1.499 KWD");
        assert_eq!(Currency::KWD.format_minor(7), "0.007 KWD");
        assert_eq!(Money::new(250, Currency::EUR).to_string(), "2.50 EUR");
    }

    #[test]
    fn the_list_of_accepted_codes_is_sorted_and_parses() {
        let all = Currency::all();
        assert!(all.len() > 150, "{}", all.len());
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(all.iter().all(|c| Currency::parse(c).is_ok()));
        assert!(all.contains(&"JPY") && !all.contains(&"XAU"));
    }
}
