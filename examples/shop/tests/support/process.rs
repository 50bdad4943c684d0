//! The shop binary as a child process on ephemeral loopback ports: its addresses
//! (read from its own start-up lines), its output, and its resident memory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `shop` binary, killed when dropped.
pub struct ShopProcess {
    child: Child,
    dir: PathBuf,
    /// The API's address, as the shop printed it.
    pub api: SocketAddr,
    /// The Prometheus bridge's address, as the shop printed it.
    pub metrics: SocketAddr,
}

/// Where the output of the next child goes: a fresh directory under the temp dir.
fn fresh_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("shop-test-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The text after `prefix` on the first line of `out` that starts with it, up to
/// the next white space or `/metrics`.
fn address_after(out: &str, prefix: &str) -> Option<SocketAddr> {
    let rest = out.lines().find_map(|l| l.strip_prefix(prefix))?;
    let addr = rest.split(['/', ' ']).next()?;
    addr.parse().ok()
}

impl ShopProcess {
    /// Starts the shop with a clean environment plus `env`, the given arguments, and
    /// waits (polling its output, at most 30 s) until both listeners are up.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Self::spawn(args, env);
        if let Err(out) = child.wait_listening() {
            panic!("the shop exited before it listened:\n{out}");
        }
        child
    }

    /// Polls the output (at most 30 s) until the shop has printed both addresses;
    /// `Err` with the output if it exited first.
    pub fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.output();
            let api = address_after(&out, "shop listening on http://");
            let metrics = address_after(&out, "metrics: curl -s http://");
            if let (Some(api), Some(metrics)) = (api, metrics) {
                self.api = api;
                self.metrics = metrics;
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited ({status}):\n{}", self.output()));
            }
            assert!(
                Instant::now() < deadline,
                "the shop did not start within 30 s:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the shop without waiting for anything.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = fresh_dir();
        let out = std::fs::File::create(dir.join("out.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_shop"))
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        Self {
            child,
            dir,
            api: unspecified,
            metrics: unspecified,
        }
    }

    /// Everything the shop wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("out.log")).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits at most `timeout` for the process to exit; its exit code, if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident memory (`VmRSS`) in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS in /proc/{}/status", self.pid()))
    }

    /// The addresses of the TCP sockets this process listens on, from its open file
    /// descriptors and the kernel's socket tables.
    pub fn listening_addresses(&self) -> Vec<SocketAddr> {
        listening_addresses_of(self.pid())
    }

    /// The base URL of the API.
    pub fn base(&self) -> String {
        format!("http://{}", self.api)
    }

    /// The URL of `/metrics`.
    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.metrics)
    }
}

impl Drop for ShopProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The socket inodes among the open file descriptors of `pid`.
fn socket_inodes(pid: u32) -> Vec<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// Decodes a `/proc/net/tcp{,6}` address (`0100007F:1F90`).
fn decode(hex: &str) -> SocketAddr {
    let (ip, port) = hex.split_once(':').unwrap();
    let port = u16::from_str_radix(port, 16).unwrap();
    // Each 32-bit word of the address is in host (little-endian) byte order.
    let words: Vec<[u8; 4]> = (0..ip.len() / 8)
        .map(|i| {
            u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16)
                .unwrap()
                .to_le_bytes()
        })
        .collect();
    let bytes: Vec<u8> = words.into_iter().flatten().collect();
    let ip: std::net::IpAddr = match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).into(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).unwrap()).into(),
        n => panic!("unexpected address length {n}"),
    };
    SocketAddr::new(ip, port)
}

/// The local addresses of the listening TCP sockets (state `0A`) held by `pid`.
pub fn listening_addresses_of(pid: u32) -> Vec<SocketAddr> {
    let inodes = socket_inodes(pid);
    let mut out = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            if *state == "0A" && inode.parse().is_ok_and(|i: u64| inodes.contains(&i)) {
                out.push(decode(local));
            }
        }
    }
    out.sort();
    out
}
