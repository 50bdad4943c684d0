//! The unit of a PromQL expression's values: given, or read from the unit suffix of
//! the metric names it reads (Prometheus' naming convention), or unknown.
//!
//! The rules, in order (the first that applies wins):
//!
//! 1. A quotient `A / B` at the top level whose two sides have the same unit is a
//!    `ratio` (conversion rates: `sum(rate(x{step="paid"}[5m])) / sum(rate(x{step="cart"}[5m]))`).
//! 2. `histogram_quantile(φ, …_bucket …)` has the unit of the histogram
//!    (`http_server_request_duration_seconds_bucket`: `s`).
//! 3. `rate`, `irate` or `deriv` of a metric is its unit per second
//!    (`business_funnel_step_total`: `events/s`).
//! 4. Otherwise the metric's own unit: the suffix after `_bucket`, `_sum`, `_count`,
//!    `_total` are removed (`_seconds` `s`, `_bytes` `bytes`, `_ratio` `ratio`,
//!    `_cents` `cents`, ...); a counter (`_total`, `_count`) without one counts
//!    `events`.
//!
//! Every metric an expression reads must agree, else (and for a name without a known
//! suffix, such as `orders_per_minute`) the unit is unknown: the report says so and
//! asks for it (`--technical-unit`, `--business-unit`).

use serde::Serialize;

/// A unit and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// The unit, e.g. `s`, `ratio`, `events/s`; `None` when unknown.
    pub name: Option<String>,
    /// How it was found, in words, e.g. `given` or `from the suffix _seconds of
    /// http_server_request_duration_seconds_bucket`.
    pub source: String,
}

impl Unit {
    /// A unit the user gave.
    #[must_use]
    pub fn given(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            source: "given".to_owned(),
        }
    }

    /// The unit as shown after a number: the unit, or `(unit unknown)`.
    #[must_use]
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("(unit unknown)")
    }

    /// `business unit per technical unit`, e.g. `ratio per s`.
    #[must_use]
    pub fn per(&self, other: &Self) -> String {
        match (&self.name, &other.name) {
            (Some(a), Some(b)) => format!("{a} per {b}"),
            (Some(a), None) => format!("{a} per technical unit (unknown)"),
            (None, Some(b)) => format!("business unit (unknown) per {b}"),
            (None, None) => "business unit per technical unit (both unknown)".to_owned(),
        }
    }
}

/// Metric name suffixes and the unit each names.
const SUFFIXES: [(&str, &str); 14] = [
    ("_seconds", "s"),
    ("_milliseconds", "ms"),
    ("_microseconds", "us"),
    ("_bytes", "bytes"),
    ("_ratio", "ratio"),
    ("_percent", "%"),
    ("_cents", "cents"),
    ("_meters", "m"),
    ("_celsius", "°C"),
    ("_volts", "V"),
    ("_amperes", "A"),
    ("_joules", "J"),
    ("_grams", "g"),
    ("_hertz", "Hz"),
];

/// Series suffixes of histograms, summaries and counters, removed before the unit.
const SERIES_SUFFIXES: [&str; 5] = ["_bucket", "_sum", "_count", "_total", "_created"];

/// Words of PromQL that are neither metric nor function names.
const KEYWORDS: [&str; 11] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
];

/// Aggregation operators, which may take `by (…)` before their parenthesis.
const AGGREGATORS: [&str; 14] = [
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// The unit of `promql`'s values by the rules of this module.
#[must_use]
pub fn infer_unit(promql: &str) -> Unit {
    let unknown = |why: String| Unit {
        name: None,
        source: why,
    };
    if let Some((left, right)) = split_top_level_division(promql) {
        let (a, b) = (infer_unit(left), infer_unit(right));
        if a.name.is_some() && a.name == b.name {
            return Unit {
                name: Some("ratio".to_owned()),
                source: format!(
                    "a quotient of two series in {}, so a ratio",
                    a.name.as_deref().unwrap_or_default()
                ),
            };
        }
        return unknown("a quotient of series whose units differ or are unknown".to_owned());
    }
    let tokens = tokens(promql);
    let metrics: Vec<&str> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Metric(m) => Some(*m),
            Token::Function(_) => None,
        })
        .collect();
    let Some(first) = metrics.first() else {
        return unknown("no metric name in the query".to_owned());
    };
    let Some((base, suffix)) = metric_unit(first) else {
        return unknown(format!("`{first}` has no unit suffix"));
    };
    if let Some(other) = metrics
        .iter()
        .find(|m| metric_unit(m) != Some((base, suffix)))
    {
        return unknown(format!("`{first}` and `{other}` have different units"));
    }
    let how = format!("from the suffix {suffix} of {first}");
    let functions = || {
        tokens.iter().filter_map(|t| match t {
            Token::Function(f) => Some(*f),
            Token::Metric(_) => None,
        })
    };
    let outer = functions().find(|f| *f == "histogram_quantile" || is_per_second(f));
    let name = match outer {
        Some(f) if is_per_second(f) => format!("{base}/s"),
        _ => base.to_owned(),
    };
    let how = match outer {
        Some(f) => format!("{how}, through {f}()"),
        None => how,
    };
    Unit {
        name: Some(name),
        source: how,
    }
}

fn is_per_second(function: &str) -> bool {
    matches!(function, "rate" | "irate" | "deriv")
}

/// The unit a metric's name states and the suffix stating it.
fn metric_unit(metric: &str) -> Option<(&'static str, &'static str)> {
    let mut stem = metric;
    let mut counter = false;
    for suffix in SERIES_SUFFIXES {
        if let Some(s) = stem.strip_suffix(suffix) {
            counter |= matches!(suffix, "_total" | "_count");
            stem = s;
            break;
        }
    }
    // `_seconds_total` is a counter of seconds.
    if let Some(s) = stem.strip_suffix("_total") {
        stem = s;
    }
    SUFFIXES
        .iter()
        .find(|(suffix, _)| stem.ends_with(suffix))
        .map(|&(suffix, unit)| (unit, suffix))
        .or_else(|| counter.then_some(("events", "_total")))
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Metric(&'a str),
    Function(&'a str),
}

/// Metric and function names of `promql`, skipping strings, label matchers, range
/// selectors, numbers, keywords and the label lists of `by (…)`, `on (…)`, ….
fn tokens(promql: &str) -> Vec<Token<'_>> {
    let bytes = promql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut skip_list = false;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'"' | b'\'' | b'`' => i = skip_string(bytes, i),
            b'{' => i = skip_until(bytes, i, b'}'),
            b'[' => i = skip_until(bytes, i, b']'),
            b'(' if skip_list => {
                skip_list = false;
                i = skip_until(bytes, i, b')');
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                let start = i;
                while bytes
                    .get(i)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b':')
                {
                    i += 1;
                }
                let word = promql.get(start..i).unwrap_or_default();
                let mut next = i;
                while bytes.get(next).is_some_and(u8::is_ascii_whitespace) {
                    next += 1;
                }
                if KEYWORDS.contains(&word) {
                    skip_list = matches!(
                        word,
                        "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                    );
                } else if bytes.get(next) == Some(&b'(') || AGGREGATORS.contains(&word) {
                    out.push(Token::Function(word));
                } else {
                    out.push(Token::Metric(word));
                }
            }
            c if c.is_ascii_digit() || c == b'.' => {
                while bytes
                    .get(i)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'.')
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes.get(start).copied();
    let mut i = start + 1;
    while let Some(&c) = bytes.get(i) {
        if c == b'\\' && quote != Some(b'`') {
            i += 2;
            continue;
        }
        i += 1;
        if Some(c) == quote {
            break;
        }
    }
    i
}

/// The index after the `close` matching the opener at `start`, strings skipped.
fn skip_until(bytes: &[u8], start: usize, close: u8) -> usize {
    let mut i = start + 1;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'"' | b'\'' | b'`' => i = skip_string(bytes, i),
            c if c == close => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// `A / B` when `/` is the last division outside parentheses, strings and selectors.
fn split_top_level_division(promql: &str) -> Option<(&str, &str)> {
    let bytes = promql.as_bytes();
    let mut depth = 0_i32;
    let mut i = 0;
    let mut found = None;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'"' | b'\'' | b'`' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'{' => {
                i = skip_until(bytes, i, b'}');
                continue;
            }
            b'[' => {
                i = skip_until(bytes, i, b']');
                continue;
            }
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'/' if depth == 0 => found = Some(i),
            _ => {}
        }
        i += 1;
    }
    let at = found?;
    Some((promql.get(..at)?, promql.get(at + 1..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(promql: &str) -> Option<String> {
        infer_unit(promql).name
    }

    #[test]
    fn a_histograms_quantile_has_the_histograms_unit() {
        let u = infer_unit(
            "histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m])))",
        );
        assert_eq!(u.name.as_deref(), Some("s"));
        assert_eq!(
            u.source,
            "from the suffix _seconds of http_server_request_duration_seconds_bucket, through histogram_quantile()"
        );
    }

    #[test]
    fn a_quotient_of_rates_of_one_counter_is_a_ratio() {
        let u = infer_unit(
            "sum(rate(business_funnel_step_total{step=\"order_confirmed\"}[5m])) / sum(rate(business_funnel_step_total{step=\"cart_view\"}[5m]))",
        );
        assert_eq!(u.name.as_deref(), Some("ratio"));
        assert_eq!(u.source, "a quotient of two series in events/s, so a ratio");
    }

    #[test]
    fn counters_rates_and_plain_suffixes() {
        assert_eq!(
            unit("sum(rate(business_funnel_step_total{funnel=\"a/b\"}[1m]))").as_deref(),
            Some("events/s")
        );
        assert_eq!(
            unit("rate(process_cpu_seconds_total[5m])").as_deref(),
            Some("s/s")
        );
        assert_eq!(unit("shop_request_latency_seconds").as_deref(), Some("s"));
        assert_eq!(
            unit("sum(increase(business_revenue_cents_total[1h]))").as_deref(),
            Some("cents")
        );
        assert_eq!(unit("cache_hit_ratio offset 5m").as_deref(), Some("ratio"));
    }

    #[test]
    fn unknown_and_mixed_units_are_unknown_with_a_reason() {
        let u = infer_unit("shop_orders_per_minute");
        assert_eq!(u.name, None);
        assert_eq!(u.source, "`shop_orders_per_minute` has no unit suffix");
        let u = infer_unit("a_seconds + on (job) b_bytes");
        assert_eq!(u.name, None);
        assert_eq!(u.source, "`a_seconds` and `b_bytes` have different units");
        assert_eq!(unit("vector(1)"), None);
        assert_eq!(unit("a_seconds / b_bytes"), None);
    }

    #[test]
    fn the_slope_unit_names_both() {
        let business = Unit::given("orders/min");
        assert_eq!(business.per(&Unit::given("s")), "orders/min per s");
        assert_eq!(
            business.per(&infer_unit("x")),
            "orders/min per technical unit (unknown)"
        );
    }
}
