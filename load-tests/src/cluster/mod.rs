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
//!
//! Here: the set-up and the delivery phase. The members are in `members.rs`, their logs in
//! `member_log.rs`, the processes in `nodes.rs`, the failover and drain phases in
//! `disrupt.rs`, and what a run reports (the result's types, integrity, targets, the summary)
//! in `report.rs`.

mod balancer;
mod disrupt;
mod member_log;
mod members;
mod metrics_text;
mod nodes;
mod report;
mod server_gap;
mod trace;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::client;
use crate::peer::PeerSetup;
use crate::stats;
pub use balancer::Balancer;
use disrupt::{Disrupted, Disruption, disruptions, why_totals};
pub use members::Placement;
use members::{World, connect_all, layout};
pub use nodes::RedisMode;
use nodes::{Node, Redis};
pub use report::{
    Class, ClusterResult, DeliveryReport, DisruptionReport, Dist, DrainReport, FailoverReport,
    HopMetric, Integrity, Target, summary,
};
use report::{
    delivery_report, dist, histogram_map, hop_metric, integrity, print_delivery, targets,
};

/// Rooms created at once while setting up.
const CREATE_CONCURRENCY: usize = 16;
/// The node metric whose histogram is the hop's latency: any histogram with this in its name.
const HOP_METRIC_NEEDLE: &str = "hop";

#[derive(Debug, Clone, Serialize)]
pub struct ClusterConfig {
    pub nodes: usize,
    pub redis: RedisMode,
    pub placement: Placement,
    /// Where a member that lost its connection reconnects.
    pub balancer: Balancer,
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
    /// Longest wait after a restarted node is ready for the rebalance to end, before
    /// `between_s` (0: none).
    pub rebalance_wait_s: f64,
    pub handshake_concurrency: usize,
    /// Further arguments for every node (e.g. `--room-lease-ms=3000`).
    pub node_args: Vec<String>,
    /// Further arguments for every redis-server the scenario starts (e.g.
    /// `--auto-aof-rewrite-min-size 8gb`), after its own.
    pub redis_args: Vec<String>,
    /// Where to write where each member's time went after each kill or drain (see
    /// `trace.rs`), if anywhere.
    pub trace: Option<std::path::PathBuf>,
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
        if let Some(arg) = self.redis_args.iter().find(|arg| {
            [
                "--port",
                "--bind",
                "--dir",
                "--daemonize",
                "--cluster-enabled",
            ]
            .iter()
            .any(|own| arg.starts_with(own))
        }) {
            bail!("--redis-arg {arg}: the scenario sets this itself");
        }
        if self.placement == Placement::Sticky && self.balancer != Balancer::HomeFirst {
            bail!(
                "--placement sticky needs --balancer home-first: a room's members must move to \
                 the next node together"
            );
        }
        if !(0.0..=600.0).contains(&self.rebalance_wait_s) {
            bail!("--rebalance-wait must be 0 to 600 s");
        }
        if !(0.5..=600.0).contains(&self.recover_timeout_s) {
            bail!("--recover-timeout must be 0.5 to 600 s");
        }
        Ok(())
    }
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
        self.cpu_seconds_but(None)
    }

    /// CPU seconds of Redis and every node but `skip` (one killed, whose count is gone).
    fn cpu_seconds_but(&self, skip: Option<usize>) -> Option<f64> {
        let mut total = self.redis.cpu_seconds()?;
        for (index, node) in self.nodes.iter().enumerate() {
            if Some(index) != skip {
                total += node.cpu_seconds().unwrap_or(0.0);
            }
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

    async fn hop_buckets(&self) -> Vec<metrics_text::Buckets> {
        let mut all = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            all.push(match node.metrics().await {
                Ok(text) => metrics_text::histogram_buckets(&text, HOP_METRIC_NEEDLE),
                Err(_) => metrics_text::Buckets::new(),
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
    if let Some(path) = &config.trace {
        trace::Trace::start(path)?;
    }
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
    let mut redis = Redis::start(config.redis, setup, scratch.path(), &config.redis_args).await?;
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
        balance: balancer::Balance::new(config.balancer, config.nodes),
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
                // Taken out of the lock first: a member's task takes its log's lock and then
                // this one, so holding this while taking a log's could deadlock with it.
                let due: Vec<u64> = room
                    .sends
                    .lock()
                    .expect("sends")
                    .iter()
                    .filter(|(_, s)| s.phase == phase && !s.probe)
                    .map(|(seq, _)| *seq)
                    .collect();
                room.members.iter().any(|&index| {
                    let log = world.members[index].log();
                    due.iter().any(|seq| !log.has_seen(*seq))
                })
            })
        };
        if !pending || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

#[cfg(test)]
mod tests;
