//! The room actor: one task per live room that alone owns the room's state.
//!
//! Commands arrive on a bounded channel. For each, the actor decides events with the pure state
//! machine against a copy of the state, writes them to the store (with a snapshot when the
//! events logged since the last one cost as much to write as a new one would: see `persist`), and only when the store has made them durable swaps the copy in,
//! fans the events out and acknowledges. A failed write therefore changes nothing and the
//! requester gets `storage_unavailable`.
//!
//! Fan-out serializes each event once and queues the same bytes to every connection the event
//! is for (almost always all of them; see [`Audience`]). A connection whose queue is full is
//! closed with `slow_consumer`; it can resume.
//!
//! The room's task from load to stop, with the drain's handover, is in `life`; the other parts
//! of the actor are in the submodules named after them.

mod access;
mod calendar;
mod erase;
mod fanout;
mod join;
mod lease;
mod life;
mod limits;
mod lineage;
mod next_meeting;
mod persist;
mod presence;
mod reactions;
mod roleplay;

use fanout::Flushes;
pub use lineage::LogLineage;
use persist::snapshot_head_start;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use roundtable_protocol::{
    self as wire, CatchUp, CloseReason, Credential, ErrorCode, EventFrame, GroupId, MemberId,
    PresenceChange, PresenceReason, Reply, RequestId, ResumePoint, Seq, ServerMessage, UnixMs,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use roundtable_rules::reactions::ReactionLimiter;
use roundtable_rules::secret::PseudonymKey;
use roundtable_rules::state::{
    self, Audience, FreshMember, RoomError, RoomEvent, RoomState, StoredEvent,
};
use roundtable_rules::{Change, Command, RoomLimits, stored};

use super::ConnectionId;
use super::fleet::Fleet;
use super::lease::Lease;
use crate::clock::{Clock, sleep_until_or_never};
use crate::config::Limits;
use crate::secrets::new_secret;
use crate::store::{AppendBatch, LoadedRoom, LogEntry, Snapshot, Store, StoreError};
use crate::transport::frame::{WireFrame, encode};
use crate::transport::outbox::{Keep, Outbox, QueueError, Urgency};

/// Commands a room accepts, queued in its bounded channel.
#[derive(Debug)]
pub enum RoomCommand {
    /// A connection asks to join. On success the room sends the ack and the catch-up frames to
    /// `outbox` itself, then answers `reply`; on failure it only answers `reply`.
    Join(Box<JoinCommand>),
    /// A request from a joined connection; the room answers through the connection's outbox.
    Request {
        connection_id: ConnectionId,
        request_id: RequestId,
        /// Boxed so that every slot of the room's queue stays small; timed until its answer
        /// is queued.
        command: Box<crate::metrics::Timed<Command>>,
    },
    /// A copy of the room's state, for exports (minutes, CSV). Nothing changes.
    Inspect {
        reply: oneshot::Sender<Box<RoomState>>,
    },
    /// The connection has gone.
    Leave {
        connection_id: ConnectionId,
        reason: PresenceReason,
    },
    /// The process moves this room to the node placement names for it now (a rebalance, see
    /// [`crate::fleet::rebalance`]): the room stops and hands itself over as in a drain.
    MoveAway,
}

/// What a join carries (boxed in [`RoomCommand::Join`], so that every slot of the room's queue
/// stays small).
#[derive(Debug)]
pub struct JoinCommand {
    pub connection_id: ConnectionId,
    pub request_id: RequestId,
    pub credential: Credential,
    pub resume: Option<ResumePoint>,
    pub outbox: Outbox,
    pub reply: oneshot::Sender<Result<Admitted, RoomError>>,
}

/// Who a join admitted: the member, and the token the join issued them (an invite's join;
/// `None` for a member who came with theirs). The token is a credential: never logged (the
/// `Debug` form leaves it out).
pub struct Admitted {
    pub member_id: MemberId,
    pub issued_token: Option<String>,
}

impl std::fmt::Debug for Admitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admitted")
            .field("member_id", &self.member_id)
            .finish_non_exhaustive()
    }
}

/// What every room shares with the server.
#[derive(Debug, Clone)]
pub struct RoomContext {
    pub store: Arc<dyn Store>,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// This process's random id as the holder of room ownership leases.
    pub lease_owner: Arc<str>,
    /// The base of the links the server hands out (`--public-url`), for a link made anew.
    pub public_base: Arc<str>,
    /// The lease renewals and the drain, shared by the process's rooms.
    pub fleet: Fleet,
}

impl RoomContext {
    /// This process's ownership lease of `group_id`'s room.
    pub fn lease(&self, group_id: GroupId) -> Lease {
        Lease::new(
            Arc::clone(&self.store),
            group_id,
            Arc::clone(&self.lease_owner),
            self.limits.room_lease_ms,
        )
    }
}

/// A connection in the room.
#[derive(Debug)]
struct Subscriber {
    member_id: MemberId,
    /// The member's session (token) the connection joined with.
    session_id: wire::SessionId,
    /// The member's pseudonym key, from the token the connection joined with: where their
    /// anonymous contributions are kept (`roundtable_rules::secret::PseudonymKey`). Only in
    /// memory, never stored, logged or sent.
    pseudonym: PseudonymKey,
    outbox: Outbox,
}

/// An event already sent to the room, kept for fast resume.
#[derive(Debug)]
struct RecentEvent {
    seq: Seq,
    frame: WireFrame,
    audience: Audience,
}

/// The actor's private state.
struct RoomActor {
    context: RoomContext,
    /// The group's ownership lease, which the registry took for this room.
    lease: Lease,
    /// The limits the room's rules enforce, from `context.limits`.
    rule_limits: RoomLimits,
    state: RoomState,
    subscribers: HashMap<ConnectionId, Subscriber>,
    /// The last `recent_events_max` events of the current meeting, for resume without I/O.
    recent: VecDeque<RecentEvent>,
    /// Events written since the last snapshot; a snapshot is due at `snapshot_every_events`.
    events_since_snapshot: u64,
    /// Bytes of the events written since the last snapshot; a snapshot is due once they reach
    /// `Limits::snapshot_due_bytes` of the last snapshot's size (see `persist`).
    bytes_since_snapshot: u64,
    /// Size of the last snapshot stored (or loaded), in bytes.
    snapshot_bytes: u64,
    /// Until the first snapshot after loading: it comes early (see [`snapshot_head_start`]).
    first_snapshot_since_load: bool,
    /// Events the first snapshot after loading comes earlier by (see [`snapshot_head_start`]);
    /// 0 once it is written.
    snapshot_head_start: u64,
    /// Set when a member's attendance of the meeting could not be stored; retried until it is
    /// (see `join`).
    attendance_out_of_date: bool,
    /// Set when this process may no longer own the room (see [`RoomActor::lose_ownership`]).
    ownership_lost: bool,
    /// This incarnation of the room's log epoch, fresh at each load, and the earlier ones whose
    /// seqs name the same events (ARCHITECTURE.md, "Log epochs"): a resume from any other
    /// epoch gets a snapshot, never a replay.
    lineage: LogLineage,
    /// Set when the timer's `time_up` could not be stored; retried after `WRITE_RETRY`
    /// instead of at once, so a storage outage does not spin the actor.
    timer_write_failed: bool,
    /// The time of the command being handled, read once per command so that the rules and
    /// the events' `at_ms` agree to the millisecond.
    now_ms: UnixMs,
    /// The outboxes this room queued frames in, to flush.
    flushes: Flushes,
    /// Each member's budget of reactions, in memory only (reactions are never stored).
    reactions: ReactionLimiter,
    /// Members whose last connection dropped without a close, each with when they are shown
    /// gone unless back by then (see `presence`): at most one entry per member.
    going: HashMap<MemberId, tokio::time::Instant>,
    /// Set when a session's last-seen time changed since the last snapshot (it is not an
    /// event), so that the room's final snapshot keeps it.
    seen_since_snapshot: bool,
    /// Set once a facilitator deleted the group: the room stops and writes nothing more.
    deleted: bool,
    /// Set when the process moves the room to another node ([`RoomCommand::MoveAway`]): it
    /// stops and hands itself over.
    moving_away: bool,
    /// When this room last recorded a join as the group's activity (for the retention of
    /// abandoned groups), if it did.
    activity_recorded_ms: Option<UnixMs>,
    /// Writes per member and new members (see [`limits`]).
    buckets: limits::RoomBuckets,
    /// The bytes of the room's state as stored, estimated: the last known size plus the bytes
    /// of the events logged since (see [`RoomActor::check_state_bytes`]).
    state_bytes: usize,
}

/// Seconds between retries of attendance that could not be stored.
const WRITE_RETRY: Duration = Duration::from_secs(1);

/// A room's state from what the store holds: the snapshot, then each entry of the log after it,
/// in order (each also handed to `each`).
pub fn fold_stored(
    loaded: &LoadedRoom,
    mut each: impl FnMut(u64, &roundtable_rules::StoredEvent),
) -> Result<RoomState, StoreError> {
    let mut state = stored::decode_snapshot(&loaded.snapshot.bytes)
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
    for entry in &loaded.tail {
        let stored = stored::decode_event(&entry.bytes)
            .map_err(|error| StoreError::Corrupt(format!("seq {}: {error}", entry.seq)))?;
        if entry.seq != state.seq + 1 {
            return Err(StoreError::Corrupt(format!(
                "log entry {} does not follow seq {}",
                entry.seq, state.seq
            )));
        }
        state.apply(entry.seq, stored.at_ms, &stored.event);
        each(entry.seq, &stored);
    }
    Ok(state)
}

/// Builds a room from what the store holds and starts its task. `lease` is the group's ownership
/// lease, which the caller has taken: the room renews it while it lives and releases it when it
/// stops. `lineage` is the log epoch it serves. `on_stop` runs when the task ends (the registry
/// uses it to forget the room).
pub fn spawn(
    context: RoomContext,
    lease: Lease,
    loaded: LoadedRoom,
    lineage: LogLineage,
    commands: mpsc::Receiver<RoomCommand>,
    on_stop: impl FnOnce() + Send + 'static,
) -> Result<(), StoreError> {
    let mut recent = VecDeque::new();
    let mut state = fold_stored(&loaded, |seq, stored| {
        recent.push_back(RecentEvent {
            seq,
            frame: event_frame(seq, stored.at_ms, &stored.event),
            audience: stored.event.audience(),
        });
    })?;
    // Nobody is connected to a room just loaded; what a format 1-3 log tail said of presence
    // is forgotten with it (it matters only to fold such logs).
    state.online.clear();
    state.logged_online.clear();
    while recent.len() > context.limits.recent_events_max {
        recent.pop_front();
    }
    let events_since_snapshot = loaded.tail.len() as u64;
    let bytes_since_snapshot = loaded
        .tail
        .iter()
        .map(|entry| entry.bytes.len() as u64)
        .sum();
    let snapshot_bytes = loaded.snapshot.bytes.len() as u64;
    let snapshot_head_start =
        snapshot_head_start(state.group.id, context.limits.snapshot_every_events);
    let buckets = limits::RoomBuckets::new(&context.limits);
    let actor = RoomActor {
        buckets,
        rule_limits: context.limits.rules(),
        context,
        lease,
        state,
        subscribers: HashMap::new(),
        recent,
        events_since_snapshot,
        bytes_since_snapshot,
        snapshot_bytes,
        first_snapshot_since_load: true,
        snapshot_head_start,
        attendance_out_of_date: false,
        ownership_lost: false,
        lineage,
        timer_write_failed: false,
        now_ms: 0,
        flushes: Flushes::default(),
        reactions: ReactionLimiter::default(),
        going: HashMap::new(),
        seen_since_snapshot: false,
        deleted: false,
        moving_away: false,
        activity_recorded_ms: None,
        state_bytes: loaded.snapshot.bytes.len()
            + loaded
                .tail
                .iter()
                .map(|entry| entry.bytes.len())
                .sum::<usize>(),
    };
    // The actor is boxed: the task then holds a pointer to it across every wait instead of
    // copies of its state.
    let actor = Box::new(actor);
    tokio::spawn(async move {
        actor.run(commands).await;
        on_stop();
    });
    Ok(())
}

fn event_frame(seq: Seq, at_ms: UnixMs, event: &RoomEvent) -> WireFrame {
    encode(&ServerMessage::Event(EventFrame {
        seq,
        at_ms,
        event: event.to_wire(at_ms),
    }))
}

fn error_message(id: Option<RequestId>, error: &RoomError) -> ServerMessage {
    ServerMessage::Error {
        id,
        code: error.code,
        message: error.message.clone(),
    }
}

fn storage_error(error: &StoreError) -> RoomError {
    match error {
        StoreError::Unavailable(_) | StoreError::Conflict(_) | StoreError::Fenced(_) => {
            RoomError::new(
                ErrorCode::StorageUnavailable,
                "the change could not be saved; nothing changed, please try again",
            )
        }
        StoreError::NotFound(_) => RoomError::new(ErrorCode::NotFound, "the group is gone"),
        StoreError::Corrupt(_) => {
            RoomError::new(ErrorCode::Internal, "stored data could not be read")
        }
    }
}

impl RoomActor {
    fn group_id(&self) -> GroupId {
        self.state.group.id
    }

    async fn handle(&mut self, command: RoomCommand) {
        self.now_ms = self.context.clock.now_ms();
        match command {
            RoomCommand::Join(join) => {
                let JoinCommand {
                    connection_id,
                    request_id,
                    credential,
                    resume,
                    outbox,
                    reply,
                } = *join;
                let result = self
                    .join(connection_id, request_id, &credential, resume, outbox)
                    .await;
                let joined = result.is_ok();
                let _ = reply.send(result);
                // A first arrival in this meeting is written once the join is answered.
                if joined {
                    Box::pin(self.record_attendance()).await;
                }
            }
            RoomCommand::Request {
                connection_id,
                request_id,
                command,
            } => {
                let crate::metrics::Timed { value, timer } = *command;
                self.request(connection_id, request_id, &value).await;
                timer.done();
            }
            RoomCommand::Inspect { reply } => {
                let _ = reply.send(Box::new(self.state.clone()));
            }
            RoomCommand::Leave {
                connection_id,
                reason,
            } => {
                if let Some(gone) = self.subscribers.remove(&connection_id) {
                    self.seen(gone.member_id, gone.session_id);
                    self.reconcile_presence(reason).await;
                }
            }
            RoomCommand::MoveAway => self.moving_away = true,
        }
    }

    async fn request(
        &mut self,
        connection_id: ConnectionId,
        request_id: RequestId,
        command: &Command,
    ) {
        let Some((member_id, key)) = self
            .subscribers
            .get(&connection_id)
            .map(|s| (s.member_id, s.pseudonym))
        else {
            return;
        };
        let admitted = if limits::is_write(command) {
            self.admit_write(member_id)
        } else {
            Ok(())
        };
        // What the meeting's phase allows (the rules' one table): an upcoming meeting refuses
        // what needs a live one, before anything is decided.
        let admitted = admitted.and_then(|()| state::admit(&self.state, command));
        let result = match command {
            _ if admitted.is_err() => admitted.map(|()| Reply::Done),
            Command::Change(change) => self.change(member_id, key, change).await,
            Command::Query(query) => Ok(state::answer_keyed(
                &self.state,
                member_id,
                Some(key),
                query,
            )),
            Command::RolePlay(action) => self
                .role_play_request(member_id, action)
                .await
                .map(|()| Reply::Done),
            Command::SubmitScores(submission) => {
                match self.submit(connection_id, member_id, submission).await {
                    Ok(()) => {
                        self.tell_other_pages_they_submitted(connection_id).await;
                        Ok(Reply::Done)
                    }
                    Err(error) => Err(error),
                }
            }
            Command::StartNextMeeting => self
                .start_next_meeting(member_id)
                .await
                .map(|()| Reply::Done),
            Command::StartMeeting => self.start_meeting(member_id).await,
            Command::React(reaction) => self.react(member_id, *reaction).await,
            Command::Access(command) => {
                self.access_request(connection_id, member_id, *command)
                    .await
            }
            Command::DeleteGroup { confirm_name } => {
                Box::pin(self.delete_group(member_id, confirm_name))
                    .await
                    .map(|()| Reply::Done)
            }
            Command::LeaveGroup(erasure) => Box::pin(self.leave(member_id, key, *erasure))
                .await
                .map(|()| Reply::Done),
            Command::Calendar(command) => self.calendar_request(member_id, *command).await,
        };
        let Some(subscriber) = self.subscribers.get(&connection_id) else {
            if self.deleted {
                self.close_deleted();
            }
            return;
        };
        let answer = match result {
            Ok(reply) => ServerMessage::Ack {
                id: request_id,
                result: reply,
            },
            Err(error) => {
                // Role play refusals are not logged: a line naming the member next to a refused
                // submission would tell when they tried to score. Neither are refused anonymous
                // numbers: the line would say who tried to share anonymously, and when.
                let anonymous_numbers = matches!(
                    command,
                    Command::Change(Change::Activity(
                        roundtable_rules::command::ActivityCommand::SubmitNumbers {
                            sharing: roundtable_protocol::Sharing::Anonymous,
                            ..
                        }
                    ))
                );
                if !anonymous_numbers
                    && !matches!(command, Command::RolePlay(_) | Command::SubmitScores(_))
                {
                    debug!(group = %self.group_id(), member = %member_id, code = error.code.as_str(), "request refused");
                }
                error_message(Some(request_id), &error)
            }
        };
        let queued = self
            .flushes
            .queue(&subscriber.outbox, encode(&answer), Urgency::Now);
        // The end of the group, or of this member in it, closes connections once the ack is
        // on its way.
        if self.deleted {
            self.close_deleted();
            return;
        }
        if let Command::LeaveGroup(_) = command
            && self.state.member(member_id).is_none()
        {
            self.close_left(member_id);
            return;
        }
        if queued == Err(QueueError::Full) {
            self.drop_slow(vec![connection_id]).await;
        }
    }

    /// Starts the upcoming meeting: it is live from now.
    async fn start_meeting(&mut self, member_id: MemberId) -> Result<Reply, RoomError> {
        let events = state::decide_start_meeting(&self.state, member_id, self.now_ms)?;
        self.record(events).await?;
        info!(group = %self.group_id(), meeting = %self.state.meeting.id, number = self.state.meeting.number, "meeting started");
        Ok(Reply::Done)
    }

    /// Decides a change with the rules (with the pseudonym key of the connection that asked),
    /// then records its events.
    async fn change(
        &mut self,
        member_id: MemberId,
        key: PseudonymKey,
        change: &Change,
    ) -> Result<Reply, RoomError> {
        let events = state::decide_keyed(
            &self.state,
            member_id,
            Some(key),
            change,
            &self.rule_limits,
            self.now_ms,
        )?;
        self.check_state_bytes(&events)?;
        let reply = state::reply_for(&events);
        self.record(events).await?;
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::fanout::{FLUSH_SOON_OUTBOXES_MAX, FLUSH_SOON_WITHIN};
    use super::{Flushes, RoomCommand, Urgency, snapshot_head_start};
    use roundtable_protocol::GroupId;

    #[test]
    fn rooms_take_their_first_snapshot_at_different_moments_within_the_interval() {
        let starts: Vec<u64> = (0..1000)
            .map(|_| snapshot_head_start(GroupId::random(), 200))
            .collect();
        assert!(
            starts.iter().all(|&start| start < 100),
            "within half the interval"
        );
        let mut distinct = starts.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(
            distinct.len() > 90,
            "spread over it: {} distinct",
            distinct.len()
        );
        let group = GroupId::random();
        assert_eq!(
            snapshot_head_start(group, 200),
            snapshot_head_start(group, 200),
            "the same for a room every time it loads"
        );
        assert_eq!(snapshot_head_start(group, 1), 0);
    }
    use crate::transport::outbox::Outbox;
    use crate::transport::outbox::tests::{
        assert_nothing_arrives, assert_receives, frame, tcp_pair,
    };

    #[tokio::test]
    async fn presence_waits_for_company_and_an_urgent_frame_takes_it_along() {
        let (server, mut client) = tcp_pair().await;
        let outbox = Outbox::writing_to(8, server);
        let mut flushes = Flushes::default();
        let before = tokio::time::Instant::now();
        flushes
            .queue(&outbox, frame("ann online"), Urgency::Soon)
            .unwrap();
        let due = flushes.soon_at.expect("a flush soon is due");
        assert!(
            due >= before + FLUSH_SOON_WITHIN
                && due <= tokio::time::Instant::now() + FLUSH_SOON_WITHIN
        );
        flushes.flush_now();
        assert_nothing_arrives(&mut client, "presence waits past the end of the step").await;
        flushes
            .queue(&outbox, frame("hand raised"), Urgency::Now)
            .unwrap();
        flushes.flush_now();
        assert_receives(&mut client, &[frame("ann online"), frame("hand raised")]).await;
        flushes
            .queue(&outbox, frame("bob online"), Urgency::Soon)
            .unwrap();
        assert_eq!(flushes.soon_at, Some(due), "the first deadline holds");
        flushes.flush_all();
        assert_receives(&mut client, &[frame("bob online")]).await;
        assert_eq!(flushes.soon_at, None);
    }

    #[tokio::test]
    async fn the_outboxes_waiting_for_a_flush_soon_are_bounded() {
        let mut flushes = Flushes::default();
        let outboxes: Vec<Outbox> = (0..FLUSH_SOON_OUTBOXES_MAX)
            .map(|_| Outbox::new(4))
            .collect();
        for outbox in &outboxes[..FLUSH_SOON_OUTBOXES_MAX - 1] {
            flushes
                .queue(outbox, frame("online"), Urgency::Soon)
                .unwrap();
        }
        assert_eq!(flushes.soon.len(), FLUSH_SOON_OUTBOXES_MAX - 1);
        flushes
            .queue(
                &outboxes[FLUSH_SOON_OUTBOXES_MAX - 1],
                frame("online"),
                Urgency::Soon,
            )
            .unwrap();
        assert!(flushes.soon.is_empty(), "the last one flushed them all");
        assert_eq!(flushes.soon_at, None);
        assert!(
            outboxes.iter().all(|outbox| outbox.try_next().is_some()),
            "every frame is still there to write"
        );
    }

    #[test]
    fn queued_commands_stay_small() {
        // A room's queue allocates its slots in blocks; big commands would make every room,
        // busy or idle, pay for the largest one.
        assert!(
            std::mem::size_of::<RoomCommand>() <= 32,
            "RoomCommand is {} bytes; box the large variant",
            std::mem::size_of::<RoomCommand>()
        );
    }
}
