//! Compile-time checks of the names definitions use. They run in `const` items the
//! definition macros emit, so a bad name stops the build with a message naming the
//! problem; the catalog builder runs the same checks again (for definitions made
//! without the macros) and names the offending value.

/// The longest name or label value a definition may use, in bytes.
pub(crate) const MAX_NAME_LEN: usize = 64;

/// Whether `a == b`, usable in `const` contexts.
#[must_use]
pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
    bytes_eq(a.as_bytes(), b.as_bytes())
}

const fn bytes_eq(mut a: &[u8], mut b: &[u8]) -> bool {
    loop {
        match (a, b) {
            ([], []) => return true,
            ([x, ra @ ..], [y, rb @ ..]) if *x == *y => {
                a = ra;
                b = rb;
            }
            _ => return false,
        }
    }
}

/// Whether `s` starts with `prefix`, usable in `const` contexts.
#[must_use]
pub(crate) const fn starts_with(s: &str, prefix: &str) -> bool {
    let (mut s, mut p) = (s.as_bytes(), prefix.as_bytes());
    loop {
        match (s, p) {
            (_, []) => return true,
            ([x, rs @ ..], [y, rp @ ..]) if *x == *y => {
                s = rs;
                p = rp;
            }
            _ => return false,
        }
    }
}

/// Whether `s` ends with `suffix`, usable in `const` contexts.
#[must_use]
pub(crate) const fn ends_with(s: &str, suffix: &str) -> bool {
    let (mut s, mut p) = (s.as_bytes(), suffix.as_bytes());
    loop {
        match (s, p) {
            (_, []) => return true,
            ([rs @ .., x], [rp @ .., y]) if *x == *y => {
                s = rs;
                p = rp;
            }
            _ => return false,
        }
    }
}

/// Whether `b` is one identifier part: `[a-z][a-z0-9_]*`, no `__`, no trailing `_`.
const fn is_part(b: &[u8]) -> bool {
    let [first, rest @ ..] = b else {
        return false;
    };
    let mut rest: &[u8] = rest;
    if !first.is_ascii_lowercase() {
        return false;
    }
    while let [c, tail @ ..] = rest {
        let ok = match (*c, tail) {
            (b'_', [] | [b'_', ..]) => false,
            (b'_', _) => true,
            (c, _) => c.is_ascii_lowercase() || c.is_ascii_digit(),
        };
        if !ok {
            return false;
        }
        rest = tail;
    }
    true
}

/// A label-safe identifier: `[a-z][a-z0-9_]*`, no `__`, no trailing `_`, at most
/// [`MAX_NAME_LEN`] bytes. Such a value reads the same on every export path.
#[must_use]
pub(crate) const fn is_identifier(s: &str) -> bool {
    s.len() <= MAX_NAME_LEN && is_part(s.as_bytes())
}

/// An OpenTelemetry instrument name whose Prometheus spelling is the same on every
/// path: identifiers joined by single dots (`saas.mrr_cents`).
#[must_use]
pub(crate) const fn is_instrument_name(s: &str) -> bool {
    if s.len() > 2 * MAX_NAME_LEN {
        return false;
    }
    let mut rest = s.as_bytes();
    loop {
        // The part runs to the next dot.
        let mut len = 0;
        let mut scan = rest;
        while let [c, tail @ ..] = scan {
            if *c == b'.' {
                break;
            }
            len += 1;
            scan = tail;
        }
        let (part, after) = rest.split_at(len);
        if !is_part(part) {
            return false;
        }
        match after {
            [] => return true,
            [_dot, tail @ ..] => rest = tail,
        }
    }
}

/// Whether a unit adds nothing or a fixed suffix on every path: an annotation in
/// braces (`{seat}`), `s` (seconds) or `1` (a ratio, gauges and histograms only).
#[must_use]
pub(crate) const fn is_portable_unit(unit: &str) -> bool {
    if str_eq(unit, "s") || str_eq(unit, "1") {
        return true;
    }
    let [b'{', inner @ .., b'}'] = unit.as_bytes() else {
        return false;
    };
    let mut inner: &[u8] = inner;
    if inner.is_empty() {
        return false;
    }
    while let [c, tail @ ..] = inner {
        if !(c.is_ascii_lowercase() || *c == b'_') {
            return false;
        }
        inner = tail;
    }
    true
}

/// Stops the build when a closed set's values are not distinct identifiers.
// Evaluated in `const` items: the panic is a build error naming the problem.
#[allow(clippy::panic)]
pub const fn check_values(kind: &str, values: &[&str]) {
    if !is_identifier(kind) {
        panic!("closed set: the set name must be [a-z][a-z0-9_]*, at most 64 bytes");
    }
    if let Some(problem) = values_problem(values) {
        panic!("{}", problem);
    }
}

/// What is wrong with a list of label values, if anything: one that is not an
/// identifier, or a duplicate.
#[must_use]
pub(crate) const fn values_problem(mut values: &[&str]) -> Option<&'static str> {
    while let [value, rest @ ..] = values {
        if !is_identifier(value) {
            return Some(
                "every value must be [a-z][a-z0-9_]* (no `__`, no trailing `_`), at most 64 bytes",
            );
        }
        if contains(rest, value) {
            return Some("duplicate value");
        }
        values = rest;
    }
    None
}

/// Whether `list` holds `value`, usable in `const` contexts.
#[must_use]
pub(crate) const fn contains(mut list: &[&str], value: &str) -> bool {
    while let [first, rest @ ..] = list {
        if str_eq(first, value) {
            return true;
        }
        list = rest;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_lower_snake_case_without_doubled_or_trailing_underscores() {
        for good in ["a", "cart_view", "step2", "x_1_y"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in [
            "",
            "A",
            "_a",
            "a_",
            "a__b",
            "1a",
            "a-b",
            "a.b",
            "é",
            &"a".repeat(65),
        ] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn instrument_names_are_identifiers_joined_by_dots() {
        for good in ["saas.mrr_cents", "a", "a.b.c"] {
            assert!(is_instrument_name(good), "{good}");
        }
        for bad in [
            "",
            ".a",
            "a.",
            "a..b",
            "Saas.mrr",
            "saas.mrr-cents",
            "saas.mrr__c",
        ] {
            assert!(!is_instrument_name(bad), "{bad}");
        }
    }

    #[test]
    fn portable_units_are_annotations_seconds_or_ratios() {
        for good in ["{seat}", "{cent}", "s", "1", "{trial_day}"] {
            assert!(is_portable_unit(good), "{good}");
        }
        for bad in ["", "ms", "By", "USD", "{}", "{Seat}", "{a b}", "{seat"] {
            assert!(!is_portable_unit(bad), "{bad}");
        }
    }

    #[test]
    fn const_string_helpers() {
        assert!(str_eq("ab", "ab") && !str_eq("ab", "abc"));
        assert!(starts_with("milestone_x", "milestone_") && !starts_with("mile", "milestone_"));
        assert!(ends_with("checkout_error", "_error") && !ends_with("error", "_error"));
    }
}
