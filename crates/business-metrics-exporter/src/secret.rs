//! Values that must never reach a log line or `Debug` output.

use std::fmt;

/// The text shown instead of a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// A secret string (an OTLP header value, a bearer token).
///
/// Its `Debug` prints `<redacted>`; it has no `Display`. Comparison with
/// [`Secret::matches`] takes the same time whatever the position of the first
/// differing byte.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the code that must send it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` equals the secret, compared in constant time for a
    /// given length.
    #[must_use]
    pub fn matches(&self, candidate: &[u8]) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Compares two byte strings without an early exit on the first difference.
///
/// The length is not hidden: a token's length is not what an attacker lacks.
/// An endpoint URL that prints with its user-info and query string (where credentials
/// are sometimes put) replaced by `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Url(pub(crate) String);

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_url(&self.0), f)
    }
}

/// `url` with its user-info and query string replaced by `<redacted>`.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => format!("{REDACTED}@{host}"),
        None => authority.to_owned(),
    };
    let mut out = String::with_capacity(url.len());
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    out.push_str(&host);
    out.push_str(path);
    if query.is_some() {
        out.push('?');
        out.push_str(REDACTED);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// A configuration value as it may be quoted in a message: URLs lose their
/// user-info and query string, anything after a credential scheme (`Bearer`,
/// `Basic`, `Token`, `Digest`, `ApiKey`) is removed, and so is the value of any
/// `key=value` or `key: value` whose key names a credential (token, secret,
/// password, key, auth, signature, credential). Every message of this crate that
/// quotes configuration goes through it.
pub(crate) fn redact_text(value: &str) -> String {
    const SCHEMES: [&str; 5] = ["bearer", "basic", "token", "digest", "apikey"];
    const SECRET_KEYS: [&str; 9] = [
        "token",
        "secret",
        "passw",
        "pwd",
        "key",
        "auth",
        "signature",
        "credential",
        "session",
    ];
    let lower = value.to_ascii_lowercase();
    // A credential scheme: keep the scheme word, drop everything after it.
    for scheme in SCHEMES {
        let mut from = 0;
        while let Some(at) = lower.get(from..).and_then(|l| l.find(scheme)) {
            let start = from + at;
            let end = start + scheme.len();
            let word_start = start == 0
                || !lower
                    .as_bytes()
                    .get(start - 1)
                    .is_some_and(u8::is_ascii_alphanumeric);
            let followed_by_space = lower.as_bytes().get(end).is_some_and(|b| *b == b' ');
            if word_start && followed_by_space {
                return format!("{} {REDACTED}", value.get(..end).unwrap_or_default());
            }
            from = end;
        }
    }
    // URLs anywhere in the value.
    let mut out = String::with_capacity(value.len());
    for (i, word) in value.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if word.contains("://") || word.contains('@') {
            out.push_str(&redact_url(word));
        } else {
            out.push_str(word);
        }
    }
    // key=value and key: value pairs whose key names a credential.
    let mut cleaned = String::with_capacity(out.len());
    let mut rest = out.as_str();
    loop {
        let (entry, sep) = match rest.find([',', ';', '&']) {
            Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i..i + 1)),
            None => (rest, None),
        };
        let split = entry.find('=').or_else(|| {
            entry
                .find(':')
                .filter(|&c| !entry.get(c..).unwrap_or_default().starts_with("://"))
        });
        match split {
            Some(at)
                if SECRET_KEYS.iter().any(|k| {
                    entry
                        .get(..at)
                        .unwrap_or_default()
                        .to_ascii_lowercase()
                        .contains(k)
                }) =>
            {
                cleaned.push_str(entry.get(..=at).unwrap_or_default());
                cleaned.push_str(REDACTED);
            }
            _ => cleaned.push_str(entry),
        }
        match sep {
            Some(sep) => {
                cleaned.push_str(sep);
                rest = rest.get(entry.len() + 1..).unwrap_or_default();
            }
            None => break,
        }
    }
    cleaned
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

/// OTLP headers (API keys): names are shown, values are redacted in `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, Secret)>);

impl Headers {
    /// No headers.
    #[must_use]
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Sets a header, replacing an earlier one of the same name (names compare
    /// case-insensitively and are stored in lower case).
    pub fn insert(&mut self, name: &str, value: Secret) {
        let name = name.to_ascii_lowercase();
        if let Some(slot) = self.0.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        } else {
            self.0.push((name, value));
        }
    }

    /// Sets every header of `other` over this set.
    pub fn merge(&mut self, other: &Self) {
        for (name, value) in &other.0 {
            self.insert(name, value.clone());
        }
    }

    /// The headers in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// The header names, in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// Whether there are no headers.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of headers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, _)| (n, REDACTED)))
            .finish()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn urls_print_without_user_info_or_query() {
        let cases = [
            (
                "https://bob:pw-123@collector.example:4318/v1/metrics?token=tok-9#f",
                "https://<redacted>@collector.example:4318/v1/metrics?<redacted>#f",
            ),
            ("http://127.0.0.1:4317", "http://127.0.0.1:4317"),
            ("collector:4317?key=k", "collector:4317?<redacted>"),
            ("https://a@b@host/p", "https://<redacted>@host/p"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown);
            assert_eq!(format!("{:?}", Url(url.to_owned())), format!("{shown:?}"));
        }
    }

    use super::*;

    #[test]
    fn secret_debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s:#?}"), "<redacted>");
    }

    #[test]
    fn headers_debug_shows_names_but_redacts_values() {
        let mut h = Headers::new();
        h.insert("X-Api-Key", Secret::new("abc123"));
        h.insert("dd-api-key", Secret::new("zzz"));
        let text = format!("{h:?}");
        assert_eq!(
            text,
            r#"{"x-api-key": "<redacted>", "dd-api-key": "<redacted>"}"#
        );
        assert!(!text.contains("abc123") && !text.contains("zzz"));
    }

    #[test]
    fn headers_insert_replaces_case_insensitively_and_merge_overrides() {
        let mut base = Headers::new();
        base.insert("a", Secret::new("1"));
        base.insert("b", Secret::new("2"));
        let mut over = Headers::new();
        over.insert("B", Secret::new("3"));
        base.merge(&over);
        let pairs: Vec<_> = base.iter().map(|(n, v)| (n, v.expose())).collect();
        assert_eq!(pairs, [("a", "1"), ("b", "3")]);
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokem"));
        assert!(!constant_time_eq(b"token", b"token2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}

#[cfg(test)]
mod redact_text_tests {
    use super::redact_text;

    #[test]
    fn credentials_in_quoted_values_are_removed() {
        for (value, shown) in [
            ("Bearer s3cr3t", "Bearer <redacted>"),
            (
                "authorization: Basic dXNlcjpzM2Ny",
                "authorization: Basic <redacted>",
            ),
            (
                "x-api-key=s3cr3t,x-tenant=acme",
                "x-api-key=<redacted>,x-tenant=acme",
            ),
            ("password=s3cr3t;user=bob", "password=<redacted>;user=bob"),
            (
                "https://bob:s3cr3t@collector:4318/v1?token=s3cr3t",
                "https://<redacted>@collector:4318/v1?<redacted>",
            ),
            ("soon", "soon"),
            ("http/json", "http/json"),
            ("basically", "basically"),
        ] {
            assert_eq!(redact_text(value), shown, "{value}");
        }
    }
}
