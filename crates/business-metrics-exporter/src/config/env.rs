//! The environment variables this crate reads, and their parsing.
//!
//! Values come from a lookup function, so tests (and applications with their own
//! configuration source) never touch the process environment. An empty value counts
//! as unset, as the OpenTelemetry specification says.

use std::net::IpAddr;
use std::time::Duration;

use std::path::PathBuf;

use super::{parse, Compression, ExporterKind, OtlpProtocol, Temporality};
use crate::error::ConfigError;
use crate::secret::{Headers, Secret};

/// `true` disables the pipeline: nothing is installed and recording is a no-op.
pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
/// Comma-separated exporters: `otlp`, `prometheus`, `console`, or `none`.
pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
/// Base OTLP endpoint for all signals; for HTTP, `/v1/metrics` is appended.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// OTLP endpoint for metrics, used as is (overrides the generic endpoint).
pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// OTLP transport for all signals: `grpc`, `http/protobuf` or `http/json`.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// OTLP transport for metrics (overrides the generic protocol).
pub const OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
/// OTLP headers for all signals: `key=value,key2=value2`, values percent-encoded.
pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
/// OTLP headers for metrics (replace the generic headers).
pub const OTEL_EXPORTER_OTLP_METRICS_HEADERS: &str = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
/// OTLP export timeout for all signals, in milliseconds (0: no limit).
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// OTLP export timeout for metrics, in milliseconds, 0 for no limit (overrides the
/// generic timeout).
pub const OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
/// OTLP compression for all signals: `gzip` or `none`.
pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// OTLP compression for metrics (overrides the generic compression).
pub const OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION";
/// PEM file of the certificates that verify the collector (a private CA).
pub const OTEL_EXPORTER_OTLP_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
/// Metrics-specific [`OTEL_EXPORTER_OTLP_CERTIFICATE`].
pub const OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE";
/// PEM file of the client's certificate chain, for mutual TLS.
pub const OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
/// Metrics-specific [`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`].
pub const OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE: &str =
    "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE";
/// PEM file of the client's private key, for mutual TLS.
pub const OTEL_EXPORTER_OTLP_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
/// Metrics-specific [`OTEL_EXPORTER_OTLP_CLIENT_KEY`].
pub const OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY";
/// `true`: an endpoint written without a scheme gets `http://` instead of `https://`.
pub const OTEL_EXPORTER_OTLP_INSECURE: &str = "OTEL_EXPORTER_OTLP_INSECURE";
/// Metrics-specific [`OTEL_EXPORTER_OTLP_INSECURE`].
pub const OTEL_EXPORTER_OTLP_METRICS_INSECURE: &str = "OTEL_EXPORTER_OTLP_METRICS_INSECURE";
/// `cumulative` (default), `delta` or `lowmemory`.
pub const OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: &str =
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
/// `explicit_bucket_histogram` (what this crate does) or
/// `base2_exponential_bucket_histogram` (not applied: see the crate docs).
pub const OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: &str =
    "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION";
/// Interval between periodic exports, in milliseconds.
pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// Bound on one periodic export, retries included, in milliseconds (0: no limit).
pub const OTEL_METRIC_EXPORT_TIMEOUT: &str = "OTEL_METRIC_EXPORT_TIMEOUT";
/// `always_on`, `always_off`, `trace_based`: exemplars are not recorded here, so
/// only `always_off` is honoured as such; other values are ignored with a warning.
pub const OTEL_METRICS_EXEMPLAR_FILTER: &str = "OTEL_METRICS_EXEMPLAR_FILTER";
/// `service.name` (overrides `service.name` in `OTEL_RESOURCE_ATTRIBUTES`).
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// Resource attributes: `key=value,key2=value2`, values percent-encoded.
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
/// Address the Prometheus bridge listens on (an IP address or `localhost`).
pub const OTEL_EXPORTER_PROMETHEUS_HOST: &str = "OTEL_EXPORTER_PROMETHEUS_HOST";
/// Port the Prometheus bridge listens on (`0` picks a free port).
pub const OTEL_EXPORTER_PROMETHEUS_PORT: &str = "OTEL_EXPORTER_PROMETHEUS_PORT";
/// Bearer token that `/metrics` requires (this project's variable, not an OTel one).
pub const BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN: &str =
    "BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN";

/// Every variable read, in documentation order.
pub const ALL_VARIABLES: &[&str] = &[
    OTEL_SDK_DISABLED,
    OTEL_METRICS_EXPORTER,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_HEADERS,
    OTEL_EXPORTER_OTLP_METRICS_HEADERS,
    OTEL_EXPORTER_OTLP_COMPRESSION,
    OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
    OTEL_EXPORTER_OTLP_TIMEOUT,
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
    OTEL_EXPORTER_OTLP_CERTIFICATE,
    OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_INSECURE,
    OTEL_EXPORTER_OTLP_METRICS_INSECURE,
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
    OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
    OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_METRIC_EXPORT_TIMEOUT,
    OTEL_METRICS_EXEMPLAR_FILTER,
    OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES,
    OTEL_EXPORTER_PROMETHEUS_HOST,
    OTEL_EXPORTER_PROMETHEUS_PORT,
    BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN,
];

/// Where an OTLP endpoint came from: the signal-specific value is used as is, the
/// generic one gets `/v1/metrics` appended for HTTP.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum EnvEndpoint {
    Signal(String),
    Generic(String),
}

impl std::fmt::Debug for EnvEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Signal(e) => f
                .debug_tuple("Signal")
                .field(&crate::secret::Url(e.clone()))
                .finish(),
            Self::Generic(e) => f
                .debug_tuple("Generic")
                .field(&crate::secret::Url(e.clone()))
                .finish(),
        }
    }
}

/// Everything the environment says, signal-specific already over generic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EnvSettings {
    pub(crate) disabled: bool,
    pub(crate) exporters: Option<Vec<ExporterKind>>,
    pub(crate) endpoint: Option<EnvEndpoint>,
    pub(crate) protocol: Option<OtlpProtocol>,
    pub(crate) headers: Option<Headers>,
    pub(crate) compression: Option<Compression>,
    /// Zero: no limit.
    pub(crate) timeout: Option<Duration>,
    pub(crate) ca_certificate: Option<PathBuf>,
    pub(crate) client_certificate: Option<PathBuf>,
    pub(crate) client_key: Option<PathBuf>,
    pub(crate) temporality: Option<Temporality>,
    pub(crate) export_interval: Option<Duration>,
    /// Zero: no limit.
    pub(crate) export_timeout: Option<Duration>,
    pub(crate) service_name: Option<String>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) prometheus_host: Option<IpAddr>,
    pub(crate) prometheus_port: Option<u16>,
    pub(crate) bearer_token: Option<Secret>,
    /// Values ignored: the variable and the problem (what is used instead is
    /// filled in once the configuration is resolved).
    pub(crate) ignored: Vec<(&'static str, String)>,
}

fn invalid(name: &'static str, value_problem: String) -> ConfigError {
    ConfigError::InvalidEnv {
        name,
        value_problem,
    }
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads variables: an empty value counts as unset; a value that cannot be used is
/// an error when strict, else remembered as ignored and treated as unset.
struct Reader<'a> {
    lookup: Lookup<'a>,
    strict: bool,
    ignored: Vec<(&'static str, String)>,
}

impl Reader<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    fn problem(&mut self, name: &'static str, problem: String) -> Result<(), ConfigError> {
        if self.strict {
            return Err(invalid(name, problem));
        }
        self.ignored.push((name, problem));
        Ok(())
    }

    /// Parses one variable if set.
    fn parsed<T>(
        &mut self,
        name: &'static str,
        f: impl Fn(&str) -> Result<T, parse::Problem>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match f(&v) {
            Ok(t) => Ok(Some(t)),
            Err(p) => self.problem(name, p).map(|()| None),
        }
    }

    /// Parses the signal-specific variable if set and usable, else the generic one.
    fn first<T>(
        &mut self,
        signal: &'static str,
        generic: &'static str,
        f: impl Fn(&str) -> Result<T, parse::Problem> + Copy,
    ) -> Result<Option<T>, ConfigError> {
        match self.parsed(signal, f)? {
            Some(v) => Ok(Some(v)),
            None => self.parsed(generic, f),
        }
    }
}

impl EnvSettings {
    /// Reads and parses every variable through `lookup`. Strict: a value that
    /// cannot be used is an error; lenient: it is ignored and listed in `ignored`.
    pub(crate) fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        strict: bool,
    ) -> Result<Self, ConfigError> {
        let mut r = Reader {
            lookup,
            strict,
            ignored: Vec::new(),
        };
        // An empty token must not silently turn protection off: an error even when
        // lenient (it is this crate's variable, and a security setting).
        if lookup(BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN).is_some_and(|v| v.trim().is_empty()) {
            return Err(invalid(
                BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN,
                "is set but empty, which would leave /metrics unprotected; set a token, or \
                 unset the variable to serve /metrics without one"
                    .to_owned(),
            ));
        }
        let disabled = r
            .parsed(OTEL_SDK_DISABLED, parse::boolean)?
            .unwrap_or(false);
        let insecure = r
            .first(
                OTEL_EXPORTER_OTLP_METRICS_INSECURE,
                OTEL_EXPORTER_OTLP_INSECURE,
                parse::boolean,
            )?
            .unwrap_or(false);
        let with_scheme = |v: &str| {
            let v = v.trim();
            if v.contains("://") {
                parse::endpoint(v)
            } else {
                let scheme = if insecure { "http" } else { "https" };
                parse::endpoint(&format!("{scheme}://{v}"))
            }
        };
        let endpoint = match r.parsed(OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, with_scheme)? {
            Some(e) => Some(EnvEndpoint::Signal(e)),
            None => r
                .parsed(OTEL_EXPORTER_OTLP_ENDPOINT, with_scheme)?
                .map(EnvEndpoint::Generic),
        };
        let headers = r.first(
            OTEL_EXPORTER_OTLP_METRICS_HEADERS,
            OTEL_EXPORTER_OTLP_HEADERS,
            headers,
        )?;
        let exporters = match r.get(OTEL_METRICS_EXPORTER) {
            None => None,
            Some(v) => match parse::exporters(&v) {
                Ok(kinds) => Some(kinds),
                Err((kinds, problem)) => {
                    r.problem(OTEL_METRICS_EXPORTER, problem)?;
                    (!kinds.is_empty()).then_some(kinds)
                }
            },
        };
        let exporters = match exporters {
            Some(kinds) => {
                let mut usable = Vec::with_capacity(kinds.len());
                for kind in kinds {
                    if kind.is_compiled_in() {
                        usable.push(kind);
                    } else {
                        r.problem(
                            OTEL_METRICS_EXPORTER,
                            format!(
                                "this build has no {} exporter (cargo feature {:?} of business-metrics-exporter)",
                                kind.as_str(),
                                kind.feature()
                            ),
                        )?;
                    }
                }
                Some(usable)
            }
            None => None,
        };
        let not_compiled_in = |p: OtlpProtocol| {
            if p.is_compiled_in() {
                Ok(p)
            } else {
                Err(format!(
                    "this build has no {} transport (cargo feature {:?} of business-metrics-exporter)",
                    p.as_str(),
                    p.feature()
                ))
            }
        };
        let protocol = r.first(
            OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
            OTEL_EXPORTER_OTLP_PROTOCOL,
            |v| parse::protocol(v).and_then(not_compiled_in),
        )?;
        // Read for its warning only: the value itself changes nothing here.
        r.parsed(
            OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
            |v| match v.trim().to_ascii_lowercase().as_str() {
                "explicit_bucket_histogram" => Ok(()),
                "base2_exponential_bucket_histogram" => Err(
                    "base2_exponential_bucket_histogram is not applied: histograms keep the                      explicit buckets of the catalog (an exponential histogram per instrument                      is Catalog::with_exponential_buckets)"
                        .to_owned(),
                ),
                other => Err(format!(
                    "unknown aggregation {:?}; expected explicit_bucket_histogram or                      base2_exponential_bucket_histogram",
                    parse::shown(other)
                )),
            },
        )?;
        // Read for its warning only, as above.
        r.parsed(OTEL_METRICS_EXEMPLAR_FILTER, |v| {
            match v.trim().to_ascii_lowercase().as_str() {
                "always_off" => Ok(()),
                "always_on" | "trace_based" => Err(format!(
                    "{} asks for exemplars, which this exporter does not record",
                    v.trim()
                )),
                other => Err(format!(
                    "unknown exemplar filter {:?}; expected always_on, always_off or trace_based",
                    parse::shown(other)
                )),
            }
        })?;

        let resource_attributes = r
            .parsed(OTEL_RESOURCE_ATTRIBUTES, parse::key_values)?
            .unwrap_or_default();

        Ok(Self {
            disabled,
            exporters,
            endpoint,
            protocol,
            headers,
            compression: r.first(
                OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
                OTEL_EXPORTER_OTLP_COMPRESSION,
                parse::compression,
            )?,
            timeout: r.first(
                OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
                OTEL_EXPORTER_OTLP_TIMEOUT,
                parse::timeout,
            )?,
            ca_certificate: r.first(
                OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
                OTEL_EXPORTER_OTLP_CERTIFICATE,
                parse::path,
            )?,
            client_certificate: r.first(
                OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
                OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
                parse::path,
            )?,
            client_key: r.first(
                OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
                OTEL_EXPORTER_OTLP_CLIENT_KEY,
                parse::path,
            )?,
            temporality: r.parsed(
                OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
                parse::temporality,
            )?,
            export_interval: r.parsed(OTEL_METRIC_EXPORT_INTERVAL, parse::millis)?,
            export_timeout: r.parsed(OTEL_METRIC_EXPORT_TIMEOUT, parse::timeout)?,
            service_name: r.get(OTEL_SERVICE_NAME).map(|v| v.trim().to_owned()),
            resource_attributes,
            prometheus_host: r.parsed(OTEL_EXPORTER_PROMETHEUS_HOST, parse::host)?,
            prometheus_port: r.parsed(OTEL_EXPORTER_PROMETHEUS_PORT, parse::port)?,
            bearer_token: r
                .get(BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN)
                .map(|v| Secret::new(v.trim())),
            ignored: r.ignored,
        })
    }

    /// The value of a resource attribute from `OTEL_RESOURCE_ATTRIBUTES` (last wins).
    pub(crate) fn resource_attribute(&self, key: &str) -> Option<&str> {
        self.resource_attributes
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A header list; problems never quote a value.
fn headers(value: &str) -> Result<Headers, parse::Problem> {
    let mut out = Headers::new();
    for (k, v) in parse::key_values(value)? {
        parse::header_name(&k)?;
        parse::header_value(&k, &v)?;
        out.insert(&k, Secret::new(v));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
