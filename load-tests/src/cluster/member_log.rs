//! What each member of the `cluster` scenario knows and saw: the run's clock, the sends and
//! receipts it logs, the connections it lost and got back, and when it was back after a
//! disruption ([`MemberLog::back_after`]). The members themselves (their frames, sends and
//! connections) are in `members.rs`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crate::client::RoomPlan;

/// One monotonic clock for the whole run.
#[derive(Debug)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

/// When an action was meant to go, when it went, and from which node.
#[derive(Debug, Clone, Copy)]
pub struct SendRecord {
    pub intended_ns: u64,
    pub actual_ns: u64,
    pub sender_node: usize,
    pub phase: u64,
    pub probe: bool,
}

/// A room as the members share it.
#[derive(Debug)]
pub struct RoomShared {
    pub plan: RoomPlan,
    /// Member id -> position in the room (filled once everyone joined).
    pub positions: OnceLock<HashMap<String, usize>>,
    /// The members' indexes in [`World::members`], by position.
    pub members: Vec<usize>,
    /// Send records of the room's actions, by their event's seq.
    pub sends: Mutex<HashMap<u64, SendRecord>>,
    /// The probes among them, as (seq, intended send time): what [`super::disrupt::probe_seq`]
    /// looks through every few milliseconds while members come back, which the whole of
    /// `sends` (a thousand records a room after a thousand seconds) made the load tool's own
    /// work grow through a long run.
    pub probes: Mutex<Vec<(u64, u64)>>,
}

/// One hand event a member received.
#[derive(Debug, Clone, Copy)]
pub struct Receipt {
    pub seq: u64,
    pub recv_ns: u64,
    /// The node of the connection it came over.
    pub node: usize,
    /// The sender's position in the room.
    pub sender: usize,
    pub raised: bool,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    pub(super) id: u64,
    pub(super) raise: bool,
    pub(super) intended_ns: u64,
    pub(super) actual_ns: u64,
    pub(super) node: usize,
    pub(super) phase: u64,
    pub(super) probe: bool,
    /// Sent before the member's node joined it again in place, and passed on after that join:
    /// decided on the state before the move, it may be a no-op now (raise a hand the old owner
    /// raised before it died, its event lost with it), acknowledged without an event.
    pub(super) before_move: bool,
}

/// A connection the member lost and (perhaps) re-established.
#[derive(Debug, Clone, Copy)]
pub struct Reconnect {
    pub lost_ns: u64,
    /// The last event received before the loss.
    pub last_event_ns: u64,
    /// When the resume join was acknowledged (and its snapshot, if any, received).
    pub rejoined_ns: Option<u64>,
    /// The seq of the snapshot the resume was answered with (a room loaded since the loss is
    /// another log epoch: its resumes get snapshots), if it was.
    pub snapshot_seq: Option<u64>,
    pub node: Option<usize>,
    pub replay: bool,
    pub attempts: u32,
    /// Not a new connection: the node the member is connected to joined it again where its
    /// room went (`lost_ns` is when the join's ack came again, `rejoined_ns` its snapshot, or
    /// the ack itself when a replay follows).
    pub in_place: bool,
}

/// Everything one member knows and saw.
#[derive(Debug, Default)]
pub struct MemberLog {
    pub member_id: String,
    pub(super) token: String,
    pub(super) meeting_id: String,
    /// The node of the live connection, if any.
    pub node: Option<usize>,
    pub last_seq: u64,
    /// The log epoch of the room's last join (sent back with a resume).
    pub log_epoch: Option<String>,
    pub last_event_ns: u64,
    /// Seq of the snapshot of the first join: events up to it were never due to this member.
    pub first_seq: u64,
    pub(super) seen: HashSet<u64>,
    pub receipts: Vec<Receipt>,
    pub receipts_dropped: u64,
    pub duplicates: u64,
    pub reordered: u64,
    /// Seqs of the snapshots of resume joins (events up to them count as caught up).
    pub resume_snapshots: Vec<u64>,
    pub replays: u64,
    /// Times the member's node joined it again in place (see [`Reconnect::in_place`]).
    pub rejoined_in_place: u64,
    pub(super) own_raised: bool,
    /// Between a lost connection and the end of the next join's catch-up (its snapshot, or
    /// the `presence` that ends a replay): `own_raised` may be stale, so no action is sent.
    pub(super) catching_up: bool,
    pub(super) pending: VecDeque<Pending>,
    pub(super) next_action: u64,
    /// Own events that did not match the action sent (a raise for a lower).
    pub mismatched: u64,
    pub acked: u64,
    /// Actions acknowledged before their event arrived (the protocol sends the events first).
    pub acked_without_event: u64,
    /// Of those, actions sent before an in-place join and found no-ops after it (see
    /// [`Pending::before_move`]): not counted in `acked_without_event`.
    pub acked_no_op_after_move: u64,
    pub errors: BTreeMap<String, u64>,
    pub reconnects: Vec<Reconnect>,
    /// Why the member gave up reconnecting (after 100,000 attempts).
    pub failed: Option<String>,
    /// Why its last reconnect attempt failed, while it is still trying.
    pub reconnect_error: Option<String>,
    /// Failed resume attempts by kind ([`attempt_failure`]).
    pub attempt_failures: BTreeMap<String, u64>,
}

impl MemberLog {
    /// The join's ack again, unasked, at `now` on `node`: the node this member is connected to
    /// joined it again where its room went (the node it was forwarded to went away), in
    /// `log_epoch`; the events it missed follow (a `replay`: back at the ack, as after a
    /// reconnection), or a snapshot. Its actions under way were answered `connection_lost`.
    pub(super) fn joined_in_place(
        &mut self,
        now: u64,
        node: usize,
        log_epoch: Option<String>,
        replay: bool,
    ) {
        self.log_epoch = log_epoch;
        self.catching_up = true;
        for pending in &mut self.pending {
            pending.before_move = true;
        }
        self.rejoined_in_place += 1;
        self.replays += u64::from(replay);
        self.reconnects.push(Reconnect {
            lost_ns: now,
            last_event_ns: self.last_event_ns,
            rejoined_ns: replay.then_some(now),
            snapshot_seq: None,
            node: Some(node),
            replay,
            attempts: 0,
            in_place: true,
        });
    }

    /// The connections lost (or joined again in place) at or after `after_ns`. They are
    /// logged in time order, so these are the last ones: found by halving, not by a walk
    /// through a long run's hundreds (which the wait after each kill did for every member
    /// every 20 ms, and which slowed the tool down kill after kill).
    pub fn reconnects_since(&self, after_ns: u64) -> &[Reconnect] {
        let first = self
            .reconnects
            .partition_point(|reconnect| reconnect.lost_ns < after_ns);
        &self.reconnects[first..]
    }

    pub fn has_seen(&self, seq: u64) -> bool {
        self.seen.contains(&seq)
    }

    /// When the oldest action still waiting for its event was sent.
    pub fn pending_since_ns(&self) -> Option<u64> {
        self.pending.front().map(|p| p.actual_ns)
    }

    /// Give up on the actions waiting for their events (a probe that got no answer).
    pub fn forget_pending(&mut self) {
        self.pending.clear();
    }

    /// When the member was back after a disruption at `after_ns`: it has the first hand event
    /// of the member at `prober` sent after it, and every connection it lost since is resumed.
    /// The later of the two; `None` while either is missing.
    ///
    /// The probe's event counts as received when it came as an event, or when a resume after
    /// `after_ns` was answered with a snapshot at or past `probe_seq` (the probe's seq), which
    /// holds it.
    pub fn back_after(&self, prober: usize, after_ns: u64, probe_seq: Option<u64>) -> Option<u64> {
        let in_snapshot = || {
            let seq = probe_seq?;
            self.reconnects_since(after_ns)
                .iter()
                .find(|r| r.snapshot_seq.is_some_and(|at| at >= seq))?
                .rejoined_ns
        };
        let probe = self
            .first_from_after(prober, after_ns)
            .or_else(in_snapshot)?;
        let mut back = probe;
        for reconnect in self.reconnects_since(after_ns) {
            back = back.max(reconnect.rejoined_ns?);
        }
        Some(back)
    }

    /// Why [`MemberLog::back_after`] has no answer, for the report: a member not caught up is
    /// either truly away (gave up, or a connection lost since is not resumed) or back without
    /// the probe (its room's probe has no known seq, or neither its event nor a snapshot at or
    /// past it came; whether a resume since was by snapshot or replay tells which path).
    pub fn why_not_back(
        &self,
        prober: usize,
        after_ns: u64,
        probe_seq: Option<u64>,
    ) -> &'static str {
        let since = self.reconnects_since(after_ns);
        if self.failed.is_some() {
            return "gave_up";
        }
        if since.iter().any(|r| r.rejoined_ns.is_none()) {
            return "not_resumed";
        }
        if self.first_from_after(prober, after_ns).is_some() {
            return "back";
        }
        let Some(seq) = probe_seq else {
            return "no_probe_seq_in_room";
        };
        if self.has_seen(seq) {
            return "probe_seen_not_kept";
        }
        match since.last() {
            None => "no_probe_event_never_disconnected",
            Some(r) if r.snapshot_seq.is_some() => "no_probe_event_snapshot_before_probe",
            Some(_) => "no_probe_event_after_replay",
        }
    }

    /// When the first hand event of the member at `sender` received after `after_ns` came.
    pub fn first_from_after(&self, sender: usize, after_ns: u64) -> Option<u64> {
        self.receipts
            .iter()
            .rev()
            .take_while(|r| r.recv_ns > after_ns)
            .filter(|r| r.sender == sender)
            .last()
            .map(|r| r.recv_ns)
    }
}
