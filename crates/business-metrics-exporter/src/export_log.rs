//! Export failures reported through `tracing` at a bounded rate.
//!
//! The SDK's periodic reader logs nothing unless its `internal-logs` feature is on,
//! and then it logs every failed export at error level, every interval, for as long
//! as the collector is down. [`LoggedExporter`] wraps a push exporter instead and
//! reports an outage in three kinds of line, all naming the endpoint's `host:port`:
//!
//! - the first failure, at `warn`, with the error;
//! - at most one summary per interval while failures go on, at `warn`:
//!   `N further metrics export failures to HOST:PORT in the last M s`;
//! - one line when an export succeeds again, at `info`.
//!
//! Error texts pass through [`Redactor`] first: header values and the endpoint's
//! user-info and query never reach a log line.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

use crate::secret::{Headers, REDACTED};

/// Error texts are cut to this many characters in log lines.
const MAX_ERROR_CHARS: usize = 512;

/// What to log after an export, decided by [`FailureLog`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Line {
    /// The first failure after a success (or since start).
    First { error: String },
    /// Failures since the last line, once the interval has passed (or at shutdown,
    /// without an error).
    Summary {
        failures: u64,
        window: Duration,
        error: Option<String>,
    },
    /// An export succeeded after `failures` failed ones over `outage`.
    Recovered { failures: u64, outage: Duration },
}

#[derive(Clone, Copy, Debug)]
struct Outage {
    started: Instant,
    total: u64,
    unreported: u64,
    last_line: Instant,
}

/// The rate limiter: pure state, fed with each export's outcome and the time.
#[derive(Debug)]
struct FailureLog {
    interval: Duration,
    outage: Option<Outage>,
}

impl FailureLog {
    const fn new(interval: Duration) -> Self {
        Self {
            interval,
            outage: None,
        }
    }

    fn on_export(&mut self, now: Instant, result: Result<(), &str>) -> Option<Line> {
        match (result, self.outage.as_mut()) {
            (Ok(()), None) => None,
            (Ok(()), Some(o)) => {
                let line = Line::Recovered {
                    failures: o.total,
                    outage: now.saturating_duration_since(o.started),
                };
                self.outage = None;
                Some(line)
            }
            (Err(error), None) => {
                self.outage = Some(Outage {
                    started: now,
                    total: 1,
                    unreported: 0,
                    last_line: now,
                });
                Some(Line::First {
                    error: error.to_owned(),
                })
            }
            (Err(error), Some(o)) => {
                o.total += 1;
                o.unreported += 1;
                let window = now.saturating_duration_since(o.last_line);
                (window >= self.interval).then(|| {
                    let failures = std::mem::take(&mut o.unreported);
                    o.last_line = now;
                    Line::Summary {
                        failures,
                        window,
                        error: Some(error.to_owned()),
                    }
                })
            }
        }
    }

    /// At shutdown: a summary of failures not reported yet, if any.
    fn on_shutdown(&mut self, now: Instant) -> Option<Line> {
        let o = self.outage.as_mut()?;
        let failures = std::mem::take(&mut o.unreported);
        (failures > 0).then(|| {
            let window = now.saturating_duration_since(o.last_line);
            o.last_line = now;
            Line::Summary {
                failures,
                window,
                error: None,
            }
        })
    }
}

/// Removes secrets from error texts before they are logged.
#[derive(Debug, Default)]
struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Header values, and the endpoint's user-info and query string.
    fn new(endpoint: &str, headers: &Headers) -> Self {
        let mut secrets: Vec<String> = headers
            .iter()
            .map(|(_, v)| v.expose().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            secrets.push(userinfo.to_owned());
        }
        if let Some((_, query)) = endpoint.split_once('?') {
            let query = query.split('#').next().unwrap_or_default();
            secrets.push(query.to_owned());
        }
        secrets.retain(|s| !s.is_empty());
        // Longest first, so a secret containing another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { secrets }
    }

    fn clean(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        if out.chars().count() > MAX_ERROR_CHARS {
            out = out.chars().take(MAX_ERROR_CHARS).collect();
            out.push_str("...");
        }
        out
    }
}

/// `host:port` of an endpoint URL (no scheme, user-info, path or query); the port
/// is the scheme's default when the URL names none.
pub(crate) fn host_port(endpoint: &str) -> String {
    let (scheme, rest) = endpoint.split_once("://").unwrap_or(("http", endpoint));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let has_port = match host.rsplit_once(':') {
        // An IPv6 literal without a port ends in `]`.
        Some((_, port)) => !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    };
    if has_port {
        host.to_owned()
    } else {
        let port = if scheme.eq_ignore_ascii_case("https") {
            443
        } else {
            80
        };
        format!("{host}:{port}")
    }
}

/// A push exporter that reports its failures through `tracing` at a bounded rate
/// and otherwise delegates everything to the exporter it wraps.
#[derive(Debug)]
pub(crate) struct LoggedExporter<E> {
    inner: E,
    endpoint: String,
    interval: Duration,
    redactor: Redactor,
    log: Mutex<FailureLog>,
}

impl<E> LoggedExporter<E> {
    /// Wraps `inner`, which sends to `endpoint` with `headers`; summaries of repeated
    /// failures come at most once per `interval`.
    pub(crate) fn new(inner: E, endpoint: &str, headers: &Headers, interval: Duration) -> Self {
        Self {
            inner,
            endpoint: host_port(endpoint),
            interval,
            redactor: Redactor::new(endpoint, headers),
            log: Mutex::new(FailureLog::new(interval)),
        }
    }

    fn state(&self) -> MutexGuard<'_, FailureLog> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn emit(&self, line: Line) {
        let endpoint = self.endpoint.as_str();
        let interval = self.interval.as_secs_f64();
        match line {
            Line::First { error } => tracing::warn!(
                endpoint,
                "metrics export to {endpoint} failed: {error}; recorded values are kept and \
                 sent (as cumulative totals) once the collector is reachable; further failures \
                 are summarised at most every {interval} s"
            ),
            Line::Summary {
                failures,
                window,
                error,
            } => {
                let secs = window.as_secs();
                let tail = match error {
                    Some(error) => format!("last error: {error}"),
                    None => "shutting down".to_owned(),
                };
                tracing::warn!(
                    endpoint,
                    failures,
                    "{failures} further metrics export failures to {endpoint} in the last \
                     {secs} s; {tail}"
                );
            }
            Line::Recovered { failures, outage } => {
                let secs = outage.as_secs();
                tracing::info!(
                    endpoint,
                    failures,
                    "metrics export to {endpoint} recovered after {failures} failed exports \
                     in {secs} s"
                );
            }
        }
    }

    fn observe(&self, result: &OTelSdkResult) {
        let error = result
            .as_ref()
            .err()
            .map(|e| self.redactor.clean(&e.to_string()));
        let line = self
            .state()
            .on_export(Instant::now(), error.as_deref().map_or(Ok(()), Err));
        if let Some(line) = line {
            self.emit(line);
        }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for LoggedExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        // Shut down is not an outage of the collector.
        if !matches!(result, Err(OTelSdkError::AlreadyShutdown)) {
            self.observe(&result);
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let line = self.state().on_shutdown(Instant::now());
        if let Some(line) = line {
            self.emit(line);
        }
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    const MINUTE: Duration = Duration::from_secs(60);

    fn at(start: Instant, secs: u64) -> Instant {
        start + Duration::from_secs(secs)
    }

    #[test]
    fn an_outage_logs_the_first_failure_then_one_summary_per_interval_then_recovery() {
        let t0 = Instant::now();
        let mut log = FailureLog::new(MINUTE);
        let mut lines = Vec::new();
        // One failed export every 10 s for 200 s: 21 failures.
        for s in (0..=200).step_by(10) {
            lines.extend(log.on_export(at(t0, s), Err("refused")));
        }
        lines.extend(log.on_export(at(t0, 205), Ok(())));
        lines.extend(log.on_export(at(t0, 215), Ok(())));
        assert_eq!(
            lines,
            [
                Line::First {
                    error: "refused".into()
                },
                Line::Summary {
                    failures: 6,
                    window: MINUTE,
                    error: Some("refused".into())
                },
                Line::Summary {
                    failures: 6,
                    window: MINUTE,
                    error: Some("refused".into())
                },
                Line::Summary {
                    failures: 6,
                    window: MINUTE,
                    error: Some("refused".into())
                },
                Line::Recovered {
                    failures: 21,
                    outage: Duration::from_secs(205)
                },
            ]
        );
    }

    #[test]
    fn a_new_outage_after_recovery_is_reported_again_and_shutdown_flushes_the_count() {
        let t0 = Instant::now();
        let mut log = FailureLog::new(MINUTE);
        assert!(log.on_export(t0, Ok(())).is_none());
        assert!(matches!(
            log.on_export(at(t0, 1), Err("a")),
            Some(Line::First { .. })
        ));
        assert!(matches!(
            log.on_export(at(t0, 2), Ok(())),
            Some(Line::Recovered { failures: 1, .. })
        ));
        assert!(matches!(
            log.on_export(at(t0, 3), Err("b")),
            Some(Line::First { error }) if error == "b"
        ));
        assert_eq!(log.on_export(at(t0, 4), Err("b")), None);
        assert_eq!(log.on_export(at(t0, 5), Err("b")), None);
        assert_eq!(
            log.on_shutdown(at(t0, 6)),
            Some(Line::Summary {
                failures: 2,
                window: Duration::from_secs(3),
                error: None
            })
        );
        assert_eq!(log.on_shutdown(at(t0, 7)), None);
    }

    #[test]
    fn host_port_drops_scheme_userinfo_path_and_query() {
        assert_eq!(host_port("http://127.0.0.1:4317"), "127.0.0.1:4317");
        assert_eq!(
            host_port("https://user:pw@otlp.example.com/v1/metrics?key=k"),
            "otlp.example.com:443"
        );
        assert_eq!(host_port("http://collector/v1/metrics"), "collector:80");
        assert_eq!(host_port("http://[::1]:4318/v1/metrics"), "[::1]:4318");
        assert_eq!(host_port("http://[::1]/v1/metrics"), "[::1]:80");
    }

    #[test]
    fn redactor_removes_header_values_userinfo_and_query() {
        let mut headers = Headers::new();
        headers.insert("x-api-key", Secret::new("s3cr3t-key"));
        let r = Redactor::new("https://bob:pw@host:4318/v1/metrics?token=abc", &headers);
        let text = r.clean(
            "error sending request for url (https://bob:pw@host:4318/v1/metrics?token=abc): \
             bad key s3cr3t-key",
        );
        assert_eq!(
            text,
            "error sending request for url (https://<redacted>@host:4318/v1/metrics?<redacted>): \
             bad key <redacted>"
        );
    }

    #[test]
    fn long_errors_are_cut() {
        let r = Redactor::default();
        let text = r.clean(&"x".repeat(2000));
        assert_eq!(text.len(), MAX_ERROR_CHARS + 3);
    }
}
