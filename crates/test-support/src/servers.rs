//! The project's OpenTelemetry Collector distribution (`otelcol-business`, or
//! `otelcol-business-datadog`) and Prometheus 3 as child processes on ephemeral
//! loopback ports, started from the repository's own configuration files, polled
//! until ready, and killed (or restarted on the same ports and storage) at will.
//!
//! Enabled by the `servers` feature.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::exposition::{Sample, Scrape};
use crate::{free_port, poll_until, require_binary, ChildGuard, TempDir};

/// The repository root (two levels above this crate's manifest).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the repository root")
        .to_owned()
}

/// A path under `otel-collector/collector/`.
pub fn collector_config(relative: &str) -> PathBuf {
    repo_root()
        .join("otel-collector")
        .join("collector")
        .join(relative)
}

/// An HTTP client for loopback servers: no proxy, short timeouts.
pub fn loopback_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

/// `GET url` answered with a success status, or why not.
pub async fn get_ok(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{status}: {body}"))
    }
}

/// Why a server did not become ready.
#[derive(Debug)]
enum NotReady {
    /// It exited first; its log says why.
    Exited(String),
}

impl NotReady {
    /// Whether it exited because a port it was given was taken meanwhile (another
    /// process bound the free port between our look and its start).
    fn port_taken(&self) -> bool {
        let Self::Exited(log) = self;
        log.contains("address already in use")
    }
}

/// Polls `url` every 100 ms until it answers with a success status (`Ok`), or the
/// process exits (`Err` with its log); fails the test after 60 s.
async fn wait_ready(process: &mut ChildGuard, log: &Path, url: &str) -> Result<(), NotReady> {
    let client = loopback_client();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = process.child_mut().try_wait() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            return Err(NotReady::Exited(format!("exited ({status}):\n{text}")));
        }
        match get_ok(&client, url).await {
            Ok(_) => return Ok(()),
            Err(last) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{url} not ready after 60 s: {last}\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// How many times a first start picks new ports when one was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;

// ---- the collector --------------------------------------------------------------

/// How to start a collector: which binary, which `--config` sources, which
/// environment besides the ports it is given.
#[derive(Clone, Debug)]
pub struct OtelcolSpec {
    binary: String,
    configs: Vec<String>,
    env: Vec<(String, String)>,
}

impl OtelcolSpec {
    /// `otelcol-business` with these files under `otel-collector/collector/`.
    pub fn files(files: &[&str]) -> Self {
        Self {
            binary: "otelcol-business".to_owned(),
            configs: files
                .iter()
                .map(|f| collector_config(f).display().to_string())
                .collect(),
            env: Vec::new(),
        }
    }

    /// Another binary of the distribution (`otelcol-business-datadog`).
    #[must_use]
    pub fn binary(mut self, name: &str) -> Self {
        name.clone_into(&mut self.binary);
        self
    }

    /// One more `--config` source: a file path or a `yaml:` URI.
    #[must_use]
    pub fn config(mut self, source: impl Into<String>) -> Self {
        self.configs.push(source.into());
        self
    }

    /// One more environment variable.
    #[must_use]
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// The command line (`args` first, then the `--config` sources), with the
    /// environment cleared but for `PATH`, the ports, the storage directory and the
    /// spec's variables.
    fn command(
        &self,
        binary: &Path,
        args: &[&str],
        ports: &OtelcolPorts,
        storage: &Path,
    ) -> Command {
        let mut cmd = Command::new(binary);
        cmd.args(args);
        for config in &self.configs {
            cmd.arg("--config").arg(config);
        }
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("OTELCOL_OTLP_GRPC_PORT", ports.grpc.to_string())
            .env("OTELCOL_OTLP_HTTP_PORT", ports.http.to_string())
            .env("OTELCOL_HEALTH_PORT", ports.health.to_string())
            .env("OTELCOL_METRICS_PORT", ports.metrics.to_string())
            .env("OTELCOL_PROMETHEUS_PORT", ports.prometheus.to_string())
            .env("OTELCOL_STORAGE_DIR", storage);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `<binary> validate` with these sources; returns whether it succeeded and
    /// what it printed. `None` (after a notice) when the binary is not installed,
    /// outside CI.
    pub fn validate(&self) -> Option<(bool, String)> {
        let binary = require_binary(&self.binary)?;
        let dir = TempDir::new("otelcol-validate");
        let out = self
            .command(&binary, &["validate"], &OtelcolPorts::new(), dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some((out.status.success(), text))
    }
}

/// The loopback ports a collector is given through the configs' environment
/// variables.
#[derive(Clone, Copy, Debug)]
pub struct OtelcolPorts {
    /// OTLP/gRPC receiver (`OTELCOL_OTLP_GRPC_PORT`).
    pub grpc: u16,
    /// OTLP/HTTP receiver (`OTELCOL_OTLP_HTTP_PORT`).
    pub http: u16,
    /// Health check (`OTELCOL_HEALTH_PORT`).
    pub health: u16,
    /// The collector's own metrics (`OTELCOL_METRICS_PORT`).
    pub metrics: u16,
    /// The `prometheus` exporter's endpoint (`OTELCOL_PROMETHEUS_PORT`).
    pub prometheus: u16,
}

impl OtelcolPorts {
    fn new() -> Self {
        Self {
            grpc: free_port(),
            http: free_port(),
            health: free_port(),
            metrics: free_port(),
            prometheus: free_port(),
        }
    }
}

/// A running collector of the project's distribution.
#[derive(Debug)]
pub struct Otelcol {
    /// Its ports.
    pub ports: OtelcolPorts,
    spec: OtelcolSpec,
    binary: PathBuf,
    dir: TempDir,
    runs: usize,
    process: Option<ChildGuard>,
}

impl Otelcol {
    /// Starts a collector and waits until its health check answers 200. `None`
    /// (after a notice) when the binary is not installed, outside CI.
    pub async fn start(spec: OtelcolSpec) -> Option<Self> {
        let binary = require_binary(&spec.binary)?;
        let mut collector = Self {
            ports: OtelcolPorts::new(),
            spec,
            binary,
            dir: TempDir::new("otelcol"),
            runs: 0,
            process: None,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            match collector.launch().await {
                Ok(()) => return Some(collector),
                Err(e) if e.port_taken() && attempt < PORT_ATTEMPTS => {
                    collector.ports = OtelcolPorts::new();
                }
                Err(NotReady::Exited(log)) => panic!("the collector did not start: {log}"),
            }
        }
        unreachable!("the last attempt returns or fails")
    }

    /// The shipped base configuration with the `otlpgrpc` backend, forwarding
    /// OTLP/gRPC to `to` in plain text, one request at a time (so that what arrives
    /// keeps the order it was sent in).
    pub async fn forwarding_to(to: SocketAddr) -> Option<Self> {
        Self::start(
            OtelcolSpec::files(&["base.yaml", "backends/otlpgrpc.yaml"])
                .env("OTLP_GRPC_BACKEND_ENDPOINT", to.to_string())
                .env("OTLP_GRPC_BACKEND_INSECURE", "true")
                .config("yaml:exporters::otlp_grpc::sending_queue::num_consumers: 1"),
        )
        .await
    }

    /// The OTLP/gRPC endpoint URL for an SDK exporter.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.grpc)
    }

    /// The OTLP/HTTP metrics endpoint URL for an SDK exporter.
    pub fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/v1/metrics", self.ports.http)
    }

    /// Where the `prometheus` exporter serves.
    pub fn prometheus_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports.prometheus))
    }

    /// The directory its `file_storage` keeps queues in (kept across restarts).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    fn log_path(&self, run: usize) -> PathBuf {
        self.dir.path().join(format!("otelcol-{run}.log"))
    }

    /// Everything the current (or last) run logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path(self.runs)).unwrap_or_default()
    }

    /// Waits (at most `timeout`) until the current run's log contains `needle`;
    /// returns the log.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        poll_until(
            &format!("{needle:?} in the collector's log"),
            timeout,
            || {
                let log = self.log();
                async move {
                    if log.contains(needle) {
                        Ok(log)
                    } else {
                        Err("not logged yet".to_owned())
                    }
                }
            },
        )
        .await
    }

    /// Kills the collector with SIGKILL (nothing flushed) and reaps it.
    pub fn kill(&mut self) {
        self.process = None;
    }

    /// Stops the collector with SIGTERM and waits (at most 30 s) for it to exit.
    pub fn terminate(&mut self) {
        if let Some(mut process) = self.process.take() {
            let pid = process.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while process.is_running() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(ChildGuard::is_running)
    }

    /// Starts the collector (again) on the same ports and storage; returns once its
    /// health check answers 200.
    pub async fn restart(&mut self) {
        if let Err(NotReady::Exited(log)) = self.launch().await {
            panic!("the collector did not start again: {log}");
        }
    }

    async fn launch(&mut self) -> Result<(), NotReady> {
        self.kill();
        self.runs += 1;
        let storage = self.storage_dir();
        std::fs::create_dir_all(&storage).expect("the storage directory");
        let log = self.log_path(self.runs);
        let out = std::fs::File::create(&log).expect("the collector's log");
        let err = out.try_clone().expect("the collector's log, twice");
        let mut cmd = self.spec.command(&self.binary, &[], &self.ports, &storage);
        cmd.stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err);
        let process = self
            .process
            .insert(ChildGuard::spawn(&self.spec.binary, &mut cmd).with_log(&log));
        let url = format!("http://127.0.0.1:{}/", self.ports.health);
        wait_ready(process, &log, &url).await
    }

    /// The collector's own metrics page (`otelcol_*` series).
    pub async fn own_metrics(&self) -> String {
        get_ok(
            &loopback_client(),
            &format!("http://127.0.0.1:{}/metrics", self.ports.metrics),
        )
        .await
        .unwrap_or_else(|e| panic!("the collector's own metrics: {e}"))
    }
}

/// Runs a collector that must refuse to start; returns what it printed. Fails the
/// test if it is still running after 30 s. `None` (after a notice) when the binary
/// is not installed, outside CI.
pub fn otelcol_refusal(spec: &OtelcolSpec) -> Option<String> {
    let binary = require_binary(&spec.binary)?;
    let dir = TempDir::new("otelcol-refusal");
    let mut cmd = spec.command(&binary, &[], &OtelcolPorts::new(), dir.path());
    let log = dir.path().join("out.log");
    let out = std::fs::File::create(&log).expect("a log file");
    let err = out.try_clone().expect("the log file, twice");
    let mut child = ChildGuard::spawn(
        &spec.binary,
        cmd.stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.child_mut().try_wait() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(!status.success(), "the collector exited 0:\n{text}");
            return Some(text);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the collector is still running after 30 s:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- Prometheus 3 ---------------------------------------------------------------

/// A running Prometheus 3 on a loopback port, with its HTTP API.
#[derive(Debug)]
pub struct Prometheus {
    /// Where it listens.
    pub addr: SocketAddr,
    binary: PathBuf,
    config: String,
    flags: Vec<String>,
    dir: TempDir,
    runs: usize,
    process: Option<ChildGuard>,
    client: reqwest::Client,
}

impl Prometheus {
    /// Starts `prometheus` with `config` (YAML text) and extra `flags` (for example
    /// `--web.enable-remote-write-receiver`); returns once `/-/ready` answers 200.
    /// `None` (after a notice) when it is not installed, outside CI.
    pub async fn start(config: &str, flags: &[&str]) -> Option<Self> {
        let binary = require_binary("prometheus")?;
        let mut prometheus = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            binary,
            config: config.to_owned(),
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
            dir: TempDir::new("prometheus"),
            runs: 0,
            process: None,
            client: loopback_client(),
        };
        for attempt in 1..=PORT_ATTEMPTS {
            match prometheus.launch().await {
                Ok(()) => return Some(prometheus),
                Err(e) if e.port_taken() && attempt < PORT_ATTEMPTS => {
                    prometheus.addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
                }
                Err(NotReady::Exited(log)) => panic!("Prometheus did not start: {log}"),
            }
        }
        unreachable!("the last attempt returns or fails")
    }

    /// A Prometheus that receives only: remote write and OTLP receivers on, no
    /// scrape jobs, a 30 m out-of-order window (collectors send in batches) and the
    /// OTLP settings of `otel-collector/prometheus/otlp.yml`.
    pub async fn receiver() -> Option<Self> {
        let profile = repo_root()
            .join("otel-collector")
            .join("prometheus")
            .join("otlp.yml");
        let config = std::fs::read_to_string(&profile)
            .unwrap_or_else(|e| panic!("{}: {e}", profile.display()));
        Self::start(
            &config,
            &[
                "--web.enable-remote-write-receiver",
                "--web.enable-otlp-receiver",
            ],
        )
        .await
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The remote-write URL.
    pub fn remote_write_url(&self) -> String {
        format!("{}/api/v1/write", self.url())
    }

    /// The OTLP base URL (`/v1/metrics` is appended by OTLP/HTTP exporters).
    pub fn otlp_url(&self) -> String {
        format!("{}/api/v1/otlp", self.url())
    }

    /// Kills it (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        self.process = None;
    }

    /// Starts it (again) on the same port and data directory; returns once ready.
    pub async fn restart(&mut self) {
        if let Err(NotReady::Exited(log)) = self.launch().await {
            panic!("Prometheus did not start again: {log}");
        }
    }

    async fn launch(&mut self) -> Result<(), NotReady> {
        self.kill();
        self.runs += 1;
        let config = self.dir.path().join("prometheus.yml");
        std::fs::write(&config, &self.config).expect("writing prometheus.yml");
        let log = self
            .dir
            .path()
            .join(format!("prometheus-{}.log", self.runs));
        let out = std::fs::File::create(&log).expect("the Prometheus log");
        let err = out.try_clone().expect("the Prometheus log, twice");
        let url = format!("{}/-/ready", self.url());
        let process = self.process.insert(
            ChildGuard::spawn(
                "prometheus",
                Command::new(&self.binary)
                    .arg(format!("--config.file={}", config.display()))
                    .arg(format!(
                        "--storage.tsdb.path={}",
                        self.dir.path().join("data").display()
                    ))
                    .arg(format!("--web.listen-address={}", self.addr))
                    .args(&self.flags)
                    .stdin(std::process::Stdio::null())
                    .stdout(out)
                    .stderr(err),
            )
            .with_log(&log),
        );
        wait_ready(process, &log, &url).await
    }

    /// `GET` an API path with query parameters; the JSON answer's `data` when its
    /// status is `success`.
    pub async fn api(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.url()), params)
            .map_err(|e| e.to_string())?;
        let body: Value = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if body.get("status").and_then(Value::as_str) == Some("success") {
            Ok(body.get("data").cloned().unwrap_or_default())
        } else {
            Err(format!("{path} {params:?}: {body}"))
        }
    }

    /// An instant query's result vector.
    pub async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let data = self.api("/api/v1/query", &[("query", expr)]).await?;
        Ok(data
            .get("result")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// An instant query's samples, named by `__name__`, without `otel_scope_*`
    /// labels.
    pub async fn samples(&self, expr: &str) -> Result<Scrape, String> {
        let result = self.query(expr).await?;
        let samples = result
            .iter()
            .map(|s| {
                let mut labels: BTreeMap<String, String> = s
                    .get("metric")
                    .and_then(Value::as_object)
                    .ok_or_else(|| format!("no labels in {s}"))?
                    .iter()
                    .filter(|(k, _)| !k.starts_with("otel_scope_"))
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect();
                let name = labels.remove("__name__").unwrap_or_default();
                let value = s
                    .get("value")
                    .and_then(|v| v.get(1))
                    .and_then(Value::as_str)
                    .and_then(|v| v.parse::<f64>().ok())
                    .ok_or_else(|| format!("no value in {s}"))?;
                Ok(Sample {
                    name,
                    labels,
                    value,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Scrape { samples })
    }
}
