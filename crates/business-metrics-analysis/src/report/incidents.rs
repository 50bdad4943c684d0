//! Incident windows: given as `START/END` (RFC 3339 or Unix seconds), or read from
//! Prometheus' `ALERTS` series of an alert while it was firing.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::client::{PrometheusClient, Sample};
use crate::error::AnalysisError;
use crate::time::{format_rfc3339, parse_time};

/// A stretch of time during which something was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentWindow {
    /// When it began.
    pub start: SystemTime,
    /// When it ended.
    pub end: SystemTime,
    /// Where it came from: `given`, or `alert <name>`.
    pub source: String,
}

impl IncidentWindow {
    /// Reads `START/END`, each an RFC 3339 time or Unix seconds
    /// (`2026-12-02T14:00:00Z/2026-12-02T14:20:00Z`).
    ///
    /// # Errors
    ///
    /// [`AnalysisError::InvalidArgument`] naming `--incident` when there is no `/`,
    /// a time does not parse, or the end is not after the start.
    pub fn parse(text: &str) -> Result<Self, AnalysisError> {
        let invalid = |reason: String| AnalysisError::InvalidArgument {
            name: "--incident".to_owned(),
            reason,
        };
        let (start, end) = text.split_once('/').ok_or_else(|| {
            invalid(format!(
                "`{text}` is not START/END, e.g. 2026-12-02T14:00:00Z/2026-12-02T14:20:00Z"
            ))
        })?;
        let start = parse_time(start.trim()).map_err(|e| invalid(e.to_string()))?;
        let end = parse_time(end.trim()).map_err(|e| invalid(e.to_string()))?;
        if end <= start {
            return Err(invalid(format!(
                "`{text}` ends at or before it starts; give START/END in that order"
            )));
        }
        Ok(Self {
            start,
            end,
            source: "given".to_owned(),
        })
    }

    /// The window as `START/END` in RFC 3339.
    #[must_use]
    pub fn to_rfc3339(&self) -> String {
        format!(
            "{}/{}",
            format_rfc3339(self.start),
            format_rfc3339(self.end)
        )
    }
}

/// The PromQL of an alert's firing samples: `ALERTS{alertname="NAME", alertstate="firing"}`,
/// summed so that the alert's several series (one per label set) make one.
#[must_use]
pub fn alert_query(alertname: &str) -> String {
    let escaped: String = alertname
        .chars()
        .flat_map(|c| match c {
            '\\' => vec!['\\', '\\'],
            '"' => vec!['\\', '"'],
            '\n' => vec!['\\', 'n'],
            c => vec![c],
        })
        .collect();
    format!("sum(ALERTS{{alertname=\"{escaped}\", alertstate=\"firing\"}})")
}

/// Incident windows from the samples of [`alert_query`] every `step`: a window runs
/// from the first sample of a run of consecutive firing samples (value > 0) to one
/// step after its last; a missing sample ends a run.
#[must_use]
pub fn windows_from_samples(
    samples: &[Sample],
    step: Duration,
    source: &str,
) -> Vec<IncidentWindow> {
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
    let mut windows: Vec<(i64, i64)> = Vec::new();
    for sample in samples
        .iter()
        .filter(|s| s.value.is_finite() && s.value > 0.0)
    {
        let t = sample.timestamp_ms();
        match windows.last_mut() {
            Some((_, end)) if *end == t => *end = t.saturating_add(step_ms),
            _ => windows.push((t, t.saturating_add(step_ms))),
        }
    }
    windows
        .into_iter()
        .filter_map(|(start, end)| {
            Some(IncidentWindow {
                start: from_ms(start)?,
                end: from_ms(end)?,
                source: source.to_owned(),
            })
        })
        .collect()
}

fn from_ms(ms: i64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(u64::try_from(ms).ok()?))
}

/// The windows in which the alert `alertname` fired between `start` and `end`, read
/// every `step` from Prometheus' `ALERTS` series.
///
/// # Errors
///
/// [`AnalysisError::Client`] when Prometheus cannot be asked; no firing is no error.
pub async fn alert_windows(
    client: &PrometheusClient,
    alertname: &str,
    start: SystemTime,
    end: SystemTime,
    step: Duration,
) -> Result<Vec<IncidentWindow>, AnalysisError> {
    let query = alert_query(alertname);
    let series = client.query_range(&query, start, end, step).await?;
    let source = format!("alert {alertname}");
    Ok(series
        .iter()
        .flat_map(|s| windows_from_samples(&s.samples, step, &source))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_window_is_read_from_rfc3339_or_unix_seconds() {
        let w = IncidentWindow::parse("2026-12-02T14:00:00Z/1796221200")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((w.start, w.end), (at(1_796_220_000), at(1_796_221_200)));
        assert_eq!(w.to_rfc3339(), "2026-12-02T14:00:00Z/2026-12-02T14:20:00Z");
        assert_eq!(w.source, "given");
    }

    #[test]
    fn bad_windows_say_what_to_give() {
        for (text, reason) in [
            ("2026-12-02T14:00:00Z", "is not START/END"),
            ("1796220000/1796219000", "ends at or before it starts"),
        ] {
            let e = IncidentWindow::parse(text).map_or_else(|e| e.to_string(), |_| String::new());
            assert!(
                e.starts_with("invalid --incident: ") && e.contains(reason),
                "{e}"
            );
        }
    }

    #[test]
    fn runs_of_firing_samples_become_windows() {
        let samples: Vec<Sample> = [(60, 1.0), (120, 2.0), (180, 0.0), (300, 1.0), (420, 1.0)]
            .iter()
            .map(|&(t, value)| Sample {
                timestamp: f64::from(t),
                value,
            })
            .collect();
        let windows = windows_from_samples(&samples, Duration::from_secs(60), "alert X");
        let spans: Vec<(SystemTime, SystemTime)> =
            windows.iter().map(|w| (w.start, w.end)).collect();
        assert_eq!(
            spans,
            [(at(60), at(180)), (at(300), at(360)), (at(420), at(480))]
        );
        assert_eq!(windows[0].source, "alert X");
    }

    #[test]
    fn the_alert_name_is_escaped_in_the_query() {
        assert_eq!(
            alert_query("High\"Latency"),
            "sum(ALERTS{alertname=\"High\\\"Latency\", alertstate=\"firing\"})"
        );
    }
}
