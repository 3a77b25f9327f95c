//! `cluster`: several Roundtable nodes on one Redis (or a Redis Cluster), meeting load with every
//! room's members spread over all nodes whoever owns the room, then nodes killed with `kill -9`
//! and drained with SIGTERM while the load goes on.
//!
//! Phases, all on 127.0.0.1, each bounded in count and time:
//!
//! 1. **Start**: the Redis (one redis-server, or 3 masters + 3 replicas joined with
//!    `redis-cli --cluster create`), then `--nodes` Roundtable nodes on it, each with its own
//!    port and admin port (`/metrics`, `/healthz`), started and stopped by their PIDs.
//! 2. **Rooms**: `--rooms` groups, created and started through the nodes in turn; member `p`
//!    of room `r` connects to node `(r + p) % nodes`, so every room has members on every node.
//!    A join refused with `room_elsewhere` (the server cannot reach the owner) ends the run with
//!    that message.
//! 3. **Delivery**: open-loop hand actions at `--rate` (default 1/s per room) for `--duration`;
//!    send-to-receive latency of every delivery, split by whether the receiver's node owns the
//!    room and by the hops the action took (sender's node to owner, owner to receiver's node);
//!    the hop's added latency as the difference, and the servers' own hop histogram from
//!    `/metrics` when they have one.
//! 4. **Failover**: `--kills` times, `kill -9` of a node (in turn) while the load goes on; every
//!    room's prober (its member 0) then acts at once; a member is re-attached and caught up when
//!    that action's event reaches it. The killed node is restarted before the next kill.
//! 5. **Drain**: `--drains` times, SIGTERM to a node, the same probe, and each member's visible
//!    gap: from the last event before its connection ended to its resume's acknowledgement, and
//!    the longest delay of an action sent in the drain.
//! 6. **Integrity**: every member's log against the union of its room's hand events: lost (not
//!    received and not covered by a resume snapshot), duplicated, reordered, divergent (two
//!    members saw different events under one seq). All must be 0.

mod members;
mod nodes;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::client;
use crate::peer::PeerSetup;
use crate::stats::{self, Latency};
pub use members::Placement;
use members::{World, connect_all, layout};
pub use nodes::RedisMode;
use nodes::{Node, Redis};

/// Rooms created at once while setting up.
const CREATE_CONCURRENCY: usize = 16;
/// The node metric whose histogram is the hop's latency: any histogram with this in its name.
const HOP_METRIC_NEEDLE: &str = "hop";

#[derive(Debug, Clone, Serialize)]
pub struct ClusterConfig {
    pub nodes: usize,
    pub redis: RedisMode,
    pub placement: Placement,
    pub rooms: usize,
    pub room_size: usize,
    /// Actions per second over all rooms.
    pub rate: f64,
    /// Seconds of the delivery phase.
    pub duration_s: f64,
    /// Longest wait for outstanding deliveries after a phase.
    pub drain_wait_s: f64,
    pub kills: usize,
    pub drains: usize,
    /// Longest wait for every member to be caught up after a kill or drain; also how long a
    /// member keeps trying to reconnect.
    pub recover_timeout_s: f64,
    /// Seconds of load between a restarted node being ready and the next kill or drain.
    pub between_s: f64,
    pub handshake_concurrency: usize,
    /// Further arguments for every node (e.g. `--room-lease-ms=3000`).
    pub node_args: Vec<String>,
}

impl ClusterConfig {
    fn check(&self) -> Result<()> {
        if !(1..=9).contains(&self.nodes) {
            bail!("--nodes must be 1 to 9");
        }
        if !(1..=20_000).contains(&self.rooms) {
            bail!("--rooms must be 1 to 20000");
        }
        if !(2..=50).contains(&self.room_size) {
            bail!("--room-size must be 2 to 50 (member 0 of each room is its prober)");
        }
        if !(self.rate > 0.0 && self.rate <= 100_000.0) {
            bail!("--rate must be above 0 and at most 100000 actions/s");
        }
        if !(self.duration_s > 0.0 && self.duration_s <= 3600.0) {
            bail!("--duration must be above 0 and at most 3600 s");
        }
        if self.kills > 1000 || self.drains > 100 {
            bail!("at most 1000 kills and 100 drains");
        }
        if !(0.5..=600.0).contains(&self.recover_timeout_s) {
            bail!("--recover-timeout must be 0.5 to 600 s");
        }
        Ok(())
    }
}

/// Latencies of a set of deliveries.
#[derive(Debug, Clone, Serialize)]
pub struct Class {
    pub deliveries: u64,
    /// From the actual write of the action.
    pub latency: Latency,
    /// From the intended send time (open loop).
    pub open_loop: Latency,
}

/// The servers' own hop histogram over the delivery phase.
#[derive(Debug, Clone, Serialize)]
pub struct HopMetric {
    pub name: String,
    pub observations: f64,
    /// Upper bounds of the buckets the quantiles fall in, in ms.
    pub p50_le_ms: Option<f64>,
    pub p99_le_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryReport {
    pub rate: f64,
    pub duration_s: f64,
    pub sent: u64,
    /// Actions not sent because their member had no connection.
    pub skipped: u64,
    pub expected: u64,
    pub delivered: u64,
    pub deliveries_per_s: f64,
    pub all: Class,
    /// Whether each room's owner was known (from its lease in Redis and the nodes' ids).
    pub owners_known: bool,
    pub receiver_on_owner: Option<Class>,
    pub receiver_elsewhere: Option<Class>,
    /// By hops: 0 (sender and receiver on the owner), 1, 2.
    pub by_hops: Vec<Option<Class>>,
    /// p50 and p99 of one hop minus none, from the send-to-receive latency.
    pub hop_added_p50_ms: Option<f64>,
    pub hop_added_p99_ms: Option<f64>,
    pub hop_metric: Vec<HopMetric>,
    /// CPU of the nodes and the redis-servers together, % of one core.
    pub server_cpu_pct: Option<f64>,
    pub generator_cpu_pct: Option<f64>,
}

/// A distribution of times, ms.
#[derive(Debug, Clone, Serialize)]
pub struct Dist {
    pub count: u64,
    #[serde(flatten)]
    pub latency: Latency,
}

fn dist(histogram: &Histogram<u64>) -> Dist {
    Dist {
        count: histogram.len(),
        latency: Latency::of(histogram),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DisruptionReport {
    pub node: usize,
    /// Rooms the node owned before (when known).
    pub rooms_owned: Option<usize>,
    /// Members whose own connection was on the node.
    pub members_on_node: usize,
    /// Members with the probe's event within the timeout, and without.
    pub caught_up: usize,
    pub not_caught_up: usize,
    /// The members not caught up, by why (`MemberLog::why_not_back`).
    pub not_caught_up_why: BTreeMap<String, usize>,
    /// The slowest member's time from the signal to the probe's event, ms.
    pub slowest_ms: Option<f64>,
    /// SIGTERM only: from the signal until the process exited, ms.
    pub exit_ms: Option<f64>,
    /// From starting the node again until its `/healthz` said ready, ms.
    pub restart_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailoverReport {
    pub kills: usize,
    /// From the kill until the member had the probe's event, by class: `room_owner_killed`,
    /// `own_node_killed` (the room's owner lived), `affected` (the two together), `untouched`
    /// (neither: the probe's plain latency), and `owner_unknown` when owners are not known.
    pub time_to_caught_up: BTreeMap<String, Dist>,
    pub not_caught_up: usize,
    pub per_kill: Vec<DisruptionReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DrainReport {
    pub drains: usize,
    /// From SIGTERM until the member had the probe's event, by class as for failover
    /// (`room_owner_drained`, `own_node_drained`, `affected`, `untouched`, `owner_unknown`).
    pub time_to_caught_up: BTreeMap<String, Dist>,
    /// Members whose connection ended: from the last event before (or the signal, if later) to
    /// the resume's ack after.
    pub reconnect_gap: Dist,
    /// The part of `reconnect_gap` after the connection ended: from its end to the resume's
    /// ack (the rest is the room stopping, or quiet, before the close).
    pub close_to_resume: Dist,
    /// `close_to_resume` and the time from the signal to the connection's end, split by
    /// whether the room's owner drained, whether the member's node was the drained one, the
    /// node the resume went to (`resumed_on_drained` or `_elsewhere`), and whether it took
    /// more than one attempt: which path the reconnections' time goes into.
    pub close_to_resume_by: BTreeMap<String, Dist>,
    pub lost_after_signal_by: BTreeMap<String, Dist>,
    /// Per member, the longest delay (from the intended send time) of an action sent from the
    /// signal until the node was back.
    pub delivery_delay: Dist,
    /// Per member, the larger of the two.
    pub visible_gap: Dist,
    pub not_caught_up: usize,
    pub per_drain: Vec<DisruptionReport>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Integrity {
    pub hand_events: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub divergent: u64,
    /// Actions acknowledged before their event (the protocol sends events first).
    pub acked_without_event: u64,
    /// A member's own event that was not the action it sent (raise for lower).
    pub mismatched: u64,
    pub resumes_by_replay: u64,
    pub resumes_by_snapshot: u64,
    /// Members without a connection at the end (still trying to get back, or given up).
    pub failed_members: usize,
    /// Why those members' last attempt failed, with counts.
    pub not_back_reasons: BTreeMap<String, u64>,
    /// Hand events missed by members that were not back at the end (not counted as lost).
    pub missed_while_away: u64,
    /// Resume attempts that failed (and were tried again), by kind.
    pub failed_attempts: BTreeMap<String, u64>,
    /// Error codes and closing reasons the members received, with counts.
    pub errors: BTreeMap<String, u64>,
    pub receipts_dropped: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterResult {
    pub config: ClusterConfig,
    pub members: usize,
    pub setup_s: f64,
    pub delivery: DeliveryReport,
    pub failover: Option<FailoverReport>,
    pub drain: Option<DrainReport>,
    pub integrity: Integrity,
    /// The targets and whether this run met them.
    pub targets: Vec<Target>,
    /// What made the run fail (deliveries missing, integrity, members not caught up).
    pub failures: Vec<String>,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub what: String,
    pub bound_ms: f64,
    pub measured_ms: Option<f64>,
    pub met: Option<bool>,
}

/// The processes of a run.
struct Fleet {
    redis: Redis,
    nodes: Vec<Node>,
    _scratch: tempfile::TempDir,
}

impl Fleet {
    async fn stop(&mut self) {
        for node in &mut self.nodes {
            node.stop().await;
        }
        self.redis.stop().await;
    }

    fn cpu_seconds(&self) -> Option<f64> {
        let mut total = self.redis.cpu_seconds()?;
        for node in &self.nodes {
            total += node.cpu_seconds().unwrap_or(0.0);
        }
        Some(total)
    }

    /// Each room's owner (its node index), when the lease in Redis names a node this run knows;
    /// with sticky placement, else, the node all its connected members are on (a server that
    /// does not forward serves a room only on its owner).
    async fn owners(&self, world: &World, placement: Placement) -> Vec<Option<usize>> {
        if self.nodes.len() == 1 {
            return vec![Some(0); world.rooms.len()];
        }
        let ids = self.node_ids().await;
        let mut owners = Vec::with_capacity(world.rooms.len());
        for room in &world.rooms {
            if ids.iter().all(Vec::is_empty) {
                let inferred = (placement == Placement::Sticky)
                    .then(|| {
                        let mut nodes = room
                            .members
                            .iter()
                            .filter_map(|&index| world.members[index].log().node);
                        let first = nodes.next()?;
                        nodes.all(|node| node == first).then_some(first)
                    })
                    .flatten();
                owners.push(inferred);
                continue;
            }
            let Some(group) = room.plan.group.as_ref() else {
                owners.push(None);
                continue;
            };
            let lease = self
                .redis
                .get(&format!("rt:{{g:{}}}:lease", group.group_id))
                .await
                .ok()
                .flatten();
            owners.push(lease.and_then(|owner| ids.iter().position(|node| node.contains(&owner))));
        }
        owners
    }

    /// Each node's ids (one per start), as its leases name it, from the node registry.
    async fn node_ids(&self) -> Vec<Vec<String>> {
        let mut ids = vec![Vec::new(); self.nodes.len()];
        if let Ok(registry) = self.redis.registry().await {
            for (id, port) in registry {
                if let Some(node) = self.nodes.iter().position(|node| node.port == port) {
                    ids[node].push(id);
                }
            }
        }
        ids
    }

    /// Wait until every node is in the node registry, then long enough for every node to have
    /// read the registry again (two of the servers' default heartbeats of 500 ms and a margin),
    /// so that each can forward to every other.
    async fn wait_registered(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let ids = self.node_ids().await;
            if ids.iter().all(|ids| !ids.is_empty()) {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "not every node appeared in the node registry (rt:{{fleet}}:nodes) within 15 s: \
                     {:?}",
                    ids
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
        Ok(())
    }

    async fn hop_buckets(&self) -> Vec<nodes::Buckets> {
        let mut all = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            all.push(match node.metrics().await {
                Ok(text) => nodes::histogram_buckets(&text, HOP_METRIC_NEEDLE),
                Err(_) => nodes::Buckets::new(),
            });
        }
        all
    }
}

/// The arguments that point the nodes at `redis`, or why this server build cannot use it.
fn redis_args(help: &str, redis: &Redis) -> Result<Vec<String>> {
    match redis.mode {
        RedisMode::Single => Ok(vec!["--redis-url".into(), redis.url()]),
        RedisMode::Cluster => {
            match help
                .split_whitespace()
                .find(|word| word.starts_with("--redis-cluster"))
            {
                Some(flag) => Ok(vec![
                    flag.trim_end_matches([',', '.']).to_owned(),
                    redis.seed_urls(),
                ]),
                None => bail!(
                    "this server build has no Redis Cluster option (no --redis-cluster... in \
                     `roundtable --help`): Redis Cluster support is issue 22 point 6. The \
                     cluster itself started fine on ports {:?}.",
                    redis.ports
                ),
            }
        }
    }
}

pub async fn cluster(setup: &PeerSetup, config: &ClusterConfig) -> Result<ClusterResult> {
    config.check()?;
    if !setup.roundtable_bin.is_file() {
        bail!(
            "{} missing; build it with `cargo build --release -p roundtable-server`",
            setup.roundtable_bin.display()
        );
    }
    let began = Instant::now();
    let scratch = tempfile::Builder::new()
        .prefix("roundtable-load-cluster-")
        .tempdir()?;
    eprintln!("cluster: starting {:?} Redis", config.redis);
    let help = std::process::Command::new(&setup.roundtable_bin)
        .arg("--help")
        .output()
        .context("running roundtable --help")?;
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    // With spread placement, nodes that can forward are started as a fleet (each with its
    // internal listener); sticky placement needs no forwarding and starts plain nodes.
    let fleet_capable = help.contains("--internal-listen") && config.placement == Placement::Spread;
    if config.nodes > 1 && config.placement == Placement::Spread && !fleet_capable {
        eprintln!(
            "cluster: this server build has no --internal-listen (no forwarding between nodes): \
             members must join a room on its owner"
        );
    }
    let mut redis = Redis::start(config.redis, setup, scratch.path()).await?;
    let args = match redis_args(&help, &redis) {
        Ok(args) => args,
        Err(err) => {
            redis.stop().await;
            return Err(err);
        }
    };
    let mut fleet = Fleet {
        redis,
        nodes: Vec::new(),
        _scratch: scratch,
    };
    let result = async {
        for index in 0..config.nodes {
            let mut node = Node::new(
                index,
                setup,
                fleet._scratch.path(),
                &args,
                &config.node_args,
                fleet_capable && config.nodes > 1,
            )?;
            node.start().await?;
            eprintln!(
                "cluster: node {index} on 127.0.0.1:{} (admin {}), PID {:?}",
                node.port,
                node.admin_port,
                node.pid()
            );
            fleet.nodes.push(node);
        }
        if fleet_capable && config.nodes > 1 {
            fleet.wait_registered().await?;
        }
        run(&mut fleet, config, began).await
    }
    .await;
    fleet.stop().await;
    result
}

async fn create_rooms(ports: &[u16], count: usize) -> Result<Vec<client::RoomPlan>> {
    let mut plans: Vec<Option<client::RoomPlan>> = (0..count).map(|_| None).collect();
    let permits = Arc::new(tokio::sync::Semaphore::new(CREATE_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for (index, plan) in plans.iter().enumerate() {
        debug_assert!(plan.is_none());
        let port = ports[index % ports.len()];
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            let name = format!("room-{index}");
            let group = client::create_group(port, &name).await;
            (index, name, group)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (index, name, group) = done.context("room task")?;
        let group = match group {
            Ok(group) => group,
            Err(err) => {
                tasks.abort_all();
                return Err(err.context(format!("creating and starting room {index}")));
            }
        };
        plans[index] = Some(client::RoomPlan {
            name,
            group: Some(group),
        });
    }
    Ok(plans
        .into_iter()
        .map(|plan| plan.expect("created"))
        .collect())
}

async fn run(fleet: &mut Fleet, config: &ClusterConfig, began: Instant) -> Result<ClusterResult> {
    let ports: Vec<u16> = fleet.nodes.iter().map(|node| node.port).collect();
    eprintln!("cluster: creating {} rooms", config.rooms);
    let plans = create_rooms(&ports, config.rooms).await?;
    let (rooms, members) = layout(plans, config.room_size, config.nodes, config.placement);
    let world = Arc::new(World {
        clock: members::Clock::new(),
        ports,
        rooms,
        members,
        stopping: AtomicBool::new(false),
    });
    eprintln!(
        "cluster: joining {} members over {} nodes",
        world.members.len(),
        config.nodes
    );
    let mut tasks = JoinSet::new();
    let outcome = async {
        connect_all(&world, config.handshake_concurrency, &mut tasks).await?;
        let setup_s = began.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_millis(500)).await;
        phases(fleet, config, &world, setup_s).await
    }
    .await;
    members::close_all(&world).await;
    tasks.abort_all();
    outcome
}

async fn phases(
    fleet: &mut Fleet,
    config: &ClusterConfig,
    world: &Arc<World>,
    setup_s: f64,
) -> Result<ClusterResult> {
    let mut failures = Vec::new();
    let owners = fleet.owners(world, config.placement).await;
    let owners_known = owners.iter().all(Option::is_some);

    // Delivery.
    eprintln!(
        "cluster: delivery phase, {} actions/s for {} s",
        config.rate, config.duration_s
    );
    let hop_before = fleet.hop_buckets().await;
    let cpu_before = fleet.cpu_seconds();
    let generator_before = crate::sys::cpu_seconds(None);
    let phase = 1;
    let start_ns = world.clock.now_ns() + 20_000_000;
    let until_ns = start_ns + (config.duration_s * 1e9) as u64;
    let (sent, skipped) = members::load(
        world.clone(),
        phase,
        config.rate,
        start_ns,
        until_ns,
        Arc::new(AtomicBool::new(false)),
    )
    .await;
    let wall_s = (world.clock.now_ns() - start_ns) as f64 / 1e9;
    let cpu_after = fleet.cpu_seconds();
    let generator_after = crate::sys::cpu_seconds(None);
    wait_delivered(world, phase, sent, config.drain_wait_s).await;
    let hop_after = fleet.hop_buckets().await;
    let mut delivery = delivery_report(world, &owners, phase, config, sent, skipped);
    delivery.owners_known = owners_known;
    delivery.server_cpu_pct = cpu_before
        .zip(cpu_after)
        .map(|(b, a)| 100.0 * (a - b) / wall_s);
    delivery.generator_cpu_pct = generator_before
        .zip(generator_after)
        .map(|(b, a)| 100.0 * (a - b) / wall_s);
    delivery.hop_metric = hop_metric(&hop_before, &hop_after);
    if delivery.delivered < delivery.expected || skipped > 0 {
        failures.push(format!(
            "delivery phase: {} of {} deliveries arrived, {} actions skipped",
            delivery.delivered, delivery.expected, skipped
        ));
    }
    print_delivery(&delivery);

    let mut next_phase = phase + 1;
    let failover = if config.kills > 0 {
        let report = disruptions(fleet, config, world, next_phase, Disruption::Kill).await?;
        next_phase += 1;
        let (report, not_caught_up) = match report {
            Disrupted::Kill(report) => {
                let n = report.not_caught_up;
                (report, n)
            }
            Disrupted::Drain(_) => unreachable!("asked for kills"),
        };
        if not_caught_up > 0 {
            failures.push(format!(
                "failover: {not_caught_up} member-kills without the probe's event within {} s \
                 (by why: {:?})",
                config.recover_timeout_s,
                why_totals(&report.per_kill)
            ));
        }
        Some(report)
    } else {
        None
    };
    let drain = if config.drains > 0 {
        let report = disruptions(fleet, config, world, next_phase, Disruption::Drain).await?;
        let report = match report {
            Disrupted::Drain(report) => *report,
            Disrupted::Kill(_) => unreachable!("asked for drains"),
        };
        if report.not_caught_up > 0 {
            failures.push(format!(
                "drain: {} member-drains without the probe's event within {} s (by why: {:?})",
                report.not_caught_up,
                config.recover_timeout_s,
                why_totals(&report.per_drain)
            ));
        }
        Some(report)
    } else {
        None
    };

    eprintln!("cluster: checking every member's events");
    settle(world, Duration::from_secs_f64(config.recover_timeout_s)).await;
    let integrity = integrity(world);
    for (what, count) in [
        ("lost", integrity.lost),
        ("duplicated", integrity.duplicated),
        ("reordered", integrity.reordered),
        ("divergent", integrity.divergent),
        (
            "acknowledged before their event",
            integrity.acked_without_event,
        ),
        ("own events not matching the action", integrity.mismatched),
        (
            "members that never got back",
            integrity.failed_members as u64,
        ),
    ] {
        if count > 0 {
            failures.push(format!("{count} {what}"));
        }
    }
    let targets = targets(&delivery, failover.as_ref(), drain.as_ref());
    Ok(ClusterResult {
        config: config.clone(),
        members: world.members.len(),
        setup_s,
        delivery,
        failover,
        drain,
        integrity,
        targets,
        passed: failures.is_empty(),
        failures,
    })
}

/// Wait (bounded) until every action of `phase` that `sent` counts reached every member.
async fn wait_delivered(world: &World, phase: u64, sent: u64, wait_s: f64) {
    let deadline = Instant::now() + Duration::from_secs_f64(wait_s.clamp(0.1, 600.0));
    loop {
        let known: u64 = world
            .rooms
            .iter()
            .map(|room| {
                room.sends
                    .lock()
                    .expect("sends")
                    .values()
                    .filter(|s| s.phase == phase && !s.probe)
                    .count() as u64
            })
            .sum();
        let pending = known < sent || {
            world.rooms.iter().any(|room| {
                let sends = room.sends.lock().expect("sends");
                room.members.iter().any(|&index| {
                    let log = world.members[index].log();
                    sends
                        .iter()
                        .any(|(seq, s)| s.phase == phase && !s.probe && !log.has_seen(*seq))
                })
            })
        };
        if !pending || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct ClassHistograms {
    latency: Histogram<u64>,
    open_loop: Histogram<u64>,
}

impl ClassHistograms {
    fn new() -> ClassHistograms {
        ClassHistograms {
            latency: stats::new_histogram(),
            open_loop: stats::new_histogram(),
        }
    }

    fn record(&mut self, latency_ns: u64, open_loop_ns: u64) {
        stats::record_ns(&mut self.latency, latency_ns);
        stats::record_ns(&mut self.open_loop, open_loop_ns);
    }

    fn class(&self) -> Option<Class> {
        (!self.latency.is_empty()).then(|| Class {
            deliveries: self.latency.len(),
            latency: Latency::of(&self.latency),
            open_loop: Latency::of(&self.open_loop),
        })
    }
}

fn delivery_report(
    world: &World,
    owners: &[Option<usize>],
    phase: u64,
    config: &ClusterConfig,
    sent: u64,
    skipped: u64,
) -> DeliveryReport {
    let mut all = ClassHistograms::new();
    let mut on_owner = ClassHistograms::new();
    let mut elsewhere = ClassHistograms::new();
    let mut hops = [
        ClassHistograms::new(),
        ClassHistograms::new(),
        ClassHistograms::new(),
    ];
    let (mut expected, mut delivered) = (0u64, 0u64);
    let (mut first, mut last) = (u64::MAX, 0u64);
    for (room_index, room) in world.rooms.iter().enumerate() {
        let sends = room.sends.lock().expect("sends");
        let phase_sends = sends
            .values()
            .filter(|s| s.phase == phase && !s.probe)
            .count();
        expected += (phase_sends * room.members.len()) as u64;
        let owner = owners[room_index];
        for &index in &room.members {
            let log = world.members[index].log();
            for receipt in &log.receipts {
                let Some(send) = sends.get(&receipt.seq) else {
                    continue;
                };
                if send.phase != phase || send.probe {
                    continue;
                }
                delivered += 1;
                first = first.min(send.intended_ns);
                last = last.max(receipt.recv_ns);
                let latency = receipt.recv_ns.saturating_sub(send.actual_ns);
                let open_loop = receipt.recv_ns.saturating_sub(send.intended_ns);
                all.record(latency, open_loop);
                if let Some(owner) = owner {
                    if receipt.node == owner {
                        on_owner.record(latency, open_loop);
                    } else {
                        elsewhere.record(latency, open_loop);
                    }
                    let count =
                        usize::from(send.sender_node != owner) + usize::from(receipt.node != owner);
                    hops[count].record(latency, open_loop);
                }
            }
        }
    }
    let by_hops: Vec<Option<Class>> = hops.iter().map(ClassHistograms::class).collect();
    let difference = |q: f64| {
        let (zero, one) = (&hops[0].latency, &hops[1].latency);
        (!zero.is_empty() && !one.is_empty())
            .then(|| (one.value_at_quantile(q) as f64 - zero.value_at_quantile(q) as f64) / 1000.0)
    };
    let window_s = if last > first {
        (last - first) as f64 / 1e9
    } else {
        config.duration_s
    };
    DeliveryReport {
        rate: config.rate,
        duration_s: config.duration_s,
        sent,
        skipped,
        expected,
        delivered,
        deliveries_per_s: delivered as f64 / window_s.max(1e-3),
        all: all.class().unwrap_or(Class {
            deliveries: 0,
            latency: Latency::default(),
            open_loop: Latency::default(),
        }),
        owners_known: false,
        receiver_on_owner: on_owner.class(),
        receiver_elsewhere: elsewhere.class(),
        hop_added_p50_ms: difference(0.5),
        hop_added_p99_ms: difference(0.99),
        by_hops,
        hop_metric: Vec::new(),
        server_cpu_pct: None,
        generator_cpu_pct: None,
    }
}

fn hop_metric(before: &[nodes::Buckets], after: &[nodes::Buckets]) -> Vec<HopMetric> {
    let mut summed: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (node, buckets) in after.iter().enumerate() {
        for (name, counts) in buckets {
            let diff = nodes::bucket_difference(counts, before.get(node).and_then(|b| b.get(name)));
            let entry = summed.entry(name.clone()).or_default();
            if entry.is_empty() {
                *entry = diff;
            } else {
                for (bound, count) in diff {
                    match entry.iter_mut().find(|(b, _)| *b == bound) {
                        Some(slot) => slot.1 += count,
                        None => entry.push((bound, count)),
                    }
                }
                entry.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
    }
    summed
        .into_iter()
        .map(|(name, buckets)| {
            // Prometheus histograms of durations are in seconds.
            let ms = |q| nodes::bucket_quantile(&buckets, q).map(|s| s * 1000.0);
            HopMetric {
                observations: buckets.last().map_or(0.0, |b| b.1),
                p50_le_ms: ms(0.5),
                p99_le_ms: ms(0.99),
                name,
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disruption {
    Kill,
    Drain,
}

enum Disrupted {
    Kill(FailoverReport),
    Drain(Box<DrainReport>),
}

fn histogram_map(names: &[&str]) -> BTreeMap<String, Histogram<u64>> {
    names
        .iter()
        .map(|name| ((*name).to_owned(), stats::new_histogram()))
        .collect()
}

/// Kill or drain nodes in turn while the load goes on; time every member back.
async fn disruptions(
    fleet: &mut Fleet,
    config: &ClusterConfig,
    world: &Arc<World>,
    phase: u64,
    kind: Disruption,
) -> Result<Disrupted> {
    let count = match kind {
        Disruption::Kill => config.kills,
        Disruption::Drain => config.drains,
    };
    eprintln!(
        "cluster: {} phase, {count} times, load at {} actions/s meanwhile",
        match kind {
            Disruption::Kill => "failover (kill -9)",
            Disruption::Drain => "drain (SIGTERM)",
        },
        config.rate
    );
    let stop = Arc::new(AtomicBool::new(false));
    let start_ns = world.clock.now_ns() + 20_000_000;
    // A hard end for the load, past any disruption's own bounds.
    let budget_s =
        count as f64 * (config.recover_timeout_s + 40.0 + config.between_s) + config.between_s;
    let until_ns = start_ns + (budget_s.min(86_400.0) * 1e9) as u64;
    let load = tokio::spawn(members::load(
        world.clone(),
        phase,
        config.rate,
        start_ns,
        until_ns,
        stop.clone(),
    ));
    let outcome = disrupt_each(fleet, config, world, phase, kind, count).await;
    stop.store(true, Ordering::Relaxed);
    let _ = load.await;
    outcome
}

async fn disrupt_each(
    fleet: &mut Fleet,
    config: &ClusterConfig,
    world: &Arc<World>,
    phase: u64,
    kind: Disruption,
    count: usize,
) -> Result<Disrupted> {
    let classes = match kind {
        Disruption::Kill => ["room_owner_killed", "own_node_killed"],
        Disruption::Drain => ["room_owner_drained", "own_node_drained"],
    };
    let mut times = histogram_map(&[
        classes[0],
        classes[1],
        "affected",
        "untouched",
        "owner_unknown",
    ]);
    let mut reconnect_gap = stats::new_histogram();
    let mut close_to_resume = stats::new_histogram();
    let mut close_to_resume_by: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut lost_after_signal_by: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut delivery_delay = stats::new_histogram();
    let mut visible_gap = stats::new_histogram();
    let mut per = Vec::with_capacity(count);
    let mut not_caught_up_total = 0;
    let offset = match kind {
        Disruption::Kill => 0,
        Disruption::Drain => config.kills,
    };
    let timeout = Duration::from_secs_f64(config.recover_timeout_s);
    tokio::time::sleep(Duration::from_secs_f64(config.between_s)).await;
    for round in 0..count {
        let victim = (offset + round) % fleet.nodes.len();
        let owners = fleet.owners(world, config.placement).await;
        let owners_known = owners.iter().all(Option::is_some);
        // The probers' earlier actions settle first, so the probe is theirs alone.
        let probers: Vec<usize> = world.rooms.iter().map(|room| room.members[0]).collect();
        let settle_deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < settle_deadline
            && !probers.iter().all(|&p| world.settled(&world.members[p]))
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let on_node: Vec<bool> = world
            .members
            .iter()
            .map(|m| m.log().node == Some(victim))
            .collect();
        let t0 = world.clock.now_ns();
        let mut term_sent = None;
        match kind {
            Disruption::Kill => fleet.nodes[victim].kill9().await?,
            Disruption::Drain => term_sent = Some(fleet.nodes[victim].signal_term()?),
        }
        // The probers act at once: a drain's handover happens while the node is still there.
        let probe_stop = Arc::new(AtomicBool::new(false));
        let probes = tokio::spawn(probe_rooms(world.clone(), phase, t0, probe_stop.clone()));
        let mut exit_ms = None;
        if let Some(sent) = term_sent {
            let exited = fleet.nodes[victim].wait_exit(sent).await;
            match exited {
                Ok(exited) => exit_ms = Some(exited.as_secs_f64() * 1000.0),
                Err(err) => {
                    probe_stop.store(true, Ordering::Relaxed);
                    let _ = probes.await;
                    return Err(err);
                }
            }
        }
        // A single node has nobody to take over: it is started again at once, and the time
        // measured includes its restart.
        let mut restart = None;
        if fleet.nodes.len() == 1 {
            restart = Some(fleet.nodes[victim].start().await?);
        }
        // Wait until every member that is still trying has the probe's event and has resumed
        // every connection it lost since the signal (one still on the stopped node has yet to
        // lose it).
        let deadline = Instant::now() + timeout;
        let victim_down = fleet.nodes.len() > 1;
        loop {
            let probes = probe_seqs(world, t0);
            let missing = world.members.iter().any(|m| {
                let log = m.log();
                log.failed.is_none()
                    && (log.back_after(0, t0, probes[m.room]).is_none()
                        || (victim_down && log.node == Some(victim)))
            });
            if !missing || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        probe_stop.store(true, Ordering::Relaxed);
        let _ = probes.await;
        let back_ns = world.clock.now_ns();

        let (mut caught_up, mut not_caught_up) = (0, 0);
        let mut not_caught_up_why: BTreeMap<String, usize> = BTreeMap::new();
        let mut slowest: Option<f64> = None;
        let probes = probe_seqs(world, t0);
        for (index, member) in world.members.iter().enumerate() {
            let log = member.log();
            let owner_killed = owners[member.room].map(|owner| owner == victim);
            let own_node = on_node[index];
            let Some(at) = log.back_after(0, t0, probes[member.room]) else {
                not_caught_up += 1;
                let why = log.why_not_back(0, t0, probes[member.room]);
                *not_caught_up_why.entry(why.to_string()).or_default() += 1;
                continue;
            };
            caught_up += 1;
            let ns = at - t0;
            slowest = Some(slowest.map_or(ns as f64 / 1e6, |s: f64| s.max(ns as f64 / 1e6)));
            let mut record = |class: &str| {
                stats::record_ns(times.get_mut(class).expect("class"), ns);
            };
            match owner_killed {
                Some(true) => {
                    record(classes[0]);
                    record("affected");
                }
                Some(false) if own_node => {
                    record(classes[1]);
                    record("affected");
                }
                Some(false) => record("untouched"),
                None => {
                    record("owner_unknown");
                    if own_node {
                        record(classes[1]);
                    }
                }
            }
            if kind == Disruption::Drain {
                let mut gap = 0u64;
                for reconnect in log.reconnects.iter().filter(|r| r.lost_ns >= t0) {
                    if let Some(rejoined) = reconnect.rejoined_ns {
                        // Nothing was missed before the signal.
                        let ns = rejoined.saturating_sub(reconnect.last_event_ns.max(t0));
                        stats::record_ns(&mut reconnect_gap, ns);
                        stats::record_ns(
                            &mut close_to_resume,
                            rejoined.saturating_sub(reconnect.lost_ns),
                        );
                        let path = format!(
                            "{},{},{},{}",
                            match owner_killed {
                                Some(true) => "owner_drained",
                                Some(false) => "owner_lived",
                                None => "owner_unknown",
                            },
                            if own_node {
                                "member_on_drained"
                            } else {
                                "member_elsewhere"
                            },
                            if reconnect.node == Some(victim) {
                                "resumed_on_drained"
                            } else {
                                "resumed_elsewhere"
                            },
                            if reconnect.attempts > 1 {
                                "retried"
                            } else {
                                "first_attempt"
                            }
                        );
                        stats::record_ns(
                            close_to_resume_by
                                .entry(path.clone())
                                .or_insert_with(stats::new_histogram),
                            rejoined.saturating_sub(reconnect.lost_ns),
                        );
                        stats::record_ns(
                            lost_after_signal_by
                                .entry(path)
                                .or_insert_with(stats::new_histogram),
                            reconnect.lost_ns.saturating_sub(t0),
                        );
                        gap = gap.max(ns);
                    }
                }
                let sends = world.rooms[member.room].sends.lock().expect("sends");
                let delay = log
                    .receipts
                    .iter()
                    .rev()
                    .take_while(|r| r.recv_ns > t0)
                    .filter_map(|r| {
                        let send = sends.get(&r.seq)?;
                        (send.intended_ns >= t0 && send.intended_ns <= back_ns && !send.probe)
                            .then(|| r.recv_ns.saturating_sub(send.intended_ns))
                    })
                    .max();
                if let Some(delay) = delay {
                    stats::record_ns(&mut delivery_delay, delay);
                    gap = gap.max(delay);
                }
                if gap > 0 {
                    stats::record_ns(&mut visible_gap, gap);
                }
            }
        }
        not_caught_up_total += not_caught_up;
        let restart = match restart {
            Some(restart) => restart,
            None => fleet.nodes[victim].start().await?,
        };
        let report = DisruptionReport {
            node: victim,
            rooms_owned: owners_known
                .then(|| owners.iter().filter(|o| **o == Some(victim)).count()),
            members_on_node: on_node.iter().filter(|on| **on).count(),
            caught_up,
            not_caught_up,
            not_caught_up_why: not_caught_up_why.clone(),
            slowest_ms: slowest,
            exit_ms,
            restart_ms: restart.as_secs_f64() * 1000.0,
        };
        eprintln!(
            "  {} {}/{count}: node {victim} (owned {:?} rooms, {} members on it): {caught_up} \
             caught up, {not_caught_up} not{}, slowest {:.0} ms{}; restarted in {:.0} ms",
            match kind {
                Disruption::Kill => "kill",
                Disruption::Drain => "drain",
            },
            round + 1,
            report.rooms_owned,
            report.members_on_node,
            if not_caught_up_why.is_empty() {
                String::new()
            } else {
                format!(" {not_caught_up_why:?}")
            },
            slowest.unwrap_or(f64::NAN),
            exit_ms.map_or(String::new(), |ms| format!(", exited after {ms:.0} ms")),
            report.restart_ms
        );
        per.push(report);
        tokio::time::sleep(Duration::from_secs_f64(config.between_s)).await;
    }
    let time_to_caught_up: BTreeMap<String, Dist> = times
        .iter()
        .filter(|(_, h)| !h.is_empty())
        .map(|(name, h)| (name.clone(), dist(h)))
        .collect();
    Ok(match kind {
        Disruption::Kill => Disrupted::Kill(FailoverReport {
            kills: count,
            time_to_caught_up,
            not_caught_up: not_caught_up_total,
            per_kill: per,
        }),
        Disruption::Drain => Disrupted::Drain(Box::new(DrainReport {
            drains: count,
            time_to_caught_up,
            reconnect_gap: dist(&reconnect_gap),
            close_to_resume: dist(&close_to_resume),
            close_to_resume_by: close_to_resume_by
                .iter()
                .map(|(path, h)| (path.clone(), dist(h)))
                .collect(),
            lost_after_signal_by: lost_after_signal_by
                .iter()
                .map(|(path, h)| (path.clone(), dist(h)))
                .collect(),
            delivery_delay: dist(&delivery_delay),
            visible_gap: dist(&visible_gap),
            not_caught_up: not_caught_up_total,
            per_drain: per,
        })),
    })
}

/// The members not caught up over all `disruptions`, by why.
fn why_totals(disruptions: &[DisruptionReport]) -> BTreeMap<String, usize> {
    let mut totals = BTreeMap::new();
    for report in disruptions {
        for (why, count) in &report.not_caught_up_why {
            *totals.entry(why.clone()).or_default() += count;
        }
    }
    totals
}

/// After a kill or drain at `t0`: each room's prober acts once it can, again when its action
/// got no event within 2 s (refused, or lost with its connection), until its event arrives.
async fn probe_rooms(world: Arc<World>, phase: u64, t0: u64, stop: Arc<AtomicBool>) {
    let mut tasks = JoinSet::new();
    for room in 0..world.rooms.len() {
        let (world, stop) = (world.clone(), stop.clone());
        tasks.spawn(async move {
            let prober = world.members[world.rooms[room].members[0]].clone();
            while !stop.load(Ordering::Relaxed) {
                let (done, stuck, idle) = {
                    let mut log = prober.log();
                    let done = log.first_from_after(0, t0).is_some();
                    let since = log.pending_since_ns();
                    let stuck =
                        since.is_some_and(|since| world.clock.now_ns() > since + 2_000_000_000);
                    if stuck {
                        log.forget_pending();
                    }
                    (done, stuck, since.is_none() && log.node.is_some())
                };
                if done {
                    return;
                }
                if idle || stuck {
                    world
                        .send_action(&prober, phase, world.clock.now_ns(), true)
                        .await;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// The seq of the first probe sent in each room after `t0`, where it is known (see
/// [`probe_seq`]). Read before any member's log is held: it reads the probers' logs.
fn probe_seqs(world: &World, t0: u64) -> Vec<Option<u64>> {
    (0..world.rooms.len())
        .map(|room| probe_seq(world, room, t0))
        .collect()
}

/// The seq of the first probe sent in `room` after `t0`, once it is known: from its send
/// record, made when the prober matched the probe's event to its action, or else the first of
/// the prober's own hand events received after `t0`. A prober sends nothing but probes, and
/// its earlier ones have settled before `t0`, so that event is a probe's; its send record is
/// missing when the prober's connection was lost between the probe and its event (the
/// action's fate was then unknown) and the event came in the resume's replay.
fn probe_seq(world: &World, room: usize, t0: u64) -> Option<u64> {
    let recorded = {
        let sends = world.rooms[room].sends.lock().expect("sends");
        sends
            .iter()
            .filter(|(_, send)| send.probe && send.intended_ns >= t0)
            .map(|(seq, _)| *seq)
            .min()
    };
    recorded.or_else(|| {
        let prober = world.members[world.rooms[room].members[0]].log();
        prober
            .receipts
            .iter()
            .rev()
            .take_while(|r| r.recv_ns > t0)
            .filter(|r| r.sender == 0)
            .map(|r| r.seq)
            .min()
    })
}

/// Wait (bounded) until every member that is still connected has its room's last hand event.
async fn settle(world: &World, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let behind = world.rooms.iter().any(|room| {
            let head = room
                .members
                .iter()
                .filter_map(|&i| world.members[i].log().receipts.last().map(|r| r.seq))
                .max()
                .unwrap_or(0);
            room.members.iter().any(|&i| {
                let log = world.members[i].log();
                log.failed.is_none() && log.last_seq < head
            })
        });
        if !behind || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn integrity(world: &World) -> Integrity {
    let mut result = Integrity::default();
    for room in &world.rooms {
        // The room's hand events as anyone saw them: seq -> (sender, raised).
        let mut union: BTreeMap<u64, (usize, bool)> = BTreeMap::new();
        let mut divergent: HashMap<u64, ()> = HashMap::new();
        for &index in &room.members {
            let log = world.members[index].log();
            for receipt in &log.receipts {
                let seen = (receipt.sender, receipt.raised);
                match union.get(&receipt.seq) {
                    Some(existing) if *existing != seen => {
                        divergent.insert(receipt.seq, ());
                    }
                    Some(_) => {}
                    None => {
                        union.insert(receipt.seq, seen);
                    }
                }
            }
        }
        result.hand_events += union.len() as u64;
        result.divergent += divergent.len() as u64;
        for &index in &room.members {
            let log = world.members[index].log();
            let covered = log.resume_snapshots.iter().copied().max().unwrap_or(0);
            let missed = union
                .keys()
                .filter(|&&seq| seq > log.first_seq && seq > covered && !log.has_seen(seq))
                .count() as u64;
            if log.node.is_some() {
                result.lost += missed;
            } else {
                result.missed_while_away += missed;
                result.failed_members += 1;
                let reason = log
                    .failed
                    .clone()
                    .or_else(|| log.reconnect_error.clone())
                    .unwrap_or_else(|| "connection ended, no attempt finished yet".into());
                *result.not_back_reasons.entry(reason).or_default() += 1;
            }
            // Events before a resume snapshot that were neither received nor covered by it
            // cannot happen: `covered` is the latest snapshot, so everything up to it counts.
            result.duplicated += log.duplicates;
            result.reordered += log.reordered;
            result.acked_without_event += log.acked_without_event;
            result.mismatched += log.mismatched;
            result.resumes_by_replay += log.replays;
            result.resumes_by_snapshot += log.resume_snapshots.len() as u64;
            result.receipts_dropped += log.receipts_dropped;
            for (kind, count) in &log.attempt_failures {
                *result.failed_attempts.entry(kind.clone()).or_default() += count;
            }
            for (code, count) in &log.errors {
                *result.errors.entry(code.clone()).or_default() += count;
            }
        }
    }
    result
}

fn targets(
    delivery: &DeliveryReport,
    failover: Option<&FailoverReport>,
    drain: Option<&DrainReport>,
) -> Vec<Target> {
    let target = |what: &str, bound_ms: f64, measured_ms: Option<f64>| Target {
        what: what.to_owned(),
        bound_ms,
        measured_ms,
        met: measured_ms.map(|ms| ms <= bound_ms),
    };
    let elsewhere = delivery
        .receiver_elsewhere
        .as_ref()
        .map(|class| class.latency.p99_ms);
    let mut targets = vec![
        target(
            "cross-node delivery p99 (receiver not on the owner)",
            10.0,
            elsewhere,
        ),
        target("a hop's added p99", 1.0, delivery.hop_added_p99_ms),
    ];
    if let Some(failover) = failover {
        let affected = failover
            .time_to_caught_up
            .get("affected")
            .or_else(|| failover.time_to_caught_up.get("owner_unknown"))
            .map(|d| d.latency.p99_ms);
        targets.push(target(
            "kill -9: every member re-attached and caught up, p99",
            2000.0,
            affected,
        ));
    }
    if let Some(drain) = drain {
        targets.push(target(
            "drain: visible gap p99",
            500.0,
            (drain.visible_gap.count > 0).then_some(drain.visible_gap.latency.p99_ms),
        ));
    }
    targets
}

fn print_delivery(d: &DeliveryReport) {
    eprintln!(
        "  delivered {}/{} ({} sent, {} skipped), {:.0} deliveries/s; p50 {:.3} ms, p99 {:.3} ms, \
         max {:.1} ms (open-loop p99 {:.3} ms)",
        d.delivered,
        d.expected,
        d.sent,
        d.skipped,
        d.deliveries_per_s,
        d.all.latency.p50_ms,
        d.all.latency.p99_ms,
        d.all.latency.max_ms,
        d.all.open_loop.p99_ms
    );
    for (name, class) in [
        ("receiver on the owner", &d.receiver_on_owner),
        ("receiver on another node", &d.receiver_elsewhere),
    ] {
        if let Some(class) = class {
            eprintln!(
                "  {name}: {} deliveries, p50 {:.3} ms, p99 {:.3} ms, max {:.1} ms",
                class.deliveries, class.latency.p50_ms, class.latency.p99_ms, class.latency.max_ms
            );
        }
    }
    for (hops, class) in d.by_hops.iter().enumerate() {
        if let Some(class) = class {
            eprintln!(
                "  {hops} hop(s): {} deliveries, p50 {:.3} ms, p99 {:.3} ms",
                class.deliveries, class.latency.p50_ms, class.latency.p99_ms
            );
        }
    }
    if !d.owners_known {
        eprintln!("  (rooms' owners unknown: no split by owner)");
    }
    if let (Some(p50), Some(p99)) = (d.hop_added_p50_ms, d.hop_added_p99_ms) {
        eprintln!("  a hop adds {p50:.3} ms at p50, {p99:.3} ms at p99");
    }
    for metric in &d.hop_metric {
        eprintln!(
            "  servers' {}: {} observations, p50 ≤ {:?} ms, p99 ≤ {:?} ms",
            metric.name, metric.observations, metric.p50_le_ms, metric.p99_le_ms
        );
    }
}

/// The human summary printed after a run.
pub fn summary(result: &ClusterResult) -> String {
    let mut out = String::new();
    let c = &result.config;
    out.push_str(&format!(
        "cluster: {} node(s) on {:?} Redis, {} rooms x {} members, {} actions/s\n",
        c.nodes, c.redis, c.rooms, c.room_size, c.rate
    ));
    let all = &result.delivery.all.latency;
    out.push_str(&format!(
        "  delivery: {}/{} delivered, p50 {:.3} ms, p99 {:.3} ms, max {:.1} ms\n",
        result.delivery.delivered, result.delivery.expected, all.p50_ms, all.p99_ms, all.max_ms
    ));
    let mut line = |label: &str, dists: &BTreeMap<String, Dist>| {
        for (class, d) in dists {
            out.push_str(&format!(
                "  {label} {class}: {} members, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms\n",
                d.count, d.latency.p50_ms, d.latency.p99_ms, d.latency.max_ms
            ));
        }
    };
    if let Some(f) = &result.failover {
        line("kill -9 -> caught up,", &f.time_to_caught_up);
    }
    if let Some(d) = &result.drain {
        line("drain -> caught up,", &d.time_to_caught_up);
    }
    if let Some(d) = &result.drain {
        out.push_str(&format!(
            "  drain visible gap: {} members, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms\n",
            d.visible_gap.count,
            d.visible_gap.latency.p50_ms,
            d.visible_gap.latency.p99_ms,
            d.visible_gap.latency.max_ms
        ));
        for (part, d) in [
            ("last event to resume", &d.reconnect_gap),
            ("of which close to resume", &d.close_to_resume),
            ("action delay", &d.delivery_delay),
        ] {
            out.push_str(&format!(
                "    {part}: {}, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms\n",
                d.count, d.latency.p50_ms, d.latency.p99_ms, d.latency.max_ms
            ));
        }
        for (path, close) in &d.close_to_resume_by {
            let lost = &d.lost_after_signal_by[path];
            out.push_str(&format!(
                "      {path}: {}, closed after the signal p50 {:.0} / p99 {:.0} ms, \
                 close to resume p50 {:.0} / p99 {:.0} ms\n",
                close.count,
                lost.latency.p50_ms,
                lost.latency.p99_ms,
                close.latency.p50_ms,
                close.latency.p99_ms
            ));
        }
    }
    let i = &result.integrity;
    out.push_str(&format!(
        "  integrity: {} hand events; lost {}, duplicated {}, reordered {}, divergent {}; \
         resumes {} by replay, {} by snapshot; {} members not back at the end\n",
        i.hand_events,
        i.lost,
        i.duplicated,
        i.reordered,
        i.divergent,
        i.resumes_by_replay,
        i.resumes_by_snapshot,
        i.failed_members
    ));
    for (reason, count) in &i.not_back_reasons {
        out.push_str(&format!("  not back ({count}): {reason}\n"));
    }
    if !i.failed_attempts.is_empty() {
        out.push_str(&format!(
            "  failed resume attempts: {:?}\n",
            i.failed_attempts
        ));
    }
    if !i.errors.is_empty() {
        out.push_str(&format!("  errors and closings: {:?}\n", i.errors));
    }
    for target in &result.targets {
        out.push_str(&format!(
            "  target {} <= {} ms: {}\n",
            target.what,
            target.bound_ms,
            match (target.measured_ms, target.met) {
                (Some(ms), Some(true)) => format!("met ({ms:.3} ms)"),
                (Some(ms), _) => format!("NOT met ({ms:.3} ms)"),
                _ => "not measured".to_owned(),
            }
        ));
    }
    for failure in &result.failures {
        out.push_str(&format!("  FAILED: {failure}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world_of_one_room(size: usize) -> World {
        let plan = client::RoomPlan {
            name: "room-0".into(),
            group: None,
        };
        let (rooms, members) = layout(vec![plan], size, 1, Placement::Spread);
        let world = World {
            clock: members::Clock::new(),
            ports: vec![1],
            rooms,
            members,
            stopping: AtomicBool::new(false),
        };
        let mut positions = HashMap::new();
        for (position, member) in world.members.iter().enumerate() {
            let id = format!("m{position}");
            member.log().member_id = id.clone();
            member.log().node = Some(0);
            positions.insert(id, position);
        }
        world.rooms[0].positions.set(positions).expect("set once");
        world
    }

    fn hand(seq: u64, member: usize, raised: bool) -> String {
        let kind = if raised {
            "hand_raised"
        } else {
            "hand_lowered"
        };
        format!(
            "{{\"type\":\"event\",\"seq\":{seq},\"at_ms\":1,\"event\":{{\"kind\":\"{kind}\",\
             \"member_id\":\"m{member}\"}}}}"
        )
    }

    #[test]
    fn integrity_counts_lost_duplicated_reordered_and_divergent_events() {
        let world = world_of_one_room(3);
        let [a, b, c] = [0, 1, 2].map(|i| world.members[i].clone());
        for text in [
            hand(5, 1, true),
            hand(6, 1, false),
            hand(7, 1, true),
            hand(8, 1, false),
        ] {
            world.handle(&a, 0, &text);
        }
        for text in [
            hand(5, 1, true),
            hand(6, 1, false),
            hand(6, 1, false),
            hand(7, 1, true),
            hand(8, 2, true),
        ] {
            world.handle(&b, 0, &text);
        }
        for text in [hand(6, 1, false), hand(5, 1, true)] {
            world.handle(&c, 0, &text);
        }
        let found = integrity(&world);
        assert_eq!(found.hand_events, 4, "{found:?}");
        assert_eq!(found.duplicated, 1, "{found:?}");
        assert_eq!(found.reordered, 1, "{found:?}");
        assert_eq!(found.divergent, 1, "{found:?}");
        assert_eq!(found.lost, 2, "c missed 7 and 8: {found:?}");

        // A resume snapshot at 7 covers what c missed up to it.
        world.handle(&c, 0, "{\"type\":\"snapshot\",\"seq\":7}");
        let found = integrity(&world);
        assert_eq!(found.lost, 1, "only 8 is still missing: {found:?}");
        assert_eq!(found.resumes_by_snapshot, 1);

        // A member without a connection at the end is not back: what it missed is counted
        // apart, with why its last attempt failed.
        {
            let mut log = c.log();
            log.node = None;
            log.reconnect_error = Some("node 0: connection refused".into());
        }
        let found = integrity(&world);
        assert_eq!((found.lost, found.missed_while_away), (0, 1), "{found:?}");
        assert_eq!(found.failed_members, 1);
        assert_eq!(found.not_back_reasons["node 0: connection refused"], 1);
    }

    #[test]
    fn failed_resume_attempts_are_named_without_ids() {
        let refused = "join refused: {\"type\":\"error\",\"id\":1,\"code\":\"room_elsewhere\",\
                       \"message\":\"this meeting is live on another server\"}";
        assert_eq!(
            members::attempt_failure(refused),
            "join refused: room_elsewhere"
        );
        assert_eq!(
            members::attempt_failure("IO error: Connection refused (os error 111)"),
            "connection refused"
        );
        assert_eq!(
            members::attempt_failure("closed by the server: Some(CloseFrame { code: 1012 })"),
            "closed by the server during the join"
        );
    }

    /// A member after a disruption is caught up by the probe's event, or by a resume whose
    /// snapshot holds it; one that is not is named by why.
    /// A probe whose event reached the prober only in a replay (its connection was lost in
    /// between, so the action's fate was unknown and no send record was made) is known by the
    /// prober's own event after the signal, and a member whose resume snapshot holds it is
    /// caught up (before, such a room's members were counted `no_probe_seq_in_room`).
    #[test]
    fn a_probe_without_a_send_record_is_known_by_the_prober_s_own_event() {
        let world = world_of_one_room(3);
        let prober = world.members[0].clone();
        let member = world.members[2].clone();
        member.log().reconnects.push(members::Reconnect {
            lost_ns: 1,
            last_event_ns: 1,
            rejoined_ns: Some(5),
            snapshot_seq: Some(9),
            node: Some(0),
            replay: false,
            attempts: 1,
        });
        assert_eq!(probe_seqs(&world, 0), vec![None]);
        assert_eq!(
            member.log().why_not_back(0, 0, None),
            "no_probe_seq_in_room"
        );
        // The prober's own event comes in a replay, with nothing pending to match it.
        world.handle(&prober, 0, &hand(9, 0, true));
        assert!(world.rooms[0].sends.lock().expect("sends").is_empty());
        let probes = probe_seqs(&world, 0);
        assert_eq!(probes, vec![Some(9)]);
        assert_eq!(member.log().back_after(0, 0, probes[0]), Some(5));
        // An event of another member is no probe.
        let other = world_of_one_room(3);
        other.handle(&other.members[2], 0, &hand(4, 1, true));
        assert_eq!(probe_seqs(&other, 0), vec![None]);
    }

    #[test]
    fn a_member_not_caught_up_is_named_by_why() {
        let world = world_of_one_room(2);
        let member = world.members[1].clone();
        let why = |probe: Option<u64>| {
            let log = member.log();
            (log.back_after(0, 0, probe), log.why_not_back(0, 0, probe))
        };
        assert_eq!(why(None), (None, "no_probe_seq_in_room"));
        assert_eq!(why(Some(9)), (None, "no_probe_event_never_disconnected"));
        let lost = members::Reconnect {
            lost_ns: 1,
            last_event_ns: 1,
            rejoined_ns: None,
            snapshot_seq: None,
            node: None,
            replay: false,
            attempts: 1,
        };
        member.log().reconnects.push(lost);
        assert_eq!(why(Some(9)), (None, "not_resumed"));
        {
            let mut log = member.log();
            let last = log.reconnects.last_mut().expect("one");
            last.rejoined_ns = Some(5);
            last.replay = true;
        }
        assert_eq!(why(Some(9)), (None, "no_probe_event_after_replay"));
        member
            .log()
            .reconnects
            .last_mut()
            .expect("one")
            .snapshot_seq = Some(8);
        assert_eq!(why(Some(9)), (None, "no_probe_event_snapshot_before_probe"));
        // A snapshot at or past the probe holds it: back when that snapshot came.
        member
            .log()
            .reconnects
            .last_mut()
            .expect("one")
            .snapshot_seq = Some(9);
        assert_eq!(why(Some(9)).0, Some(5));
        member
            .log()
            .reconnects
            .last_mut()
            .expect("one")
            .snapshot_seq = Some(8);
        // The probe's event itself.
        world.handle(&member, 0, &hand(9, 0, true));
        let (back, named) = why(Some(9));
        assert!(back.is_some());
        assert_eq!(named, "back");
        member.log().failed = Some("gave up".into());
        assert_eq!(why(Some(9)).1, "gave_up");
    }

    #[test]
    fn an_action_without_a_connection_is_skipped_and_times_nothing() {
        let world = world_of_one_room(2);
        let sender = world.members[1].clone();
        // Sending needs a connection; stand in for one by recording the action by hand.
        {
            let mut log = sender.log();
            log.node = Some(0);
        }
        // Without a sink nothing is sent, and nothing is pending.
        let sent = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(world.send_action(&sender, 1, 0, false));
        assert!(!sent);
        assert!(world.settled(&sender));
        // An own event with nothing pending times nothing.
        world.handle(&sender, 0, &hand(3, 1, true));
        assert!(world.rooms[0].sends.lock().expect("sends").is_empty());
    }
}
