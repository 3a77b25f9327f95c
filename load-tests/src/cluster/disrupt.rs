//! The failover and drain phases of the `cluster` scenario: kill or drain the nodes in turn while
//! the load goes on, probe every room after each, and time every member back to the probe's event.

use super::server_gap;
use super::trace::{self, Trace};
use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Disruption {
    Kill,
    Drain,
}

pub(super) enum Disrupted {
    Kill(FailoverReport),
    Drain(Box<DrainReport>),
}

/// Kill or drain nodes in turn while the load goes on; time every member back.
pub(super) async fn disruptions(
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

/// What the fleet's nodes have yet to move: `series` summed over the nodes; `None` when a
/// node's metrics cannot be read, or say nothing of the rooms. A build without the spread of
/// clients counts none over its share.
async fn left_to_move(fleet: &Fleet, series: &str) -> Option<u64> {
    let absent = (series == CLIENTS_OVER_SHARE).then_some(0.0);
    sum_over(fleet, None, series, absent).await
}

/// The rooms a node is to move to the node placement names for them.
const ROOMS_MISPLACED: &str = "roundtable_rooms_misplaced";
/// The rooms a node moved there.
const ROOMS_MOVED: &str = "roundtable_rooms_moved_total";

/// `series` summed over the nodes but `skip` (one killed), a node whose metrics lack it
/// counted as `absent`; `None` when a node's metrics cannot be read, or lack the series with
/// no `absent` given.
async fn sum_over(
    fleet: &Fleet,
    skip: Option<usize>,
    series: &str,
    absent: Option<f64>,
) -> Option<u64> {
    let mut total = 0;
    for (index, node) in fleet.nodes.iter().enumerate() {
        if Some(index) != skip {
            let text = node.metrics().await.ok()?;
            total += metrics_text::metric_value(&text, series).or(absent)? as u64;
        }
    }
    Some(total)
}

/// The clients a node is to let go, holding more than its share of the fleet's.
const CLIENTS_OVER_SHARE: &str = "roundtable_connections_over_share";

/// After a node came back: waits until every node counts every node settled (placement hands
/// each its rooms), then until no node has a room yet to move (the rebalance handed the node
/// its rooms), then until no node holds clients over its share (the spread let them go to
/// reconnect), at most `timeout` in all. Until the others count the node that came back, no
/// room yet to move says nothing: the rooms they count may be an earlier kill's, moving
/// between them. A build that does not count the nodes is given [`REBALANCE_NOTICE`] to
/// notice it instead, and the spread that long to count clients over a share when it counts
/// none at first. Answers how long it took, or what was still to move (rooms and clients)
/// when the wait ran out.
async fn wait_rebalanced(fleet: &Fleet, timeout: Duration) -> Result<Duration, u64> {
    let start = Instant::now();
    let out_of_time = || start.elapsed() >= timeout;
    loop {
        match nodes_settled(fleet).await {
            Some(true) => break,
            None if start.elapsed() >= REBALANCE_NOTICE => break,
            _ if out_of_time() => {
                return Err(left_to_move(fleet, ROOMS_MISPLACED).await.unwrap_or(0));
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    for series in [ROOMS_MISPLACED, CLIENTS_OVER_SHARE] {
        let from = Instant::now();
        let mut seen_some = false;
        loop {
            let left = left_to_move(fleet, series).await;
            seen_some |= left.is_some_and(|left| left > 0);
            // Every node counts the rooms it is to move at each look, once all are settled;
            // the clients over a node's share are counted only once a look of its spread
            // follows, and a build before 12-07 counted none while rooms were to move.
            let counted =
                series == ROOMS_MISPLACED || seen_some || from.elapsed() >= REBALANCE_NOTICE;
            if left == Some(0) && counted {
                break;
            }
            if out_of_time() {
                return Err(left.unwrap_or(0));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(start.elapsed())
}

/// The live nodes a node counts as settled: placement hands them rooms.
const NODES_SETTLED: &str = "roundtable_fleet_nodes{state=\"settled\"}";

/// Whether every node counts every node of the fleet settled (not while a node's metrics
/// cannot be read); `None` when a node does not count the nodes (a build before the count).
async fn nodes_settled(fleet: &Fleet) -> Option<bool> {
    let mut settled = true;
    for node in &fleet.nodes {
        let Ok(text) = node.metrics().await else {
            return Some(false);
        };
        let counted = metrics_text::metric_value(&text, NODES_SETTLED)?;
        settled &= counted >= fleet.nodes.len() as f64;
    }
    Some(settled)
}

/// How long a build that does not count the nodes is given to notice a node that came back,
/// and the spread to count the clients over a node's share once no room is to move: a
/// heartbeat and a look (500 ms each), with room to spare.
const REBALANCE_NOTICE: Duration = Duration::from_secs(3);

pub(super) async fn disrupt_each(
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
    let mut server_gaps = metrics_text::Buckets::new();
    let mut per = Vec::with_capacity(count);
    let mut not_caught_up_total = 0;
    let offset = match kind {
        Disruption::Kill => 0,
        Disruption::Drain => config.kills,
    };
    let timeout = Duration::from_secs_f64(config.recover_timeout_s);
    let mut trace = config.trace.as_deref().map(Trace::append).transpose()?;
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
        let before = trace.is_some().then(|| trace::Before::take(world));
        // With a trace, the rooms the other nodes moved (the rebalance): before the signal, and
        // once the members are back, with those they still hold where placement does not put
        // them (a room taken over away from its place is moved again).
        let moved_before = if trace.is_some() {
            sum_over(fleet, Some(victim), ROOMS_MOVED, None).await
        } else {
            None
        };
        let gap_reads = server_gap::Reads::start(fleet).await;
        // With a trace, the CPU the fleet (but the victim) and the tool used, sampled while
        // the members come back.
        let mut cpu = Vec::new();
        let t0 = world.clock.now_ns();
        let t0_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64);
        if trace.is_some() {
            cpu.push(cpu_sample(fleet, victim, t0));
        }
        let sent = match kind {
            Disruption::Kill => fleet.nodes[victim].signal_kill()?,
            Disruption::Drain => fleet.nodes[victim].signal_term()?,
        };
        // The probers act at once: a drain's handover happens while the node is still there,
        // and a killed node's sockets close only as the kernel tears it down.
        let probe_stop = Arc::new(AtomicBool::new(false));
        let probes = tokio::spawn(probe_rooms(world.clone(), phase, t0, probe_stop.clone()));
        let exit_ms = match fleet.nodes[victim].wait_exit(sent).await {
            Ok(exited) => Some(exited.as_secs_f64() * 1000.0),
            Err(err) => {
                probe_stop.store(true, Ordering::Relaxed);
                let _ = probes.await;
                return Err(err);
            }
        };
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
            if trace.is_some() && world.clock.now_ns() > t0 {
                cpu.push(cpu_sample(fleet, victim, world.clock.now_ns()));
            }
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
        let counted = gap_reads.counted().await;
        let gaps = server_gap::named(&counted);
        metrics_text::add_buckets(&mut server_gaps, counted);
        let placement = if trace.is_some() {
            trace::Placement {
                moved: sum_over(fleet, Some(victim), ROOMS_MOVED, None)
                    .await
                    .zip(moved_before)
                    .map(|(after, before)| after.saturating_sub(before)),
                misplaced: sum_over(fleet, Some(victim), ROOMS_MISPLACED, None).await,
            }
        } else {
            trace::Placement::default()
        };

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
                let mut back_in_place = false;
                for reconnect in log.reconnects_since(t0) {
                    if let Some(rejoined) = reconnect.rejoined_ns {
                        let from =
                            gap_from(reconnect, t0, owner_killed == Some(false), back_in_place);
                        back_in_place |= reconnect.in_place;
                        let ns = rejoined.saturating_sub(from);
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
                            if reconnect.in_place {
                                "rejoined_in_place"
                            } else if reconnect.attempts > 1 {
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
        if let (Some(trace), Some(before)) = (&mut trace, &before) {
            let at = trace::Disruption {
                kind: match kind {
                    Disruption::Kill => "kill",
                    Disruption::Drain => "drain",
                },
                round,
                victim,
                t0,
                t0_unix_ms,
                owners: &owners,
                on_node: &on_node,
                cpu: &cpu,
                placement,
            };
            trace.write(world, &at, before)?;
        }
        let restart = match restart {
            Some(restart) => restart,
            None => fleet.nodes[victim].start().await?,
        };
        // A single node has nothing to hand back.
        let rebalance = config.rebalance_wait_s > 0.0 && fleet.nodes.len() > 1;
        let (rebalance_ms, rebalance_unfinished) = if rebalance {
            match wait_rebalanced(fleet, Duration::from_secs_f64(config.rebalance_wait_s)).await {
                Ok(took) => (Some(took.as_secs_f64() * 1000.0), None),
                Err(left) => (None, Some(left)),
            }
        } else {
            (None, None)
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
            rebalance_ms,
            rebalance_unfinished,
            server_gap: gaps,
        };
        eprintln!(
            "  {} {}/{count}: node {victim} (owned {:?} rooms, {} members on it): {caught_up} \
             caught up, {not_caught_up} not{}, slowest {:.0} ms{}; restarted in {:.0} ms{}{}",
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
            report.restart_ms,
            match (rebalance_ms, rebalance_unfinished) {
                (Some(ms), _) => format!(", rebalanced in {ms:.0} ms"),
                (None, Some(left)) =>
                    format!(", {left} rooms or clients still to move when the wait ran out"),
                (None, None) => String::new(),
            },
            match server_gap::note(&report.server_gap) {
                note if note.is_empty() => note,
                note => format!("; by the servers: {note}"),
            }
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
            server_gap: server_gap::named(&server_gaps),
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
            server_gap: server_gap::named(&server_gaps),
            not_caught_up: not_caught_up_total,
            per_drain: per,
        })),
    })
}

fn cpu_sample(fleet: &Fleet, victim: usize, at_ns: u64) -> trace::CpuSample {
    trace::CpuSample {
        at_ns,
        fleet_s: fleet.cpu_seconds_but(Some(victim)),
        tool_s: crate::sys::cpu_seconds(None),
    }
}

/// The members not caught up over all `disruptions`, by why.
pub(super) fn why_totals(disruptions: &[DisruptionReport]) -> BTreeMap<String, usize> {
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
pub(super) async fn probe_rooms(world: Arc<World>, phase: u64, t0: u64, stop: Arc<AtomicBool>) {
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
pub(super) fn probe_seqs(world: &World, t0: u64) -> Vec<Option<u64>> {
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
pub(super) fn probe_seq(world: &World, room: usize, t0: u64) -> Option<u64> {
    let recorded = {
        let probes = world.rooms[room].probes.lock().expect("probes");
        probes
            .iter()
            .filter(|(_, intended_ns)| *intended_ns >= t0)
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

/// Where a drain's visible gap for one connection the member lost (or was joined again on in
/// place) begins: when the member is known to have stopped seeing its meeting as it was.
///
/// - Joined again in place, or closed while its room was stopped on the drained node (the
///   room's handover closes its clients): from the last event it received, or the drain's
///   signal if later. The room stopped somewhere in between; when is not seen from here, so
///   the gap counts from the earliest moment it could have.
/// - Closed while its room ran elsewhere (its room stayed where it was, or it was joined
///   again in place there already, and the drained node it is connected to lets it go): from
///   the close. Until then it was served; the stretch between its last event and its close
///   is a quiet room, not a gap. An event sent while it was away is still counted, by its
///   delivery delay.
pub(super) fn gap_from(
    reconnect: &members::Reconnect,
    t0: u64,
    room_stayed: bool,
    back_in_place: bool,
) -> u64 {
    if !reconnect.in_place && (room_stayed || back_in_place) {
        reconnect.lost_ns.max(t0)
    } else {
        reconnect.last_event_ns.max(t0)
    }
}
