//! Parsers for the values of the standard environment variables. Each returns the
//! problem with the value as text; callers attach the variable's name.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use super::{Compression, ExporterKind, OtlpProtocol, Temporality};

pub(crate) type Problem = String;

/// `otlp,prometheus` → the kinds, without duplicates; `none` → empty; `logging`
/// (the specification's deprecated name) → console.
///
/// On a problem, the error carries the entries that were understood, so a lenient
/// caller can use them and ignore the rest.
pub(crate) fn exporters(value: &str) -> Result<Vec<ExporterKind>, (Vec<ExporterKind>, Problem)> {
    let mut kinds = Vec::new();
    let mut none = false;
    let mut problem = None;
    for item in value.split(',').map(str::trim) {
        let kind = match item.to_ascii_lowercase().as_str() {
            "otlp" => ExporterKind::Otlp,
            "prometheus" => ExporterKind::Prometheus,
            "console" | "logging" => ExporterKind::Console,
            "none" => {
                none = true;
                continue;
            }
            "" => {
                problem.get_or_insert_with(|| {
                    "has an empty entry; list exporters separated by commas, e.g. otlp,prometheus"
                        .to_owned()
                });
                continue;
            }
            other => {
                problem.get_or_insert_with(|| {
                    format!(
                        "unknown exporter {:?}; expected a comma-separated list of otlp, prometheus, console, or none",
                        shown(other)
                    )
                });
                continue;
            }
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if none && !kinds.is_empty() {
        problem.get_or_insert_with(|| {
            "none cannot be combined with other exporters; use none alone to disable export"
                .to_owned()
        });
    }
    match problem {
        Some(p) => Err((kinds, p)),
        None => Ok(kinds),
    }
}

/// A value quoted in a message: credentials redacted (see
/// [`redact_text`](crate::secret::redact_text)), at most 64 characters, control
/// characters escaped by `{:?}` formatting.
pub(crate) fn shown(value: &str) -> String {
    const MAX: usize = 64;
    let value = crate::secret::redact_text(value);
    match value.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}...", value.get(..at).unwrap_or_default()),
        None => value,
    }
}

pub(crate) fn protocol(value: &str) -> Result<OtlpProtocol, Problem> {
    match value.trim() {
        "grpc" => Ok(OtlpProtocol::Grpc),
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        "http/json" => Ok(OtlpProtocol::HttpJson),
        other => Err(format!(
            "unknown protocol {:?}; expected grpc, http/protobuf or http/json",
            shown(other)
        )),
    }
}

pub(crate) fn temporality(value: &str) -> Result<Temporality, Problem> {
    match value.trim().to_ascii_lowercase().as_str() {
        "cumulative" => Ok(Temporality::Cumulative),
        "delta" => Ok(Temporality::Delta),
        "lowmemory" => Ok(Temporality::LowMemory),
        other => Err(format!(
            "unknown temporality {:?}; expected cumulative, delta or lowmemory",
            shown(other)
        )),
    }
}

pub(crate) fn compression(value: &str) -> Result<Compression, Problem> {
    match value.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        other => Err(format!(
            "unknown compression {:?}; expected gzip or none",
            shown(other)
        )),
    }
}

/// The specification's boolean: `true` or `false`, any case.
pub(crate) fn boolean(value: &str) -> Result<bool, Problem> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("{:?} is not true or false", shown(v)))
    }
}

fn whole_millis(value: &str) -> Result<u64, Problem> {
    value.trim().parse().map_err(|_| {
        format!(
            "{:?} is not a whole number of milliseconds; write e.g. 10000 for 10 s",
            shown(value)
        )
    })
}

/// An interval in whole milliseconds, at least 1.
pub(crate) fn millis(value: &str) -> Result<Duration, Problem> {
    match whole_millis(value)? {
        0 => Err("must be at least 1 millisecond".into()),
        ms => Ok(Duration::from_millis(ms)),
    }
}

/// A timeout in whole milliseconds; 0 (no limit) is kept as zero.
pub(crate) fn timeout(value: &str) -> Result<Duration, Problem> {
    whole_millis(value).map(Duration::from_millis)
}

/// A file path (the certificate variables): any non-empty value.
pub(crate) fn path(value: &str) -> Result<PathBuf, Problem> {
    Ok(PathBuf::from(value.trim()))
}

pub(crate) fn port(value: &str) -> Result<u16, Problem> {
    value.trim().parse().map_err(|_| {
        format!(
            "{:?} is not a port number; expected 0 to 65535 (0 picks a free port)",
            shown(value)
        )
    })
}

/// An IP address or `localhost` (which means 127.0.0.1: never a name lookup).
pub(crate) fn host(value: &str) -> Result<IpAddr, Problem> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    v.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| {
            format!(
                "{:?} is not an IP address; use an address such as 127.0.0.1, or localhost",
                shown(v)
            )
        })
}

/// Checks an `http://` or `https://` URL with a host and optional numeric port.
///
/// Problems quote the URL with its user-info and query string redacted.
pub(crate) fn endpoint(value: &str) -> Result<String, Problem> {
    let v = value.trim();
    let shown_url = shown(v);
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))
        .ok_or_else(|| format!("{shown_url:?} must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (h, p) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("{shown_url:?} has an unclosed [ in its host"))?;
        (h, p.strip_prefix(':'))
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(format!(
            "{shown_url:?} has no host; write e.g. http://localhost:4317"
        ));
    }
    if let Some(p) = port {
        if p.parse::<u16>().is_err() {
            return Err(format!(
                "{shown_url:?} has an invalid port; expected 1 to 65535"
            ));
        }
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{shown_url:?} contains whitespace"));
    }
    Ok(v.to_owned())
}

/// The HTTP URL for metrics from a generic base endpoint: appends `/v1/metrics`.
pub(crate) fn http_metrics_url(base: &str) -> String {
    format!("{}/v1/metrics", base.trim_end_matches('/'))
}

/// A `key=value,key2=value2` list with percent-encoded values (W3C baggage style),
/// as used by `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`.
///
/// Problems never quote a value, so secrets stay out of error messages.
pub(crate) fn key_values(value: &str) -> Result<Vec<(String, String)>, Problem> {
    let mut out = Vec::new();
    for (i, entry) in value.split(',').enumerate() {
        let n = i + 1;
        if entry.trim().is_empty() {
            continue;
        }
        let (k, v) = entry.split_once('=').ok_or_else(|| {
            format!("entry {n} has no '='; expected key=value pairs separated by commas")
        })?;
        let k = k.trim();
        if k.is_empty() {
            return Err(format!(
                "entry {n} has an empty key; expected key=value pairs separated by commas"
            ));
        }
        let v = percent_decode(v.trim())
            .ok_or_else(|| format!("the value of {k:?} has an invalid percent-encoding; encode reserved characters as %XX"))?;
        out.push((k.to_owned(), v));
    }
    Ok(out)
}

/// Checks that a header name is a valid lower-cased HTTP/gRPC metadata name.
///
/// An invalid name is never quoted: a list written in HTTP syntax
/// (`Authorization: Basic ...`) would otherwise put the credential in the message.
pub(crate) fn header_name(name: &str) -> Result<(), Problem> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b));
    if ok && !name.to_ascii_lowercase().ends_with("-bin") {
        Ok(())
    } else if name.contains(':') {
        Err("a header is written as `Name: value`; write name=value pairs separated by commas, values percent-encoded".into())
    } else {
        Err("a header name is not a valid HTTP header name (letters, digits, -, _ and .; not ending in -bin)".into())
    }
}

/// Checks that a header value is visible ASCII or space (never quotes the value).
pub(crate) fn header_value(name: &str, value: &str) -> Result<(), Problem> {
    if value
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || (0x21..0x7f).contains(&b))
    {
        Ok(())
    } else {
        Err(format!(
            "the value of header {name:?} contains characters not allowed in an HTTP header"
        ))
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_handles_escapes_and_refuses_broken_ones() {
        assert_eq!(percent_decode("a%20b%2Cc").as_deref(), Some("a b,c"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn endpoint_accepts_urls_with_host_and_port() {
        for ok in [
            "http://localhost:4317",
            "https://collector.example:443/",
            "http://[::1]:4318/v1/metrics",
            "http://127.0.0.1",
        ] {
            assert_eq!(endpoint(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in [
            "localhost:4317",
            "http://",
            "http://:4317",
            "http://h:99999",
            "http://h:x",
            "ftp://h",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn http_metrics_url_appends_the_signal_path_once() {
        assert_eq!(
            http_metrics_url("http://h:4318"),
            "http://h:4318/v1/metrics"
        );
        assert_eq!(
            http_metrics_url("http://h:4318/"),
            "http://h:4318/v1/metrics"
        );
        assert_eq!(
            http_metrics_url("http://h/otlp"),
            "http://h/otlp/v1/metrics"
        );
    }
}
