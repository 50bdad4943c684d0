//! Every variable, valid and invalid, through an injected lookup.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::*;
use crate::{Compression, ConfigError, ExporterBuilder, ExporterConfig, TlsFiles};

fn builder(vars: &[(&str, &str)]) -> ExporterBuilder {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    ExporterBuilder::new().with_env_vars(vars)
}

fn resolve(vars: &[(&str, &str)]) -> Result<ExporterConfig, ConfigError> {
    builder(vars).resolve()
}

fn ok(vars: &[(&str, &str)]) -> ExporterConfig {
    let c = resolve(vars).unwrap();
    assert_eq!(c.warnings, vec![], "{vars:?}");
    c
}

/// Asserts that `name` set alone to `value` cannot be used: strict, the error names
/// `name` and its problem contains `needle`; lenient (the default), the value is
/// ignored with exactly one warning naming `name` with the same problem, and the
/// configuration is what it is with nothing set. Returns the strict error's text.
fn bad(name: &str, value: &str, needle: &str) -> String {
    let lenient = resolve(&[(name, value)]).unwrap();
    assert_eq!(lenient.warnings.len(), 1, "{:?}", lenient.warnings);
    let w = &lenient.warnings[0];
    assert_eq!(w.variable, name);
    assert!(
        w.problem.contains(needle),
        "{:?} lacks {needle:?}",
        w.problem
    );
    assert!(
        w.to_string()
            .starts_with(&format!("environment variable {name} is ignored: ")),
        "{w}"
    );
    let mut unset = ok(&[]);
    unset.warnings.clone_from(&lenient.warnings);
    unset.resource.service_instance_id = lenient.resource.service_instance_id.clone();
    assert_eq!(lenient, unset, "{name}={value:?} must count as unset");
    match builder(&[(name, value)]).with_strict_env().resolve() {
        Err(ConfigError::InvalidEnv {
            name: n,
            value_problem,
        }) => {
            assert_eq!(n, name);
            assert_eq!(value_problem, w.problem);
            let text = ConfigError::InvalidEnv {
                name: n,
                value_problem,
            }
            .to_string();
            assert!(
                text.starts_with(&format!("environment variable {name} is invalid: ")),
                "{text}"
            );
            text
        }
        other => panic!("expected InvalidEnv for {name}, got {other:?}"),
    }
}

/// Asserts [`bad`] for every `(name, value, needle)`.
fn refused(cases: &[(&str, &str, &str)]) {
    for &(name, value, needle) in cases {
        bad(name, value, needle);
    }
}

/// The OTLP headers as (lower-case name, exposed value) pairs, in order.
fn header_pairs(c: &ExporterConfig) -> Vec<(String, String)> {
    c.otlp
        .headers
        .iter()
        .map(|(n, v)| (n.to_owned(), v.expose().to_owned()))
        .collect()
}

#[test]
fn nothing_set_gives_the_documented_defaults() {
    let c = ok(&[]);
    assert_eq!(c.exporters, [ExporterKind::Otlp]);
    assert_eq!(c.otlp.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(c.otlp.endpoint, "http://localhost:4318/v1/metrics");
    assert!(c.otlp.headers.is_empty());
    assert_eq!(c.otlp.timeout, Some(Duration::from_secs(10)));
    assert_eq!(c.otlp.temporality, Temporality::Cumulative);
    assert_eq!(c.export_interval, Duration::from_secs(60));
    assert_eq!(c.prometheus.addr, SocketAddr::from(([127, 0, 0, 1], 9464)));
    assert_eq!(c.prometheus.bearer_token, None);
    // unknown_service:<executable name>, here the test binary's.
    let exe = std::env::current_exe().unwrap();
    let exe = exe.file_name().unwrap().to_str().unwrap();
    assert_eq!(c.resource.service_name, format!("unknown_service:{exe}"));
    assert_eq!(c.otlp.compression, Compression::None);
    assert_eq!(c.otlp.tls, TlsFiles::default());
    assert_eq!(c.export_timeout, Some(Duration::from_secs(30)));
    assert!(!c.disabled);
    assert_eq!(c.resource.service_version, None);
    assert_eq!(c.resource.deployment_environment, None);
    assert_eq!(c.cardinality_limit, 2000);
    assert_eq!(c.shutdown_timeout, Duration::from_secs(10));
}

#[test]
fn metrics_exporter_accepts_lists_and_none() {
    use ExporterKind::{Console, Otlp, Prometheus};
    assert_eq!(
        ok(&[(OTEL_METRICS_EXPORTER, "prometheus")]).exporters,
        [Prometheus]
    );
    assert_eq!(
        ok(&[(OTEL_METRICS_EXPORTER, " otlp , PROMETHEUS,console,otlp")]).exporters,
        [Otlp, Prometheus, Console]
    );
    assert!(ok(&[(OTEL_METRICS_EXPORTER, "none")]).exporters.is_empty());
    assert_eq!(
        ok(&[(OTEL_METRICS_EXPORTER, "")]).exporters,
        [Otlp],
        "empty is unset"
    );
}

#[test]
fn metrics_exporter_keeps_what_it_understands_and_warns_about_the_rest() {
    use ExporterKind::{Console, Otlp};
    bad(
        OTEL_METRICS_EXPORTER,
        "zipkin",
        "unknown exporter \"zipkin\"",
    );
    bad(OTEL_METRICS_EXPORTER, ",", "empty entry");
    for (value, kept, needle) in [
        ("otlp,zipkin", vec![Otlp], "unknown exporter \"zipkin\""),
        ("otlp,,console", vec![Otlp, Console], "empty entry"),
        ("none,otlp", vec![Otlp], "none cannot be combined"),
    ] {
        let c = resolve(&[(OTEL_METRICS_EXPORTER, value)]).unwrap();
        assert_eq!(c.exporters, kept, "{value}");
        assert_eq!(c.warnings.len(), 1, "{value}");
        assert!(c.warnings[0].problem.contains(needle), "{:?}", c.warnings);
        let strict = builder(&[(OTEL_METRICS_EXPORTER, value)])
            .with_strict_env()
            .resolve();
        assert!(
            matches!(
                strict,
                Err(ConfigError::InvalidEnv {
                    name: OTEL_METRICS_EXPORTER,
                    ..
                })
            ),
            "{strict:?}"
        );
    }
    // `logging` is the specification's deprecated name of the console exporter.
    assert_eq!(
        ok(&[(OTEL_METRICS_EXPORTER, "otlp,logging")]).exporters,
        [Otlp, Console]
    );
}

#[test]
fn endpoint_signal_is_used_as_is_and_generic_gets_the_http_path() {
    let generic = ok(&[(OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318")]);
    assert_eq!(generic.otlp.endpoint, "http://collector:4318/v1/metrics");
    let signal = ok(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318"),
        (
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
            "https://vendor.example/otlp/metrics",
        ),
    ]);
    assert_eq!(signal.otlp.endpoint, "https://vendor.example/otlp/metrics");
    let grpc = ok(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4317"),
        (OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
    ]);
    assert_eq!(grpc.otlp.endpoint, "http://collector:4317");
    let grpc_default = ok(&[(OTEL_EXPORTER_OTLP_PROTOCOL, "grpc")]);
    assert_eq!(grpc_default.otlp.endpoint, "http://localhost:4317");
}

#[test]
fn endpoints_without_host_or_valid_port_are_ignored_and_secrets_never_quoted() {
    refused(&[
        (
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
            "http://:4318",
            "has no host",
        ),
        (
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
            "http://h:70000",
            "invalid port",
        ),
        (
            OTEL_EXPORTER_OTLP_ENDPOINT,
            "ftp://h",
            "must start with http:// or https://",
        ),
    ]);
    let text = bad(
        OTEL_EXPORTER_OTLP_ENDPOINT,
        "http://admin:hunter2@h:99999/?token=abc",
        "invalid port",
    );
    assert!(!text.contains("hunter2") && !text.contains("abc"), "{text}");
    // Without a scheme (as gRPC configurations write it): https, or http when insecure.
    let c = ok(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "collector:4317"),
        (OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
    ]);
    assert_eq!(c.otlp.endpoint, "https://collector:4317");
    let c = ok(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "collector:4317"),
        (OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
        (OTEL_EXPORTER_OTLP_INSECURE, "TRUE"),
    ]);
    assert_eq!(c.otlp.endpoint, "http://collector:4317");
    bad(OTEL_EXPORTER_OTLP_INSECURE, "yes", "not true or false");
}

#[test]
fn protocol_signal_beats_generic_and_unknown_ones_are_ignored() {
    assert_eq!(
        ok(&[(OTEL_EXPORTER_OTLP_PROTOCOL, "grpc")]).otlp.protocol,
        OtlpProtocol::Grpc
    );
    let both = ok(&[
        (OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
        (OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, "http/protobuf"),
    ]);
    assert_eq!(both.otlp.protocol, OtlpProtocol::HttpProtobuf);
    let json = ok(&[(OTEL_EXPORTER_OTLP_PROTOCOL, "http/json")]);
    assert_eq!(json.otlp.protocol, OtlpProtocol::HttpJson);
    assert_eq!(json.otlp.endpoint, "http://localhost:4318/v1/metrics");
    let text = bad(
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
        "udp",
        "unknown protocol \"udp\"; expected grpc, http/protobuf or http/json",
    );
    assert!(
        text.contains("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"),
        "{text}"
    );
    // An unusable signal value falls back to the generic one, with a warning.
    let c = resolve(&[
        (OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, "udp"),
        (OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
    ])
    .unwrap();
    assert_eq!(c.otlp.protocol, OtlpProtocol::Grpc);
    assert_eq!(
        c.warnings[0].to_string(),
        "environment variable OTEL_EXPORTER_OTLP_METRICS_PROTOCOL is ignored: unknown protocol \"udp\"; \
         expected grpc, http/protobuf or http/json; using grpc"
    );
}

#[test]
fn compression_is_gzip_or_none() {
    assert_eq!(
        ok(&[(OTEL_EXPORTER_OTLP_COMPRESSION, "GZIP")])
            .otlp
            .compression,
        Compression::Gzip
    );
    let c = ok(&[
        (OTEL_EXPORTER_OTLP_COMPRESSION, "gzip"),
        (OTEL_EXPORTER_OTLP_METRICS_COMPRESSION, "none"),
    ]);
    assert_eq!(c.otlp.compression, Compression::None);
    bad(
        OTEL_EXPORTER_OTLP_COMPRESSION,
        "zstd",
        "unknown compression \"zstd\"",
    );
}

#[test]
fn certificate_variables_name_files_and_a_lone_client_half_is_ignored() {
    let c = ok(&[
        (OTEL_EXPORTER_OTLP_CERTIFICATE, "/etc/otel/ca.pem"),
        (
            OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
            "/etc/otel/client.pem",
        ),
        (
            OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
            "/etc/otel/client.key",
        ),
    ]);
    assert_eq!(
        c.otlp.tls.ca_certificate.as_deref(),
        Some(std::path::Path::new("/etc/otel/ca.pem"))
    );
    assert_eq!(
        c.otlp.tls.client_certificate.as_deref(),
        Some(std::path::Path::new("/etc/otel/client.pem"))
    );
    assert_eq!(
        c.otlp.tls.client_key.as_deref(),
        Some(std::path::Path::new("/etc/otel/client.key"))
    );
    bad(
        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
        "/etc/otel/client.pem",
        "needs both a certificate and a key",
    );
}

#[test]
fn sdk_disabled_is_a_boolean() {
    assert!(ok(&[(OTEL_SDK_DISABLED, "true")]).disabled);
    assert!(ok(&[(OTEL_SDK_DISABLED, "True")]).disabled);
    assert!(!ok(&[(OTEL_SDK_DISABLED, "false")]).disabled);
    bad(OTEL_SDK_DISABLED, "1", "\"1\" is not true or false");
    assert!(
        !builder(&[(OTEL_SDK_DISABLED, "true")])
            .with_sdk_disabled(false)
            .resolve()
            .unwrap()
            .disabled
    );
}

#[test]
fn exemplar_filter_and_exponential_default_aggregation_are_ignored_with_a_warning() {
    assert_eq!(
        ok(&[(OTEL_METRICS_EXEMPLAR_FILTER, "always_off")]).warnings,
        vec![]
    );
    bad(
        OTEL_METRICS_EXEMPLAR_FILTER,
        "trace_based",
        "does not record",
    );
    bad(
        OTEL_METRICS_EXEMPLAR_FILTER,
        "sometimes",
        "unknown exemplar filter",
    );
    ok(&[(
        OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
        "explicit_bucket_histogram",
    )]);
    bad(
        OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
        "base2_exponential_bucket_histogram",
        "is not applied",
    );
}

#[test]
fn headers_are_percent_decoded_and_signal_headers_replace_generic_ones() {
    let c = ok(&[(
        OTEL_EXPORTER_OTLP_HEADERS,
        "api-key=abc%3D%3D, X-Team = growth",
    )]);
    assert_eq!(
        header_pairs(&c),
        [
            ("api-key".to_owned(), "abc==".to_owned()),
            ("x-team".to_owned(), "growth".to_owned())
        ]
    );
    let c = ok(&[
        (OTEL_EXPORTER_OTLP_HEADERS, "a=1"),
        (OTEL_EXPORTER_OTLP_METRICS_HEADERS, "b=2"),
    ]);
    assert_eq!(c.otlp.headers.names().collect::<Vec<_>>(), ["b"]);
}

#[test]
fn bad_headers_are_refused_without_quoting_the_value() {
    // (variable, value, problem, a part of the value the message must not quote)
    let cases = [
        (
            OTEL_EXPORTER_OTLP_HEADERS,
            "api-key",
            "entry 1 has no '='",
            Some("api-key\""),
        ),
        (OTEL_EXPORTER_OTLP_HEADERS, "=secret", "empty key", None),
        (
            OTEL_EXPORTER_OTLP_METRICS_HEADERS,
            "k=sec%zzret",
            "invalid percent-encoding",
            Some("sec"),
        ),
        (
            OTEL_EXPORTER_OTLP_HEADERS,
            "bad name=1",
            "not a valid HTTP header name",
            None,
        ),
        (
            OTEL_EXPORTER_OTLP_HEADERS,
            "k=top%0Asecret",
            "characters not allowed",
            Some("secret"),
        ),
    ];
    for (name, value, needle, unquoted) in cases {
        let text = bad(name, value, needle);
        if let Some(unquoted) = unquoted {
            assert!(!text.contains(unquoted), "{text}");
        }
    }
}

#[test]
fn timeouts_are_whole_milliseconds_and_zero_means_no_limit() {
    assert_eq!(
        ok(&[(OTEL_EXPORTER_OTLP_TIMEOUT, "2500")]).otlp.timeout,
        Some(Duration::from_millis(2500))
    );
    let both = ok(&[
        (OTEL_EXPORTER_OTLP_TIMEOUT, "2500"),
        (OTEL_EXPORTER_OTLP_METRICS_TIMEOUT, "700"),
    ]);
    assert_eq!(both.otlp.timeout, Some(Duration::from_millis(700)));
    assert_eq!(
        ok(&[(OTEL_EXPORTER_OTLP_METRICS_TIMEOUT, "0")])
            .otlp
            .timeout,
        None
    );
    assert_eq!(
        ok(&[(OTEL_METRIC_EXPORT_TIMEOUT, "0")]).export_timeout,
        None
    );
    assert_eq!(
        ok(&[(OTEL_METRIC_EXPORT_TIMEOUT, "5000")]).export_timeout,
        Some(Duration::from_secs(5))
    );
    refused(&[
        (
            OTEL_EXPORTER_OTLP_TIMEOUT,
            "10s",
            "\"10s\" is not a whole number of milliseconds",
        ),
        (OTEL_EXPORTER_OTLP_TIMEOUT, "-5", "not a whole number"),
        (OTEL_METRIC_EXPORT_TIMEOUT, "soon", "not a whole number"),
    ]);
    let c = resolve(&[(OTEL_EXPORTER_OTLP_TIMEOUT, "10s")]).unwrap();
    assert_eq!(c.warnings[0].using, "10000 ms");
    // In code, zero is no limit too.
    let c = ExporterBuilder::new()
        .without_env()
        .with_otlp_timeout(Duration::ZERO)
        .with_export_timeout(Duration::ZERO)
        .resolve()
        .unwrap();
    assert_eq!((c.otlp.timeout, c.export_timeout), (None, None));
}

#[test]
fn temporality_preference_accepts_cumulative_delta_and_lowmemory() {
    let c = ok(&[(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, "Delta")]);
    assert_eq!(c.otlp.temporality, Temporality::Delta);
    let c = ok(&[(
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
        "cumulative",
    )]);
    assert_eq!(c.otlp.temporality, Temporality::Cumulative);
    let c = ok(&[(
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
        "lowmemory",
    )]);
    assert_eq!(c.otlp.temporality, Temporality::LowMemory);
    bad(
        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
        "sometimes",
        "expected cumulative, delta or lowmemory",
    );
}

#[test]
fn export_interval_is_milliseconds() {
    assert_eq!(
        ok(&[(OTEL_METRIC_EXPORT_INTERVAL, "15000")]).export_interval,
        Duration::from_secs(15)
    );
    refused(&[
        (OTEL_METRIC_EXPORT_INTERVAL, "1.5", "not a whole number"),
        (OTEL_METRIC_EXPORT_INTERVAL, "0", "at least 1 millisecond"),
    ]);
}

#[test]
fn service_name_beats_resource_attributes_which_fill_version_and_environment() {
    let c = ok(&[
        (OTEL_RESOURCE_ATTRIBUTES, "service.name=from-attrs,service.version=2.0.1,deployment.environment=staging,team=growth%20ops"),
        (OTEL_SERVICE_NAME, "shop"),
    ]);
    assert_eq!(c.resource.service_name, "shop");
    assert_eq!(c.resource.service_version.as_deref(), Some("2.0.1"));
    assert_eq!(
        c.resource.deployment_environment.as_deref(),
        Some("staging")
    );
    assert_eq!(
        c.resource.attributes,
        [("team".to_owned(), "growth ops".to_owned())]
    );
    let c = ok(&[(
        OTEL_RESOURCE_ATTRIBUTES,
        "service.name=from-attrs,service.instance.id=pod-7",
    )]);
    assert_eq!(c.resource.service_name, "from-attrs");
    assert_eq!(c.resource.service_instance_id, "pod-7");
}

#[test]
fn resource_attributes_without_equals_or_with_bad_encoding_are_refused() {
    refused(&[
        (
            OTEL_RESOURCE_ATTRIBUTES,
            "team=growth,oops",
            "entry 2 has no '='",
        ),
        (
            OTEL_RESOURCE_ATTRIBUTES,
            "team=%G1",
            "invalid percent-encoding",
        ),
    ]);
}

#[test]
fn prometheus_host_and_port_set_the_bridge_address() {
    let c = ok(&[
        (OTEL_EXPORTER_PROMETHEUS_HOST, "0.0.0.0"),
        (OTEL_EXPORTER_PROMETHEUS_PORT, "9999"),
    ]);
    assert_eq!(c.prometheus.addr, SocketAddr::from(([0, 0, 0, 0], 9999)));
    let c = ok(&[
        (OTEL_EXPORTER_PROMETHEUS_HOST, "localhost"),
        (OTEL_EXPORTER_PROMETHEUS_PORT, "0"),
    ]);
    assert_eq!(
        c.prometheus.addr,
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)
    );
    let c = ok(&[(OTEL_EXPORTER_PROMETHEUS_HOST, "[::1]")]);
    assert_eq!(
        c.prometheus.addr,
        SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 9464)
    );
    refused(&[
        (
            OTEL_EXPORTER_PROMETHEUS_HOST,
            "metrics.internal",
            "not an IP address",
        ),
        (OTEL_EXPORTER_PROMETHEUS_PORT, "65536", "not a port number"),
        (OTEL_EXPORTER_PROMETHEUS_PORT, "http", "not a port number"),
    ]);
}

#[test]
fn bearer_token_comes_from_the_environment_and_is_redacted() {
    let c = ok(&[(BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN, "tok-123")]);
    assert_eq!(
        c.prometheus.bearer_token.as_ref().map(Secret::expose),
        Some("tok-123")
    );
    let debug = format!("{c:?}");
    assert!(!debug.contains("tok-123"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn code_beats_signal_env_which_beats_generic_env() {
    let vars = [
        (OTEL_METRICS_EXPORTER, "console"),
        (OTEL_EXPORTER_OTLP_ENDPOINT, "http://generic:4318"),
        (
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
            "http://signal:4318/v1/metrics",
        ),
        (OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
        (OTEL_EXPORTER_OTLP_HEADERS, "api-key=env,x-env=1"),
        (OTEL_EXPORTER_OTLP_TIMEOUT, "1000"),
        (OTEL_SERVICE_NAME, "env-name"),
        (OTEL_EXPORTER_PROMETHEUS_PORT, "1234"),
        (OTEL_METRIC_EXPORT_INTERVAL, "5000"),
    ];
    let c = ExporterBuilder::new()
        .with_env_vars(vars)
        .with_exporters([ExporterKind::Prometheus])
        .with_otlp_endpoint("http://code:4317")
        .with_otlp_protocol(OtlpProtocol::Grpc)
        .with_otlp_header("API-Key", "code")
        .with_otlp_timeout(Duration::from_millis(42))
        .with_service_name("code-name")
        .with_prometheus_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .with_export_interval(Duration::from_millis(7))
        .resolve()
        .unwrap();
    assert_eq!(c.exporters, [ExporterKind::Prometheus]);
    assert_eq!(c.otlp.endpoint, "http://code:4317");
    assert_eq!(c.otlp.protocol, OtlpProtocol::Grpc);
    assert_eq!(
        header_pairs(&c),
        [
            ("api-key".to_owned(), "code".to_owned()),
            ("x-env".to_owned(), "1".to_owned())
        ]
    );
    assert_eq!(c.otlp.timeout, Some(Duration::from_millis(42)));
    assert_eq!(c.resource.service_name, "code-name");
    assert_eq!(c.prometheus.addr.port(), 0);
    assert_eq!(c.export_interval, Duration::from_millis(7));
}

#[test]
fn default_exporters_apply_only_when_the_variable_is_unset() {
    let b = || ExporterBuilder::new().with_default_exporters([ExporterKind::Prometheus]);
    assert_eq!(
        b().without_env().resolve().unwrap().exporters,
        [ExporterKind::Prometheus]
    );
    let c = b()
        .with_env_vars([(OTEL_METRICS_EXPORTER, "otlp")])
        .resolve()
        .unwrap();
    assert_eq!(c.exporters, [ExporterKind::Otlp]);
}

#[test]
fn invalid_code_settings_name_the_setting() {
    let err = |b: ExporterBuilder| match b.without_env().resolve() {
        Err(ConfigError::InvalidConfig { name, .. }) => name,
        other => panic!("{other:?}"),
    };
    for (builder, setting) in [
        (
            ExporterBuilder::new().with_cardinality_limit(0),
            "cardinality_limit",
        ),
        (
            ExporterBuilder::new().with_otlp_endpoint("localhost:4317"),
            "otlp_endpoint",
        ),
        (
            ExporterBuilder::new().with_export_interval(Duration::ZERO),
            "export_interval",
        ),
        (
            ExporterBuilder::new().with_shutdown_timeout(Duration::ZERO),
            "shutdown_timeout",
        ),
        (
            ExporterBuilder::new().with_service_name(" "),
            "service_name",
        ),
        (
            ExporterBuilder::new().with_bearer_token("has space"),
            "bearer_token",
        ),
        (
            ExporterBuilder::new().with_otlp_header("x", "line\nbreak"),
            "otlp_header",
        ),
    ] {
        assert_eq!(err(builder), setting);
    }
}

#[test]
fn builder_debug_redacts_header_values_and_tokens() {
    let b = ExporterBuilder::new()
        .with_otlp_header("x-api-key", "sk-live-123")
        .with_bearer_token("tok-456");
    let text = format!("{b:?}");
    assert!(
        !text.contains("sk-live-123") && !text.contains("tok-456"),
        "{text}"
    );
    assert!(text.contains("x-api-key"), "{text}");
    let c = b.without_env().resolve().unwrap();
    let text = format!("{c:?}");
    assert!(
        !text.contains("sk-live-123") && !text.contains("tok-456"),
        "{text}"
    );
}

#[test]
fn every_documented_variable_is_listed_once() {
    assert_eq!(ALL_VARIABLES.len(), 30);
    for (i, v) in ALL_VARIABLES.iter().enumerate() {
        assert!(!ALL_VARIABLES[i + 1..].contains(v), "{v}");
    }
}

#[test]
fn every_variable_is_in_the_crate_docs_table() {
    let docs = include_str!("../lib.rs");
    for v in ALL_VARIABLES {
        assert!(docs.contains(&format!("[`{v}`](env::{v})")), "{v}");
    }
}

#[test]
fn an_empty_bearer_token_is_an_error_not_no_token() {
    for value in ["", "  "] {
        let e = resolve(&[(BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN, value)]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "environment variable BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN is invalid: is set but empty"
            ),
            "{e}"
        );
    }
}

#[test]
fn no_variable_quotes_a_secret_in_a_warning_or_an_error() {
    const SECRET: &str = "s3cr3t-XYZ";
    let shapes = [
        format!("Bearer {SECRET}"),
        format!("Basic {SECRET}"),
        format!("Authorization: Bearer {SECRET}"),
        format!("authorization=Bearer {SECRET}"),
        format!("x-api-key={SECRET}"),
        format!("token={SECRET},other=1"),
        format!("https://user:{SECRET}@h:99999/?token={SECRET}"),
        format!("http://h:4318/v1/metrics?api_key={SECRET} x"),
        format!("user:{SECRET}@collector:4317"),
    ];
    let mut checked = 0;
    for name in ALL_VARIABLES {
        for value in &shapes {
            let vars = [(*name, value.as_str())];
            match resolve(&vars) {
                Ok(c) => {
                    for w in &c.warnings {
                        let text = w.to_string();
                        assert!(!text.contains(SECRET), "{name}={value:?}: {text}");
                        checked += 1;
                    }
                }
                Err(e) => {
                    let text = e.to_string();
                    assert!(!text.contains(SECRET), "{name}={value:?}: {text}");
                    checked += 1;
                }
            }
            if let Err(e) = builder(&vars).with_strict_env().resolve() {
                let text = e.to_string();
                assert!(!text.contains(SECRET), "strict {name}={value:?}: {text}");
                checked += 1;
            }
        }
    }
    // Most combinations produce a message; the count shows they were looked at.
    assert!(checked > 200, "{checked} messages checked");
}
