//! The price list: a monthly price per seat for each plan, in the currencies the
//! product sells in.

use business_metrics::{Currency, Money};

use crate::definitions::Plan;

/// The currencies the price list has.
pub const PRICED_CURRENCIES: [Currency; 3] = [Currency::USD, Currency::EUR, Currency::GBP];

/// The most seats one subscription holds.
pub const MAX_SEATS: u64 = 10_000;

/// The monthly price of one seat of `plan` in `currency`, if the product sells in
/// that currency. The three priced currencies share their numbers (9.00, 29.00,
/// 59.00 and 99.00 a seat).
pub fn seat_price(plan: Plan, currency: Currency) -> Option<Money> {
    if !PRICED_CURRENCIES.contains(&currency) {
        return None;
    }
    let minor = match plan {
        Plan::Starter => 900,
        Plan::Team => 2_900,
        Plan::Business => 5_900,
        Plan::Enterprise => 9_900,
    };
    Some(Money::new(minor, currency))
}

/// The codes of [`PRICED_CURRENCIES`], for messages.
pub fn priced_currency_codes() -> String {
    PRICED_CURRENCIES
        .iter()
        .map(|c| c.code())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `seats` seats at `seat_price`: a month of the subscription.
pub fn monthly_amount(seat_price: Money, seats: u64) -> Money {
    Money::new(
        seat_price.amount_minor.saturating_mul(seats),
        seat_price.currency,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plan_has_a_price_in_every_priced_currency_and_none_elsewhere() {
        for plan in Plan::ALL {
            for currency in PRICED_CURRENCIES {
                let price = seat_price(*plan, currency).unwrap();
                assert_eq!(price.currency, currency);
                assert!(price.amount_minor > 0);
            }
            assert_eq!(seat_price(*plan, Currency::JPY), None);
        }
        assert_eq!(priced_currency_codes(), "USD, EUR, GBP");
    }

    #[test]
    fn the_largest_subscription_fits_an_exact_amount() {
        let price = seat_price(Plan::Enterprise, Currency::USD).unwrap();
        let month = monthly_amount(price, MAX_SEATS);
        assert_eq!(month.amount_minor, 99_000_000);
        assert!(month.amount_minor <= business_metrics::MAX_AMOUNT_MINOR);
    }
}
