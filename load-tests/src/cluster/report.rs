//! What a `cluster` run reports: the result's types (serialized for `--json`), the delivery
//! report built from the members' logs, the integrity check (lost, duplicated, reordered and
//! divergent events), the targets, and the printed summary.

use std::collections::{BTreeMap, HashMap};

use hdrhistogram::Histogram;
use serde::Serialize;

use super::members::World;
use super::{ClusterConfig, metrics_text};
use crate::stats::{self, Latency};

/// Latencies of a set of deliveries.
#[derive(Debug, Clone, Serialize)]
pub struct Class {
    pub deliveries: u64,
    /// From the actual write of the action.
    pub latency: Latency,
    /// From the intended send time (open loop).
    pub open_loop: Latency,
}

/// One of the servers' own histograms over a phase, summed over the nodes: the hop's over the
/// delivery phase, the gap of the clients joined again over their connection over a kill or a
/// drain.
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

pub(super) fn dist(histogram: &Histogram<u64>) -> Dist {
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
    /// From the signal (SIGKILL or SIGTERM) until the process exited, ms.
    pub exit_ms: Option<f64>,
    /// From starting the node again until its `/healthz` said ready, ms.
    pub restart_ms: f64,
    /// From the node being ready again until no node had a room yet to move (the rebalance)
    /// nor clients over its share (the spread), ms; `None` when not waited for, or the wait
    /// ran out (see `rebalance_unfinished`).
    pub rebalance_ms: Option<f64>,
    /// The rooms, or else the clients, still to move when the wait for the rebalance ran out.
    pub rebalance_unfinished: Option<u64>,
    /// The servers' measure of the gap (see `server_gap`): the rooms' handovers, and the
    /// clients joined again over their connection by why their room went away, from the signal
    /// until the members were back.
    pub server_gap: Vec<HopMetric>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailoverReport {
    pub kills: usize,
    /// From the kill until the member had the probe's event, by class: `room_owner_killed`,
    /// `own_node_killed` (the room's owner lived), `affected` (the two together), `untouched`
    /// (neither: the probe's plain latency), and `owner_unknown` when owners are not known.
    pub time_to_caught_up: BTreeMap<String, Dist>,
    pub not_caught_up: usize,
    /// The servers' measure of the gap over every kill (see `DisruptionReport::server_gap`).
    pub server_gap: Vec<HopMetric>,
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
    /// The servers' measure of the gap over every drain (see `DisruptionReport::server_gap`):
    /// for the clients joined again in place, without the bound that one action per room per
    /// second puts on `visible_gap`.
    pub server_gap: Vec<HopMetric>,
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
    /// Actions sent before a member was joined again in place and no-ops after it (a raise of
    /// a hand the old owner had raised): acknowledged without an event, and no fault.
    pub acked_no_op_after_move: u64,
    /// A member's own event that was not the action it sent (raise for lower).
    pub mismatched: u64,
    pub resumes_by_replay: u64,
    /// Of the resumes, those made in place: the member's node joined it again where its room
    /// went, without a new connection.
    pub rejoined_in_place: u64,
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

pub(super) fn delivery_report(
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
        // A copy: a member's task takes its log's lock and then this one, so holding this
        // while taking the logs' below could deadlock with a frame still arriving.
        let sends = room.sends.lock().expect("sends").clone();
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

pub(super) fn hop_metric(
    before: &[metrics_text::Buckets],
    after: &[metrics_text::Buckets],
) -> Vec<HopMetric> {
    quantiles(&metrics_text::summed_difference(before, after))
}

/// The observations and quantiles of each histogram of `buckets` (durations in seconds).
pub(super) fn quantiles(buckets: &metrics_text::Buckets) -> Vec<HopMetric> {
    buckets
        .iter()
        .map(|(name, buckets)| {
            let ms = |q| metrics_text::bucket_quantile(buckets, q).map(|s| s * 1000.0);
            HopMetric {
                observations: buckets.last().map_or(0.0, |b| b.1),
                p50_le_ms: ms(0.5),
                p99_le_ms: ms(0.99),
                name: name.clone(),
            }
        })
        .collect()
}

pub(super) fn histogram_map(names: &[&str]) -> BTreeMap<String, Histogram<u64>> {
    names
        .iter()
        .map(|name| ((*name).to_owned(), stats::new_histogram()))
        .collect()
}

pub(super) fn integrity(world: &World) -> Integrity {
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
            result.acked_no_op_after_move += log.acked_no_op_after_move;
            result.mismatched += log.mismatched;
            result.resumes_by_replay += log.replays;
            result.rejoined_in_place += log.rejoined_in_place;
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

pub(super) fn targets(
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
        targets.push(target(
            "drain: gap by the servers, handover p99 + join made again p99 (bucket bounds)",
            500.0,
            super::server_gap::handover_bound(&drain.server_gap),
        ));
    }
    targets
}

pub(super) fn print_delivery(d: &DeliveryReport) {
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

/// The rebalance after each node came back: how many ended, how long they took (median and
/// longest), and how many ran out of time; empty when none was waited for.
fn rebalance_line<'a>(per: impl Iterator<Item = &'a DisruptionReport>) -> String {
    let (mut took, mut unfinished) = (Vec::new(), 0);
    for report in per {
        match (report.rebalance_ms, report.rebalance_unfinished) {
            (Some(ms), _) => took.push(ms),
            (None, Some(_)) => unfinished += 1,
            (None, None) => {}
        }
    }
    if took.is_empty() && unfinished == 0 {
        return String::new();
    }
    took.sort_by(f64::total_cmp);
    let median = took.get(took.len() / 2).copied().unwrap_or(f64::NAN);
    let longest = took.last().copied().unwrap_or(f64::NAN);
    format!(
        "  rebalance after a node came back: {} ended (median {median:.0} ms, longest \
         {longest:.0} ms), {unfinished} ran out of time\n",
        took.len()
    )
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
    for (label, gaps) in [
        ("kill -9", result.failover.as_ref().map(|f| &f.server_gap)),
        ("drain", result.drain.as_ref().map(|d| &d.server_gap)),
    ] {
        let note = gaps
            .map(|gaps| super::server_gap::note(gaps))
            .unwrap_or_default();
        if !note.is_empty() {
            out.push_str(&format!("  {label}, the gap by the servers: {note}\n"));
        }
    }
    let per_disruption = result
        .failover
        .iter()
        .flat_map(|f| &f.per_kill)
        .chain(result.drain.iter().flat_map(|d| &d.per_drain));
    out.push_str(&rebalance_line(per_disruption));
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
         resumes {} by replay, {} by snapshot ({} of them in place); {} members not back at \
         the end\n",
        i.hand_events,
        i.lost,
        i.duplicated,
        i.reordered,
        i.divergent,
        i.resumes_by_replay,
        i.resumes_by_snapshot,
        i.rejoined_in_place,
        i.failed_members
    ));
    if i.acked_no_op_after_move > 0 {
        out.push_str(&format!(
            "  actions sent before an in-place join and no-ops after it (acknowledged without \
             an event, no fault): {}\n",
            i.acked_no_op_after_move
        ));
    }
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
