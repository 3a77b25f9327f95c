//! The servers under test ("peers"): how to start one on 127.0.0.1, wait for it, and stop it.
//!
//! Every peer is a separate process that this tool starts itself on a free port, pinned with
//! `taskset` to another core than the generator when there are two, and stops by its own PID.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

use crate::sys;

/// How long a peer may take to accept connections after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long `npm install` may take when `node_modules` is missing.
const NPM_INSTALL_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a peer gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Which server a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerKind {
    /// Minimal tokio-tungstenite room broadcast: the limit of our stack.
    Baseline,
    /// Minimal Node.js + ws room broadcast.
    NodeWs,
    /// The Roundtable server with its embedded store.
    Roundtable,
    /// The Roundtable server with Redis (`--redis-url`).
    RoundtableRedis,
}

impl PeerKind {
    pub const ALL: [PeerKind; 4] = [
        PeerKind::Baseline,
        PeerKind::NodeWs,
        PeerKind::Roundtable,
        PeerKind::RoundtableRedis,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PeerKind::Baseline => "baseline",
            PeerKind::NodeWs => "node-ws",
            PeerKind::Roundtable => "roundtable",
            PeerKind::RoundtableRedis => "roundtable-redis",
        }
    }

    /// The wire protocol the peer speaks.
    pub fn protocol(self) -> Protocol {
        match self {
            PeerKind::Baseline | PeerKind::NodeWs => Protocol::Relay,
            PeerKind::Roundtable | PeerKind::RoundtableRedis => Protocol::Roundtable,
        }
    }

    pub fn is_roundtable(self) -> bool {
        self.protocol() == Protocol::Roundtable
    }
}

impl fmt::Display for PeerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The two wire protocols the generator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `{"join":room}` then free-form frames relayed to the whole room (baseline, node-ws).
    Relay,
    /// The Roundtable protocol (`protocol/src/lib.rs`): hello, join, ack, snapshot, events.
    Roundtable,
}

/// Where the peers' programs are and how to run them.
#[derive(Debug, Clone)]
pub struct PeerSetup {
    pub baseline_bin: PathBuf,
    pub roundtable_bin: PathBuf,
    pub node_ws_dir: PathBuf,
    pub node_bin: String,
    pub npm_bin: String,
    /// Must point at a loopback address. Without it, the roundtable-redis peer starts its own
    /// `redis-server` (from `redis_server_bin`) on a free port of 127.0.0.1.
    pub redis_url: Option<String>,
    pub redis_server_bin: String,
    /// Core to pin the server to, if any.
    pub server_core: Option<usize>,
}

impl PeerSetup {
    /// Defaults: the binaries next to the running executable (same cargo profile), the node peer
    /// in this crate's `peers/node-ws`.
    pub fn from_env() -> PeerSetup {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        PeerSetup {
            baseline_bin: exe_dir.join("baseline"),
            roundtable_bin: exe_dir.join("roundtable"),
            node_ws_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/node-ws"),
            node_bin: "node".to_owned(),
            npm_bin: "npm".to_owned(),
            redis_url: None,
            redis_server_bin: "redis-server".to_owned(),
            server_core: None,
        }
    }

    /// Whether `kind` can be started here (its program exists); the reason if not.
    pub fn availability(&self, kind: PeerKind) -> Result<(), String> {
        match kind {
            PeerKind::Baseline if !self.baseline_bin.is_file() => Err(format!(
                "{} missing; build it with `cargo build --release -p roundtable-load-tests`",
                self.baseline_bin.display()
            )),
            PeerKind::NodeWs if !self.node_ws_dir.join("server.js").is_file() => Err(format!(
                "{} has no server.js; pass --node-ws-dir with the path of \
                     load-tests/peers/node-ws (the default is fixed when the tool is built)",
                self.node_ws_dir.display()
            )),
            PeerKind::Roundtable | PeerKind::RoundtableRedis if !self.roundtable_bin.is_file() => {
                Err(format!(
                    "{} missing; build it with `cargo build --release -p roundtable-server`",
                    self.roundtable_bin.display()
                ))
            }
            PeerKind::RoundtableRedis
                if self.redis_url.is_none() && !program_exists(&self.redis_server_bin) =>
            {
                Err(
                    "needs redis-server on the PATH or --redis-url redis://127.0.0.1:PORT"
                        .to_owned(),
                )
            }
            _ => Ok(()),
        }
    }
}

/// Refuse any Redis URL whose host is not on the loopback range.
pub fn check_loopback_redis_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("redis://")
        .context("the Redis URL must start with redis://")?;
    let authority = rest.split('/').next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false);
    if !loopback {
        bail!("the Redis URL must point at a loopback address, not {host:?}");
    }
    Ok(())
}

/// A started peer process.
#[derive(Debug)]
pub struct RunningPeer {
    pub kind: PeerKind,
    pub port: u16,
    pub pid: u32,
    child: Child,
    /// The redis-server this peer started for itself, if any.
    redis: Option<Child>,
    log_path: PathBuf,
    // Holds the log file and the roundtable data directory until the peer is stopped.
    _scratch: tempfile::TempDir,
}

impl RunningPeer {
    /// Start `kind` on a free port of 127.0.0.1 and wait until it accepts connections.
    pub async fn start(kind: PeerKind, setup: &PeerSetup) -> Result<RunningPeer> {
        if let Err(why) = setup.availability(kind) {
            bail!("cannot start {kind}: {why}");
        }
        let scratch = tempfile::Builder::new()
            .prefix(&format!("roundtable-load-{}-", kind.name()))
            .tempdir()?;
        let port = sys::free_port()?;
        let listen = format!("127.0.0.1:{port}");

        let mut argv: Vec<String> = Vec::new();
        if let Some(core) = setup.server_core {
            argv.extend(["taskset".to_owned(), "-c".to_owned(), core.to_string()]);
        }
        let mut current_dir = None;
        let mut redis = None;
        match kind {
            PeerKind::Baseline => {
                argv.push(setup.baseline_bin.display().to_string());
                argv.push(port.to_string());
            }
            PeerKind::NodeWs => {
                ensure_node_modules(setup).await?;
                argv.push(setup.node_bin.clone());
                argv.push("server.js".to_owned());
                argv.push(port.to_string());
                current_dir = Some(setup.node_ws_dir.clone());
            }
            PeerKind::Roundtable | PeerKind::RoundtableRedis => {
                let data_dir = scratch.path().join("data");
                std::fs::create_dir_all(&data_dir)?;
                argv.push(setup.roundtable_bin.display().to_string());
                argv.extend(["--listen".to_owned(), listen.clone()]);
                argv.extend(["--data-dir".to_owned(), data_dir.display().to_string()]);
                argv.extend(roundtable_load_flags());
                if kind == PeerKind::RoundtableRedis {
                    let url = match &setup.redis_url {
                        Some(url) => url.clone(),
                        None => {
                            let (child, url) = start_redis(setup, scratch.path()).await?;
                            redis = Some(child);
                            url
                        }
                    };
                    check_loopback_redis_url(&url)?;
                    argv.extend(["--redis-url".to_owned(), url]);
                }
            }
        }

        let log_path = scratch.path().join("server.log");
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        if let Some(dir) = current_dir {
            command.current_dir(dir);
        }
        if kind.is_roundtable() {
            command.env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("warn".into()),
            );
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {kind}: {}", argv.join(" ")))?;
        // `taskset -c N prog` execs prog, so the PID is the server's own.
        let pid = child.id().context("peer exited at once")?;
        let mut peer = RunningPeer {
            kind,
            port,
            pid,
            child,
            redis,
            log_path,
            _scratch: scratch,
        };
        if let Err(err) = peer.wait_ready().await {
            let log = peer.log_tail();
            peer.stop().await;
            bail!("{kind} did not come up: {err:#}\n--- server log ---\n{log}");
        }
        Ok(peer)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("exited with {status}");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "not listening on 127.0.0.1:{} after {READY_TIMEOUT:?}",
                    self.port
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The peer's scratch directory (its log, and the roundtable peers' data directory): on the
    /// same file system as the embedded store's files.
    pub fn scratch_dir(&self) -> &std::path::Path {
        self._scratch.path()
    }

    /// Bytes of the files in the embedded store's data directory (roundtable peer only).
    pub fn data_dir_bytes(&self) -> Option<u64> {
        if self.kind != PeerKind::Roundtable {
            return None;
        }
        let entries = std::fs::read_dir(self._scratch.path().join("data")).ok()?;
        Some(
            entries
                .filter_map(|entry| entry.ok()?.metadata().ok())
                .filter(|meta| meta.is_file())
                .map(|meta| meta.len())
                .sum(),
        )
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Resident memory now, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        sys::rss_kib(self.pid)
    }

    /// CPU seconds used so far by the server and by the redis-server it started for itself,
    /// if any: that one is pinned to the same core and does the server's storing, so leaving
    /// it out would understate what the server side costs.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let server = sys::cpu_seconds(Some(self.pid))?;
        let redis = match &self.redis {
            Some(redis) => sys::cpu_seconds(Some(redis.id()?))?,
            None => 0.0,
        };
        Some(server + redis)
    }

    /// The last lines the server wrote.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGTERM by PID, then SIGKILL after a grace period.
    pub async fn stop(mut self) {
        stop_child(&mut self.child).await;
        if let Some(mut redis) = self.redis.take() {
            stop_child(&mut redis).await;
        }
    }
}

/// The flags every Roundtable server this tool starts gets: every room of a run is created, and
/// every member joins, from this one address, each room's members all at once.
pub(crate) fn roundtable_load_flags() -> Vec<String> {
    let mut argv = Vec::new();
    for flag in [
        "--group-creations-per-address-burst",
        "--group-creations-per-address-per-hour",
        "--group-creations-per-hour",
        "--new-members-per-minute",
        "--joins-per-address-per-minute",
        "--unjoined-websockets-per-address-max",
        "--unfinished-requests-per-address-max",
    ] {
        argv.extend([flag.to_owned(), "1000000".to_owned()]);
    }
    argv
}

/// SIGTERM by PID, then SIGKILL after a grace period.
pub(crate) async fn stop_child(child: &mut Child) {
    if let (Ok(None), Some(pid)) = (child.try_wait(), child.id()) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if tokio::time::timeout(STOP_GRACE, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
    let _ = child.wait().await;
}

pub(crate) fn program_exists(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

/// Start a private redis-server on a free port of 127.0.0.1, durable as the server's docs ask
/// (append-only file, fsync on every write), on the server's core. Returns it and its URL.
async fn start_redis(setup: &PeerSetup, scratch: &Path) -> Result<(Child, String)> {
    let port = sys::free_port()?;
    let dir = scratch.join("redis");
    std::fs::create_dir_all(&dir)?;
    let mut argv: Vec<String> = Vec::new();
    if let Some(core) = setup.server_core {
        argv.extend(["taskset".to_owned(), "-c".to_owned(), core.to_string()]);
    }
    argv.push(setup.redis_server_bin.clone());
    for arg in [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--dir",
        &dir.display().to_string(),
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--daemonize",
        "no",
    ] {
        argv.push(arg.to_owned());
    }
    let log = std::fs::File::create(scratch.join("redis.log"))?;
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("starting redis-server")?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("redis-server exited with {status}");
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok((child, format!("redis://127.0.0.1:{port}/0")));
        }
        if Instant::now() > deadline {
            stop_child(&mut child).await;
            bail!("redis-server not listening after {READY_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Install the node peer's dependencies when `node_modules` is missing.
async fn ensure_node_modules(setup: &PeerSetup) -> Result<()> {
    if setup.node_ws_dir.join("node_modules/ws").is_dir() {
        return Ok(());
    }
    eprintln!("node-ws: node_modules missing, running npm install");
    let mut child = Command::new(&setup.npm_bin)
        .args(["install", "--no-audit", "--no-fund", "--no-package-lock"])
        .current_dir(&setup.node_ws_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("running npm install")?;
    match tokio::time::timeout(NPM_INSTALL_TIMEOUT, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(status) => bail!("npm install failed: {status:?}"),
        Err(_) => {
            let _ = child.kill().await;
            bail!("npm install took longer than {NPM_INSTALL_TIMEOUT:?}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_url_must_be_loopback() {
        assert!(check_loopback_redis_url("redis://127.0.0.1:6379").is_ok());
        assert!(check_loopback_redis_url("redis://localhost:6379/0").is_ok());
        assert!(check_loopback_redis_url("redis://user:pw@127.0.0.2:6379").is_ok());
        assert!(check_loopback_redis_url("redis://[::1]:6379").is_ok());
        assert!(check_loopback_redis_url("redis://10.0.0.5:6379").is_err());
        assert!(check_loopback_redis_url("redis://example.com").is_err());
        assert!(check_loopback_redis_url("http://127.0.0.1").is_err());
    }
}
