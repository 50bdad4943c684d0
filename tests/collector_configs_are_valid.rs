//! The collector configurations under `otel-collector/collector/` and the Docker
//! Compose stack under `otel-collector/`: every configuration a user is told to run
//! passes the project's own collector (`otelcol-business validate`), starts with no
//! deprecation warning, and uses only components the distribution lists
//! (`otelcol-business components`), which are exactly the ones the files use. Then
//! the files are read structurally for what the collector does not check: base and
//! backend files merge as `--config a --config b` does, listeners bind loopback
//! unless the environment says otherwise, secrets come only from `${env:...}`
//! references, the Prometheus exporters pin the project's translation. Bad
//! configurations a user may write get the collector's own clear error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_norway::{Mapping, Value};
use support::servers::{otelcol_refusal, Otelcol, OtelcolSpec};

/// Every file under otel-collector/collector/, relative to it.
const COLLECTOR_FILES: &[&str] = &[
    "backends/datadog.yaml",
    "backends/debug.yaml",
    "backends/otlpgrpc.yaml",
    "backends/otlphttp.yaml",
    "backends/prometheus.yaml",
    "backends/prometheusremotewrite.yaml",
    "base.yaml",
    "delta.yaml",
    "gateway/agent.yaml",
    "gateway/gateway.yaml",
];

/// The backends a user selects by adding `--config backends/<file>.yaml`: (file,
/// exporter type).
const BACKENDS: &[(&str, &str)] = &[
    ("prometheus", "prometheus"),
    ("prometheusremotewrite", "prometheus_remote_write"),
    ("datadog", "datadog"),
    ("otlphttp", "otlp_http"),
    ("otlpgrpc", "otlp_grpc"),
    ("debug", "debug"),
];

/// The backends a gateway tier pairs with: push only (see gateway/gateway.yaml).
const GATEWAY_BACKENDS: &[&str] = &[
    "prometheusremotewrite",
    "datadog",
    "otlphttp",
    "otlpgrpc",
    "debug",
];

/// The backends delta.yaml goes with.
const DELTA_BACKENDS: &[&str] = &["otlphttp", "otlpgrpc"];

/// The one component type of the files that otelcol-business does not hold: the
/// Datadog exporter, in its own build at an older release (otel-collector/README.md
/// says why).
const IN_THE_DATADOG_BUILD_ONLY: &[(&str, &str)] = &[("exporters", "datadog")];

/// Values for the variables the files require, so that every documented
/// configuration loads (the collector refuses to start without them).
const REQUIRED_ENV: &[(&str, &str)] = &[
    ("OTLP_BACKEND_ENDPOINT", "http://127.0.0.1:9/otlp"),
    ("OTLP_GRPC_BACKEND_ENDPOINT", "127.0.0.1:9"),
    ("OTLP_GRPC_BACKEND_INSECURE", "true"),
    ("OTELCOL_GATEWAY_TOKEN", "gateway-token"),
    ("DD_API_KEY", "0123456789abcdef0123456789abcdef"),
];

fn repo() -> PathBuf {
    support::repo_root().to_owned()
}

fn collector_dir() -> PathBuf {
    repo().join("otel-collector").join("collector")
}

fn parse_yaml(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let value: Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    assert!(
        value.is_mapping(),
        "{} must be a YAML mapping at the top",
        path.display()
    );
    value
}

fn load(rel: &str) -> Value {
    parse_yaml(&collector_dir().join(rel))
}

/// Merges `overlay` into `base` as the collector merges `--config` files: mappings
/// merge key by key, recursively; anything else (lists included) is replaced.
fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Mapping(base), Value::Mapping(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// A configuration as the collector sees it after merging `files` in order.
struct Merged {
    files: Vec<String>,
    config: Value,
}

impl Merged {
    fn of(files: &[&str]) -> Self {
        let mut config = Value::Mapping(Mapping::new());
        for file in files {
            merge(&mut config, load(file));
        }
        Self {
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            config,
        }
    }

    fn name(&self) -> String {
        self.files.join(" + ")
    }
}

/// Every configuration a user is told to run, as lists of files.
fn documented_file_lists() -> Vec<Vec<String>> {
    let mut lists = Vec::new();
    for (backend, _) in BACKENDS {
        lists.push(vec![
            "base.yaml".to_owned(),
            format!("backends/{backend}.yaml"),
        ]);
    }
    for backend in DELTA_BACKENDS {
        lists.push(vec![
            "base.yaml".to_owned(),
            format!("backends/{backend}.yaml"),
            "delta.yaml".to_owned(),
        ]);
    }
    lists.push(vec![
        "base.yaml".to_owned(),
        "gateway/agent.yaml".to_owned(),
    ]);
    for backend in GATEWAY_BACKENDS {
        lists.push(vec![
            "gateway/gateway.yaml".to_owned(),
            format!("backends/{backend}.yaml"),
        ]);
    }
    lists
}

/// Every configuration a user is told to run, merged.
fn documented_configs() -> Vec<Merged> {
    documented_file_lists()
        .iter()
        .map(|files| Merged::of(&files.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect()
}

/// The documented configurations otelcol-business loads (all but Datadog's, which
/// its own build loads in datadog_backend_through_a_fake_intake.rs: the exporter
/// asks cloud metadata services for the host name as soon as it is created, so it
/// runs only inside a network namespace with nothing but loopback).
fn loadable_file_lists() -> Vec<Vec<String>> {
    documented_file_lists()
        .into_iter()
        .filter(|files| !files.iter().any(|f| f.contains("datadog")))
        .collect()
}

/// A collector spec for these files with the required variables set.
fn spec_for(files: &[String]) -> OtelcolSpec {
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    REQUIRED_ENV
        .iter()
        .fold(OtelcolSpec::files(&files), |spec, (k, v)| spec.env(k, *v))
}

fn keys(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .map(|k| k.as_str().expect("component ids are strings").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_sequence)
        .map(|s| {
            s.iter()
                .map(|v| v.as_str().expect("ids in lists are strings").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn pipelines(config: &Value) -> BTreeMap<String, Value> {
    config["service"]["pipelines"]
        .as_mapping()
        .expect("service.pipelines is a mapping")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

fn component_type(id: &str) -> &str {
    id.split_once('/').map_or(id, |(t, _)| t)
}

/// Calls `f` with the path and value of every scalar in `value`.
fn walk(value: &Value, path: &mut Vec<String>, f: &mut impl FnMut(&[String], &Value)) {
    match value {
        Value::Mapping(m) => {
            for (k, v) in m {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                path.push(key);
                walk(v, path, f);
                path.pop();
            }
        }
        Value::Sequence(s) => {
            for (i, v) in s.iter().enumerate() {
                path.push(i.to_string());
                walk(v, path, f);
                path.pop();
            }
        }
        Value::Tagged(t) => walk(&t.value, path, f),
        scalar => f(path, scalar),
    }
}

/// One `${env:NAME}` or `${env:NAME:-default}` reference.
#[derive(Debug, PartialEq)]
struct EnvRef {
    name: String,
    default: Option<String>,
}

/// Splits `s` into literal text and environment references, as the collector's env
/// provider reads them.
fn env_refs(s: &str) -> (String, Vec<EnvRef>) {
    let mut literal = String::new();
    let mut refs = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${env:") {
        literal.push_str(&rest[..start]);
        let after = &rest[start + "${env:".len()..];
        let end = after
            .find('}')
            .unwrap_or_else(|| panic!("unterminated ${{env:...}} in {s:?}"));
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default.to_owned())),
            None => (inner, None),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "environment variable names are upper case: {s:?}"
        );
        refs.push(EnvRef {
            name: name.to_owned(),
            default,
        });
        rest = &after[end + 1..];
    }
    literal.push_str(rest);
    (literal, refs)
}

/// Resolves `s` as the collector would with the environment `env`.
fn expand(s: &str, env: &HashMap<&str, &str>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "${env:".len()..];
        let end = after.find('}').unwrap();
        let inner = &after[..end];
        let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
        out.push_str(env.get(name).copied().unwrap_or(default));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a key holds a credential.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "api_key",
        "apikey",
        "api-key",
        "authorization",
        "password",
        "token",
        "secret",
        "x-honeycomb-team",
        "x-api-key",
    ]
    .iter()
    .any(|s| key.contains(s))
}

/// Places where `value` at `path` holds a secret that is not entirely an
/// environment reference without a default.
fn secret_violations(config: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(config, &mut Vec::new(), &mut |path, value| {
        let key = path.last().map(String::as_str).unwrap_or_default();
        let parent = path
            .len()
            .checked_sub(2)
            .map(|i| path[i].as_str())
            .unwrap_or_default();
        // `api: { key: ... }` is the Datadog exporter's API key.
        let secret = is_secret_key(key) || (parent == "api" && key == "key");
        if !secret {
            return;
        }
        let Some(text) = value.as_str() else {
            found.push(format!("{}: a secret must be a string", path.join(".")));
            return;
        };
        let (literal, refs) = env_refs(text);
        // An authorization scheme may precede the reference: "Bearer ${env:TOKEN}".
        let literal = literal.strip_prefix("Bearer ").unwrap_or(&literal);
        if refs.is_empty() || !literal.trim().is_empty() {
            found.push(format!(
                "{}: {text:?} is not an environment reference",
                path.join(".")
            ));
        }
        for r in refs {
            if r.default.as_deref().is_some_and(|d| !d.is_empty()) {
                found.push(format!(
                    "{}: {} has a literal default",
                    path.join("."),
                    r.name
                ));
            }
        }
    });
    found
}

#[test]
fn every_collector_config_file_is_listed_and_parses() {
    fn collect(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, root, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = collector_dir();
    let mut on_disk = BTreeSet::new();
    collect(&root, &root, &mut on_disk);
    let listed: BTreeSet<String> = COLLECTOR_FILES.iter().map(|f| (*f).to_owned()).collect();
    assert_eq!(
        on_disk, listed,
        "files under otel-collector/collector/ and COLLECTOR_FILES differ: list new files \
         here so that they are checked"
    );
    for file in COLLECTOR_FILES {
        let value = load(file);
        assert!(
            value.get("service").is_some() || file.starts_with("backends/"),
            "{file} has no service section"
        );
    }
}

#[test]
fn base_names_no_exporter_so_a_backend_must_be_chosen() {
    let base = load("base.yaml");
    assert!(base.get("exporters").is_none());
    let metrics = &base["service"]["pipelines"]["metrics"];
    assert!(metrics.get("exporters").is_none());
    assert_eq!(string_list(metrics.get("receivers")), ["otlp"]);
    // Each backend sets exactly its own exporter and nothing that would replace the
    // base's receivers or processors lists.
    for (backend, exporter) in BACKENDS {
        let file = load(&format!("backends/{backend}.yaml"));
        let metrics = &file["service"]["pipelines"]["metrics"];
        let fields = keys(Some(metrics));
        assert_eq!(
            fields,
            BTreeSet::from(["exporters".to_owned()]),
            "backends/{backend}.yaml must only set the metrics pipeline's exporters"
        );
        assert_eq!(string_list(metrics.get("exporters")), [*exporter]);
        assert_eq!(
            keys(file.get("exporters")),
            BTreeSet::from([(*exporter).to_owned()])
        );
    }
}

#[test]
fn merging_configs_deep_merges_maps_and_replaces_lists() {
    let mut base: Value = serde_norway::from_str(
        "a: {x: 1, y: [1, 2]}\nservice: {pipelines: {metrics: {receivers: [otlp], processors: [batch]}}}",
    )
    .unwrap();
    let overlay: Value = serde_norway::from_str(
        "a: {y: [3], z: 2}\nservice: {pipelines: {metrics: {exporters: [debug]}}}",
    )
    .unwrap();
    merge(&mut base, overlay);
    let expected: Value = serde_norway::from_str(
        "a: {x: 1, y: [3], z: 2}\nservice: {pipelines: {metrics: {receivers: [otlp], processors: [batch], exporters: [debug]}}}",
    )
    .unwrap();
    assert_eq!(base, expected);
}

#[test]
fn every_pipeline_names_only_components_defined_in_the_merged_config() {
    for merged in documented_configs() {
        let config = &merged.config;
        let name = merged.name();
        let pipes = pipelines(config);
        assert!(pipes.contains_key("metrics"), "{name}: no metrics pipeline");
        let mut used: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (pipeline, spec) in &pipes {
            assert!(
                ["metrics", "traces", "logs"].contains(&component_type(pipeline)),
                "{name}: pipeline {pipeline} has an unknown signal"
            );
            for (field, section) in [
                ("receivers", "receivers"),
                ("processors", "processors"),
                ("exporters", "exporters"),
            ] {
                let ids = string_list(spec.get(field));
                if field != "processors" {
                    assert!(
                        !ids.is_empty(),
                        "{name}: pipeline {pipeline} has no {field}"
                    );
                }
                let defined = keys(config.get(section));
                let connectors = keys(config.get("connectors"));
                for id in ids {
                    assert!(
                        defined.contains(&id) || connectors.contains(&id),
                        "{name}: pipeline {pipeline} names {field} {id:?}, which is not defined"
                    );
                    used.entry(section).or_default().insert(id);
                }
            }
        }
        // The collector starts with unused components but they are always a mistake
        // in these files: a receiver nobody reads or an exporter nobody feeds.
        for section in ["receivers", "processors", "exporters"] {
            for id in keys(config.get(section)) {
                assert!(
                    used.get(section).is_some_and(|u| u.contains(&id)),
                    "{name}: {section} {id:?} is defined but in no pipeline"
                );
            }
        }
    }
}

/// The component types of each kind that the files use.
fn used_component_types() -> BTreeMap<String, BTreeSet<String>> {
    for file in COLLECTOR_FILES {
        for key in keys(Some(&load(file))) {
            assert!(
                [
                    "receivers",
                    "processors",
                    "exporters",
                    "extensions",
                    "connectors",
                    "service"
                ]
                .contains(&key.as_str()),
                "{file}: unknown top-level section {key:?}"
            );
        }
    }
    types_used_by(COLLECTOR_FILES)
}

/// `<binary> components`: each kind's component types, every module checked to be
/// of the binary's release.
fn listed_components(binary: &str) -> Option<BTreeMap<String, BTreeSet<String>>> {
    let path = support::require_binary(binary)?;
    let listing: Value =
        serde_norway::from_str(&support::run_ok(Command::new(path).arg("components"))).unwrap();
    assert_eq!(listing["buildinfo"]["command"].as_str(), Some(binary));
    let version = listing["buildinfo"]["version"].as_str().unwrap();
    let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for section in [
        "receivers",
        "processors",
        "exporters",
        "extensions",
        "connectors",
    ] {
        for component in listing[section].as_sequence().unwrap() {
            let name = component["name"].as_str().unwrap().to_owned();
            let module = component["module"].as_str().unwrap_or_default();
            assert!(
                module.ends_with(&format!(" v{version}")),
                "{binary}: {section} {name} comes from {module:?}, not release {version}"
            );
            listed.entry(section.to_owned()).or_default().insert(name);
        }
    }
    listed.retain(|_, types| !types.is_empty());
    Some(listed)
}

/// The component types that `files` use, by kind.
fn types_used_by(files: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let config = load(file);
        for section in [
            "receivers",
            "processors",
            "exporters",
            "extensions",
            "connectors",
        ] {
            for id in keys(config.get(section)) {
                used.entry(section.to_owned())
                    .or_default()
                    .insert(component_type(&id).to_owned());
            }
        }
    }
    used
}

#[test]
fn the_distribution_holds_exactly_the_components_the_files_use() {
    let Some(listed) = listed_components("otelcol-business") else {
        return;
    };
    let mut expected = used_component_types();
    for (section, ty) in IN_THE_DATADOG_BUILD_ONLY {
        assert!(
            expected.get_mut(*section).unwrap().remove(*ty),
            "{section} {ty} is no longer used: drop it from IN_THE_DATADOG_BUILD_ONLY"
        );
        assert!(!listed[*section].contains(*ty));
    }
    expected.retain(|_, types| !types.is_empty());
    assert_eq!(
        listed, expected,
        "otelcol-business components and the types the files use differ"
    );
}

#[test]
fn the_datadog_build_holds_exactly_what_its_files_use() {
    let Some(listed) = listed_components("otelcol-business-datadog") else {
        return;
    };
    assert_eq!(
        listed,
        types_used_by(&["base.yaml", "gateway/gateway.yaml", "backends/datadog.yaml"]),
        "otelcol-business-datadog components and the types its files use differ"
    );
}

#[test]
fn every_documented_config_passes_the_collectors_validation() {
    for files in loadable_file_lists() {
        let Some((ok, out)) = spec_for(&files).validate() else {
            return;
        };
        assert!(ok, "{files:?} fails validation:\n{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_config_starts_with_no_deprecation_warning() {
    // Something to connect to for the exporters that connect at start (gRPC).
    let receiver = support::otlp::grpc_receiver().await;
    for files in loadable_file_lists() {
        let spec = spec_for(&files)
            .env("OTLP_GRPC_BACKEND_ENDPOINT", receiver.addr.to_string())
            .env("OTELCOL_GATEWAY_HOSTNAME", "127.0.0.1")
            .env("OTELCOL_GATEWAY_PORT", receiver.addr.port().to_string());
        let Some(mut collector) = Otelcol::start(spec).await else {
            return;
        };
        let log = collector.log();
        collector.terminate();
        assert!(
            log.contains("Everything is ready"),
            "{files:?}: not ready:\n{log}"
        );
        let warnings: Vec<&str> = log
            .lines()
            .filter(|l| l.to_ascii_lowercase().contains("deprecat"))
            .collect();
        assert!(
            warnings.is_empty(),
            "{files:?} starts with deprecation warnings:\n{}",
            warnings.join("\n")
        );
        for line in log.lines() {
            assert!(
                !line.contains("\twarn\t") && !line.contains("\terror\t"),
                "{files:?} starts with a warning or error:\n{line}"
            );
        }
    }
}

#[test]
fn an_unknown_key_is_refused_naming_the_key() {
    // A typo in base.yaml's batch settings. (The prometheus exporter of this release
    // ignores unknown keys instead: otel-collector/README.md says so.)
    let Some(out) = otelcol_refusal(
        &OtelcolSpec::files(&["base.yaml", "backends/debug.yaml"])
            .config("yaml:processors::batch::send_batch_sise: 100"),
    ) else {
        return;
    };
    assert!(
        out.contains("'processors' error reading configuration for \"batch\"")
            && out.contains("'batchprocessor.Config' has invalid keys: send_batch_sise"),
        "{out}"
    );
}

#[test]
fn an_unset_required_endpoint_is_refused_naming_the_exporter() {
    let Some(out) = otelcol_refusal(&OtelcolSpec::files(&[
        "base.yaml",
        "backends/otlphttp.yaml",
    ])) else {
        return;
    };
    assert!(
        out.contains(
            "Error: invalid configuration: exporters::otlp_http: at least one endpoint must be \
             specified"
        ) && out.contains(
            "Configuration references unset environment variable\t{\"name\": \"OTLP_BACKEND_ENDPOINT\"}"
        ),
        "{out}"
    );
}

#[test]
fn a_gateway_without_its_token_is_refused() {
    let Some(out) = otelcol_refusal(&OtelcolSpec::files(&[
        "gateway/gateway.yaml",
        "backends/debug.yaml",
    ])) else {
        return;
    };
    assert!(
        out.contains(
            "Error: invalid configuration: extensions::bearertokenauth: no bearer token provided"
        ) && out.contains(
            "Configuration references unset environment variable\t{\"name\": \"OTELCOL_GATEWAY_TOKEN\"}"
        ),
        "{out}"
    );
}

#[test]
fn a_port_in_use_is_refused_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let Some(out) = otelcol_refusal(
        &OtelcolSpec::files(&["base.yaml", "backends/prometheus.yaml"])
            .env("OTELCOL_PROMETHEUS_PORT", port.to_string()),
    ) else {
        return;
    };
    assert!(
        out.contains(&format!(
            "Error: cannot start pipelines: failed to start \"prometheus\" exporter: listen tcp \
             127.0.0.1:{port}: bind: address already in use"
        )),
        "{out}"
    );
}

#[test]
fn service_extensions_are_defined_and_include_the_health_check() {
    for merged in documented_configs() {
        let config = &merged.config;
        let name = merged.name();
        let enabled = string_list(config["service"].get("extensions"));
        assert!(
            enabled.iter().any(|e| component_type(e) == "health_check"),
            "{name}: health_check is not enabled"
        );
        let defined = keys(config.get("extensions"));
        for id in &enabled {
            assert!(
                defined.contains(id),
                "{name}: service.extensions names {id:?}, which is not defined"
            );
        }
        for id in &defined {
            assert!(
                enabled.contains(id),
                "{name}: extension {id:?} is defined but not enabled"
            );
        }
    }
}

#[test]
fn memory_limiter_comes_first_and_batch_last_in_every_pipeline() {
    for merged in documented_configs() {
        let name = merged.name();
        for (pipeline, spec) in pipelines(&merged.config) {
            let processors = string_list(spec.get("processors"));
            let types: Vec<&str> = processors.iter().map(|p| component_type(p)).collect();
            assert_eq!(
                types.first(),
                Some(&"memory_limiter"),
                "{name}: pipeline {pipeline} must start with memory_limiter: {processors:?}"
            );
            assert_eq!(
                types.last(),
                Some(&"batch"),
                "{name}: pipeline {pipeline} must end with batch: {processors:?}"
            );
            assert_eq!(
                types.iter().filter(|t| **t == "batch").count(),
                1,
                "{name}: pipeline {pipeline} batches twice"
            );
        }
    }
}

#[test]
fn secrets_come_only_from_environment_references() {
    for file in COLLECTOR_FILES {
        let violations = secret_violations(&load(file));
        assert!(violations.is_empty(), "{file}: {violations:#?}");
    }
    // The Datadog key and the remote-write and OTLP credentials are where the README
    // says they are.
    let datadog = load("backends/datadog.yaml");
    assert_eq!(
        datadog["exporters"]["datadog"]["api"]["key"].as_str(),
        Some("${env:DD_API_KEY}")
    );
    assert_eq!(
        datadog["exporters"]["datadog"]["api"]["site"].as_str(),
        Some("${env:DD_SITE:-datadoghq.com}")
    );
    let prw = load("backends/prometheusremotewrite.yaml");
    assert_eq!(
        prw["exporters"]["prometheus_remote_write"]["http"]["headers"]["Authorization"].as_str(),
        Some("${env:PRW_AUTHORIZATION:-}")
    );
    let otlphttp = load("backends/otlphttp.yaml");
    assert_eq!(
        otlphttp["exporters"]["otlp_http"]["headers"]["Authorization"].as_str(),
        Some("${env:OTLP_BACKEND_AUTHORIZATION:-}")
    );
    let gateway = load("gateway/gateway.yaml");
    assert_eq!(
        gateway["extensions"]["bearertokenauth"]["token"].as_str(),
        Some("${env:OTELCOL_GATEWAY_TOKEN}")
    );
    let agent = load("gateway/agent.yaml");
    assert_eq!(
        agent["exporters"]["load_balancing"]["protocol"]["otlp"]["headers"]["authorization"]
            .as_str(),
        Some("Bearer ${env:OTELCOL_GATEWAY_TOKEN}")
    );
}

#[test]
fn the_secret_check_rejects_literal_credentials() {
    let bad: Value = serde_norway::from_str(
        r#"
exporters:
  datadog:
    api:
      key: 0123456789abcdef0123456789abcdef
  otlphttp:
    headers:
      Authorization: "Bearer abc${env:TOKEN}"
      x-honeycomb-team: "${env:HONEYCOMB_KEY:-abc}"
extensions:
  basicauth:
    client_auth:
      password: hunter2
"#,
    )
    .unwrap();
    let violations = secret_violations(&bad);
    assert_eq!(violations.len(), 4, "{violations:#?}");
    assert!(violations[0].starts_with("exporters.datadog.api.key"));
    assert!(violations
        .iter()
        .any(|v| v.contains("HONEYCOMB_KEY has a literal default")));

    let good: Value = serde_norway::from_str(
        "exporters: {datadog: {api: {key: '${env:DD_API_KEY}'}, headers: {Authorization: '${env:AUTH:-}'}}}",
    )
    .unwrap();
    assert_eq!(secret_violations(&good), Vec::<String>::new());
}

/// Every address a configuration listens on: receivers, the health check, the
/// prometheus exporter, and the collector's own metrics.
fn listen_addresses(config: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    if let Some(receivers) = config.get("receivers").and_then(Value::as_mapping) {
        for (id, receiver) in receivers {
            let id = id.as_str().unwrap();
            let protocols = receiver
                .get("protocols")
                .and_then(Value::as_mapping)
                .unwrap_or_else(|| panic!("receiver {id} has no protocols"));
            for (proto, settings) in protocols {
                let endpoint = settings
                    .get("endpoint")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| {
                        panic!(
                            "receiver {id} protocol {proto:?} relies on the built-in default \
                             endpoint; name it"
                        )
                    });
                found.push((format!("receivers.{id}.{proto:?}"), endpoint.to_owned()));
            }
        }
    }
    for (path, value) in [
        (
            "extensions.health_check",
            config.get("extensions").and_then(|e| e.get("health_check")),
        ),
        (
            "exporters.prometheus",
            config.get("exporters").and_then(|e| e.get("prometheus")),
        ),
    ] {
        if let Some(component) = value {
            let endpoint = component["endpoint"]
                .as_str()
                .unwrap_or_else(|| panic!("{path} names no endpoint"));
            found.push((path.to_owned(), endpoint.to_owned()));
        }
    }
    if let Some(readers) = config
        .get("service")
        .and_then(|s| s.get("telemetry"))
        .and_then(|t| t.get("metrics"))
        .and_then(|m| m.get("readers"))
        .and_then(Value::as_sequence)
    {
        for reader in readers {
            let prom = &reader["pull"]["exporter"]["prometheus"];
            let host = prom["host"].as_str().expect("telemetry reader host");
            let port = match &prom["port"] {
                Value::Number(n) => n.to_string(),
                other => other.as_str().expect("telemetry reader port").to_owned(),
            };
            found.push(("service.telemetry".to_owned(), format!("{host}:{port}")));
        }
    }
    found
}

#[test]
fn listeners_bind_loopback_unless_the_environment_says_otherwise() {
    let unset = HashMap::new();
    let in_container = HashMap::from([("OTELCOL_BIND_HOST", "0.0.0.0")]);
    for file in COLLECTOR_FILES {
        for (path, endpoint) in listen_addresses(&load(file)) {
            let resolved = expand(&endpoint, &unset);
            let (host, port) = resolved
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("{file}: {path} endpoint {endpoint:?} has no port"));
            assert_eq!(
                host, "127.0.0.1",
                "{file}: {path} binds {resolved:?} by default"
            );
            assert!(port.parse::<u16>().is_ok(), "{file}: {path} port {port:?}");
            if path != "service.telemetry" {
                let (_, refs) = env_refs(&endpoint);
                assert_eq!(
                    refs.first(),
                    Some(&EnvRef {
                        name: "OTELCOL_BIND_HOST".to_owned(),
                        default: Some("127.0.0.1".to_owned())
                    }),
                    "{file}: {path} host must be ${{env:OTELCOL_BIND_HOST:-127.0.0.1}}"
                );
                let overridden = expand(&endpoint, &in_container);
                assert!(
                    overridden.starts_with("0.0.0.0:"),
                    "{file}: {path} ignores OTELCOL_BIND_HOST: {overridden}"
                );
            }
        }
    }
    // The base receives OTLP over both gRPC and HTTP on the standard ports.
    let base = listen_addresses(&load("base.yaml"));
    let resolved: BTreeSet<String> = base.iter().map(|(_, e)| expand(e, &unset)).collect();
    for expected in ["127.0.0.1:4317", "127.0.0.1:4318", "127.0.0.1:13133"] {
        assert!(
            resolved.contains(expected),
            "base.yaml lacks {expected}: {resolved:?}"
        );
    }
}

#[test]
fn prometheus_exporters_keep_the_project_metric_names() {
    for (backend, exporter) in [
        ("prometheus", "prometheus"),
        ("prometheusremotewrite", "prometheus_remote_write"),
    ] {
        let file = load(&format!("backends/{backend}.yaml"));
        let exporter = &file["exporters"][exporter];
        // Unit and type suffixes ("_total", "_seconds") and "_" for dots:
        // business_funnel_step_total, business_time_to_conversion_seconds_bucket.
        assert_eq!(
            exporter["translation_strategy"].as_str(),
            Some("UnderscoreEscapingWithSuffixes"),
            "{backend}: the translation strategy must be pinned"
        );
        // job/instance from the resource, the rest on target_info: the label sets of
        // the application's own bridge. Deprecated keys stay out.
        for key in [
            "add_metric_suffixes",
            "resource_to_telemetry_conversion",
            "resource_constant_labels",
            "namespace",
            "const_labels",
            "external_labels",
        ] {
            assert!(
                exporter.get(key).is_none(),
                "{backend}: {key} would change the project's series or is deprecated"
            );
        }
    }
    // No pipeline renames or drops metrics on the way.
    for merged in documented_configs() {
        for (_, spec) in pipelines(&merged.config) {
            for p in string_list(spec.get("processors")) {
                assert!(
                    !["metricstransform", "transform", "filter"].contains(&component_type(&p)),
                    "{}: processor {p} would change the project's metrics",
                    merged.name()
                );
            }
        }
    }
}

#[test]
fn resource_processing_sets_the_environment_and_never_drops_service_instance_id() {
    for file in COLLECTOR_FILES {
        let config = load(file);
        let Some(processors) = config.get("processors").and_then(Value::as_mapping) else {
            continue;
        };
        for (id, processor) in processors {
            let id = id.as_str().unwrap();
            if !["resource", "attributes"].contains(&component_type(id)) {
                continue;
            }
            for action in processor["actions"]
                .as_sequence()
                .into_iter()
                .chain(processor["attributes"].as_sequence())
                .flatten()
            {
                let key = action["key"].as_str().unwrap_or_default();
                let kind = action["action"].as_str().unwrap_or_default();
                assert!(
                    !["service.instance.id", "service.name"].contains(&key),
                    "{file}: {id} touches {key}"
                );
                assert!(
                    action.get("pattern").is_none(),
                    "{file}: {id} acts on a key pattern, which may match service.instance.id"
                );
                assert_ne!(
                    kind, "upsert",
                    "{file}: {id} overwrites {key} set by the service"
                );
            }
        }
    }
    let base = load("base.yaml");
    let attributes = base["processors"]["resource"]["attributes"]
        .as_sequence()
        .unwrap();
    // Both names of the environment: each copied from the other when only one is
    // set, then the default, and never overwriting what the service set.
    for (key, other) in [
        ("deployment.environment.name", "deployment.environment"),
        ("deployment.environment", "deployment.environment.name"),
    ] {
        let actions: Vec<_> = attributes
            .iter()
            .filter(|a| a["key"].as_str() == Some(key))
            .collect();
        assert_eq!(actions.len(), 2, "base.yaml sets {key}: {actions:?}");
        assert!(actions
            .iter()
            .all(|a| a["action"].as_str() == Some("insert")));
        assert_eq!(actions[0]["from_attribute"].as_str(), Some(other));
        assert_eq!(
            actions[1]["value"].as_str(),
            Some("${env:DEPLOYMENT_ENVIRONMENT:-development}")
        );
    }
    let position = |key: &str, field: &str| {
        attributes
            .iter()
            .position(|a| a["key"].as_str() == Some(key) && a.get(field).is_some())
            .unwrap()
    };
    // The copies come before either default, or a default would win over a copy.
    assert!(
        position("deployment.environment.name", "from_attribute")
            < position("deployment.environment", "value")
            && position("deployment.environment", "from_attribute")
                < position("deployment.environment.name", "value")
    );
}

#[test]
fn datadog_backend_sends_counter_deltas_and_histogram_distributions() {
    let file = load("backends/datadog.yaml");
    let metrics = &file["exporters"]["datadog"]["metrics"];
    assert_eq!(
        metrics["sums"]["cumulative_monotonic_mode"].as_str(),
        Some("to_delta")
    );
    assert_eq!(
        metrics["sums"]["initial_cumulative_monotonic_value"].as_str(),
        Some("auto")
    );
    assert_eq!(
        metrics["histograms"]["mode"].as_str(),
        Some("distributions")
    );
    assert_eq!(
        metrics["resource_attributes_as_tags"].as_bool(),
        Some(false),
        "resource attributes as tags multiply custom metrics by the replica count"
    );
}

#[test]
fn agents_route_each_service_to_one_gateway_of_a_resolved_pool() {
    let agent = Merged::of(&["base.yaml", "gateway/agent.yaml"]);
    let metrics = &agent.config["service"]["pipelines"]["metrics"];
    assert_eq!(string_list(metrics.get("exporters")), ["load_balancing"]);
    assert_eq!(
        string_list(metrics.get("processors")),
        ["memory_limiter", "resource", "batch"],
        "the agent keeps the base's processing"
    );
    let lb = &agent.config["exporters"]["load_balancing"];
    assert_eq!(lb["routing_key"].as_str(), Some("service"));
    assert!(lb["protocol"]["otlp"].is_mapping(), "gateways speak OTLP");
    let resolvers = keys(lb.get("resolver"));
    assert_eq!(resolvers.len(), 1, "exactly one resolver: {resolvers:?}");
    assert!(
        resolvers.is_subset(&BTreeSet::from(["dns".to_owned(), "static".to_owned()])),
        "{resolvers:?}"
    );
    assert_eq!(
        lb["resolver"]["dns"]["hostname"].as_str(),
        Some("${env:OTELCOL_GATEWAY_HOSTNAME:-localhost}")
    );

    let gateway = load("gateway/gateway.yaml");
    let metrics = &gateway["service"]["pipelines"]["metrics"];
    assert!(
        metrics.get("exporters").is_none(),
        "the backend file adds it"
    );
    assert_eq!(
        string_list(metrics.get("processors")),
        ["memory_limiter", "batch"],
        "the gateway neither re-aggregates nor rewrites resources"
    );
    assert!(
        gateway["receivers"]["otlp"]["protocols"]["grpc"].is_mapping(),
        "the load_balancing exporter sends OTLP/gRPC"
    );
    assert_eq!(
        gateway["receivers"]["otlp"]["protocols"]["grpc"]["auth"]["authenticator"].as_str(),
        Some("bearertokenauth"),
        "the gateway accepts only the agents' token"
    );
}

/// The collector release the distribution pins (components.go's `Version`).
fn distribution_version() -> String {
    let source = std::fs::read_to_string(
        repo().join("otel-collector/distribution/components/components.go"),
    )
    .unwrap();
    let line = source
        .lines()
        .find(|l| l.starts_with("const Version = "))
        .expect("components.go declares its Version");
    line.trim_start_matches("const Version = ")
        .trim_matches('"')
        .to_owned()
}

fn compose() -> Value {
    parse_yaml(&repo().join("otel-collector").join("docker-compose.yml"))
}

const COMPOSE_SERVICES: &[&str] = &[
    "shop",
    "otel-collector",
    "prometheus",
    "alertmanager",
    "grafana",
];

/// The `(host, container)` pairs of a service's bind mounts.
fn bind_mounts(service: &Value) -> Vec<(String, String)> {
    string_list(service.get("volumes"))
        .into_iter()
        .filter(|v| v.starts_with('.') || v.starts_with('/'))
        .map(|v| {
            let mut parts = v.splitn(3, ':');
            (
                parts.next().unwrap().to_owned(),
                parts
                    .next()
                    .expect("a bind mount names its target")
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn docker_compose_runs_the_whole_stack_with_pinned_images_on_loopback_ports() {
    let compose = compose();
    let services = &compose["services"];
    for name in COMPOSE_SERVICES {
        assert!(services.get(*name).is_some(), "service {name} is missing");
    }
    for (name, service) in services.as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let image = service["image"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} names no image"));
        let (_, tag) = image
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{name}: image {image} is not pinned"));
        assert!(
            !tag.is_empty() && tag != "latest" && !tag.contains('/'),
            "{name}: image {image} is not pinned to a version"
        );
        for port in string_list(service.get("ports")) {
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name}: port {port} is published beyond loopback"
            );
        }
    }
    // The collector is the project's distribution, built from its directory; Prometheus
    // is the release the tests run.
    let collector = &services["otel-collector"];
    assert_eq!(
        collector["build"]["context"].as_str(),
        Some("./distribution")
    );
    let version = distribution_version();
    assert_eq!(
        collector["image"].as_str(),
        Some(format!("business-metrics-otelcol:{version}").as_str())
    );
    let install = std::fs::read_to_string(repo().join("scripts/install-test-deps.sh")).unwrap();
    let prometheus_version = install
        .lines()
        .find_map(|l| l.strip_prefix("PROMETHEUS_VERSION="))
        .expect("install-test-deps.sh pins PROMETHEUS_VERSION");
    assert_eq!(
        services["prometheus"]["image"].as_str(),
        Some(format!("prom/prometheus:v{prometheus_version}").as_str())
    );

    // The collector runs base + prometheus from the mounted collector/ directory.
    let collector = &services["otel-collector"];
    let command = string_list(collector.get("command"));
    assert_eq!(
        command,
        [
            "--config=/etc/otelcol/base.yaml",
            "--config=/etc/otelcol/backends/prometheus.yaml"
        ]
    );
    assert!(bind_mounts(collector).contains(&("./collector".to_owned(), "/etc/otelcol".to_owned())));
    assert_eq!(
        collector["environment"]["OTELCOL_BIND_HOST"].as_str(),
        Some("0.0.0.0")
    );

    // The shop is built from its Dockerfile and exports to the collector and its bridge.
    let shop = &services["shop"];
    assert_eq!(shop["build"]["context"].as_str(), Some(".."));
    assert_eq!(
        shop["build"]["dockerfile"].as_str(),
        Some("examples/shop/Dockerfile")
    );
    let env = &shop["environment"];
    for (key, value) in [
        ("SHOP_LISTEN", "0.0.0.0:8080"),
        ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector:4318"),
        ("OTEL_EXPORTER_PROMETHEUS_HOST", "0.0.0.0"),
    ] {
        assert_eq!(env[key].as_str(), Some(value), "shop {key}");
    }

    // Prometheus, Alertmanager and Grafana read the project's files where their images
    // expect them.
    let expected_mounts = [
        (
            "prometheus",
            "./prometheus/prometheus.docker.yml",
            "/etc/prometheus/prometheus.yml",
        ),
        ("prometheus", "./prometheus/rules", "/etc/prometheus/rules"),
        (
            "prometheus",
            "./generated/prometheus/rules",
            "/etc/prometheus/generated",
        ),
        (
            "alertmanager",
            "./alertmanager/alertmanager.yml",
            "/etc/alertmanager/alertmanager.yml",
        ),
        (
            "grafana",
            "./grafana/provisioning",
            "/etc/grafana/provisioning",
        ),
        (
            "grafana",
            "./grafana/dashboards",
            "/var/lib/grafana/dashboards",
        ),
        (
            "grafana",
            "./generated/grafana",
            "/var/lib/grafana/generated-dashboards",
        ),
    ];
    for (service, host, target) in expected_mounts {
        assert!(
            bind_mounts(&services[service]).contains(&(host.to_owned(), target.to_owned())),
            "{service} does not mount {host} at {target}"
        );
    }
}

#[test]
fn docker_compose_bind_mounts_exist_in_the_repository() {
    let compose = compose();
    let base = repo().join("otel-collector");
    for (name, service) in compose["services"].as_mapping().unwrap() {
        for (host, _) in bind_mounts(service) {
            assert!(
                !host.starts_with('/'),
                "{name:?}: {host} is outside the repository"
            );
            assert!(
                base.join(&host).exists(),
                "{name:?}: bind mount {host} does not exist under otel-collector/"
            );
        }
        if let Some(build) = service.get("build") {
            let context = base.join(build["context"].as_str().unwrap());
            let dockerfile = build["dockerfile"].as_str().unwrap();
            assert!(
                context.join(dockerfile).is_file(),
                "{name:?}: {dockerfile} does not exist in the build context"
            );
        }
    }
}

#[test]
fn shop_image_builds_the_shop_and_runs_as_a_non_root_user() {
    let dockerfile = std::fs::read_to_string(repo().join("examples/shop/Dockerfile")).unwrap();
    let stages = dockerfile
        .lines()
        .filter(|l| l.trim_start().starts_with("FROM "))
        .count();
    assert_eq!(stages, 2, "a build stage and a runtime stage");
    assert!(dockerfile.contains("cargo build --release --locked -p shop"));
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix("USER "))
        .expect("the runtime stage sets a USER");
    assert!(
        !["root", "0", "0:0"].contains(&user.trim()),
        "the shop must not run as root"
    );
    for line in dockerfile
        .lines()
        .filter(|l| l.trim_start().starts_with("FROM "))
    {
        let image = line.split_whitespace().nth(1).unwrap();
        let (_, tag) = image.rsplit_once(':').expect("base images are pinned");
        assert_ne!(tag, "latest", "{image} is not pinned");
    }

    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    let patterns: BTreeSet<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for excluded in ["target", "target-*", ".git"] {
        assert!(
            patterns.contains(excluded),
            ".dockerignore lacks {excluded}"
        );
    }
}
