//! A real Redis Cluster for tests: six `redis-server` processes on loopback ports in a temp
//! dir (`--cluster-enabled yes`, a short `--cluster-node-timeout`, append-only files), joined by
//! `redis-cli --cluster create ... --cluster-replicas 1` into three masters with one replica
//! each, ready once every node reports `cluster_state:ok` and every replica is in sync.
//!
//! - [`TestCluster::shared`] is one cluster per test binary, started by the first test that
//!   asks and shared by the others (each uses a key prefix of its own). It is stopped when the
//!   test binary exits, however it exits (tests failing, or the binary killed): a small
//!   watchdog shell started with the nodes waits for the binary's process to end, then kills
//!   the nodes by their pids (each only if that pid is still that node) and removes the
//!   cluster's directory.
//! - [`TestCluster::start`] is a cluster of the caller's own, for a test that kills a node; it
//!   is stopped (its processes killed by pid and reaped) when dropped, also on panic, and the
//!   same watchdog stops it should the binary be killed first.
//!
//! No mocks and no silent skips: without `redis-server` or `redis-cli` on the PATH, starting a
//! cluster panics and says how to install them.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use roundtable_server::Limits;
use roundtable_server::store::{RedisOptions, RedisStore};

use super::TestServer;

/// How many nodes a cluster has: three masters, three replicas.
pub const NODES: usize = 6;

/// `--cluster-node-timeout`: how long a master may be unreachable before its replica takes
/// over. Short, so that the failover test is quick.
pub const NODE_TIMEOUT_MS: u64 = 1000;

/// How long starting the cluster may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long any one command to a node may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// A running Redis Cluster of [`NODES`] processes this test binary started.
#[derive(Debug)]
pub struct TestCluster {
    /// The nodes' directories (append-only files, cluster config, logs) are below it.
    dir: PathBuf,
    /// Removes `dir` when dropped; `None` for the shared cluster, whose watchdog removes it.
    _temp: Option<tempfile::TempDir>,
    nodes: Mutex<Vec<Node>>,
    /// The watchdog shell of the running nodes (see the module's documentation).
    watchdog: Mutex<Option<Child>>,
}

#[derive(Debug)]
struct Node {
    port: u16,
    child: Option<Child>,
}

/// What `CLUSTER NODES` says about one node.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub id: String,
    pub port: u16,
    pub master: bool,
    pub failed: bool,
    /// The id of the master this node replicates, for a replica.
    pub master_id: Option<String>,
    /// The slot ranges it serves, for a master.
    pub slots: Vec<(u16, u16)>,
}

static SHARED: OnceLock<TestCluster> = OnceLock::new();

impl TestCluster {
    /// The cluster shared by the tests of this binary, started on first use. Tests must use a
    /// key prefix of their own and must not stop or fail over its nodes.
    pub fn shared() -> &'static TestCluster {
        SHARED.get_or_init(|| TestCluster::start_in(None))
    }

    /// A cluster of the caller's own, stopped (its processes killed by pid, its directory
    /// removed) when dropped.
    pub fn start() -> TestCluster {
        let temp = tempfile::tempdir().expect("temp dir for the redis cluster");
        TestCluster::start_in(Some(temp))
    }

    fn start_in(temp: Option<tempfile::TempDir>) -> TestCluster {
        require_program("redis-server");
        require_program("redis-cli");
        let (dir, temp) = match temp {
            Some(temp) => (temp.path().to_path_buf(), Some(temp)),
            None => {
                // The shared cluster's directory outlives every test; its watchdog removes it.
                let temp = tempfile::Builder::new()
                    .prefix("roundtable-redis-cluster-")
                    .tempdir()
                    .expect("temp dir for the shared redis cluster");
                (temp.keep(), None)
            }
        };
        let cluster = TestCluster {
            dir,
            _temp: temp,
            nodes: Mutex::new(Vec::new()),
            watchdog: Mutex::new(None),
        };
        // Ports picked free can be taken by someone else before the servers bind them: try a
        // few times.
        let mut last_failure = String::new();
        for _ in 0..3 {
            match cluster.spawn_nodes() {
                Ok(()) => {
                    cluster.create();
                    return cluster;
                }
                Err(failure) if failure.contains("Address already in use") => {
                    cluster.kill_all();
                    last_failure = failure;
                }
                Err(failure) => {
                    cluster.kill_all();
                    panic!("the redis cluster's redis-server did not start: {failure}");
                }
            }
        }
        panic!("the redis cluster's redis-server did not start: {last_failure}");
    }

    fn spawn_nodes(&self) -> Result<(), String> {
        let ports = free_ports(2 * NODES);
        let mut nodes = self.lock();
        nodes.clear();
        for index in 0..NODES {
            let (port, bus_port) = (ports[2 * index], ports[2 * index + 1]);
            let node_dir = self.dir.join(format!("node-{port}"));
            std::fs::create_dir_all(&node_dir).expect("node dir");
            let child = spawn_node(&node_dir, port, bus_port);
            nodes.push(Node {
                port,
                child: Some(child),
            });
        }
        self.start_watchdog(&nodes);
        let deadline = Instant::now() + START_TIMEOUT;
        for node in nodes.iter_mut() {
            loop {
                if query::<String>(node.port, &redis::cmd("PING")).is_ok() {
                    break;
                }
                let child = node.child.as_mut().expect("just spawned");
                if let Some(status) = child.try_wait().expect("poll redis-server") {
                    node.child = None;
                    return Err(format!(
                        "node {} exited with {status}; its log:\n{}",
                        node.port,
                        read_log(&self.dir, node.port)
                    ));
                }
                if Instant::now() >= deadline {
                    return Err(format!(
                        "node {} did not answer PING within {START_TIMEOUT:?}; its log:\n{}",
                        node.port,
                        read_log(&self.dir, node.port)
                    ));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// Joins the nodes into a cluster and waits until it is ready.
    fn create(&self) {
        let addresses: Vec<String> = self
            .ports()
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        if !output.status.success() {
            self.kill_all();
            panic!(
                "redis-cli --cluster create failed ({}):\n{}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.readiness() {
                Ok(()) => return,
                Err(why) if Instant::now() >= deadline => {
                    self.kill_all();
                    panic!("the redis cluster was not ready within {START_TIMEOUT:?}: {why}");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// `Ok` when every live node says `cluster_state:ok`, knows every node, sees every slot
    /// served, and every replica's link to its master is up.
    pub fn readiness(&self) -> Result<(), String> {
        for port in self.live_ports() {
            let info: String =
                query(port, redis::cmd("CLUSTER").arg("INFO")).map_err(|e| e.to_string())?;
            for wanted in [
                "cluster_state:ok".to_string(),
                format!("cluster_known_nodes:{NODES}"),
                "cluster_slots_ok:16384".to_string(),
            ] {
                if !info.lines().any(|line| line.trim() == wanted) {
                    return Err(format!("node {port} lacks {wanted}: {info}"));
                }
            }
            let replication: String =
                query(port, redis::cmd("INFO").arg("replication")).map_err(|e| e.to_string())?;
            if replication.contains("role:slave") && !replication.contains("master_link_status:up")
            {
                return Err(format!("replica {port} is not linked to its master yet"));
            }
        }
        Ok(())
    }

    /// Every node's port, in start order.
    pub fn ports(&self) -> Vec<u16> {
        self.lock().iter().map(|node| node.port).collect()
    }

    /// The ports of the nodes still running.
    pub fn live_ports(&self) -> Vec<u16> {
        self.lock()
            .iter()
            .filter(|node| node.child.is_some())
            .map(|node| node.port)
            .collect()
    }

    /// Every node's URL, the seeds to give `--redis-cluster`.
    pub fn seeds(&self) -> Vec<String> {
        self.ports()
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect()
    }

    /// `CLUSTER NODES` as seen by the first live node that answers.
    pub fn nodes(&self) -> Vec<NodeInfo> {
        let mut failure = String::new();
        for port in self.live_ports() {
            match query::<String>(port, redis::cmd("CLUSTER").arg("NODES")) {
                Ok(text) => return parse_nodes(&text),
                Err(error) => failure = error.to_string(),
            }
        }
        panic!("no node of the cluster answers CLUSTER NODES: {failure}");
    }

    /// The ports of the masters.
    pub fn master_ports(&self) -> Vec<u16> {
        self.nodes()
            .into_iter()
            .filter(|node| node.master && !node.failed)
            .map(|node| node.port)
            .collect()
    }

    /// The hash slot of `key`, as the cluster computes it.
    pub fn slot(&self, key: &str) -> u16 {
        let port = self.live_ports()[0];
        query(port, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key)).expect("CLUSTER KEYSLOT")
    }

    /// The port of the master serving `slot`.
    pub fn master_of_slot(&self, slot: u16) -> u16 {
        self.nodes()
            .into_iter()
            .find(|node| {
                node.master
                    && !node.failed
                    && node
                        .slots
                        .iter()
                        .any(|&(from, to)| (from..=to).contains(&slot))
            })
            .unwrap_or_else(|| panic!("no master serves slot {slot}"))
            .port
    }

    /// The port of the master holding `key`.
    pub fn master_of_key(&self, key: &str) -> u16 {
        self.master_of_slot(self.slot(key))
    }

    /// The port of the replica of the master on `master_port`.
    pub fn replica_of(&self, master_port: u16) -> u16 {
        let nodes = self.nodes();
        let master = nodes
            .iter()
            .find(|node| node.port == master_port)
            .unwrap_or_else(|| panic!("no node on port {master_port}"));
        nodes
            .iter()
            .find(|node| node.master_id.as_deref() == Some(master.id.as_str()))
            .unwrap_or_else(|| panic!("the master on {master_port} has no replica"))
            .port
    }

    /// Waits until the replica on `replica_port` has every write of its master on
    /// `master_port` (equal replication offsets).
    pub fn wait_replica_in_sync(&self, master_port: u16, replica_port: u16) {
        let offset = |port: u16, field: &str| -> Option<u64> {
            let info: String = query(port, redis::cmd("INFO").arg("replication")).ok()?;
            info.lines()
                .find_map(|line| line.trim().strip_prefix(field)?.parse().ok())
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let master = offset(master_port, "master_repl_offset:");
            let replica = offset(replica_port, "slave_repl_offset:");
            if master.is_some() && master == replica {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "replica {replica_port} did not catch up with master {master_port}: \
                 {replica:?} < {master:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The role (`master` or `slave`) the node on `port` says it has, if it answers.
    pub fn role(&self, port: u16) -> Option<String> {
        let role: Vec<redis::Value> = query(port, &redis::cmd("ROLE")).ok()?;
        match role.first()? {
            redis::Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            redis::Value::SimpleString(text) => Some(text.clone()),
            _ => None,
        }
    }

    /// Kills the node on `port` with SIGKILL, like a crash, and reaps it.
    pub fn kill_node(&self, port: u16) {
        let mut nodes = self.lock();
        let node = nodes
            .iter_mut()
            .find(|node| node.port == port)
            .unwrap_or_else(|| panic!("no node on port {port}"));
        let mut child = node
            .child
            .take()
            .unwrap_or_else(|| panic!("the node on port {port} is not running"));
        child.kill().expect("SIGKILL the redis node");
        child.wait().expect("reap the redis node");
    }

    /// Every key starting with `prefix` on every live master: (master port, key).
    pub fn keys_on_every_master(&self, prefix: &str) -> Vec<(u16, String)> {
        let pattern = format!("{}*", glob_escape(prefix));
        let mut found = Vec::new();
        for port in self.master_ports() {
            let keys: Vec<String> =
                query(port, redis::cmd("KEYS").arg(&pattern)).expect("KEYS on a master");
            found.extend(keys.into_iter().map(|key| (port, key)));
        }
        found.sort();
        found
    }

    /// A connection to the node on `port`, for reading what it holds.
    pub fn connection(&self, port: u16) -> redis::Connection {
        connect(port).expect("connect to a redis node")
    }

    /// Starts the shell that stops `nodes` once this test binary's process has ended (see the
    /// module's documentation). A node is killed only if its pid still names a redis-server on
    /// its port, so that a pid reused after the node was stopped is left alone.
    fn start_watchdog(&self, nodes: &[Node]) {
        const WATCHDOG: &str = r#"
parent=$1; dir=$2; shift 2
while kill -0 "$parent" 2>/dev/null; do sleep 0.2; done
for node in "$@"; do
  pid=${node%%:*}; port=${node#*:}
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server.*127\.0\.0\.1:$port"; then
    kill -9 "$pid"
  fi
done
if [ -n "$dir" ]; then rm -rf -- "$dir"; fi
"#;
        let dir = if self._temp.is_none() {
            self.dir.display().to_string()
        } else {
            String::new()
        };
        let nodes = nodes.iter().filter_map(|node| {
            let pid = node.child.as_ref()?.id();
            Some(format!("{pid}:{}", node.port))
        });
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("redis-cluster-watchdog")
            .arg(std::process::id().to_string())
            .arg(dir)
            .args(nodes)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the redis cluster's watchdog");
        *self
            .watchdog
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(watchdog);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Node>> {
        self.nodes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Kills every process this cluster started, by its pid, and reaps it: the nodes, then
    /// their watchdog, which has nothing left to do.
    fn kill_all(&self) {
        for node in self.lock().iter_mut() {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let watchdog = self
            .watchdog
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(mut watchdog) = watchdog {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// A store on the cluster under the key prefix `prefix`.
pub async fn store(cluster: &TestCluster, prefix: &str) -> RedisStore {
    RedisStore::connect_cluster(&cluster.seeds(), super::redis::options(prefix))
        .await
        .expect("connect to the redis cluster")
}

/// A server in this process on the cluster under the key prefix `prefix`, with the store's
/// options `options` (the prefix is set from `prefix`).
pub async fn start_server(
    cluster: &TestCluster,
    prefix: &str,
    options: RedisOptions,
    limits: Limits,
) -> TestServer {
    let seeds = cluster.seeds();
    let options = RedisOptions {
        key_prefix: prefix.to_string(),
        ..options
    };
    let store = RedisStore::connect_cluster(&seeds, options)
        .await
        .expect("connect to the redis cluster");
    TestServer::start_configured(&std::env::temp_dir(), Arc::new(store), |config| {
        config.redis_cluster = seeds;
        config.redis_prefix = prefix.to_string();
        config.limits = limits;
    })
    .await
}

/// Starts the real binary on the cluster (`--redis-cluster` with its seeds) under the key
/// prefix `prefix`, with `extra_args`, and returns it with the address it printed (see
/// [`super::start_binary`]).
pub async fn start_binary(
    cluster: &TestCluster,
    prefix: &str,
    extra_args: &[&str],
) -> (tokio::process::Child, std::net::SocketAddr) {
    let seeds = cluster.seeds().join(",");
    let mut args: Vec<&OsStr> = vec![
        "--redis-cluster".as_ref(),
        seeds.as_ref(),
        "--redis-prefix".as_ref(),
        prefix.as_ref(),
    ];
    args.extend(extra_args.iter().map(|arg| OsStr::new(*arg)));
    super::start_binary(&args).await
}

fn spawn_node(dir: &Path, port: u16, bus_port: u16) -> Child {
    let mut command = Command::new("redis-server");
    command
        .arg("--port")
        .arg(port.to_string())
        .arg("--cluster-port")
        .arg(bus_port.to_string())
        .arg("--bind")
        .arg("127.0.0.1")
        .arg("--cluster-enabled")
        .arg("yes")
        .arg("--cluster-config-file")
        .arg(dir.join("nodes.conf"))
        .arg("--cluster-node-timeout")
        .arg(NODE_TIMEOUT_MS.to_string())
        // The masters that stay up keep serving while another one's slots are failing over.
        .arg("--cluster-require-full-coverage")
        .arg("no")
        .arg("--dir")
        .arg(dir)
        .arg("--save")
        .arg("")
        // Six servers share the machine's disk: everysec rather than the single-server tests'
        // `always`. No test here restarts a node from its files.
        .arg("--appendonly")
        .arg("yes")
        .arg("--appendfsync")
        .arg("everysec")
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run redis-server for the cluster: {error}"))
}

fn read_log(dir: &Path, port: u16) -> String {
    std::fs::read_to_string(dir.join(format!("node-{port}")).join("redis.log")).unwrap_or_default()
}

/// Panics with how to install `program` when it is not on the PATH.
fn require_program(program: &str) {
    match Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "{program} is not on the PATH. The Redis Cluster tests start a real cluster of six \
             redis-server processes and join them with redis-cli: install them \
             (`apt-get install redis-server redis-tools` on Debian; scripts/test.sh does it)."
        ),
        Err(error) => panic!("cannot run {program}: {error}"),
    }
}

/// `count` distinct free loopback ports (all held at once while picking, so none repeats).
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().expect("local addr").port())
        .collect()
}

fn connect(port: u16) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let connection = client.get_connection_with_timeout(COMMAND_TIMEOUT)?;
    connection.set_read_timeout(Some(COMMAND_TIMEOUT))?;
    connection.set_write_timeout(Some(COMMAND_TIMEOUT))?;
    Ok(connection)
}

/// Runs one command on the node on `port`, on a new connection.
fn query<T: redis::FromRedisValue>(port: u16, command: &redis::Cmd) -> redis::RedisResult<T> {
    let mut connection = connect(port)?;
    command.query(&mut connection)
}

fn parse_nodes(text: &str) -> Vec<NodeInfo> {
    let mut nodes = BTreeMap::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [id, address, flags, master_id, ..] = fields[..] else {
            panic!("unreadable CLUSTER NODES line {line:?}");
        };
        let port: u16 = address
            .split(['@', ','])
            .next()
            .and_then(|host_port| host_port.rsplit(':').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in CLUSTER NODES line {line:?}"));
        let flags: Vec<&str> = flags.split(',').collect();
        let slots = fields[8..]
            .iter()
            .filter(|slot| !slot.starts_with('['))
            .map(|slot| match slot.split_once('-') {
                Some((from, to)) => (from.parse().unwrap(), to.parse().unwrap()),
                None => {
                    let slot = slot.parse().unwrap();
                    (slot, slot)
                }
            })
            .collect();
        nodes.insert(
            port,
            NodeInfo {
                id: id.to_string(),
                port,
                master: flags.contains(&"master"),
                failed: flags.contains(&"fail") || flags.contains(&"fail?"),
                master_id: (master_id != "-").then(|| master_id.to_string()),
                slots,
            },
        );
    }
    nodes.into_values().collect()
}

/// `text` with the characters special to a `KEYS` pattern escaped.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}
