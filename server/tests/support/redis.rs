//! A real Redis for tests: the one named by `ROUNDTABLE_TEST_REDIS_URL`, or a `redis-server`
//! started on a free loopback port and killed (by its own pid) when the handle is dropped.
//!
//! No mocks and no silent skips: without the variable and without `redis-server` on the PATH,
//! starting one panics and says how to install it.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roundtable_server::Limits;
use roundtable_server::store::{RedisOptions, RedisStore};

use super::TestServer;

/// The environment variable naming an external Redis to test against.
pub const URL_VAR: &str = "ROUNDTABLE_TEST_REDIS_URL";

/// A key prefix of its own (`<label>-<random>:`), so that tests can share one Redis.
pub fn unique_prefix(label: &str) -> String {
    format!("{label}-{}:", uuid::Uuid::new_v4().simple())
}

/// The default options with the key prefix `prefix`.
pub fn options(prefix: &str) -> RedisOptions {
    RedisOptions {
        key_prefix: prefix.to_string(),
        ..RedisOptions::default()
    }
}

/// A server in this process on the Redis store at `url` under the key prefix `prefix`.
pub async fn start_server(url: &str, prefix: &str, limits: Limits) -> TestServer {
    let store = RedisStore::connect(url, options(prefix))
        .await
        .expect("connect to redis");
    TestServer::start_configured(&std::env::temp_dir(), Arc::new(store), |config| {
        config.redis_url = Some(url.to_string());
        config.redis_prefix = prefix.to_string();
        config.limits = limits;
    })
    .await
}

/// Starts the real binary on the Redis store at `url` under the key prefix `prefix`, with
/// `extra_args`, and returns it with the address it printed (see [`super::start_binary`]).
pub async fn start_binary(
    url: &str,
    prefix: &str,
    extra_args: &[&str],
) -> (tokio::process::Child, std::net::SocketAddr) {
    let mut args: Vec<&OsStr> = vec![
        "--redis-url".as_ref(),
        url.as_ref(),
        "--redis-prefix".as_ref(),
        prefix.as_ref(),
    ];
    args.extend(extra_args.iter().map(|arg| OsStr::new(*arg)));
    super::start_binary(&args).await
}

/// All the clients of a test with many rooms come from 127.0.0.1: the limits per address make
/// room for them.
pub const MANY_CLIENTS: [&str; 12] = [
    "--group-creations-per-hour",
    "100000",
    "--joins-per-address-per-minute",
    "100000",
    "--group-creations-per-address-burst",
    "1000",
    "--group-creations-per-address-per-hour",
    "1000",
    "--unjoined-websockets-per-address-max",
    "1000",
    "--unfinished-requests-per-address-max",
    "1000",
];

/// Starts the real binary as a node of a fleet on the Redis at `url` under `prefix`: its
/// internal listener at `internal`, `secret` as the fleet secret, an admin listener, and
/// `extra_args`. Returns it with the client and admin addresses it printed.
pub async fn start_fleet_node(
    url: &str,
    prefix: &str,
    internal: &str,
    secret: &str,
    extra_args: &[&str],
) -> (
    tokio::process::Child,
    std::net::SocketAddr,
    std::net::SocketAddr,
) {
    let mut args: Vec<&OsStr> = vec![
        "--redis-url".as_ref(),
        url.as_ref(),
        "--redis-prefix".as_ref(),
        prefix.as_ref(),
        "--internal-listen".as_ref(),
        internal.as_ref(),
        "--fleet-secret".as_ref(),
        secret.as_ref(),
    ];
    args.extend(extra_args.iter().map(|arg| OsStr::new(*arg)));
    super::start_binary_with_admin(&args).await
}

/// How long a started server may take to answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a started server keeps its data across a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// `--save "" --appendonly no`: nothing on disk.
    None,
    /// `--appendonly yes --appendfsync always` in a temp dir: every acknowledged write survives
    /// a kill and a restart on the same port.
    AppendOnly,
}

/// A Redis to test against. Drop kills a server this handle started.
#[derive(Debug)]
pub struct TestRedis {
    url: String,
    own: Option<OwnServer>,
}

#[derive(Debug)]
struct OwnServer {
    port: u16,
    persistence: Persistence,
    /// Holds the AOF files and the server's log; removed on drop.
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl TestRedis {
    /// The Redis named by `ROUNDTABLE_TEST_REDIS_URL`, or else a new server without
    /// persistence. Tests sharing an external Redis must use their own key prefix.
    pub fn start() -> Self {
        match std::env::var(URL_VAR) {
            Ok(url) if !url.is_empty() => TestRedis { url, own: None },
            _ => Self::start_own(Persistence::None),
        }
    }

    /// Always a new server of this process's own, for tests that stop and restart it.
    pub fn start_own(persistence: Persistence) -> Self {
        // A port picked free can be taken by someone else before the server binds it: try a few.
        let mut last_failure = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut own = OwnServer {
                port,
                persistence,
                dir: tempfile::tempdir().expect("temp dir for redis-server"),
                child: None,
            };
            match own.spawn() {
                Ok(()) => {
                    return TestRedis {
                        url: format!("redis://127.0.0.1:{port}/"),
                        own: Some(own),
                    };
                }
                // Only a taken port is worth another try.
                Err(failure) if failure.contains("Address already in use") => {
                    last_failure = failure;
                }
                Err(failure) => panic!("redis-server did not start: {failure}"),
            }
        }
        panic!("redis-server did not start: {last_failure}");
    }

    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Kills the server (SIGKILL, like a crash) and waits for it to exit.
    pub fn stop(&mut self) {
        self.own_server().kill();
    }

    /// Starts the server again on the same port with the same options.
    pub fn restart(&mut self) {
        let own = self.own_server();
        own.kill();
        if let Err(failure) = own.spawn() {
            panic!("redis-server did not restart: {failure}");
        }
    }

    fn own_server(&mut self) -> &mut OwnServer {
        self.own
            .as_mut()
            .expect("only a redis-server started by the test can be stopped or restarted")
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(own) = &mut self.own {
            own.kill();
        }
    }
}

impl OwnServer {
    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut command = Command::new("redis-server");
        command
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--save")
            .arg("")
            .arg("--logfile")
            .arg(self.log_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match self.persistence {
            Persistence::None => {
                command.arg("--appendonly").arg("no");
            }
            Persistence::AppendOnly => {
                command
                    .arg("--appendonly")
                    .arg("yes")
                    .arg("--appendfsync")
                    .arg("always")
                    .arg("--dir")
                    .arg(self.dir.path());
            }
        }
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not on the PATH. These tests need a real Redis: install it \
                 (`apt-get install redis-server`), or set {URL_VAR}=redis://host:port/ to use \
                 a running one."
            ),
            Err(error) => panic!("cannot run redis-server: {error}"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if answers_ping(self.port) {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .expect("just spawned")
                .try_wait()
                .expect("poll redis-server");
            if let Some(status) = exited {
                self.child = None;
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                return Err(format!("it exited with {status}; its log:\n{log}"));
            }
            if Instant::now() >= deadline {
                self.kill();
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                return Err(format!(
                    "it did not answer PING on port {} within {START_TIMEOUT:?}; its log:\n{log}",
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the child this handle started, by its pid, and reaps it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// Whether a Redis on the port answers PING with PONG.
fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// A plain connection to the Redis at `url`, for a test to read (or change) what a store wrote
/// behind the store's back.
pub async fn raw_connection(url: &str) -> ::redis::aio::MultiplexedConnection {
    ::redis::Client::open(url)
        .expect("a redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("a raw redis connection")
}

/// The key of `group_id`'s ownership lease under the key prefix `prefix`, for a test that
/// takes the lease from under a room (as another node would) or reads who holds it.
pub fn lease_key(prefix: &str, group_id: roundtable_protocol::GroupId) -> String {
    format!("{prefix}{{g:{group_id}}}:lease")
}

/// Every key matching the `SCAN` pattern `pattern` (`*` for all).
pub async fn scan_keys(
    raw: &mut ::redis::aio::MultiplexedConnection,
    pattern: &str,
) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = ::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(raw)
            .await
            .expect("SCAN");
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            return keys;
        }
    }
}

/// The value at `key` read raw, element by element, whatever its type: a string whole; a hash's
/// fields and values in turn; a set's or a sorted set's members; a list's items; a stream's
/// entries, each id followed by its fields and values. A type it cannot read fails the test, so
/// that a test looking at every stored byte misses none.
pub async fn elements_of(raw: &mut ::redis::aio::MultiplexedConnection, key: &str) -> Vec<Vec<u8>> {
    let kind: String = ::redis::cmd("TYPE")
        .arg(key)
        .query_async(raw)
        .await
        .expect("TYPE");
    let read = |command: &str, args: &[&str]| {
        let mut command = ::redis::cmd(command);
        command.arg(key).arg(args);
        command
    };
    match kind.as_str() {
        "string" => read("GET", &[])
            .query_async(raw)
            .await
            .map(|value| vec![value]),
        "hash" => read("HGETALL", &[]).query_async(raw).await,
        "set" => read("SMEMBERS", &[]).query_async(raw).await,
        "zset" => read("ZRANGE", &["0", "-1"]).query_async(raw).await,
        "list" => read("LRANGE", &["0", "-1"]).query_async(raw).await,
        "stream" => read("XRANGE", &["-", "+"])
            .query_async::<Vec<(String, Vec<Vec<u8>>)>>(raw)
            .await
            .map(|entries| {
                entries
                    .into_iter()
                    .flat_map(|(id, fields)| std::iter::once(id.into_bytes()).chain(fields))
                    .collect()
            }),
        other => panic!("key {key} has a type the test cannot read: {other}"),
    }
    .unwrap_or_else(|error| panic!("read the value of key {key}: {error}"))
}

/// The key `key` as `DeletedGroup::assert_absent` looks at stored bytes: its name, and its
/// value's elements ([`elements_of`]) run together.
pub async fn name_and_value(
    raw: &mut ::redis::aio::MultiplexedConnection,
    key: &str,
) -> [(String, Vec<u8>); 2] {
    let value = elements_of(raw, key).await.concat();
    [
        (format!("the name of key {key}"), key.as_bytes().to_vec()),
        (format!("the value of key {key}"), value),
    ]
}

/// Every key matching `pattern` ([`scan_keys`]), each as [`name_and_value`].
pub async fn every_name_and_value(url: &str, pattern: &str) -> Vec<(String, Vec<u8>)> {
    let mut raw = raw_connection(url).await;
    let mut stored = Vec::new();
    for key in scan_keys(&mut raw, pattern).await {
        stored.extend(name_and_value(&mut raw, &key).await);
    }
    stored
}
