//! The rebalance: rooms go back to the node placement names for them once it is live again.
//!
//! Placement decides only where a room nobody runs is loaded; the lease keeps a running room
//! where it is. So after a node left (killed, drained, restarted) the others keep the rooms
//! they took over, and without a rebalance they pile up: after a rolling restart the node
//! restarted last would run nothing, and the next failure of a crowded node would move most
//! of the fleet's rooms at once.
//!
//! So each node compares, every [`SCAN_INTERVAL`], the rooms it runs with placement over the
//! live nodes that do not drain and that it has known as live for at least `--node-live-ms`
//! (a node just started, or one that comes and goes, is not handed anything yet), and moves
//! the rooms placement names another node for: each stops and hands itself over as in a
//! drain ([`crate::room::fleet`]; its members follow it in place), at most
//! `--rebalance-rooms-per-second`, so that the moves never crowd out the meetings themselves.
//! Every node computes the same placement from the same registry, so a room moves once, to
//! where the others would send it too, and not back. Each look also counts the rooms
//! placement names another node for (`roundtable_rooms_misplaced`): those yet to move, and
//! the live nodes as it sees them (`roundtable_fleet_nodes`, by state): a count of rooms yet
//! to move means "none" only once every node is counted settled.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use roundtable_protocol::GroupId;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::{Fleet, rendezvous};
use crate::room::registry::Registry;

/// How often the rooms running here are compared with placement.
pub const SCAN_INTERVAL: Duration = Duration::from_millis(500);

/// The moves of one step and the time between steps, for `per_second` moves a second: about
/// ten steps a second, one move at least in each.
pub(super) fn pace(per_second: u32) -> (usize, Duration) {
    if per_second == 0 {
        return (0, SCAN_INTERVAL);
    }
    let batch = per_second.div_ceil(10).max(1);
    let every = Duration::from_secs_f64(f64::from(batch) / f64::from(per_second.max(1)));
    (batch as usize, every)
}

/// A node as the rebalance sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub id: &'a str,
    /// Known as live for at least the settling time (or this node itself).
    pub settled: bool,
    pub draining: bool,
}

/// The node placement names for `group_id` among the settled nodes that do not drain, when it
/// is not `here`.
pub fn destination<'a>(group_id: GroupId, here: &str, nodes: &[Candidate<'a>]) -> Option<&'a str> {
    let placed = rendezvous(
        group_id,
        nodes
            .iter()
            .filter(|node| node.settled && !node.draining)
            .map(|node| node.id),
    )?;
    (placed != here).then_some(placed)
}

/// What to do with a room running here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Placement names this node.
    Stays,
    /// Placement names another node, but not yet one to move it to: the node that wins it is
    /// not settled (or drains).
    Waits,
    /// Placement over the settled nodes names the node placement over every live one names.
    MovesTo,
}

/// `nodes`, each counted as settled: placement over every live node, which the handover's take
/// and the members' routes follow.
pub fn all_settled<'a>(nodes: &[Candidate<'a>]) -> Vec<Candidate<'a>> {
    nodes
        .iter()
        .map(|node| Candidate {
            settled: true,
            ..*node
        })
        .collect()
}

/// The [`Verdict`] for `group_id` on `here`, among `nodes` (each with whether it is settled);
/// `all` is [`all_settled`] of them.
pub fn verdict(group_id: GroupId, here: &str, nodes: &[Candidate], all: &[Candidate]) -> Verdict {
    let Some(placed) = destination(group_id, here, all) else {
        return Verdict::Stays;
    };
    if destination(group_id, here, nodes) == Some(placed) {
        Verdict::MovesTo
    } else {
        Verdict::Waits
    }
}

impl Fleet {
    /// The nodes as the rebalance sees them now: the live ones (see [`Fleet::live_nodes`]),
    /// each settled once this node has known it as live for `--node-live-ms`. This node
    /// itself counts as settled, and as draining when it drains.
    pub(super) fn candidates<'a>(
        &'a self,
        nodes: &'a [crate::store::NodeEntry],
    ) -> Vec<Candidate<'a>> {
        let settle = Duration::from_millis(self.config.node_live_ms);
        let first_seen = super::lock(&self.first_seen);
        let draining_here = self.draining.load(std::sync::atomic::Ordering::Relaxed);
        // This node runs, whatever its registry entry says as last read (a heartbeat that
        // could not be written must not send every room away).
        let here = (!nodes.iter().any(|node| *node.id == *self.node_id)).then(|| Candidate {
            id: &self.node_id,
            settled: true,
            draining: draining_here,
        });
        nodes
            .iter()
            .map(|node| {
                let here = *node.id == *self.node_id;
                Candidate {
                    id: &node.id,
                    settled: here
                        || first_seen
                            .get(&node.id)
                            .is_some_and(|seen| seen.elapsed() >= settle),
                    draining: if here {
                        draining_here
                    } else {
                        node.draining || self.peer_drains(&node.id)
                    },
                }
            })
            .chain(here)
            .collect()
    }

    /// Looks at `groups` (rooms running here): those to move now (at most `max`), and how
    /// many placement names another node for, settled or not (the rooms yet to move). A room
    /// moves only when placement over the settled nodes names the same node as placement
    /// over every live one (which the handover's take and the members' routes follow): while
    /// a node not yet settled would win it, it waits. None moves while this node drains (the
    /// drain moves them all).
    pub fn scan(&self, groups: &[GroupId], max: usize) -> Scan {
        let live = self.live_nodes();
        let nodes = self.candidates(&live);
        let all = all_settled(&nodes);
        let draining_here = self.draining.load(std::sync::atomic::Ordering::Relaxed);
        let mut scan = Scan {
            nodes: NodeCounts::of(&nodes),
            ..Scan::default()
        };
        for &group_id in groups {
            let verdict = verdict(group_id, &self.node_id, &nodes, &all);
            if verdict == Verdict::Stays {
                continue;
            }
            scan.elsewhere += 1;
            if verdict == Verdict::MovesTo && !draining_here && scan.to_move.len() < max {
                scan.to_move.push(group_id);
            }
        }
        scan
    }
}

/// What a look at the rooms running here found (see [`Fleet::scan`]).
#[derive(Debug, Default)]
pub struct Scan {
    /// The rooms to move now.
    pub to_move: Vec<GroupId>,
    /// The rooms placement names another live node for (settled or not).
    pub elsewhere: usize,
    /// The live nodes, this one included, by state.
    pub nodes: NodeCounts,
}

/// The live nodes as the rebalance sees them, by state; each counted once, so the three add
/// up to the live nodes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NodeCounts {
    /// Placement hands them rooms: known as live for `--node-live-ms`, and not draining.
    pub settled: usize,
    /// Live for less than `--node-live-ms`: rooms placement gives them wait.
    pub settling: usize,
    /// Draining: placement passes them over.
    pub draining: usize,
}

impl NodeCounts {
    pub fn of(nodes: &[Candidate]) -> NodeCounts {
        let mut counts = NodeCounts::default();
        for node in nodes {
            match (node.draining, node.settled) {
                (true, _) => counts.draining += 1,
                (false, true) => counts.settled += 1,
                (false, false) => counts.settling += 1,
            }
        }
        counts
    }
}

/// Moves the rooms running here that placement names another node for, at most
/// `per_second` a second (none when 0: the rooms yet to move are still counted), until `stop`.
pub async fn run(fleet: Arc<Fleet>, rooms: Registry, per_second: u32, stop: CancellationToken) {
    let (batch, every) = pace(per_second);
    let mut steps = tokio::time::interval(every);
    steps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // At most a look's worth of moves is queued: what is left is found at the next look.
    let look_most = (per_second as usize * SCAN_INTERVAL.as_millis() as usize / 1_000).max(batch);
    let mut queued: VecDeque<GroupId> = VecDeque::new();
    let mut looked: Option<Instant> = None;
    // Rooms asked to move since the last log line, which says how many.
    let mut moved = 0usize;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = steps.tick() => {}
        }
        if queued.is_empty() && looked.is_none_or(|at| at.elapsed() >= SCAN_INTERVAL) {
            looked = Some(Instant::now());
            let scan = fleet.scan(&rooms.live_groups(), look_most);
            crate::metrics::forwarding::rooms_misplaced(scan.elsewhere);
            let nodes = scan.nodes;
            crate::metrics::forwarding::fleet_nodes(nodes.settled, nodes.settling, nodes.draining);
            let to_move = if per_second > 0 { scan.elsewhere } else { 0 };
            fleet
                .rooms_to_move
                .store(to_move, std::sync::atomic::Ordering::Relaxed);
            queued.extend(scan.to_move);
            if queued.is_empty() && moved > 0 {
                info!(
                    rooms = moved,
                    "rebalanced: rooms moved to the nodes placement names"
                );
                moved = 0;
            }
        }
        let mut sent = 0;
        while sent < batch {
            let Some(group_id) = queued.pop_front() else {
                break;
            };
            // Placement may have changed since the look.
            if fleet.scan(&[group_id], 1).to_move.is_empty() {
                continue;
            }
            // Counted by the room when it acts on it (`rooms_moved_total`).
            if rooms.move_away(group_id) {
                moved += 1;
            }
            sent += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(n: u128) -> GroupId {
        serde_json::from_value(serde_json::json!(uuid::Uuid::from_u128(n).to_string()))
            .expect("a group id")
    }

    fn node(id: &str, settled: bool, draining: bool) -> Candidate<'_> {
        Candidate {
            id,
            settled,
            draining,
        }
    }

    /// A room moves only to a settled node that does not drain, and only when placement over
    /// those names it; it moves to the same node whichever of the others decides.
    #[test]
    fn a_room_moves_only_to_the_settled_node_placement_names() {
        let all = [
            node("node-a", true, false),
            node("node-b", true, false),
            node("node-c", true, false),
        ];
        let c_new = [
            node("node-a", true, false),
            node("node-b", true, false),
            node("node-c", false, false),
        ];
        let c_draining = [
            node("node-a", true, false),
            node("node-b", true, false),
            node("node-c", true, true),
        ];
        let mut to_c = 0;
        for n in 0..600 {
            let g = group(n);
            let placed = rendezvous(g, ["node-a", "node-b", "node-c"]).expect("a node");
            for here in ["node-a", "node-b", "node-c"] {
                let moved = destination(g, here, &all);
                assert_eq!(moved, (placed != here).then_some(placed), "{n} on {here}");
                let unsettled = destination(g, here, &c_new);
                assert_ne!(unsettled, Some("node-c"), "not to a node not yet settled");
                assert_ne!(
                    destination(g, here, &c_draining),
                    Some("node-c"),
                    "nor one that drains"
                );
            }
            // Once moved, the room stays: its new node finds it placed there.
            assert_eq!(destination(g, placed, &all), None);
            if placed == "node-c" {
                to_c += 1;
                // Until node-c settles, the room stays where the other two would place it.
                let without_c = rendezvous(g, ["node-a", "node-b"]).expect("a node");
                assert_eq!(destination(g, without_c, &c_new), None);
            }
        }
        assert!(
            (150..250).contains(&to_c),
            "about a third goes to node-c: {to_c}"
        );
        assert_eq!(
            NodeCounts::of(&c_new),
            NodeCounts {
                settled: 2,
                settling: 1,
                draining: 0
            }
        );
        // A node that drains counts as draining, settled or not.
        assert_eq!(
            NodeCounts::of(&[node("node-a", true, false), node("node-b", false, true)]),
            NodeCounts {
                settled: 1,
                settling: 0,
                draining: 1
            }
        );
        // With no settled node that does not drain, nothing moves.
        assert_eq!(
            destination(group(1), "node-a", &[node("node-b", false, false)]),
            None
        );
    }

    /// A room whose placement over every live node names a node not yet settled waits for
    /// it, rather than going to the settled node the others would pick meanwhile: the take and
    /// the members' routes follow placement over every live node.
    #[test]
    fn a_room_that_a_node_not_yet_settled_wins_waits_for_it() {
        let nodes = [
            node("node-a", true, false),
            node("node-b", true, false),
            node("node-c", false, false),
        ];
        let (mut waits, mut moves) = (0, 0);
        for n in 0..600 {
            let g = group(n);
            let placed = rendezvous(g, ["node-a", "node-b", "node-c"]).expect("a node");
            let verdict = verdict(g, "node-a", &nodes, &all_settled(&nodes));
            match placed {
                "node-a" => assert_eq!(verdict, Verdict::Stays),
                "node-b" => {
                    assert_eq!(verdict, Verdict::MovesTo);
                    moves += 1;
                }
                _ => {
                    assert_eq!(verdict, Verdict::Waits, "node-c is not settled");
                    waits += 1;
                }
            }
        }
        assert!(waits > 0 && moves > 0, "{waits} wait, {moves} move");
    }

    #[test]
    fn the_pace_keeps_the_rate_in_steps_of_about_a_tenth_of_a_second() {
        assert_eq!(pace(50), (5, Duration::from_millis(100)));
        assert_eq!(pace(1), (1, Duration::from_secs(1)));
        let (batch, every) = pace(15);
        assert_eq!(batch, 2);
        assert!((every.as_secs_f64() * 15.0 - 2.0).abs() < 1e-6, "{every:?}");
        assert_eq!(pace(1_000), (100, Duration::from_millis(100)));
        // Off: no move, a look now and then.
        assert_eq!(pace(0), (0, SCAN_INTERVAL));
    }
}
