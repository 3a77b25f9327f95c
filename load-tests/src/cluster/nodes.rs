//! The processes of the `cluster` scenario: the redis-servers (one, or a Redis Cluster of three
//! masters and three replicas) and the Roundtable nodes, all on 127.0.0.1, each started by
//! this tool and stopped by its own PID. Also a minimal Redis client (for the lease keys and the
//! cluster's state); what their `/metrics` say is read by `metrics_text`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::peer::{self, PeerSetup};
use crate::sys;

/// How long a redis-server or a node may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a node gets to exit after SIGTERM (a drain hands its rooms over first).
pub const DRAIN_EXIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest one Redis command or admin HTTP call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Which Redis the nodes share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedisMode {
    /// One redis-server.
    Single,
    /// A Redis Cluster of 3 masters and 3 replicas (`redis-cli --cluster create`).
    Cluster,
}

/// The redis-servers this tool started.
pub struct Redis {
    pub mode: RedisMode,
    children: Vec<Child>,
    /// Ports of every redis-server (masters and replicas alike).
    pub ports: Vec<u16>,
    /// One kept connection per server for [`Redis::command`] (a connection per command would
    /// leave thousands of sockets in TIME_WAIT over a long run).
    connections: tokio::sync::Mutex<std::collections::HashMap<u16, BufReader<TcpStream>>>,
}

fn pinned(setup: &PeerSetup, program: &str) -> Vec<String> {
    let mut argv = Vec::new();
    if let Some(core) = setup.server_core {
        argv.extend(["taskset".to_owned(), "-c".to_owned(), core.to_string()]);
    }
    argv.push(program.to_owned());
    argv
}

/// A port of 127.0.0.1 that is free, and whose cluster bus port (+10000) is free too.
fn free_cluster_port() -> Result<u16> {
    for _ in 0..200 {
        let port = sys::free_port()?;
        if port < 55_000
            && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
        {
            return Ok(port);
        }
    }
    bail!("found no free port below 55000 whose cluster bus port (+10000) is free too")
}

impl Redis {
    /// Start the Redis of `mode` under `scratch`, each redis-server with `extra` arguments
    /// after the tool's own.
    pub async fn start(
        mode: RedisMode,
        setup: &PeerSetup,
        scratch: &Path,
        extra: &[String],
    ) -> Result<Redis> {
        if !peer::program_exists(&setup.redis_server_bin) {
            bail!("the cluster scenario needs redis-server on the PATH");
        }
        let mut redis = Redis {
            mode,
            children: Vec::new(),
            ports: Vec::new(),
            connections: tokio::sync::Mutex::new(std::collections::HashMap::new()),
        };
        let started = redis.start_inner(setup, scratch, extra).await;
        if let Err(err) = started {
            redis.stop().await;
            return Err(err);
        }
        Ok(redis)
    }

    async fn start_inner(
        &mut self,
        setup: &PeerSetup,
        scratch: &Path,
        extra: &[String],
    ) -> Result<()> {
        let count = match self.mode {
            RedisMode::Single => 1,
            RedisMode::Cluster => 6,
        };
        for index in 0..count {
            let port = match self.mode {
                RedisMode::Single => sys::free_port()?,
                RedisMode::Cluster => free_cluster_port()?,
            };
            let dir = scratch.join(format!("redis-{index}"));
            std::fs::create_dir_all(&dir)?;
            let mut argv = pinned(setup, &setup.redis_server_bin);
            let port_text = port.to_string();
            let dir_text = dir.display().to_string();
            argv.extend(
                [
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    &port_text,
                    "--dir",
                    &dir_text,
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--daemonize",
                    "no",
                ]
                .map(str::to_owned),
            );
            if self.mode == RedisMode::Cluster {
                argv.extend(
                    [
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "2000",
                        // The groups on the other masters keep working while one fails over.
                        "--cluster-require-full-coverage",
                        "no",
                    ]
                    .map(str::to_owned),
                );
            }
            argv.extend(extra.iter().cloned());
            let log = std::fs::File::create(dir.join("redis.log"))?;
            let child = Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .context("starting redis-server")?;
            self.children.push(child);
            self.ports.push(port);
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        for (index, &port) in self.ports.iter().enumerate() {
            loop {
                if let Some(status) = self.children[index].try_wait()? {
                    bail!("redis-server on port {port} exited with {status}");
                }
                if matches!(redis_command(port, &["PING"]).await, Ok(Resp::Simple(ref s)) if s == "PONG")
                {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("redis-server on port {port} not answering after {READY_TIMEOUT:?}");
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        if self.mode == RedisMode::Cluster {
            self.create_cluster(deadline).await?;
        }
        Ok(())
    }

    /// `redis-cli --cluster create` over the six servers, then wait until every one of them
    /// says `cluster_state:ok`.
    async fn create_cluster(&self, deadline: Instant) -> Result<()> {
        if !peer::program_exists("redis-cli") {
            bail!("a Redis Cluster needs redis-cli on the PATH (redis-cli --cluster create)");
        }
        let mut command = Command::new("redis-cli");
        command.arg("--cluster").arg("create");
        for port in &self.ports {
            command.arg(format!("127.0.0.1:{port}"));
        }
        command
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let output = tokio::time::timeout(READY_TIMEOUT, command.output())
            .await
            .context("redis-cli --cluster create took too long")?
            .context("running redis-cli --cluster create")?;
        if !output.status.success() {
            bail!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        for &port in &self.ports {
            loop {
                if let Ok(Resp::Bulk(Some(info))) = redis_command(port, &["CLUSTER", "INFO"]).await
                    && String::from_utf8_lossy(&info).contains("cluster_state:ok")
                {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("the Redis Cluster is not ok on port {port} after {READY_TIMEOUT:?}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// The URL the nodes are given: the single server, or the cluster's first node as a seed.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.ports[0])
    }

    /// Every server's URL, comma-separated (seeds of a cluster).
    pub fn seed_urls(&self) -> String {
        self.ports
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One command about one key, following a cluster's `MOVED` redirection.
    pub async fn command(&self, args: &[&str]) -> Result<Resp> {
        let mut port = self.ports[0];
        for _ in 0..3 {
            match self.command_on(port, args).await? {
                Resp::Error(message) if message.starts_with("MOVED ") => {
                    port = message
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.trim().parse().ok())
                        .with_context(|| format!("unreadable redirection {message}"))?;
                }
                Resp::Error(message) => bail!("{}: {message}", args.join(" ")),
                answer => return Ok(answer),
            }
        }
        bail!("{}: too many redirections", args.join(" "))
    }

    /// One command on the kept connection to `port` (opened when missing, dropped on error).
    async fn command_on(&self, port: u16, args: &[&str]) -> Result<Resp> {
        let mut connections = self.connections.lock().await;
        let connection = match connections.remove(&port) {
            Some(connection) => connection,
            None => BufReader::new(
                tokio::time::timeout(CALL_TIMEOUT, TcpStream::connect(("127.0.0.1", port)))
                    .await
                    .with_context(|| format!("connecting to redis on port {port} timed out"))??,
            ),
        };
        let mut connection = connection;
        let answer = tokio::time::timeout(CALL_TIMEOUT, async {
            connection
                .get_mut()
                .write_all(&encode_command(args))
                .await?;
            read_resp(&mut connection, 0).await
        })
        .await
        .with_context(|| format!("redis on port {port} did not answer in time"))??;
        connections.insert(port, connection);
        Ok(answer)
    }

    /// `GET key`.
    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        match self.command(&["GET", key]).await? {
            Resp::Bulk(value) => {
                Ok(value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
            }
            other => bail!("GET {key}: unexpected answer {other:?}"),
        }
    }

    /// The node registry (`rt:{fleet}:nodes` and each `rt:{fleet}:node:<id>`'s `client` URL):
    /// node id -> the port of its client URL.
    pub async fn registry(&self) -> Result<Vec<(String, u16)>> {
        let Resp::Array(Some(ids)) = self
            .command(&["ZRANGE", "rt:{fleet}:nodes", "0", "-1"])
            .await?
        else {
            return Ok(Vec::new());
        };
        let mut nodes = Vec::new();
        for id in ids.into_iter().take(1000) {
            let Resp::Bulk(Some(id)) = id else { continue };
            let id = String::from_utf8_lossy(&id).into_owned();
            let key = format!("rt:{{fleet}}:node:{id}");
            if let Resp::Bulk(Some(url)) = self.command(&["HGET", &key, "client"]).await? {
                let url = String::from_utf8_lossy(&url).into_owned();
                let port = url
                    .trim_end_matches('/')
                    .rsplit(':')
                    .next()
                    .and_then(|port| port.parse().ok());
                if let Some(port) = port {
                    nodes.push((id, port));
                }
            }
        }
        Ok(nodes)
    }

    /// CPU seconds used so far by every redis-server.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let mut total = 0.0;
        for child in &self.children {
            total += sys::cpu_seconds(Some(child.id()?))?;
        }
        Some(total)
    }

    /// SIGTERM each by PID, then SIGKILL after a grace period.
    pub async fn stop(&mut self) {
        for child in &mut self.children {
            peer::stop_child(child).await;
        }
        self.children.clear();
    }
}

/// A Redis reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

/// One command on a fresh connection to 127.0.0.1:`port` (bounded by [`CALL_TIMEOUT`]).
pub async fn redis_command(port: u16, args: &[&str]) -> Result<Resp> {
    tokio::time::timeout(CALL_TIMEOUT, async {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let mut stream = BufReader::new(stream);
        stream.get_mut().write_all(&encode_command(args)).await?;
        read_resp(&mut stream, 0).await
    })
    .await
    .with_context(|| format!("redis on port {port} did not answer in time"))?
}

fn encode_command(args: &[&str]) -> Vec<u8> {
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    request.into_bytes()
}

fn read_resp<'a>(
    stream: &'a mut BufReader<TcpStream>,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Resp>> + Send + 'a>> {
    Box::pin(async move {
        if depth > 8 {
            bail!("Redis reply nested too deep");
        }
        let mut line = String::new();
        (&mut *stream).take(1 << 20).read_line(&mut line).await?;
        let line = line.trim_end_matches(['\r', '\n']);
        let (kind, rest) = line.split_at_checked(1).context("empty Redis reply")?;
        Ok(match kind {
            "+" => Resp::Simple(rest.to_owned()),
            "-" => Resp::Error(rest.to_owned()),
            ":" => Resp::Integer(rest.parse()?),
            "$" => {
                let len: i64 = rest.parse()?;
                if len < 0 {
                    Resp::Bulk(None)
                } else {
                    if len > 64 << 20 {
                        bail!("Redis bulk reply of {len} bytes is too large");
                    }
                    let mut data = vec![0; len as usize + 2];
                    stream.read_exact(&mut data).await?;
                    data.truncate(len as usize);
                    Resp::Bulk(Some(data))
                }
            }
            "*" => {
                let len: i64 = rest.parse()?;
                if len < 0 {
                    Resp::Array(None)
                } else {
                    if len > 100_000 {
                        bail!("Redis array reply of {len} items is too large");
                    }
                    let mut items = Vec::with_capacity(len as usize);
                    for _ in 0..len {
                        items.push(read_resp(stream, depth + 1).await?);
                    }
                    Resp::Array(Some(items))
                }
            }
            _ => bail!("unreadable Redis reply {line:?}"),
        })
    })
}

/// One Roundtable node: its ports stay the same across restarts, as behind a load balancer.
pub struct Node {
    pub index: usize,
    pub port: u16,
    pub admin_port: u16,
    data_dir: PathBuf,
    log_path: PathBuf,
    argv: Vec<String>,
    child: Option<Child>,
    pub starts: u32,
}

impl Node {
    pub fn new(
        index: usize,
        setup: &PeerSetup,
        scratch: &Path,
        redis_args: &[String],
        extra_args: &[String],
        fleet: bool,
    ) -> Result<Node> {
        let port = sys::free_port()?;
        let mut admin_port = sys::free_port()?;
        while admin_port == port {
            admin_port = sys::free_port()?;
        }
        let data_dir = scratch.join(format!("node-{index}"));
        std::fs::create_dir_all(&data_dir)?;
        let mut argv = pinned(setup, &setup.roundtable_bin.display().to_string());
        argv.extend([
            "--listen".to_owned(),
            format!("127.0.0.1:{port}"),
            "--admin-listen".to_owned(),
            format!("127.0.0.1:{admin_port}"),
            "--data-dir".to_owned(),
            data_dir.display().to_string(),
        ]);
        if fleet {
            argv.extend([
                "--internal-listen".to_owned(),
                format!("127.0.0.1:{}", sys::free_port()?),
            ]);
        }
        argv.extend(redis_args.iter().cloned());
        argv.extend(peer::roundtable_load_flags());
        argv.extend(extra_args.iter().cloned());
        Ok(Node {
            index,
            port,
            admin_port,
            log_path: scratch.join(format!("node-{index}.log")),
            data_dir,
            argv,
            child: None,
            starts: 0,
        })
    }

    /// Start the node (again) and wait until its `/healthz` says it is ready.
    pub async fn start(&mut self) -> Result<Duration> {
        let began = Instant::now();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)?;
        let child = Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .current_dir(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("warn".into()),
            )
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting node {}: {}", self.index, self.argv.join(" ")))?;
        self.child = Some(child);
        self.starts += 1;
        let deadline = began + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!(
                    "node {} exited with {status}\n--- its log ---\n{}",
                    self.index,
                    self.log_tail()
                );
            }
            if let Ok((200, _)) = http_get(self.admin_port, "/healthz").await {
                return Ok(began.elapsed());
            }
            if Instant::now() > deadline {
                bail!(
                    "node {} not ready (admin /healthz) after {READY_TIMEOUT:?}\n--- its log ---\n{}",
                    self.index,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// `kill -9` by PID; returns once the process is gone.
    /// SIGKILL; [`Node::wait_exit`] waits for the process to go (the kernel closes its
    /// sockets as it tears the process down, which takes a while for a node with thousands).
    pub fn signal_kill(&mut self) -> Result<Instant> {
        let child = self.child.as_mut().context("node not running")?;
        let sent = Instant::now();
        child.start_kill().context("SIGKILL")?;
        Ok(sent)
    }

    /// SIGTERM by PID (a planned drain); [`Node::wait_exit`] waits for the process to go.
    pub fn signal_term(&mut self) -> Result<Instant> {
        let pid = self.pid().context("node not running")?;
        let sent = Instant::now();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("kill -TERM")?;
        if !status.success() {
            bail!("kill -TERM {pid} failed");
        }
        Ok(sent)
    }

    /// Wait for the process to exit after [`Node::signal_term`] or [`Node::signal_kill`]; how
    /// long it took from `sent`, or an error (after SIGKILL) when it did not exit within
    /// [`DRAIN_EXIT_TIMEOUT`].
    pub async fn wait_exit(&mut self, sent: Instant) -> Result<Duration> {
        let mut child = self.child.take().context("node not running")?;
        match tokio::time::timeout(DRAIN_EXIT_TIMEOUT, child.wait()).await {
            Ok(_) => Ok(sent.elapsed()),
            Err(_) => {
                let _ = child.kill().await;
                bail!(
                    "node {} did not exit within {DRAIN_EXIT_TIMEOUT:?} of its signal\n--- its log ---\n{}",
                    self.index,
                    self.log_tail()
                )
            }
        }
    }

    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            peer::stop_child(&mut child).await;
        }
    }

    pub fn cpu_seconds(&self) -> Option<f64> {
        sys::cpu_seconds(Some(self.pid()?))
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The node's `/metrics` text.
    pub async fn metrics(&self) -> Result<String> {
        metrics_at(self.admin_port).await
    }
}

/// The metrics of the node whose admin listener is at `admin_port`.
pub async fn metrics_at(admin_port: u16) -> Result<String> {
    let (status, body) = http_get(admin_port, "/metrics").await?;
    if status != 200 {
        bail!("the node at admin port {admin_port}: /metrics answered {status}");
    }
    Ok(body)
}

async fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    tokio::time::timeout(
        CALL_TIMEOUT,
        crate::client::http_request(port, "GET", path, None),
    )
    .await
    .context("HTTP call timed out")?
}
