//! Helpers shared by the workspace's real-server tests: finding the servers'
//! binaries (a missing one fails the test under `CI=true`), running them as child
//! processes killed on drop, free loopback ports, temporary directories, and polling
//! for readiness instead of sleeping.
//!
//! This crate is only ever a dev-dependency. A failed expectation here is a failed
//! test, so its helpers panic with a message instead of returning errors.
//!
//! | feature | adds |
//! |---|---|
//! | `otlp` | the `otlp` module: in-test OTLP receivers and payload helpers |
//! | `servers` | the `servers` module: the project's collector and Prometheus 3 as child processes |
//! | `datadog` | the `datadog` module: a fake Datadog intake that decodes the exporter's payloads |
#![forbid(unsafe_code)]
#![allow(clippy::panic, clippy::expect_used, clippy::print_stderr)]

#[cfg(feature = "datadog")]
pub mod datadog;
pub mod exposition;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "servers")]
pub mod servers;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Whether the tests run in CI, where a missing server is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The first executable named `name` on `PATH`.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|c| {
            c.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The binary `name`, or `None` after a notice that the test is skipped. Under
/// `CI=true` a missing binary fails the test instead.
pub fn require_binary(name: &str) -> Option<PathBuf> {
    require_found(&format!("`{name}`"), find_binary(name))
}

/// `found`, or `None` after a notice that the test is skipped because `what` is not
/// installed. Under `CI=true` a missing server fails the test instead.
pub fn require_found(what: &str, found: Option<PathBuf>) -> Option<PathBuf> {
    if found.is_some() {
        return found;
    }
    let message = format!(
        "{what} is not installed; run scripts/install-test-deps.sh (or scripts/test.sh) to install the test servers"
    );
    assert!(!in_ci(), "{message}");
    eprintln!("skipping: {message}");
    None
}

/// Runs a command to completion and fails the test, showing its output, unless it
/// succeeds. Returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let output: Output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{shown} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

/// A child process killed (and reaped) when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    name: String,
    log: Option<PathBuf>,
}

impl ChildGuard {
    /// Spawns `cmd`; `name` appears in failure messages.
    pub fn spawn(name: &str, cmd: &mut Command) -> Self {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            child,
            name: name.to_owned(),
            log: None,
        }
    }

    /// Spawns `cmd` with stdin closed and stdout and stderr appended to
    /// `<log_dir>/<name>-<pid>-<n>.log`, which is shown if it exits early.
    pub fn spawn_logged(name: &str, cmd: &mut Command, log_dir: &Path) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        std::fs::create_dir_all(log_dir).expect("the log directory");
        let log = log_dir.join(format!("{name}-{}-{n}.log", std::process::id()));
        let out = std::fs::File::create(&log).expect("the log file");
        let err = out.try_clone().expect("the log file, twice");
        Self::spawn(name, cmd.stdin(Stdio::null()).stdout(out).stderr(err)).with_log(&log)
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child process itself: to take its pipes, signal it or wait for it.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Names the file the process logs to, shown when it exits early.
    #[must_use]
    pub fn with_log(mut self, path: &Path) -> Self {
        self.log = Some(path.to_owned());
        self
    }

    /// Fails the test, showing the log, if the process has already exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = self
                .log
                .as_ref()
                .and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default();
            panic!("{} exited early: {status}\n{log}", self.name);
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago (the OS picks it; the listener is
/// closed before returning, so a server started right after can bind it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A fresh directory under the system's temp dir, removed with its contents on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/<prefix>-<pid>-<nanos>`.
    pub fn new(prefix: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Calls `attempt` every 100 ms until it returns `Some`, for at most `timeout`; fails
/// the test with `what` and the last attempt's explanation when time runs out.
pub async fn poll_until<T, F, Fut>(what: &str, timeout: Duration, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The lines of a child's pipe (stdout or stderr), collected as they arrive.
#[derive(Clone, Debug, Default)]
pub struct Lines(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Lines {
    /// Reads `pipe` line by line on a thread until it closes.
    pub fn collect(
        &self,
        pipe: impl std::io::Read + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        use std::io::BufRead as _;
        let lines = self.0.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                lines
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(line);
            }
        })
    }

    /// Everything so far, one line per line.
    pub fn text(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .join("\n")
    }

    /// The address in the first line starting with `prefix` (`http://ADDR...`).
    pub fn address_after(&self, prefix: &str) -> Option<std::net::SocketAddr> {
        let lines = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rest = lines.iter().find_map(|l| l.strip_prefix(prefix))?;
        rest.trim_start_matches("http://")
            .split(['/', ' '])
            .next()?
            .parse()
            .ok()
    }
}
