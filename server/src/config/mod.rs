//! The server's configuration: one typed struct, read from flags and environment variables.
//! `roundtable --help` prints every setting with its variable and default. The limits are in
//! [`limits`], a fleet node's flags in [`fleet`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::admission::address::Network;
use crate::store::JournalSync;
use crate::store::embedded::CACHE_BYTES;

mod fleet;
mod limits;

pub use fleet::FleetConfig;
pub use limits::Limits;

/// The default of `--redis-append-batch-max`.
const APPEND_BATCH_MAX: u32 = crate::store::redis::APPEND_BATCH_MAX as u32;
/// The default of `--redis-append-queue-max`.
const APPEND_QUEUE_MAX: u32 = crate::store::redis::APPEND_QUEUE_MAX as u32;

/// The default of `--store-cache-mib`: the embedded store's [`CACHE_BYTES`].
const STORE_CACHE_MIB: u32 = (CACHE_BYTES / (1024 * 1024)) as u32;

/// Roundtable: live meeting rooms for sales peer groups.
#[derive(Debug, Clone, Parser)]
#[command(name = "roundtable", version, about, long_about = None)]
pub struct Config {
    /// Address to listen on (HTTP and WebSocket).
    #[arg(long, env = "ROUNDTABLE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory of the embedded store (created if missing).
    #[arg(long, env = "ROUNDTABLE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// When the embedded store fdatasyncs its journal. `background`: every 100 ms when it
    /// grew, so a power loss can lose the last ~100 ms of actions (a crash of the server, even
    /// kill -9, loses none). `always`: before acknowledging each action, so a power loss loses
    /// no acknowledged action, at the cost of an fdatasync in every action's latency.
    #[arg(long, env = "ROUNDTABLE_STORE_SYNC", value_enum, default_value_t = JournalSync::Background)]
    pub store_sync: JournalSync,

    /// MiB of memory the embedded store keeps for pages of its file, on top of the kernel's
    /// page cache (which holds the file anyway): a page read again beyond it costs a `pread`.
    #[arg(long, env = "ROUNDTABLE_STORE_CACHE_MIB", default_value_t = STORE_CACHE_MIB,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub store_cache_mib: u32,

    /// Keep groups, meetings and event logs in this Redis (e.g. redis://127.0.0.1:6379/0;
    /// Redis 6.2 or newer) instead of the embedded store. Run Redis with `appendonly yes`: then a crash of Redis
    /// loses no acknowledged action, and a power loss at most the last second of them with the
    /// default `appendfsync everysec` (none with `appendfsync always`).
    #[arg(long, env = "ROUNDTABLE_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Keep groups, meetings and event logs in this Redis Cluster instead of the embedded
    /// store: seed node URLs, comma-separated (e.g. redis://10.0.0.1:6379,redis://10.0.0.2:6379;
    /// any one reachable node is enough, the others are found from it). Each group's keys live
    /// in one hash slot; a master's failover makes its groups' writes fail with
    /// `storage_unavailable` until a replica has taken over. Run the cluster with
    /// `cluster-require-full-coverage no`, so that the groups on the other masters keep working
    /// meanwhile, and `appendonly yes`. Not together with --redis-url.
    #[arg(long, env = "ROUNDTABLE_REDIS_CLUSTER", value_delimiter = ',', num_args = 1..,
          conflicts_with = "redis_url")]
    pub redis_cluster: Vec<String>,

    /// Prefix of every Redis key, so that several deployments can share one Redis.
    #[arg(long, env = "ROUNDTABLE_REDIS_PREFIX", default_value = "rt:")]
    pub redis_prefix: String,

    /// Most room appends the Redis store sends in one pipeline (one round trip to Redis); the
    /// appends of rooms waiting at the same moment go together, each with its own answer.
    #[arg(long, env = "ROUNDTABLE_REDIS_APPEND_BATCH_MAX", default_value_t = APPEND_BATCH_MAX,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub redis_append_batch_max: u32,

    /// Most room appends waiting to be sent to Redis; a room whose append finds the queue full
    /// waits for room in it, within the store's time bound.
    #[arg(long, env = "ROUNDTABLE_REDIS_APPEND_QUEUE_MAX", default_value_t = APPEND_QUEUE_MAX,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub redis_append_queue_max: u32,

    /// Base of every link the server hands out, e.g. https://meet.example.com when running
    /// behind a reverse proxy. Default: http:// + the listen address.
    #[arg(long, env = "ROUNDTABLE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Further origins allowed to open WebSocket connections, comma-separated
    /// (the public URL's origin is always allowed).
    #[arg(long, env = "ROUNDTABLE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Directory of the web client's static files.
    #[arg(long, env = "ROUNDTABLE_WEB_DIR", default_value_os_t = default_web_dir())]
    pub web_dir: PathBuf,

    /// How log lines are written to standard error: `text` for people (coloured only when
    /// standard error is a terminal), `json` for log collectors (one JSON object per line).
    #[arg(long, env = "ROUNDTABLE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address of the admin listener, which serves `/metrics` (Prometheus text format) and
    /// `/healthz` with details (what failed, the store canary's last success). Off when unset.
    /// Keep it off the internet: it must be a loopback address unless `--admin-listen-public`.
    #[arg(long, env = "ROUNDTABLE_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,

    /// Allow `--admin-listen` on an address that is not loopback (a private network that only
    /// the monitoring reaches, say). The admin listener has no authentication.
    #[arg(long, env = "ROUNDTABLE_ADMIN_LISTEN_PUBLIC")]
    pub admin_listen_public: bool,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub fleet: FleetConfig,

    /// Reverse proxies whose `X-Forwarded-For` is believed, comma-separated IP addresses or
    /// networks (e.g. 127.0.0.1,10.0.0.0/8). From one of them, the client's address is the
    /// right-most forwarded address that is not a trusted proxy; from anyone else, the TCP
    /// peer's. Limits per address count by this address. Default: none (the header is ignored).
    #[arg(long, env = "ROUNDTABLE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<Network>,
}

/// The form of the server's log lines (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of text per event, for people.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The web client next to the binary's crate in a source checkout; override with `--web-dir`.
fn default_web_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../web-client"))
}

impl Config {
    /// The configuration with every default, listening on `listen` and storing under `data_dir`.
    pub fn for_tests(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Config {
            listen,
            data_dir,
            store_sync: JournalSync::default(),
            store_cache_mib: STORE_CACHE_MIB,
            redis_url: None,
            redis_cluster: Vec::new(),
            redis_prefix: "rt:".into(),
            redis_append_batch_max: APPEND_BATCH_MAX,
            redis_append_queue_max: APPEND_QUEUE_MAX,
            public_url: None,
            allowed_origins: Vec::new(),
            web_dir: default_web_dir(),
            log_format: LogFormat::Text,
            admin_listen: None,
            admin_listen_public: false,
            limits: Limits::default(),
            trusted_proxies: Vec::new(),
            fleet: FleetConfig::default(),
        }
    }

    /// The admin listener's address, if any, refused when it is not loopback and
    /// `--admin-listen-public` was not given.
    pub fn checked_admin_listen(&self) -> anyhow::Result<Option<SocketAddr>> {
        match self.admin_listen {
            Some(addr) if !addr.ip().is_loopback() && !self.admin_listen_public => {
                anyhow::bail!(
                    "--admin-listen {addr} is not a loopback address; the admin listener has no \
                     authentication, so give --admin-listen-public too if it must be reachable \
                     from elsewhere"
                )
            }
            admin => Ok(admin),
        }
    }

    /// The base of every link handed out, without a trailing slash.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;

    #[test]
    fn the_internal_listener_needs_redis_and_a_secret_off_loopback() {
        let parse = |args: &[&str]| {
            let mut all = vec!["roundtable"];
            all.extend_from_slice(args);
            Config::try_parse_from(all).expect("parses").fleet
        };
        assert_eq!(parse(&[]).checked(true).expect("off is fine"), None);
        let loopback = parse(&["--internal-listen", "127.0.0.1:7001"]);
        assert!(loopback.checked(false).is_err(), "the fleet needs Redis");
        let (listen, advertise) = loopback.checked(true).expect("loopback").expect("on");
        assert_eq!(listen, advertise);
        let open = parse(&["--internal-listen", "0.0.0.0:7001"]);
        let refusal = open.checked(true).expect_err("no secret off loopback");
        assert!(refusal.to_string().contains("--fleet-secret"), "{refusal}");
        let unreachable = parse(&["--internal-listen", "0.0.0.0:7001", "--fleet-secret", "s"]);
        let refusal = unreachable
            .checked(true)
            .expect_err("0.0.0.0 is not advertised");
        assert!(
            refusal.to_string().contains("--internal-advertise"),
            "{refusal}"
        );
        let advertised = parse(&[
            "--internal-listen",
            "0.0.0.0:7001",
            "--fleet-secret",
            "s",
            "--internal-advertise",
            "10.0.0.5:7001",
        ]);
        assert!(advertised.checked(true).expect("fine").is_some());
    }

    #[test]
    fn the_admin_listener_is_off_by_default_and_loopback_unless_made_public() {
        let config = Config::try_parse_from(["roundtable"]).expect("defaults parse");
        assert_eq!(config.checked_admin_listen().expect("off is fine"), None);
        for loopback in ["127.0.0.1:9090", "[::1]:9090"] {
            let config =
                Config::try_parse_from(["roundtable", "--admin-listen", loopback]).expect("parses");
            assert_eq!(
                config.checked_admin_listen().expect("loopback is fine"),
                Some(loopback.parse().expect("an address"))
            );
        }
        let public = Config::try_parse_from(["roundtable", "--admin-listen", "0.0.0.0:9090"])
            .expect("parses");
        let refusal = public.checked_admin_listen().expect_err("refused");
        assert!(
            refusal.to_string().contains("--admin-listen-public"),
            "{refusal}"
        );
        let allowed = Config::try_parse_from([
            "roundtable",
            "--admin-listen",
            "0.0.0.0:9090",
            "--admin-listen-public",
        ])
        .expect("parses");
        assert!(allowed.checked_admin_listen().expect("allowed").is_some());
    }

    #[test]
    fn the_store_cache_is_set_in_mib_and_defaults_to_the_store_s_budget() {
        let config = Config::try_parse_from(["roundtable"]).expect("defaults parse");
        assert_eq!(config.store_cache_mib as usize * 1024 * 1024, CACHE_BYTES);
        let config = Config::try_parse_from(["roundtable", "--store-cache-mib", "64"])
            .expect("64 MiB parses");
        assert_eq!(config.store_cache_mib, 64);
        for refused in ["0", "65537", "lots"] {
            let error = Config::try_parse_from(["roundtable", "--store-cache-mib", refused])
                .expect_err("refused");
            assert!(
                error.to_string().contains("--store-cache-mib"),
                "{refused}: {error}"
            );
        }
    }

    #[test]
    fn the_write_stall_and_request_head_deadlines_default_to_ten_seconds_and_refuse_zero() {
        let config = Config::try_parse_from(["roundtable"]).expect("defaults parse");
        assert_eq!(config.limits.write_stall(), Duration::from_secs(10));
        assert_eq!(config.limits.request_head(), Duration::from_secs(10));
        let config = Config::try_parse_from([
            "roundtable",
            "--write-stall-seconds",
            "3",
            "--request-head-seconds",
            "4",
        ])
        .expect("parses");
        assert_eq!(
            (
                config.limits.write_stall_seconds,
                config.limits.request_head_seconds
            ),
            (3, 4)
        );
        for flag in ["--write-stall-seconds", "--request-head-seconds"] {
            let error = Config::try_parse_from(["roundtable", flag, "0"]).expect_err("refused");
            assert!(error.to_string().contains(flag), "{error}");
        }
    }

    #[test]
    fn trusted_proxies_are_a_comma_separated_list_of_networks() {
        let config =
            Config::try_parse_from(["roundtable", "--trusted-proxies", "127.0.0.1,10.0.0.0/8"])
                .expect("two networks parse");
        assert_eq!(config.trusted_proxies.len(), 2);
        assert!(config.trusted_proxies[1].contains("10.9.8.7".parse().expect("ip")));
        let config = Config::try_parse_from(["roundtable"]).expect("defaults parse");
        assert!(
            config.trusted_proxies.is_empty(),
            "no proxy is trusted by default"
        );
        let error = Config::try_parse_from(["roundtable", "--trusted-proxies", "proxy.local"])
            .expect_err("a name is refused");
        assert!(error.to_string().contains("--trusted-proxies"), "{error}");
    }

    #[test]
    fn the_snapshot_cost_ratio_is_a_bounded_number_and_the_floor_applies() {
        let config = Config::try_parse_from(["roundtable"]).expect("defaults parse");
        assert_eq!(config.limits.snapshot_cost_ratio, 1.0);
        assert_eq!(
            config.limits.snapshot_due_bytes(10),
            Limits::SNAPSHOT_BYTES_MIN
        );
        assert_eq!(config.limits.snapshot_due_bytes(1_000_000), 1_000_000);
        let config = Config::try_parse_from(["roundtable", "--snapshot-cost-ratio", "2.5"])
            .expect("2.5 parses");
        assert_eq!(config.limits.snapshot_due_bytes(1_000_000), 2_500_000);
        for refused in ["0", "-1", "NaN", "inf", "1001", "lots"] {
            let flag = format!("--snapshot-cost-ratio={refused}");
            let error = Config::try_parse_from(["roundtable", flag.as_str()]).expect_err("refused");
            assert!(
                error.to_string().contains("--snapshot-cost-ratio"),
                "{refused}: {error}"
            );
        }
    }
}
