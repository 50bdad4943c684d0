//! [`MetricsGuard`]: owns the meter provider and the bridge server; flushes and shuts
//! down within a bounded time.

use std::net::SocketAddr;
use std::sync::{mpsc, OnceLock};

use business_metrics::{BusinessMetrics, Catalog, LabelPolicy};
use opentelemetry::metrics::MeterProvider as _;
use std::time::Duration;

#[cfg(any(feature = "otlp-http", feature = "otlp-grpc", feature = "console"))]
use opentelemetry_sdk::metrics::PeriodicReader;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use tokio::runtime::Handle;

#[cfg(feature = "prometheus")]
use crate::bridge::{self, BridgeServer};
use crate::config::{ExporterConfig, ExporterKind, OtlpProtocol};
use crate::error::{InitError, ShutdownError};
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
use crate::export_log::LoggedExporter;
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
use crate::otlp;
use crate::{resource, views};

/// The running pipeline. Keep it alive for the life of the service; call
/// [`shutdown`](Self::shutdown) on the way out so the last values are delivered
/// (dropping it does the same, best effort, ignoring errors).
///
/// With OTLP over gRPC the export runs on the Tokio runtime: call `shutdown` from a
/// multi-threaded runtime, or from `tokio::task::spawn_blocking` on a
/// current-thread one, or the final export waits for the runtime until the
/// shutdown timeout.
#[derive(Debug)]
pub struct MetricsGuard {
    provider: SdkMeterProvider,
    catalog: Catalog,
    policy: LabelPolicy,
    business: OnceLock<BusinessMetrics>,
    #[cfg(feature = "prometheus")]
    bridge: Option<BridgeServer>,
    #[cfg(feature = "prometheus")]
    prometheus: Option<bridge::PrometheusHandle>,
    config: ExporterConfig,
    shut_down: bool,
}

impl MetricsGuard {
    /// Starts a pipeline from a resolved configuration.
    ///
    /// # Errors
    /// As [`ExporterBuilder::init`](crate::ExporterBuilder::init).
    pub fn start(config: ExporterConfig) -> Result<Self, InitError> {
        Self::start_with_catalog(config, Catalog::built_in())
    }

    /// Starts a pipeline whose views come from `catalog` (the built-in entries
    /// plus a service's definitions and bucket overrides).
    ///
    /// # Errors
    /// As [`ExporterBuilder::init`](crate::ExporterBuilder::init).
    pub fn start_with_catalog(config: ExporterConfig, catalog: Catalog) -> Result<Self, InitError> {
        Self::start_with(config, catalog, LabelPolicy::default())
    }

    /// Starts a pipeline whose views come from `catalog`, and whose
    /// [`business_metrics`](Self::business_metrics) records with `policy`.
    ///
    /// # Errors
    /// As [`ExporterBuilder::init`](crate::ExporterBuilder::init).
    pub fn start_with(
        config: ExporterConfig,
        catalog: Catalog,
        policy: LabelPolicy,
    ) -> Result<Self, InitError> {
        if let Some(k) = config.exporters.iter().find(|k| !k.is_compiled_in()) {
            return Err(InitError::Config(crate::ConfigError::InvalidConfig {
                name: "exporters",
                reason: format!(
                    "this build has no {} exporter; enable the cargo feature {:?} of business-metrics-exporter",
                    k.as_str(),
                    k.feature()
                ),
            }));
        }
        if config.disabled {
            // OTEL_SDK_DISABLED: no reader, no listener, and business metrics on
            // the no-op meter.
            return Ok(Self {
                provider: SdkMeterProvider::builder().build(),
                catalog,
                policy,
                business: OnceLock::new(),
                #[cfg(feature = "prometheus")]
                bridge: None,
                #[cfg(feature = "prometheus")]
                prometheus: None,
                config,
                shut_down: false,
            });
        }
        if config.has(ExporterKind::Prometheus) {
            if let Some(e) = catalog.entries().iter().find(|e| {
                matches!(
                    e.buckets,
                    Some(business_metrics::define::Buckets::Exponential { .. })
                )
            }) {
                return Err(InitError::Config(crate::ConfigError::InvalidConfig {
                    name: "catalog",
                    reason: format!(
                        "{} is an exponential histogram, which the Prometheus text exposition \
                         cannot carry; export it over OTLP (the collector or Prometheus' OTLP \
                         receiver keep it as a native histogram) or give it explicit buckets",
                        e.name
                    ),
                }));
            }
        }
        let needs_runtime = (config.has(ExporterKind::Prometheus) && config.prometheus.listen)
            || (config.has(ExporterKind::Otlp) && config.otlp.protocol == OtlpProtocol::Grpc);
        let runtime = if needs_runtime {
            Some(Handle::try_current().map_err(|_| InitError::NoTokioRuntime)?)
        } else {
            None
        };

        let limit = config.cardinality_limit;
        #[allow(unused_mut)] // nothing to add when no exporter is compiled in
        let mut builder = SdkMeterProvider::builder()
            .with_resource(resource::build(&config.resource))
            .with_view({
                let catalog = catalog.clone();
                move |i| views::stream_for(i, limit, &catalog)
            });

        // Bind first: a taken port must fail before anything starts exporting.
        #[cfg(feature = "prometheus")]
        let (mut bridge, mut prometheus) = (None, None);
        #[cfg(feature = "prometheus")]
        if config.has(ExporterKind::Prometheus) {
            let reader = bridge::BridgeReader::new();
            builder = builder.with_reader(reader.clone());
            if let (true, Some(rt)) = (config.prometheus.listen, &runtime) {
                bridge = Some(bridge::serve(&config.prometheus, reader.clone(), rt)?);
            }
            prometheus = Some(bridge::PrometheusHandle::new(
                reader,
                config.prometheus.bearer_token.clone(),
            ));
        }
        #[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
        if config.has(ExporterKind::Otlp) {
            let exporter = otlp::build(&config.otlp, config.export_timeout, runtime.as_ref())?;
            let exporter = LoggedExporter::new(
                exporter,
                &config.otlp.endpoint,
                &config.otlp.headers,
                config.otlp.failure_log_interval,
            );
            builder = builder.with_reader(
                PeriodicReader::builder(exporter)
                    .with_interval(config.export_interval)
                    .build(),
            );
        }
        #[cfg(feature = "console")]
        if config.has(ExporterKind::Console) {
            let exporter = opentelemetry_stdout::MetricExporter::builder()
                .with_temporality(config.otlp.temporality.to_sdk())
                .build();
            builder = builder.with_reader(
                PeriodicReader::builder(exporter)
                    .with_interval(config.export_interval)
                    .build(),
            );
        }
        let _ = &runtime; // unused when neither the bridge nor gRPC is compiled in
        Ok(Self {
            provider: builder.build(),
            catalog,
            policy,
            business: OnceLock::new(),
            #[cfg(feature = "prometheus")]
            bridge,
            #[cfg(feature = "prometheus")]
            prometheus,
            config,
            shut_down: false,
        })
    }

    /// The meter provider; create instruments from it (or see
    /// [`set_global`](Self::set_global)).
    #[must_use]
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.provider
    }

    /// The business instruments on this pipeline's provider, built with the
    /// pipeline's catalog: one instance per guard, created on the first call; every
    /// call returns a handle on that same instance.
    #[must_use]
    pub fn business_metrics(&self) -> BusinessMetrics {
        self.business
            .get_or_init(|| {
                let scope = business_metrics::instrumentation_scope();
                let meter = if self.config.disabled {
                    opentelemetry::metrics::noop::NoopMeterProvider::new().meter_with_scope(scope)
                } else {
                    self.provider.meter_with_scope(scope)
                };
                BusinessMetrics::builder(&meter)
                    .with_catalog(self.catalog.clone())
                    .with_label_policy(self.policy.clone())
                    .with_counter_series_limit(self.config.cardinality_limit)
                    .build()
            })
            .clone()
    }

    /// The catalog the pipeline's views come from.
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Installs the provider as the global one, for code that uses
    /// `opentelemetry::global::meter` or `BusinessMetrics::new_global()`. Does
    /// nothing when the pipeline is disabled (`OTEL_SDK_DISABLED=true`): the global
    /// provider stays the no-op one.
    pub fn set_global(&self) {
        if !self.config.disabled {
            opentelemetry::global::set_meter_provider(self.provider.clone());
        }
    }

    /// Whether the pipeline is disabled (`OTEL_SDK_DISABLED=true` or
    /// [`with_sdk_disabled`](crate::ExporterBuilder::with_sdk_disabled)).
    #[must_use]
    pub fn is_disabled(&self) -> bool {
        self.config.disabled
    }

    /// The Prometheus exposition, when the Prometheus exporter is active: render
    /// it, or mount its router on the service's own router (see
    /// [`PrometheusHandle`](crate::PrometheusHandle)).
    #[cfg(feature = "prometheus")]
    #[must_use]
    pub fn prometheus(&self) -> Option<crate::PrometheusHandle> {
        self.prometheus.clone()
    }

    /// The address the Prometheus bridge actually listens on (useful with port 0).
    #[must_use]
    pub fn prometheus_addr(&self) -> Option<SocketAddr> {
        #[cfg(feature = "prometheus")]
        {
            self.bridge.as_ref().map(|b| b.addr)
        }
        #[cfg(not(feature = "prometheus"))]
        {
            None
        }
    }

    /// The configuration the pipeline runs with.
    #[must_use]
    pub fn config(&self) -> &ExporterConfig {
        &self.config
    }

    /// Exports everything recorded so far now, waiting at most the shutdown timeout.
    ///
    /// # Errors
    /// [`ShutdownError::Provider`] if an exporter failed, [`ShutdownError::TimedOut`]
    /// if the export did not finish in time.
    pub fn force_flush(&self) -> Result<(), ShutdownError> {
        let provider = self.provider.clone();
        bounded(self.config.shutdown_timeout, move || {
            provider.force_flush().map_err(|e| e.to_string())
        })
    }

    /// Flushes, shuts the provider down (a final export) and stops the bridge,
    /// within the shutdown timeout.
    ///
    /// # Errors
    /// [`ShutdownError::Provider`] if flushing or shutting down failed,
    /// [`ShutdownError::TimedOut`] if it did not finish in time.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), ShutdownError> {
        if self.shut_down {
            return Ok(());
        }
        self.shut_down = true;
        let provider = self.provider.clone();
        let result = bounded(self.config.shutdown_timeout, move || {
            let flushed = provider.force_flush();
            let shut = provider.shutdown();
            flushed.and(shut).map_err(|e| e.to_string())
        });
        #[cfg(feature = "prometheus")]
        if let Some(mut bridge) = self.bridge.take() {
            bridge.stop();
        }
        result
    }
}

impl Drop for MetricsGuard {
    fn drop(&mut self) {
        // Best effort: there is no one left to report an error to.
        let _ = self.shutdown_inner();
    }
}

/// Runs `work` on its own thread and waits at most `timeout` for it.
fn bounded(
    timeout: Duration,
    work: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Result<(), ShutdownError> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("business-metrics-shutdown".into())
        .spawn(move || {
            let _ = tx.send(work());
        });
    if let Err(e) = spawned {
        return Err(ShutdownError::Provider {
            reason: format!("could not start the shutdown thread: {e}"),
        });
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(ShutdownError::Provider { reason }),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(ShutdownError::TimedOut { timeout }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(ShutdownError::Provider {
            reason: "the shutdown thread ended without a result".into(),
        }),
    }
}
