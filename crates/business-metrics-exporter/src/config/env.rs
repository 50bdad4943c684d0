//! The environment variables this crate reads, and their parsing.
//!
//! Values come from a lookup function, so tests (and applications with their own
//! configuration source) never touch the process environment. An empty value counts
//! as unset, as the OpenTelemetry specification says.

use std::net::IpAddr;
use std::time::Duration;

use super::{parse, ExporterKind, OtlpProtocol, Temporality};
use crate::error::ConfigError;
use crate::secret::{Headers, Secret};

/// Comma-separated exporters: `otlp`, `prometheus`, `console`, or `none`.
pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
/// Base OTLP endpoint for all signals; for HTTP, `/v1/metrics` is appended.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// OTLP endpoint for metrics, used as is (overrides the generic endpoint).
pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// OTLP transport for all signals: `grpc` or `http/protobuf`.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// OTLP transport for metrics (overrides the generic protocol).
pub const OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
/// OTLP headers for all signals: `key=value,key2=value2`, values percent-encoded.
pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
/// OTLP headers for metrics (replace the generic headers).
pub const OTEL_EXPORTER_OTLP_METRICS_HEADERS: &str = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
/// OTLP export timeout for all signals, in milliseconds.
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// OTLP export timeout for metrics, in milliseconds (overrides the generic timeout).
pub const OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
/// `cumulative` (default) or `delta`.
pub const OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: &str =
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
/// Interval between periodic exports, in milliseconds.
pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
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
    OTEL_METRICS_EXPORTER,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_HEADERS,
    OTEL_EXPORTER_OTLP_METRICS_HEADERS,
    OTEL_EXPORTER_OTLP_TIMEOUT,
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
    OTEL_METRIC_EXPORT_INTERVAL,
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
    pub(crate) exporters: Option<Vec<ExporterKind>>,
    pub(crate) endpoint: Option<EnvEndpoint>,
    pub(crate) protocol: Option<OtlpProtocol>,
    pub(crate) headers: Option<Headers>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) temporality: Option<Temporality>,
    pub(crate) export_interval: Option<Duration>,
    pub(crate) service_name: Option<String>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) prometheus_host: Option<IpAddr>,
    pub(crate) prometheus_port: Option<u16>,
    pub(crate) bearer_token: Option<Secret>,
}

fn invalid(name: &'static str, value_problem: String) -> ConfigError {
    ConfigError::InvalidEnv {
        name,
        value_problem,
    }
}

impl EnvSettings {
    /// Reads and parses every variable through `lookup`.
    pub(crate) fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let endpoint = match get(OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) {
            Some(v) => {
                Some(EnvEndpoint::Signal(parse::endpoint(&v).map_err(|p| {
                    invalid(OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, p)
                })?))
            }
            None => get(OTEL_EXPORTER_OTLP_ENDPOINT)
                .map(|v| parse::endpoint(&v).map_err(|p| invalid(OTEL_EXPORTER_OTLP_ENDPOINT, p)))
                .transpose()?
                .map(EnvEndpoint::Generic),
        };

        let headers = match get(OTEL_EXPORTER_OTLP_METRICS_HEADERS) {
            Some(v) => Some(headers(OTEL_EXPORTER_OTLP_METRICS_HEADERS, &v)?),
            None => get(OTEL_EXPORTER_OTLP_HEADERS)
                .map(|v| headers(OTEL_EXPORTER_OTLP_HEADERS, &v))
                .transpose()?,
        };

        let resource_attributes =
            parsed(&get, OTEL_RESOURCE_ATTRIBUTES, parse::key_values)?.unwrap_or_default();

        Ok(Self {
            exporters: parsed(&get, OTEL_METRICS_EXPORTER, parse::exporters)?,
            endpoint,
            protocol: first(
                &get,
                OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
                OTEL_EXPORTER_OTLP_PROTOCOL,
                parse::protocol,
            )?,
            headers,
            timeout: first(
                &get,
                OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
                OTEL_EXPORTER_OTLP_TIMEOUT,
                parse::millis,
            )?,
            temporality: parsed(
                &get,
                OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
                parse::temporality,
            )?,
            export_interval: parsed(&get, OTEL_METRIC_EXPORT_INTERVAL, parse::millis)?,
            service_name: get(OTEL_SERVICE_NAME).map(|v| v.trim().to_owned()),
            resource_attributes,
            prometheus_host: parsed(&get, OTEL_EXPORTER_PROMETHEUS_HOST, parse::host)?,
            prometheus_port: parsed(&get, OTEL_EXPORTER_PROMETHEUS_PORT, parse::port)?,
            bearer_token: get(BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN)
                .map(|v| Secret::new(v.trim())),
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

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Parses one variable if set.
fn parsed<T>(
    get: Lookup<'_>,
    name: &'static str,
    f: fn(&str) -> Result<T, parse::Problem>,
) -> Result<Option<T>, ConfigError> {
    get(name)
        .map(|v| f(&v).map_err(|p| invalid(name, p)))
        .transpose()
}

/// Parses the signal-specific variable if set, else the generic one.
fn first<T>(
    get: Lookup<'_>,
    signal: &'static str,
    generic: &'static str,
    f: fn(&str) -> Result<T, parse::Problem>,
) -> Result<Option<T>, ConfigError> {
    match parsed(get, signal, f)? {
        Some(v) => Ok(Some(v)),
        None => parsed(get, generic, f),
    }
}

fn headers(name: &'static str, value: &str) -> Result<Headers, ConfigError> {
    let mut out = Headers::new();
    for (k, v) in parse::key_values(value).map_err(|p| invalid(name, p))? {
        parse::header_name(&k).map_err(|p| invalid(name, p))?;
        parse::header_value(&k, &v).map_err(|p| invalid(name, p))?;
        out.insert(&k, Secret::new(v));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
