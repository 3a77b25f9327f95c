//! `roundtable-load`: the load generator. See `load-tests/README.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use roundtable_load_tests::cluster::{self, Balancer, ClusterConfig, Placement, RedisMode};
use roundtable_load_tests::compare::{self, CompareConfig};
use roundtable_load_tests::peer::{PeerKind, PeerSetup, check_loopback_redis_url};
use roundtable_load_tests::reconnect::{self, ReconnectConfig};
use roundtable_load_tests::scenarios::{self, Common, FanoutConfig, IdleConfig, RampConfig};
use roundtable_load_tests::storage::{self, DiskPressureConfig, HeavyWriterConfig};
use roundtable_load_tests::sys;

#[derive(Debug, Parser)]
#[command(
    name = "roundtable-load",
    about = "Load tests for Roundtable and comparison peers"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// Small configurations that finish in well under a minute.
    #[arg(long, global = true)]
    quick: bool,
    /// Also write the results as JSON to this file.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// The server to measure (all but `compare`).
    #[arg(long, global = true, value_enum, default_value_t = PeerKind::Baseline)]
    peer: PeerKind,
    /// Most WebSocket handshakes in flight at once while connecting clients.
    #[arg(long, global = true, default_value_t = 64)]
    handshake_concurrency: usize,
    /// Size of a relay peer's action frame (default: about a Roundtable hand event).
    #[arg(long, global = true, default_value_t = 110)]
    payload_bytes: usize,
    /// Do not pin the generator and the server to separate cores.
    #[arg(long, global = true)]
    no_pin: bool,
    /// The baseline server binary (default: next to this executable).
    #[arg(long, global = true)]
    baseline_bin: Option<PathBuf>,
    /// The roundtable server binary (default: next to this executable).
    #[arg(long, global = true)]
    roundtable_bin: Option<PathBuf>,
    /// The node-ws peer directory (default: load-tests/peers/node-ws).
    #[arg(long, global = true)]
    node_ws_dir: Option<PathBuf>,
    /// Redis for the roundtable-redis peer; loopback addresses only (default: start a private
    /// redis-server from the PATH).
    #[arg(long, global = true, env = "ROUNDTABLE_LOAD_REDIS_URL")]
    redis_url: Option<String>,
    /// The redis-server program a peer or the cluster scenario starts for itself (default:
    /// redis-server from the PATH).
    #[arg(long, global = true, env = "ROUNDTABLE_LOAD_REDIS_SERVER")]
    redis_server_bin: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Idle clients: the server's memory per joined connection.
    Idle(IdleArgs),
    /// Open-loop fan-out: send-to-receive latency and deliveries per second.
    Fanout(FanoutArgs),
    /// Raise the rate until p99 passes a bound; report the highest rate held.
    Ramp(RampArgs),
    /// All clients drop at once and resume (roundtable peers only).
    ReconnectStorm(ReconnectArgs),
    /// Idle, fanout and ramp against several peers; a Markdown table and ratios.
    Compare(CompareArgs),
    /// One member writes the largest comments at its request limit while the others of its room
    /// ping (roundtable peers): their ping latency and the store's growth per byte of text.
    HeavyWriter(HeavyWriterArgs),
    /// A fan-out phase while another process writes to the disk of the server's data
    /// directory; for the roundtable peers, pingers in a room of their own.
    DiskPressure(DiskPressureArgs),
    /// Several Roundtable nodes on one Redis (or a Redis Cluster) with every room's members
    /// spread over all nodes: cross-node delivery latency, then kill -9 and SIGTERM of nodes
    /// under load, with every member's time back and lost, duplicated or reordered events.
    Cluster(ClusterArgs),
}

#[derive(Debug, Args)]
struct ClusterArgs {
    /// Roundtable nodes to start (default 3).
    #[arg(long)]
    nodes: Option<usize>,
    /// One redis-server, or a Redis Cluster of 3 masters and 3 replicas.
    #[arg(long, value_enum, default_value_t = RedisMode::Single)]
    redis: RedisMode,
    /// Where members connect: `spread` over every node whoever owns the room (needs
    /// forwarding), or `sticky`, all of a room's members on one node.
    #[arg(long, value_enum, default_value_t = Placement::Spread)]
    placement: Placement,
    /// Where a member that lost its connection reconnects: the node with the fewest of the
    /// tool's connections (`least-connections`, as nginx's `least_conn`; the default with spread
    /// placement), or its home node, then the next ones (`home-first`; the default, and the
    /// only choice, with sticky placement).
    #[arg(long, value_enum)]
    balancer: Option<Balancer>,
    /// Rooms (default 1000; 20 with `--quick`).
    #[arg(long)]
    rooms: Option<usize>,
    /// Members per room (default 12).
    #[arg(long)]
    room_size: Option<usize>,
    /// Actions per second over all rooms (default: 1 per room).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of the delivery phase (default 30; 5 with `--quick`).
    #[arg(long)]
    duration: Option<f64>,
    /// Nodes killed with kill -9, one after the other (default 100; 3 with `--quick`).
    #[arg(long)]
    kills: Option<usize>,
    /// Nodes drained with SIGTERM, one after the other (default 3; 1 with `--quick`).
    #[arg(long)]
    drains: Option<usize>,
    /// Seconds every member has to be back after a kill or drain (default 10).
    #[arg(long)]
    recover_timeout: Option<f64>,
    /// Seconds of load between a node being back and the next kill or drain (default 1).
    #[arg(long)]
    between: Option<f64>,
    /// Longest wait, in seconds, after a node is back for the fleet to hand it its rooms and
    /// clients (the rebalance and the spread: until no node has a room yet to move, then none
    /// holds clients over its share) before `--between` (default 60; 0: no wait, for builds
    /// without a rebalance).
    #[arg(long)]
    rebalance_wait: Option<f64>,
    /// A further argument for every node, e.g. `--node-arg=--room-lease-ms=3000` (repeat it).
    #[arg(long = "node-arg", allow_hyphen_values = true)]
    node_args: Vec<String>,
    /// A further argument for every redis-server the scenario starts (repeat it: each word
    /// of `--auto-aof-rewrite-min-size 8gb` is one).
    #[arg(long = "redis-arg", allow_hyphen_values = true)]
    redis_args: Vec<String>,
    /// Write where each member's time went after each kill or drain to this file, one JSON
    /// line per disruption (see `load-tests/README.md`, "Tracing a disruption").
    #[arg(long)]
    trace: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
struct HeavyWriterArgs {
    /// Members that write, each at its request limit (default 1).
    #[arg(long)]
    writers: Option<usize>,
    /// Members of the writers' room that ping.
    #[arg(long)]
    pingers: Option<usize>,
    /// Milliseconds between two pings of one member.
    #[arg(long)]
    ping_interval_ms: Option<u64>,
    /// Seconds of writing.
    #[arg(long)]
    duration: Option<f64>,
    /// The writer's share of its per-connection request limit (default 0.9).
    #[arg(long)]
    rate_share: Option<f64>,
}

#[derive(Debug, Args)]
struct DiskPressureArgs {
    #[command(flatten)]
    fanout: FanoutArgs,
    /// MiB the other process writes at most (default 4096; 512 with `--quick`). It is stopped
    /// when the phase ends, and its file removed.
    #[arg(long)]
    pressure_mib: Option<u64>,
    /// Pingers in a room of their own (roundtable peers; default 10).
    #[arg(long)]
    pingers: Option<usize>,
}

#[derive(Debug, Args)]
struct IdleArgs {
    #[arg(long)]
    clients: Option<usize>,
    #[arg(long)]
    room_size: Option<usize>,
    /// Seconds the clients sit idle before the memory is read.
    #[arg(long)]
    settle: Option<f64>,
}

#[derive(Debug, Args)]
struct FanoutArgs {
    #[arg(long)]
    rooms: Option<usize>,
    #[arg(long)]
    room_size: Option<usize>,
    /// Actions per second over all rooms (each reaches every member of its room).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of sending.
    #[arg(long)]
    duration: Option<f64>,
    /// Longest wait in seconds for outstanding deliveries.
    #[arg(long)]
    drain: Option<f64>,
}

#[derive(Debug, Args)]
struct RampArgs {
    #[arg(long)]
    rooms: Option<usize>,
    #[arg(long)]
    room_size: Option<usize>,
    /// Actions per second of the first step (default 500: below what every peer held here,
    /// so that each holds at least one step; 1000 with `--quick`).
    #[arg(long)]
    start_rate: Option<f64>,
    /// Rate multiplier from one step to the next (default 1.15, so that the rate held is known
    /// to within 15 %; 2 with `--quick`).
    #[arg(long)]
    factor: Option<f64>,
    /// Seconds per step.
    #[arg(long)]
    step: Option<f64>,
    /// The open-loop p99 a step must stay under to count as held (default 10 ms, the bound
    /// of the project's throughput target).
    #[arg(long)]
    p99_bound_ms: Option<f64>,
    #[arg(long)]
    max_steps: Option<usize>,
    #[arg(long)]
    max_rate: Option<f64>,
}

#[derive(Debug, Args)]
struct ReconnectArgs {
    #[arg(long)]
    clients: Option<usize>,
    #[arg(long)]
    room_size: Option<usize>,
    /// Hand actions per room while the clients are away.
    #[arg(long)]
    outage_actions: Option<u64>,
    /// Seconds to wait for every client to resync.
    #[arg(long)]
    timeout: Option<f64>,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// Peers to compare (default: all that can be started here).
    #[arg(long, value_enum, value_delimiter = ',')]
    peers: Vec<PeerKind>,
    #[command(flatten)]
    fanout: FanoutArgs,
    #[arg(long)]
    idle_clients: Option<usize>,
    #[arg(long)]
    p99_bound_ms: Option<f64>,
    /// Skip the ramp.
    #[arg(long)]
    no_ramp: bool,
    /// Ramps per peer, in alternating rounds; each peer's rate is the median (default 3; 1
    /// with `--quick`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=9))]
    ramp_rounds: Option<u32>,
    /// Clients in the reconnect storm (roundtable peers only).
    #[arg(long)]
    storm_clients: Option<usize>,
    /// Skip the reconnect storm.
    #[arg(long)]
    no_storm: bool,
}

fn idle_config(args: &IdleArgs, quick: bool) -> IdleConfig {
    IdleConfig {
        clients: args.clients.unwrap_or(if quick { 300 } else { 2000 }),
        room_size: args.room_size.unwrap_or(10),
        settle_s: args.settle.unwrap_or(if quick { 0.5 } else { 2.0 }),
    }
}

/// Rooms of 10 in the quick fan-out and ramp (`compare --quick` ramps on its fan-out's rooms):
/// 1,000 members, so that the ramp's last step (16,000 actions/s) asks 16 requests/s of each,
/// within Roundtable's per-connection limit (20/s). With fewer, Roundtable's ramp stopped at
/// that limit, not at the server's.
const QUICK_ROOMS: usize = 100;

fn fanout_config(args: &FanoutArgs, quick: bool) -> FanoutConfig {
    FanoutConfig {
        rooms: args.rooms.unwrap_or(if quick { QUICK_ROOMS } else { 50 }),
        room_size: args.room_size.unwrap_or(if quick { 10 } else { 20 }),
        rate: args.rate.unwrap_or(if quick { 1000.0 } else { 2000.0 }),
        duration_s: args.duration.unwrap_or(if quick { 2.0 } else { 10.0 }),
        drain_s: args.drain.unwrap_or(if quick { 2.0 } else { 5.0 }),
    }
}

fn ramp_config(args: &RampArgs, quick: bool) -> RampConfig {
    RampConfig {
        rooms: args.rooms.unwrap_or(if quick { QUICK_ROOMS } else { 50 }),
        room_size: args.room_size.unwrap_or(if quick { 10 } else { 20 }),
        start_rate: args
            .start_rate
            .unwrap_or(if quick { 1000.0 } else { 500.0 }),
        factor: args.factor.unwrap_or(if quick { 2.0 } else { 1.15 }),
        step_s: args.step.unwrap_or(if quick { 1.0 } else { 5.0 }),
        drain_s: if quick { 2.0 } else { 5.0 },
        p99_bound_ms: args.p99_bound_ms.unwrap_or(10.0),
        max_steps: args.max_steps.unwrap_or(if quick { 5 } else { 30 }),
        max_rate: args.max_rate.unwrap_or(1_000_000.0),
        time_budget_s: if quick { 12.0 } else { 300.0 },
        refine: true,
    }
}

fn reconnect_config(args: &ReconnectArgs, quick: bool, handshakes: usize) -> ReconnectConfig {
    ReconnectConfig {
        clients: args.clients.unwrap_or(if quick { 100 } else { 1000 }),
        room_size: args.room_size.unwrap_or(10),
        outage_actions: args.outage_actions.unwrap_or(4),
        timeout_s: args.timeout.unwrap_or(if quick { 20.0 } else { 60.0 }),
        handshake_concurrency: handshakes,
    }
}

fn print_json<T: serde::Serialize>(value: &T, path: Option<&PathBuf>) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    println!("{text}");
    if let Some(path) = path {
        std::fs::write(path, format!("{text}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn run(cli: Cli, setup: PeerSetup, generator_core: Option<usize>) -> Result<bool> {
    let common = Common {
        handshake_concurrency: cli.handshake_concurrency,
        payload_bytes: cli.payload_bytes,
    };
    let json = cli.json.as_ref();
    match &cli.scenario {
        Scenario::Idle(args) => {
            let result =
                scenarios::idle(cli.peer, &setup, &common, &idle_config(args, cli.quick)).await?;
            eprintln!(
                "{}: {} idle clients, {:.1} KiB RSS per connection",
                result.peer, result.clients, result.rss_per_conn_kib
            );
            print_json(&result, json)?;
            Ok(result.closed == 0)
        }
        Scenario::Fanout(args) => {
            let config = fanout_config(args, cli.quick);
            let result = scenarios::fanout(cli.peer, &setup, &common, &config).await?;
            let p = &result.phase;
            eprintln!(
                "{}: {:.0} deliveries/s, p50 {:.3} ms, p99 {:.3} ms, p999 {:.3} ms \
                 (open-loop p99 {:.3} ms), delivered {}/{} {}",
                result.peer,
                p.deliveries_per_s,
                p.latency.p50_ms,
                p.latency.p99_ms,
                p.latency.p999_ms,
                p.from_intended.p99_ms,
                p.delivered,
                p.expected,
                if p.passed { "ok" } else { "FAILED" }
            );
            if !p.late_spells.is_empty() {
                eprintln!(
                    "  (the phase's first action was due at {} UTC)",
                    roundtable_load_tests::stats::utc_time_of_day(p.started_unix_ms)
                );
            }
            for spell in &p.late_spells {
                eprintln!(
                    "  late from {:.1} s for {:.1} s: {} deliveries more than 10 ms after \
                     their action was due, the latest {:.1} ms",
                    spell.start_s, spell.duration_s, spell.late, spell.worst_ms
                );
            }
            print_json(&result, json)?;
            Ok(p.passed)
        }
        Scenario::Ramp(args) => {
            let result =
                scenarios::ramp(cli.peer, &setup, &common, &ramp_config(args, cli.quick)).await?;
            eprintln!(
                "{}: highest rate held {:?} actions/s; stopped: {}",
                result.peer, result.highest_rate_held, result.stop_reason
            );
            print_json(&result, json)?;
            Ok(result.highest_rate_held.is_some())
        }
        Scenario::ReconnectStorm(args) => {
            let config = reconnect_config(args, cli.quick, cli.handshake_concurrency);
            let result = reconnect::reconnect_storm(cli.peer, &setup, &config).await?;
            print_json(&result, json)?;
            Ok(result.passed)
        }
        Scenario::HeavyWriter(args) => {
            let config = HeavyWriterConfig {
                writers: args.writers.unwrap_or(1),
                pingers: args.pingers.unwrap_or(10),
                ping_interval_ms: args.ping_interval_ms.unwrap_or(100),
                duration_s: args.duration.unwrap_or(if cli.quick { 5.0 } else { 30.0 }),
                rate_share: args.rate_share.unwrap_or(0.9),
            };
            let result = storage::heavy_writer(cli.peer, &setup, &config).await?;
            eprintln!(
                "{}: {} writer(s): {} acked ({} refused) at {:.1}/s each, ack p99 {:.1} ms; others' ping p50 \
                 {:.2} ms, p99 {:.2} ms, max {:.1} ms ({} pings, {} unanswered); text {} B, \
                 store grew {:?} B ({:?} x the text)",
                result.peer,
                result.writers,
                result.writes_acked,
                result.writes_refused,
                result.writer_rate,
                result.writer_ack.p99_ms,
                result.ping.latency.p50_ms,
                result.ping.latency.p99_ms,
                result.ping.latency.max_ms,
                result.ping.pings,
                result.ping.unanswered,
                result.text_bytes,
                result
                    .data_bytes_after
                    .zip(result.data_bytes_before)
                    .map(|(after, before)| after as i64 - before as i64),
                result
                    .disk_growth_per_text
                    .map(|x| (x * 100.0).round() / 100.0),
            );
            print_json(&result, json)?;
            Ok(result.ping.unanswered == 0 && result.writes_refused == 0)
        }
        Scenario::DiskPressure(args) => {
            let config = DiskPressureConfig {
                fanout: fanout_config(&args.fanout, cli.quick),
                pressure_mib: args
                    .pressure_mib
                    .unwrap_or(if cli.quick { 512 } else { 4096 }),
                pingers: args.pingers.unwrap_or(10),
            };
            let result = storage::disk_pressure(cli.peer, &setup, &common, &config).await?;
            let p = &result.fanout.phase;
            eprintln!(
                "{}: {:.0} deliveries/s, p50 {:.3} ms, p99 {:.3} ms, max {:.1} ms (open-loop p99 \
                 {:.3} ms), delivered {}/{}; the other process wrote {} MiB{}; ping {}",
                result.fanout.peer,
                p.deliveries_per_s,
                p.latency.p50_ms,
                p.latency.p99_ms,
                p.latency.max_ms,
                p.from_intended.p99_ms,
                p.delivered,
                p.expected,
                result.pressure_written_mib,
                if result.pressure_finished {
                    " (all of it)"
                } else {
                    " (stopped at the phase's end)"
                },
                match &result.ping {
                    Some(ping) => format!(
                        "p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms ({} pings, {} unanswered)",
                        ping.latency.p50_ms,
                        ping.latency.p99_ms,
                        ping.latency.max_ms,
                        ping.pings,
                        ping.unanswered
                    ),
                    None => "not measured (relay peer)".into(),
                },
            );
            for spell in &p.late_spells {
                eprintln!(
                    "  late from {:.1} s for {:.1} s: {} deliveries more than 10 ms after \
                     their action was due, the latest {:.1} ms",
                    spell.start_s, spell.duration_s, spell.late, spell.worst_ms
                );
            }
            print_json(&result, json)?;
            Ok(p.passed)
        }
        Scenario::Cluster(args) => {
            let rooms = args.rooms.unwrap_or(if cli.quick { 20 } else { 1000 });
            let config = ClusterConfig {
                nodes: args.nodes.unwrap_or(3),
                redis: args.redis,
                placement: args.placement,
                balancer: args.balancer.unwrap_or(match args.placement {
                    Placement::Spread => Balancer::LeastConnections,
                    Placement::Sticky => Balancer::HomeFirst,
                }),
                rooms,
                room_size: args.room_size.unwrap_or(12),
                rate: args.rate.unwrap_or(rooms as f64),
                duration_s: args.duration.unwrap_or(if cli.quick { 5.0 } else { 30.0 }),
                drain_wait_s: 5.0,
                kills: args.kills.unwrap_or(if cli.quick { 3 } else { 100 }),
                drains: args.drains.unwrap_or(if cli.quick { 1 } else { 3 }),
                recover_timeout_s: args.recover_timeout.unwrap_or(10.0),
                between_s: args.between.unwrap_or(1.0),
                rebalance_wait_s: args.rebalance_wait.unwrap_or(60.0),
                handshake_concurrency: cli.handshake_concurrency,
                node_args: args.node_args.clone(),
                redis_args: args.redis_args.clone(),
                trace: args.trace.clone(),
            };
            let result = cluster::cluster(&setup, &config).await?;
            eprint!("{}", cluster::summary(&result));
            print_json(&result, json)?;
            Ok(result.passed)
        }
        Scenario::Compare(args) => {
            let peers = if args.peers.is_empty() {
                PeerKind::ALL.to_vec()
            } else {
                args.peers.clone()
            };
            let fanout = fanout_config(&args.fanout, cli.quick);
            let mut ramp = ramp_config(
                &RampArgs {
                    rooms: Some(fanout.rooms),
                    room_size: Some(fanout.room_size),
                    start_rate: None,
                    factor: None,
                    step: None,
                    p99_bound_ms: args.p99_bound_ms,
                    max_steps: None,
                    max_rate: None,
                },
                cli.quick,
            );
            ramp.drain_s = fanout.drain_s;
            let config = CompareConfig {
                peers,
                idle: idle_config(
                    &IdleArgs {
                        clients: args.idle_clients,
                        room_size: None,
                        settle: None,
                    },
                    cli.quick,
                ),
                fanout,
                ramp: (!args.no_ramp).then_some(ramp),
                ramp_rounds: args.ramp_rounds.unwrap_or(if cli.quick { 1 } else { 3 }) as usize,
                reconnect: (!args.no_storm).then(|| {
                    let storm = ReconnectArgs {
                        clients: args.storm_clients,
                        room_size: None,
                        outage_actions: None,
                        timeout: None,
                    };
                    reconnect_config(&storm, cli.quick, cli.handshake_concurrency)
                }),
            };
            let report = compare::compare(&setup, &common, &config, generator_core).await?;
            println!("{}", compare::markdown(&report));
            if let Some(path) = json {
                std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            Ok(report.passed)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut setup = PeerSetup::from_env();
    if let Some(path) = &cli.baseline_bin {
        setup.baseline_bin = path.clone();
    }
    if let Some(path) = &cli.roundtable_bin {
        setup.roundtable_bin = path.clone();
    }
    if let Some(path) = &cli.node_ws_dir {
        setup.node_ws_dir = path.clone();
    }
    if let Some(program) = &cli.redis_server_bin {
        setup.redis_server_bin = program.clone();
    }
    if let Some(url) = &cli.redis_url {
        if let Err(err) = check_loopback_redis_url(url) {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
        setup.redis_url = Some(url.clone());
    }
    match sys::raise_nofile_limit() {
        Some(limit) => eprintln!("open files limit: {limit}"),
        None => eprintln!("could not raise the open files limit"),
    }
    let mut generator_core = None;
    if !cli.no_pin {
        match sys::Pinning::choose() {
            Some(pinning) if sys::pin_self(pinning.generator) => {
                eprintln!(
                    "pinned: generator on core {}, server on core {}",
                    pinning.generator, pinning.server
                );
                generator_core = Some(pinning.generator);
                setup.server_core = Some(pinning.server);
            }
            _ => eprintln!("not pinned (needs 2 cores and taskset)"),
        }
    }
    // One thread for the generator: it has one core.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, setup, generator_core)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("FAILED");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
