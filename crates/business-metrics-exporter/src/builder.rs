//! [`ExporterBuilder`]: settings from code over the environment, resolved into an
//! [`ExporterConfig`] and started as a [`MetricsGuard`].

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::env::{self as vars, EnvEndpoint, EnvSettings};
use crate::config::{
    self, BridgeConfig, Compression, EnvWarning, ExporterConfig, ExporterKind, OtlpConfig,
    OtlpProtocol, ResourceConfig, Temporality, TlsFiles,
};
use crate::error::{ConfigError, InitError};
use crate::guard::MetricsGuard;
use crate::resource::{
    self, DEPLOYMENT_ENVIRONMENT, DEPLOYMENT_ENVIRONMENT_NAME, SERVICE_INSTANCE_ID, SERVICE_NAME,
    SERVICE_VERSION,
};
use crate::secret::{Headers, Secret, Url};

type LookupFn = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where environment variables are read from.
#[derive(Clone)]
enum EnvSource {
    Process,
    Lookup(Arc<LookupFn>),
}

impl fmt::Debug for EnvSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Process => "Process",
            Self::Lookup(_) => "Lookup",
        })
    }
}

/// Configures the metrics pipeline. Settings made here win over the environment.
///
/// Setters never fail; [`resolve`](Self::resolve) and [`init`](Self::init) validate
/// everything at once and name the setting or variable at fault.
///
/// The type is `#[must_use]`, so every `with_*` setter's result must be used.
#[derive(Clone, Debug)]
#[must_use]
pub struct ExporterBuilder {
    env: EnvSource,
    strict_env: bool,
    disabled: Option<bool>,
    exporters: Option<Vec<ExporterKind>>,
    default_exporters: Vec<ExporterKind>,
    endpoint: Option<Url>,
    protocol: Option<OtlpProtocol>,
    headers: Headers,
    compression: Option<Compression>,
    ca_certificate: Option<PathBuf>,
    client_identity: Option<(PathBuf, PathBuf)>,
    timeout: Option<Duration>,
    export_timeout: Option<Duration>,
    failure_log_interval: Option<Duration>,
    temporality: Option<Temporality>,
    export_interval: Option<Duration>,
    service_name: Option<String>,
    service_version: Option<String>,
    service_instance_id: Option<String>,
    deployment_environment: Option<String>,
    prometheus_addr: Option<SocketAddr>,
    prometheus_listener: bool,
    #[cfg(feature = "prometheus")]
    prometheus_limits: crate::ListenerLimits,
    bearer_token: Option<Secret>,
    cardinality_limit: Option<usize>,
    shutdown_timeout: Option<Duration>,
    catalog: Option<business_metrics::Catalog>,
    label_policy: Option<business_metrics::LabelPolicy>,
}

impl Default for ExporterBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidConfig {
        name,
        reason: reason.into(),
    }
}

impl ExporterBuilder {
    /// A builder that reads the process environment and, if `OTEL_METRICS_EXPORTER`
    /// is unset, exports over OTLP.
    pub fn new() -> Self {
        Self {
            env: EnvSource::Process,
            strict_env: false,
            disabled: None,
            exporters: None,
            default_exporters: vec![ExporterKind::Otlp],
            endpoint: None,
            protocol: None,
            headers: Headers::new(),
            compression: None,
            ca_certificate: None,
            client_identity: None,
            timeout: None,
            export_timeout: None,
            failure_log_interval: None,
            temporality: None,
            export_interval: None,
            service_name: None,
            service_version: None,
            service_instance_id: None,
            deployment_environment: None,
            prometheus_addr: None,
            prometheus_listener: true,
            #[cfg(feature = "prometheus")]
            prometheus_limits: crate::ListenerLimits::default(),
            bearer_token: None,
            cardinality_limit: None,
            shutdown_timeout: None,
            catalog: None,
            label_policy: None,
        }
    }

    /// Reads environment variables through `lookup` instead of the process
    /// environment (for tests, or configuration from elsewhere).
    pub fn with_env_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = EnvSource::Lookup(Arc::new(lookup));
        self
    }

    /// Reads environment variables from a list of pairs instead of the process
    /// environment.
    pub fn with_env_vars<K: Into<String>, V: Into<String>>(
        self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.with_env_lookup(move |name| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    /// Ignores the environment entirely: only code and defaults count. No
    /// `OTEL_*` variable is read (this crate builds its own OTLP clients, so no
    /// library underneath reads them either), and OTLP/HTTP ignores the proxy
    /// variables.
    pub fn without_env(self) -> Self {
        self.with_env_lookup(|_| None)
    }

    /// Makes an environment value that cannot be used an error from
    /// [`resolve`](Self::resolve) and [`init`](Self::init)
    /// ([`ConfigError::InvalidEnv`]), for teams that prefer failing at start-up.
    ///
    /// By default, as the OpenTelemetry specification says, such a value is logged
    /// once as a warning naming the variable, the value and what is used instead,
    /// and ignored (see [`ExporterConfig::warnings`]).
    pub fn with_strict_env(mut self) -> Self {
        self.strict_env = true;
        self
    }

    /// Disables the pipeline (`true`), whatever `OTEL_SDK_DISABLED` says: nothing
    /// is installed or served and every recording is a no-op.
    pub fn with_sdk_disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// Sets the exporters, whatever `OTEL_METRICS_EXPORTER` says (empty: none).
    pub fn with_exporters(mut self, exporters: impl IntoIterator<Item = ExporterKind>) -> Self {
        self.exporters = Some(dedup(exporters));
        self
    }

    /// Sets the exporters used when `OTEL_METRICS_EXPORTER` is unset (default: OTLP).
    /// A service that should work without a collector passes
    /// `[ExporterKind::Prometheus]`.
    pub fn with_default_exporters(
        mut self,
        exporters: impl IntoIterator<Item = ExporterKind>,
    ) -> Self {
        self.default_exporters = dedup(exporters);
        self
    }

    /// Sets the OTLP endpoint, used as is: for HTTP give the full URL including
    /// `/v1/metrics`. `https://` enables TLS.
    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(Url(endpoint.into()));
        self
    }

    /// Sets the OTLP transport.
    pub fn with_otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Adds an OTLP header (an API key, say); it overrides a header of the same name
    /// from the environment. The value never appears in logs or `Debug` output.
    pub fn with_otlp_header(mut self, name: impl AsRef<str>, value: impl Into<String>) -> Self {
        self.headers.insert(name.as_ref(), Secret::new(value));
        self
    }

    /// Sets the timeout of one OTLP export request; [`Duration::ZERO`] means no
    /// limit, as `0` does in `OTEL_EXPORTER_OTLP_TIMEOUT`.
    pub fn with_otlp_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the bound on one periodic export, retries included (default 30 s);
    /// [`Duration::ZERO`] means no limit.
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = Some(timeout);
        self
    }

    /// Sets the compression of OTLP request bodies (default none).
    pub fn with_otlp_compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// Trusts the certificates in this PEM file to verify the OTLP endpoint,
    /// instead of the bundled web PKI roots: a collector behind a private CA.
    pub fn with_otlp_ca_certificate(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.ca_certificate = Some(pem_file.into());
        self
    }

    /// Presents this client certificate chain and private key (PEM files) to the
    /// OTLP endpoint: mutual TLS. The key's contents never reach a log.
    pub fn with_otlp_client_certificate(
        mut self,
        certificate_pem_file: impl Into<PathBuf>,
        key_pem_file: impl Into<PathBuf>,
    ) -> Self {
        self.client_identity = Some((certificate_pem_file.into(), key_pem_file.into()));
        self
    }

    /// Sets how often, at most, repeated OTLP export failures are summarised in the
    /// log (default 60 s). The first failure of an outage is always logged at once,
    /// and recovery once; see the crate docs, "Export failures in the log".
    pub fn with_export_failure_log_interval(mut self, interval: Duration) -> Self {
        self.failure_log_interval = Some(interval);
        self
    }

    /// Sets cumulative (default) or delta temporality for OTLP and console export.
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = Some(temporality);
        self
    }

    /// Sets the interval between periodic exports (OTLP, console).
    pub fn with_export_interval(mut self, interval: Duration) -> Self {
        self.export_interval = Some(interval);
        self
    }

    /// Sets `service.name`.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Sets `service.version` (typically `env!("CARGO_PKG_VERSION")`).
    pub fn with_service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Sets `service.instance.id` (default: a random UUID v4 per pipeline).
    pub fn with_service_instance_id(mut self, id: impl Into<String>) -> Self {
        self.service_instance_id = Some(id.into());
        self
    }

    /// Sets the deployment environment (`production`, `staging`, ...), written as
    /// `deployment.environment.name` (the current semantic convention) and as
    /// `deployment.environment` (its older name).
    pub fn with_deployment_environment(mut self, environment: impl Into<String>) -> Self {
        self.deployment_environment = Some(environment.into());
        self
    }

    /// Sets the address the Prometheus bridge listens on (default `127.0.0.1:9464`;
    /// port 0 picks a free port, see [`MetricsGuard::prometheus_addr`]).
    /// Anything but loopback exposes revenue figures to the network: protect it
    /// with [`with_bearer_token`](Self::with_bearer_token).
    pub fn with_prometheus_addr(mut self, addr: SocketAddr) -> Self {
        self.prometheus_addr = Some(addr);
        self
    }

    /// Whether the Prometheus bridge listens on an address of its own (default
    /// `true`). With `false`, the service serves the exposition itself through
    /// [`MetricsGuard::prometheus`](crate::MetricsGuard::prometheus), e.g. by merging
    /// its router into the service's router.
    pub fn with_prometheus_listener(mut self, listen: bool) -> Self {
        self.prometheus_listener = listen;
        self
    }

    /// Sets the connection cap and time limits of the bridge's own listener
    /// (default: 64 connections, 10 s to send a request's headers, 60 s per
    /// connection). The bridge drops its connections at once when the pipeline
    /// stops, whatever the drain timeout says.
    #[cfg(feature = "prometheus")]
    pub fn with_prometheus_limits(mut self, limits: crate::ListenerLimits) -> Self {
        self.prometheus_limits = limits;
        self
    }

    /// Requires `Authorization: Bearer <token>` on `/metrics`; other requests get 401.
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(Secret::new(token));
        self
    }

    /// Sets how many distinct attribute sets each instrument keeps before further
    /// ones are summed into the `otel.metric.overflow="true"` series (default 2000).
    pub fn with_cardinality_limit(mut self, limit: usize) -> Self {
        self.cardinality_limit = Some(limit);
        self
    }

    /// Sets the bound on flush plus shutdown (default 10 s).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Resolves code over signal-specific environment over generic environment
    /// over defaults, and validates the result.
    ///
    /// # Errors
    /// [`ConfigError::InvalidEnv`] naming a variable whose value cannot be parsed,
    /// or [`ConfigError::InvalidConfig`] naming a setting that is invalid.
    pub fn resolve(self) -> Result<ExporterConfig, ConfigError> {
        let strict = self.strict_env;
        let env = match &self.env {
            EnvSource::Process => {
                EnvSettings::from_lookup(&|name| std::env::var(name).ok(), strict)?
            }
            EnvSource::Lookup(f) => EnvSettings::from_lookup(&|name| f(name), strict)?,
        };
        let mut ignored = env.ignored.clone();
        let otlp = self.resolve_otlp(&env, &mut ignored)?;
        let prometheus = self.resolve_bridge(&env)?;
        let resource = self.resolve_resource(&env)?;
        let exporters = match (&self.exporters, &env.exporters) {
            (Some(code), _) => {
                if let Some(k) = code.iter().find(|k| !k.is_compiled_in()) {
                    return Err(invalid(
                        "exporters",
                        format!(
                            "this build has no {} exporter; enable the cargo feature {:?} of business-metrics-exporter",
                            k.as_str(),
                            k.feature()
                        ),
                    ));
                }
                code.clone()
            }
            (None, Some(from_env)) => from_env.clone(),
            (None, None) => self
                .default_exporters
                .iter()
                .copied()
                .filter(|k| k.is_compiled_in())
                .collect(),
        };
        let export_interval = self
            .export_interval
            .or(env.export_interval)
            .unwrap_or(config::DEFAULT_EXPORT_INTERVAL);
        if export_interval.is_zero() {
            return Err(invalid("export_interval", "must be longer than zero"));
        }
        let export_timeout = match self.export_timeout {
            Some(t) => (!t.is_zero()).then_some(t),
            None => match env.export_timeout {
                Some(t) => (!t.is_zero()).then_some(t),
                None => Some(config::DEFAULT_EXPORT_TIMEOUT),
            },
        };
        let cardinality_limit = self
            .cardinality_limit
            .unwrap_or(config::DEFAULT_CARDINALITY_LIMIT);
        if cardinality_limit == 0 || cardinality_limit == usize::MAX {
            return Err(invalid(
                "cardinality_limit",
                "must be at least 1 and below usize::MAX; the default is 2000",
            ));
        }
        let shutdown_timeout = self
            .shutdown_timeout
            .unwrap_or(config::DEFAULT_SHUTDOWN_TIMEOUT);
        if shutdown_timeout.is_zero() {
            return Err(invalid("shutdown_timeout", "must be longer than zero"));
        }
        let mut config = ExporterConfig {
            exporters,
            otlp,
            prometheus,
            export_interval,
            export_timeout,
            resource,
            cardinality_limit,
            shutdown_timeout,
            disabled: self.disabled.unwrap_or(env.disabled),
            warnings: Vec::new(),
        };
        config.warnings = ignored
            .into_iter()
            .map(|(variable, problem)| EnvWarning {
                variable,
                problem,
                using: using(&config, variable),
            })
            .collect();
        for w in &config.warnings {
            tracing::warn!(
                target: "business_metrics_exporter::config",
                variable = w.variable,
                "{w}"
            );
        }
        Ok(config)
    }

    fn resolve_otlp(
        &self,
        env: &EnvSettings,
        ignored: &mut Vec<(&'static str, String)>,
    ) -> Result<OtlpConfig, ConfigError> {
        if let Some(p) = self.protocol.filter(|p| !p.is_compiled_in()) {
            return Err(invalid(
                "otlp_protocol",
                format!(
                    "this build has no {} transport; enable the cargo feature {:?} of business-metrics-exporter",
                    p.as_str(),
                    p.feature()
                ),
            ));
        }
        let protocol = self.protocol.or(env.protocol).unwrap_or_else(|| {
            if OtlpProtocol::HttpProtobuf.is_compiled_in() {
                OtlpProtocol::HttpProtobuf
            } else {
                OtlpProtocol::Grpc
            }
        });
        let endpoint = match (&self.endpoint, &env.endpoint) {
            (Some(Url(code)), _) => {
                config::parse::endpoint(code).map_err(|p| invalid("otlp_endpoint", p))?
            }
            (None, Some(EnvEndpoint::Signal(e))) => e.clone(),
            (None, Some(EnvEndpoint::Generic(e))) => match protocol {
                OtlpProtocol::Grpc => e.clone(),
                OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                    config::parse::http_metrics_url(e)
                }
            },
            (None, None) => protocol.default_endpoint().to_owned(),
        };
        for (name, value) in self.headers.iter() {
            config::parse::header_name(name)
                .and_then(|()| config::parse::header_value(name, value.expose()))
                .map_err(|p| invalid("otlp_header", p))?;
        }
        let mut headers = env.headers.clone().unwrap_or_default();
        headers.merge(&self.headers);
        let timeout = match self.timeout {
            Some(t) => (!t.is_zero()).then_some(t),
            None => match env.timeout {
                Some(t) => (!t.is_zero()).then_some(t),
                None => Some(config::DEFAULT_OTLP_TIMEOUT),
            },
        };
        let failure_log_interval = self
            .failure_log_interval
            .unwrap_or(config::DEFAULT_FAILURE_LOG_INTERVAL);
        if failure_log_interval.is_zero() {
            return Err(invalid(
                "export_failure_log_interval",
                "must be longer than zero; the default is 60 s",
            ));
        }
        let tls = match &self.client_identity {
            Some((cert, key)) => TlsFiles {
                ca_certificate: self
                    .ca_certificate
                    .clone()
                    .or_else(|| env.ca_certificate.clone()),
                client_certificate: Some(cert.clone()),
                client_key: Some(key.clone()),
            },
            None => {
                let (cert, key) = match (&env.client_certificate, &env.client_key) {
                    (Some(c), Some(k)) => (Some(c.clone()), Some(k.clone())),
                    (None, None) => (None, None),
                    (c, _) => {
                        let (set, unset) = if c.is_some() {
                            (
                                vars::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
                                vars::OTEL_EXPORTER_OTLP_CLIENT_KEY,
                            )
                        } else {
                            (
                                vars::OTEL_EXPORTER_OTLP_CLIENT_KEY,
                                vars::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
                            )
                        };
                        let problem = format!(
                            "a client certificate needs both a certificate and a key, and {unset} is not set"
                        );
                        if self.strict_env {
                            return Err(ConfigError::InvalidEnv {
                                name: set,
                                value_problem: problem,
                            });
                        }
                        ignored.push((set, problem));
                        (None, None)
                    }
                };
                TlsFiles {
                    ca_certificate: self
                        .ca_certificate
                        .clone()
                        .or_else(|| env.ca_certificate.clone()),
                    client_certificate: cert,
                    client_key: key,
                }
            }
        };
        Ok(OtlpConfig {
            endpoint,
            protocol,
            headers,
            compression: self.compression.or(env.compression).unwrap_or_default(),
            tls,
            timeout,
            failure_log_interval,
            temporality: self.temporality.or(env.temporality).unwrap_or_default(),
            proxy_from_env: matches!(self.env, EnvSource::Process),
        })
    }

    fn resolve_bridge(&self, env: &EnvSettings) -> Result<BridgeConfig, ConfigError> {
        let addr = self.prometheus_addr.unwrap_or_else(|| {
            SocketAddr::new(
                env.prometheus_host
                    .unwrap_or(config::DEFAULT_PROMETHEUS_HOST),
                env.prometheus_port
                    .unwrap_or(config::DEFAULT_PROMETHEUS_PORT),
            )
        });
        let bearer_token = self
            .bearer_token
            .clone()
            .or_else(|| env.bearer_token.clone());
        if let Some(t) = &bearer_token {
            let t = t.expose();
            if t.is_empty() || !t.bytes().all(|b| (0x21..0x7f).contains(&b)) {
                return Err(invalid(
                    "bearer_token",
                    "must be non-empty visible ASCII without spaces, e.g. a random hex string",
                ));
            }
        }
        #[cfg(feature = "prometheus")]
        {
            let l = &self.prometheus_limits;
            if l.max_connections == 0
                || l.header_read_timeout.is_zero()
                || l.connection_lifetime.is_zero()
            {
                return Err(invalid(
                    "prometheus_limits",
                    "max_connections, header_read_timeout and connection_lifetime must be \
                     above zero",
                ));
            }
        }
        Ok(BridgeConfig {
            addr,
            bearer_token,
            listen: self.prometheus_listener,
            #[cfg(feature = "prometheus")]
            limits: self.prometheus_limits,
        })
    }

    fn resolve_resource(&self, env: &EnvSettings) -> Result<ResourceConfig, ConfigError> {
        let from_attrs = |key| env.resource_attribute(key).map(str::to_owned);
        let service_name = self
            .service_name
            .clone()
            .or_else(|| env.service_name.clone())
            .or_else(|| from_attrs(SERVICE_NAME))
            .unwrap_or_else(config::default_service_name);
        if service_name.trim().is_empty() {
            return Err(invalid("service_name", "must not be empty"));
        }
        let reserved = [
            SERVICE_NAME,
            SERVICE_VERSION,
            SERVICE_INSTANCE_ID,
            DEPLOYMENT_ENVIRONMENT,
            DEPLOYMENT_ENVIRONMENT_NAME,
        ];
        Ok(ResourceConfig {
            service_name,
            service_version: self
                .service_version
                .clone()
                .or_else(|| from_attrs(SERVICE_VERSION)),
            service_instance_id: self
                .service_instance_id
                .clone()
                .or_else(|| from_attrs(SERVICE_INSTANCE_ID))
                .unwrap_or_else(resource::new_instance_id),
            deployment_environment: self
                .deployment_environment
                .clone()
                .or_else(|| from_attrs(DEPLOYMENT_ENVIRONMENT_NAME))
                .or_else(|| from_attrs(DEPLOYMENT_ENVIRONMENT)),
            attributes: env
                .resource_attributes
                .iter()
                .filter(|(k, _)| !reserved.contains(&k.as_str()))
                .cloned()
                .collect(),
        })
    }

    /// Resolves the configuration and starts the pipeline.
    ///
    /// Must be called inside a Tokio runtime when the Prometheus bridge or OTLP over
    /// gRPC is enabled (the bridge server and the gRPC channel run on it); this
    /// library never starts a runtime of its own.
    ///
    /// # Errors
    /// [`InitError::Config`] for invalid settings, [`InitError::NoTokioRuntime`]
    /// outside a runtime, [`InitError::BridgeBind`] when the bridge's port is taken,
    /// [`InitError::Exporter`] when an exporter cannot be built.
    pub fn init(mut self) -> Result<MetricsGuard, InitError> {
        let catalog = self.catalog.take().unwrap_or_default();
        let policy = self.label_policy.take().unwrap_or_default();
        MetricsGuard::start_with(self.resolve()?, catalog, policy)
    }

    /// Sets the label policy of the instance [`MetricsGuard::business_metrics`]
    /// returns (default: [`LabelPolicy::default`](business_metrics::LabelPolicy::default)).
    pub fn with_label_policy(mut self, policy: business_metrics::LabelPolicy) -> Self {
        self.label_policy = Some(policy);
        self
    }

    /// Sets the catalog the views come from (default: the built-in one): give it
    /// the catalog holding the service's definitions and bucket overrides, and
    /// [`MetricsGuard::business_metrics`] records with it.
    pub fn with_catalog(mut self, catalog: business_metrics::Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }
}

/// What a resolved configuration uses in place of an ignored variable's value.
fn using(config: &ExporterConfig, variable: &str) -> String {
    fn millis(d: Option<Duration>) -> String {
        d.map_or_else(
            || "no limit".to_owned(),
            |d| format!("{} ms", d.as_millis()),
        )
    }
    let otlp = &config.otlp;
    match variable {
        vars::OTEL_SDK_DISABLED => format!("{}", config.disabled),
        vars::OTEL_METRICS_EXPORTER => {
            if config.exporters.is_empty() {
                "none".to_owned()
            } else {
                config
                    .exporters
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            }
        }
        vars::OTEL_EXPORTER_OTLP_ENDPOINT | vars::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT => {
            crate::secret::redact_url(&otlp.endpoint)
        }
        vars::OTEL_EXPORTER_OTLP_PROTOCOL | vars::OTEL_EXPORTER_OTLP_METRICS_PROTOCOL => {
            otlp.protocol.as_str().to_owned()
        }
        vars::OTEL_EXPORTER_OTLP_HEADERS | vars::OTEL_EXPORTER_OTLP_METRICS_HEADERS => {
            let names: Vec<&str> = otlp.headers.iter().map(|(n, _)| n).collect();
            if names.is_empty() {
                "no headers".to_owned()
            } else {
                format!("headers {}", names.join(","))
            }
        }
        vars::OTEL_EXPORTER_OTLP_COMPRESSION | vars::OTEL_EXPORTER_OTLP_METRICS_COMPRESSION => {
            otlp.compression.as_str().to_owned()
        }
        vars::OTEL_EXPORTER_OTLP_TIMEOUT | vars::OTEL_EXPORTER_OTLP_METRICS_TIMEOUT => {
            millis(otlp.timeout)
        }
        vars::OTEL_METRIC_EXPORT_TIMEOUT => millis(config.export_timeout),
        vars::OTEL_METRIC_EXPORT_INTERVAL => millis(Some(config.export_interval)),
        vars::OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE => match otlp.temporality {
            Temporality::Cumulative => "cumulative",
            Temporality::Delta => "delta",
            Temporality::LowMemory => "lowmemory",
        }
        .to_owned(),
        vars::OTEL_EXPORTER_OTLP_INSECURE | vars::OTEL_EXPORTER_OTLP_METRICS_INSECURE => {
            "false (https:// for endpoints without a scheme)".to_owned()
        }
        vars::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE
        | vars::OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE
        | vars::OTEL_EXPORTER_OTLP_CLIENT_KEY
        | vars::OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY => "no client certificate".to_owned(),
        vars::OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION => {
            "explicit_bucket_histogram".to_owned()
        }
        vars::OTEL_METRICS_EXEMPLAR_FILTER => "always_off (no exemplars)".to_owned(),
        vars::OTEL_RESOURCE_ATTRIBUTES => "no attributes from the environment".to_owned(),
        vars::OTEL_EXPORTER_PROMETHEUS_HOST | vars::OTEL_EXPORTER_PROMETHEUS_PORT => {
            config.prometheus.addr.to_string()
        }
        _ => "the default".to_owned(),
    }
}

fn dedup(kinds: impl IntoIterator<Item = ExporterKind>) -> Vec<ExporterKind> {
    let mut out = Vec::new();
    for k in kinds {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}
