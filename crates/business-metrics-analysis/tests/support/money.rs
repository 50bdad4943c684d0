//! Money in the data set: a revenue counter whose increase over the last hour is known
//! per currency, a money gauge whose latest value is known, and gauges whose values are
//! no amount of money.

use std::fmt::Write as _;

use super::{Window, MINUTES, STEP_SECONDS};

/// The revenue counter's series: `(product_category, payment_method, region, currency)`
/// and its increase over the last hour in minor units. USD adds up to 149 905 cents,
/// KWD to 1 499 fils; `XBT` is no ISO 4217 code.
pub const REVENUE: [(&str, &str, &str, &str, u64); 7] = [
    ("electronics", "credit_card", "us", "USD", 100_000),
    ("books", "paypal", "us", "USD", 49_900),
    ("books", "credit_card", "eu", "USD", 5),
    ("electronics", "credit_card", "jp", "JPY", 1_499),
    ("electronics", "bank_transfer", "kw", "KWD", 1_492),
    ("books", "credit_card", "eu", "KWD", 7),
    ("books", "crypto", "eu", "XBT", 250),
];

/// The MRR gauge's series: `(plan, region, currency)` and its value at the window's end
/// in minor units. Each minute before the end it was 100 less.
pub const MRR: [(&str, &str, &str, u64); 4] = [
    ("pro", "us", "USD", 4_990_000),
    ("team", "us", "USD", 1_990_000),
    ("pro", "eu", "EUR", 1_234_567),
    ("pro", "jp", "JPY", 150_000),
];

/// Money gauges with one value each throughout, none of them an amount of money.
pub const BROKEN: [(&str, &str); 3] = [
    ("broken_negative_cents", "-500"),
    ("broken_nan_cents", "NaN"),
    ("broken_infinite_cents", "+Inf"),
];

/// Writes the money families in OpenMetrics text (without `# EOF`).
pub fn write_money(out: &mut String, window: Window) {
    let n = MINUTES + 1;
    let ts = |i: u64| window.start + i * STEP_SECONDS;

    // Counter value at minute i is hourly · i / 60: over any stretch of the last hour it
    // rises at exactly `hourly` an hour (see `openmetrics`).
    out.push_str("# TYPE business_revenue_cents counter\n");
    for (category, method, region, currency, hourly) in REVENUE {
        for i in 0..n {
            let value = hourly as f64 * i as f64 / 60.0;
            writeln!(
                out,
                "business_revenue_cents_total{{product_category=\"{category}\",payment_method=\"{method}\",region=\"{region}\",currency=\"{currency}\"}} {value} {}",
                ts(i)
            )
            .unwrap();
        }
    }

    out.push_str("# TYPE saas_mrr_cents gauge\n");
    for (plan, region, currency, latest) in MRR {
        for i in 0..n {
            let value = latest - (n - 1 - i) * 100;
            writeln!(
                out,
                "saas_mrr_cents{{plan=\"{plan}\",region=\"{region}\",currency=\"{currency}\"}} {value} {}",
                ts(i)
            )
            .unwrap();
        }
    }

    for (name, value) in BROKEN {
        writeln!(out, "# TYPE {name} gauge").unwrap();
        for i in 0..n {
            writeln!(out, "{name}{{currency=\"USD\"}} {value} {}", ts(i)).unwrap();
        }
    }
}
