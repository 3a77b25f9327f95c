//! The room actor: one task per live room that alone owns the room's state.
//!
//! Commands arrive on a bounded channel. For each, the actor decides events with the pure state
//! machine against a copy of the state, writes them to the store (with a snapshot every
//! `snapshot_every_events`), and only when the store has made them durable swaps the copy in,
//! fans the events out and acknowledges. A failed write therefore changes nothing and the
//! requester gets `storage_unavailable`.
//!
//! Fan-out serializes each event once and queues the same bytes to every connection the event
//! is for (almost always all of them; see [`Audience`]). A connection whose queue is full is
//! closed with `slow_consumer`; it can resume.

mod roleplay;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use roundtable_protocol::{
    self as wire, CatchUp, CloseReason, Credential, ErrorCode, EventFrame, GroupId, MemberId,
    PresenceReason, Reply, RequestId, ResumePoint, Seq, ServerMessage, UnixMs,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use roundtable_rules::flow;
use roundtable_rules::roleplay::dedupe::ScoringDedupe;
use roundtable_rules::state::{
    self, Audience, FreshMember, RoomError, RoomEvent, RoomState, StoredEvent,
};
use roundtable_rules::{Change, Command, RoomLimits, stored};

use super::ConnectionId;
use crate::clock::{Clock, sleep_until_or_never};
use crate::config::Limits;
use crate::secrets::new_secret;
use crate::store::{AppendBatch, LoadedRoom, LogEntry, Snapshot, Store, StoreError};
use crate::transport::frame::{WireFrame, encode};
use crate::transport::outbox::{Outbox, QueueError, Urgency};

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
        /// Boxed so that every slot of the room's queue stays small.
        command: Box<Command>,
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
    pub reply: oneshot::Sender<Result<MemberId, RoomError>>,
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
}

/// A connection in the room.
#[derive(Debug)]
struct Subscriber {
    member_id: MemberId,
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
    /// The limits the room's rules enforce, from `context.limits`.
    rule_limits: RoomLimits,
    state: RoomState,
    subscribers: HashMap<ConnectionId, Subscriber>,
    /// The last `recent_events_max` events of the current meeting, for resume without I/O.
    recent: VecDeque<RecentEvent>,
    /// Events written since the last snapshot; a snapshot is due at `snapshot_every_events`.
    events_since_snapshot: u64,
    /// Events the first snapshot after loading comes earlier by (see [`snapshot_head_start`]);
    /// 0 once it is written.
    snapshot_head_start: u64,
    /// Set when a presence change could not be stored; retried until it is.
    presence_out_of_date: bool,
    /// Set when this process may no longer own the room (see [`RoomActor::lose_ownership`]).
    ownership_lost: bool,
    /// Who filled which submission slot, as keyed hashes, while scoring is open. Memory only:
    /// never stored, dropped when scoring ends (see `roleplay::dedupe`).
    scoring_dedupe: Option<ScoringDedupe>,
    /// Set when the timer's `time_up` could not be stored; retried after `PRESENCE_RETRY`
    /// instead of at once, so a storage outage does not spin the actor.
    timer_write_failed: bool,
    /// The time of the command being handled, read once per command so that the rules and
    /// the events' `at_ms` agree to the millisecond.
    now_ms: UnixMs,
    /// The outboxes this room queued frames in, to flush.
    flushes: Flushes,
}

/// The outboxes a room queued frames in and has yet to flush. What is urgent goes out at the
/// end of the room's step, so each connection gets what the step had for it in one write (see
/// [`Outbox`]). What can wait ([`Urgency::Soon`]: presence) goes out with the next urgent frame
/// to the same connection, or [`FLUSH_SOON_WITHIN`] after the first of them, whichever comes
/// first: when a room's members come back together (after a network blip or a restart), each
/// member gets the others' arrivals in a few writes instead of one write per arrival.
#[derive(Default)]
struct Flushes {
    now: Vec<Outbox>,
    soon: Vec<Outbox>,
    /// When `soon` is due.
    soon_at: Option<tokio::time::Instant>,
}

/// How soon the room's members must get `event`: a member coming or going can wait a few
/// milliseconds for company (see [`Flushes`]); everything else goes out at the end of the step.
fn urgency_of(event: &RoomEvent) -> Urgency {
    match event {
        RoomEvent::PresenceChanged { .. } => Urgency::Soon,
        _ => Urgency::Now,
    }
}

/// The longest a frame that can wait ([`Urgency::Soon`]) waits for company before it is
/// written: well under what a person notices, and longer than most bursts of joins take.
const FLUSH_SOON_WITHIN: Duration = Duration::from_millis(10);

/// The most outboxes [`Flushes`] lists for a flush soon; past it, it flushes them at once.
const FLUSH_SOON_OUTBOXES_MAX: usize = 1024;

impl Flushes {
    /// Queues `frame` in `outbox`, to be flushed within `urgency`.
    fn queue(
        &mut self,
        outbox: &Outbox,
        frame: WireFrame,
        urgency: Urgency,
    ) -> Result<(), QueueError> {
        if outbox.push_later(frame, urgency)? {
            match urgency {
                Urgency::Now => self.now.push(outbox.clone()),
                Urgency::Soon => {
                    self.soon.push(outbox.clone());
                    self.soon_at
                        .get_or_insert_with(|| tokio::time::Instant::now() + FLUSH_SOON_WITHIN);
                    // An outbox is listed again after each flush now, so a busy room could
                    // list one many times before the deadline: bounded here.
                    if self.soon.len() >= FLUSH_SOON_OUTBOXES_MAX {
                        self.flush_all();
                    }
                }
            }
        }
        Ok(())
    }

    /// Ends a step of the room's loop: writes what is urgent.
    fn flush_now(&mut self) {
        for outbox in self.now.drain(..) {
            outbox.flush();
        }
    }

    /// Writes everything queued (an outbox flushed since it was queued has nothing to write).
    fn flush_all(&mut self) {
        self.flush_now();
        for outbox in self.soon.drain(..) {
            outbox.flush();
        }
        self.soon_at = None;
    }
}

/// Seconds between retries of presence changes that could not be stored.
const PRESENCE_RETRY: Duration = Duration::from_secs(1);

/// The most queued commands a room handles in one step of its loop before it writes what they
/// produced (see [`Flushes`]): enough to batch a burst, few enough that the first
/// command's frames wait only for a handful of others.
const COMMANDS_PER_STEP_MAX: usize = 16;

/// How many events earlier than `every` a room takes its first snapshot after loading: a
/// number below half of `every` drawn from the group's id. Rooms loaded together and busy at
/// the same rate would otherwise take their snapshots at the same moments, each a
/// serialization of the whole room and a larger store write, and the rooms sharing the core
/// would all wait for the burst (BENCHMARKS.md). The log a load replays stays within `every`.
fn snapshot_head_start(group: GroupId, every: u64) -> u64 {
    let half = every / 2;
    if half == 0 {
        return 0;
    }
    // The id's low bits are random (UUID v4).
    (group.as_u128() as u64) % half
}

/// Builds a room from what the store holds and starts its task. `on_stop` runs when the task
/// ends (the registry uses it to forget the room).
pub fn spawn(
    context: RoomContext,
    loaded: LoadedRoom,
    commands: mpsc::Receiver<RoomCommand>,
    on_stop: impl FnOnce() + Send + 'static,
) -> Result<(), StoreError> {
    let mut state = stored::decode_snapshot(&loaded.snapshot.bytes)
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
    let mut recent = VecDeque::new();
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
        recent.push_back(RecentEvent {
            seq: entry.seq,
            frame: event_frame(entry.seq, stored.at_ms, &stored.event),
            audience: stored.event.audience(),
        });
    }
    while recent.len() > context.limits.recent_events_max {
        recent.pop_front();
    }
    let events_since_snapshot = loaded.tail.len() as u64;
    let snapshot_head_start =
        snapshot_head_start(state.group.id, context.limits.snapshot_every_events);
    let actor = RoomActor {
        rule_limits: context.limits.rules(),
        context,
        state,
        subscribers: HashMap::new(),
        recent,
        events_since_snapshot,
        snapshot_head_start,
        // Members online in the stored state are not connected to this process.
        presence_out_of_date: true,
        ownership_lost: false,
        scoring_dedupe: None,
        timer_write_failed: false,
        now_ms: 0,
        flushes: Flushes::default(),
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
        StoreError::Unavailable(_) | StoreError::Conflict(_) => RoomError::new(
            ErrorCode::StorageUnavailable,
            "the change could not be saved; nothing changed, please try again",
        ),
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

    async fn run(mut self: Box<Self>, mut commands: mpsc::Receiver<RoomCommand>) {
        let shutdown = self.context.shutdown.clone();
        info!(group = %self.group_id(), seq = self.state.seq, "room loaded");
        Box::pin(self.reconcile_presence(PresenceReason::ServerRestart)).await;
        let renewal = self.context.limits.room_lease_renewal();
        let mut renew_lease =
            tokio::time::interval_at(tokio::time::Instant::now() + renewal, renewal);
        renew_lease.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // When the room became empty, so that other wake-ups (lease renewals) do not restart
        // the idle wait.
        let mut idle_deadline: Option<tokio::time::Instant> = None;
        loop {
            self.flushes.flush_now();
            if self.ownership_lost {
                self.close_all(
                    CloseReason::RoomMoved,
                    "another server now runs this meeting; reconnect to resume",
                );
                break;
            }
            // A room with a pending deadline stays loaded even when empty, so that `time_up`
            // (and auto-advance) happen on time and are in the log for whoever comes back.
            let timer_wait = self.timer_wait();
            let idle = self.subscribers.is_empty() && timer_wait.is_none();
            idle_deadline = match (idle, idle_deadline) {
                (true, None) => Some(tokio::time::Instant::now() + self.context.limits.room_idle()),
                (true, deadline) => deadline,
                (false, _) => None,
            };
            let retry_presence = self.presence_out_of_date;
            tokio::select! {
                command = commands.recv() => match command {
                    // Boxed, like every rare or long step below: the room's task then stays
                    // small while it waits, which is most of its life.
                    Some(command) => {
                        Box::pin(self.handle(command)).await;
                        // Commands that queued meanwhile (a burst: everyone resuming at once)
                        // are handled in the same step, so what they send each connection goes
                        // out in one write. Nothing waits for this that was not already queued.
                        for _ in 1..COMMANDS_PER_STEP_MAX {
                            if self.ownership_lost {
                                break;
                            }
                            let Ok(command) = commands.try_recv() else {
                                break;
                            };
                            Box::pin(self.handle(command)).await;
                        }
                    }
                    None => break,
                },
                () = sleep_until_or_never(self.flushes.soon_at) => self.flushes.flush_all(),
                () = sleep_until_or_never(idle_deadline) => {
                    debug!(group = %self.group_id(), "room idle; unloading");
                    break;
                }
                _ = tokio::time::sleep(PRESENCE_RETRY), if retry_presence && !idle => {
                    Box::pin(self.reconcile_presence(PresenceReason::ConnectionLost)).await;
                }
                _ = renew_lease.tick() => Box::pin(self.renew_lease()).await,
                _ = tokio::time::sleep(timer_wait.unwrap_or_default()), if timer_wait.is_some() => {
                    Box::pin(self.tick()).await;
                }
                () = shutdown.cancelled() => {
                    self.close_all(CloseReason::ServerShutdown, "the server is shutting down; reconnect shortly");
                    break;
                }
            }
        }
        self.flushes.flush_all();
        // Commands queued after the decision to stop are refused by the dropped channel; the
        // registry then loads the room again for them.
        commands.close();
        if !self.ownership_lost {
            Box::pin(self.write_final_snapshot()).await;
        }
        Box::pin(self.release_lease()).await;
        info!(group = %self.group_id(), seq = self.state.seq, "room stopped");
    }

    // --- Ownership ------------------------------------------------------------------------
    //
    // The registry took the group's lease before loading the room; the room renews it while
    // it is live and releases it when it stops. The store's seq check is the last line of
    // defence: if this process is not the only writer any more (its lease expired during an
    // outage and another process took the room, or a write that timed out was carried out
    // after all), its next append conflicts. Either way the state in memory is no longer the
    // stored truth, so the room stops: it closes every connection with `room_moved` (the
    // clients reconnect and resume from the store, on whichever process owns the room now),
    // writes no final snapshot, and releases the lease if it still holds it.

    /// Renews the lease. A refusal means another process holds it: this one stops. A store
    /// error leaves the room running: the lease may still be valid, and if it is not, the seq
    /// check refuses this room's next write.
    async fn renew_lease(&mut self) {
        let lease_ms = self.context.limits.room_lease_ms;
        match self
            .context
            .store
            .take_lease(self.group_id(), &self.context.lease_owner, lease_ms)
            .await
        {
            Ok(true) => {}
            Ok(false) => self.lose_ownership("another process holds the room's lease"),
            Err(error) => {
                warn!(group = %self.group_id(), %error, "could not renew the room's lease");
            }
        }
    }

    fn lose_ownership(&mut self, why: &str) {
        warn!(group = %self.group_id(), why, "this process no longer owns the room; closing it");
        self.ownership_lost = true;
    }

    async fn release_lease(&self) {
        if let Err(error) = self
            .context
            .store
            .release_lease(self.group_id(), &self.context.lease_owner)
            .await
        {
            // The lease expires by itself; another process waits at most that long.
            warn!(group = %self.group_id(), %error, "could not release the room's lease");
        }
    }

    /// How long until the timer's next deadline (zero when it has passed), or `None` when no
    /// `time_up` is pending.
    fn timer_wait(&self) -> Option<Duration> {
        let deadline_ms = self.state.flow.next_deadline_ms()?;
        let wait = Duration::from_millis(deadline_ms.saturating_sub(self.context.clock.now_ms()));
        Some(if self.timer_write_failed {
            wait.max(PRESENCE_RETRY)
        } else {
            wait
        })
    }

    /// Sends `time_up` (and, with auto-advance, moves the round on) when the deadline has
    /// passed. Waking early (the clock said otherwise) decides nothing; the loop sleeps again.
    async fn tick(&mut self) {
        self.now_ms = self.context.clock.now_ms();
        let now_ms = self.now_ms;
        let events: Vec<RoomEvent> = flow::decide_tick(&self.state, now_ms)
            .into_iter()
            .map(RoomEvent::from)
            .collect();
        self.timer_write_failed = self.commit(events).await.is_err();
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
                let _ = reply.send(result);
            }
            RoomCommand::Request {
                connection_id,
                request_id,
                command,
            } => self.request(connection_id, request_id, &command).await,
            RoomCommand::Inspect { reply } => {
                let _ = reply.send(Box::new(self.state.clone()));
            }
            RoomCommand::Leave {
                connection_id,
                reason,
            } => {
                if self.subscribers.remove(&connection_id).is_some() {
                    self.reconcile_presence(reason).await;
                }
            }
        }
    }

    async fn join(
        &mut self,
        connection_id: ConnectionId,
        request_id: RequestId,
        credential: &Credential,
        resume: Option<ResumePoint>,
        outbox: Outbox,
    ) -> Result<MemberId, RoomError> {
        if self.subscribers.len() >= self.context.limits.connections_per_room_max {
            return Err(RoomError::new(
                ErrorCode::RoomFull,
                "the room has as many connections as it may; close another tab or try later",
            ));
        }
        let (token, token_hash) = new_secret();
        let fresh = FreshMember {
            member_id: MemberId::random(),
            token,
            token_hash,
        };
        let decision = state::decide_join(&self.state, credential, fresh, &self.rule_limits)?;
        let member_id = decision.member_id;
        let mut events = decision.events;
        // Presence is decided on the state after the join's own events (a new member exists
        // only then). A member coming back, the usual join, has none: no copy of the room.
        let presence = if events.is_empty() {
            state::decide_presence(&self.state, member_id, true, PresenceReason::Joined)
        } else {
            let mut preview = self.state.clone();
            for event in &events {
                preview.apply(preview.seq + 1, 0, event);
            }
            state::decide_presence(&preview, member_id, true, PresenceReason::Joined)
        };
        events.extend(presence);
        self.commit(events).await?;

        let role = self
            .state
            .role_of(member_id)
            .expect("a member who just joined is a member");
        let catch_up = self.catch_up(resume, member_id).await;
        let joined = ServerMessage::Ack {
            id: request_id,
            result: Reply::Joined(wire::Joined {
                member_id,
                role,
                meeting_id: self.state.meeting.id,
                member_token: decision.issued_token,
                catch_up: match catch_up {
                    CatchUpFrames::Replay(_) => CatchUp::Replay,
                    CatchUpFrames::Snapshot(_) => CatchUp::Snapshot,
                },
            }),
        };
        let mut queued = self.flushes.queue(&outbox, encode(&joined), Urgency::Now);
        match catch_up {
            CatchUpFrames::Replay(frames) => {
                for frame in frames {
                    if queued.is_err() {
                        break;
                    }
                    queued = self.flushes.queue(&outbox, frame, Urgency::Now);
                }
            }
            CatchUpFrames::Snapshot(frame) => {
                queued = queued.and_then(|()| self.flushes.queue(&outbox, frame, Urgency::Now));
            }
        }
        if queued == Err(QueueError::Full) {
            outbox.close(
                CloseReason::SlowConsumer,
                "too many missed events to send at once; resume again",
            );
        }
        self.subscribers
            .insert(connection_id, Subscriber { member_id, outbox });
        info!(group = %self.group_id(), member = %member_id, connection = connection_id, "joined");
        Ok(member_id)
    }

    async fn request(
        &mut self,
        connection_id: ConnectionId,
        request_id: RequestId,
        command: &Command,
    ) {
        let Some(member_id) = self.subscribers.get(&connection_id).map(|s| s.member_id) else {
            return;
        };
        let result = match command {
            Command::Change(change) => self.change(member_id, change).await,
            Command::Query(query) => Ok(state::answer(&self.state, member_id, query)),
            Command::RolePlay(action) => self
                .role_play_request(member_id, action)
                .await
                .map(|()| Reply::Done),
            Command::SubmitScores(submission) => self
                .submit(member_id, submission)
                .await
                .map(|()| Reply::Done),
            Command::StartNextMeeting => self
                .start_next_meeting(member_id)
                .await
                .map(|()| Reply::Done),
        };
        let Some(subscriber) = self.subscribers.get(&connection_id) else {
            return;
        };
        let answer = match result {
            Ok(reply) => ServerMessage::Ack {
                id: request_id,
                result: reply,
            },
            Err(error) => {
                // Role play refusals are not logged: a line naming the member next to a refused
                // submission would tell when they tried to score.
                if !matches!(command, Command::RolePlay(_) | Command::SubmitScores(_)) {
                    debug!(group = %self.group_id(), member = %member_id, code = error.code.as_str(), "request refused");
                }
                error_message(Some(request_id), &error)
            }
        };
        if self
            .flushes
            .queue(&subscriber.outbox, encode(&answer), Urgency::Now)
            == Err(QueueError::Full)
        {
            self.drop_slow(vec![connection_id]).await;
        }
    }

    /// Decides a change with the rules, then commits its events.
    async fn change(&mut self, member_id: MemberId, change: &Change) -> Result<Reply, RoomError> {
        let events = state::decide(
            &self.state,
            member_id,
            change,
            &self.rule_limits,
            self.now_ms,
        )?;
        let reply = state::reply_for(&events);
        self.commit(events).await?;
        Ok(reply)
    }

    /// Persists `events`, then applies them and sends them to everyone in the room.
    async fn commit(&mut self, events: Vec<RoomEvent>) -> Result<(), RoomError> {
        self.commit_from(None, events, false).await
    }

    /// Like [`Self::commit`], from `next`, a copy of the state that may carry a change that is
    /// not an event (a submission), with a snapshot in the same write when `with_snapshot`.
    async fn commit_from(
        &mut self,
        base: Option<RoomState>,
        events: Vec<RoomEvent>,
        with_snapshot: bool,
    ) -> Result<(), RoomError> {
        if events.is_empty() && !with_snapshot {
            return Ok(());
        }
        let now_ms = self.now_ms;
        let snapshot_due = with_snapshot
            || self.events_since_snapshot + self.snapshot_head_start + events.len() as u64
                >= self.context.limits.snapshot_every_events;
        // The state after the events is built ahead of the write only when it must be stored
        // with them (a snapshot) or the caller brought its own; otherwise the events are
        // applied to the state in place once they are stored, which spares a copy of the
        // whole room per action.
        debug_assert!(
            !events
                .iter()
                .any(|event| matches!(event, RoomEvent::NextMeetingStarted { .. })),
            "a meeting switch goes through start_next_meeting"
        );
        let mut next = match base {
            Some(base) => Some(base),
            None if snapshot_due => Some(self.state.clone()),
            None => None,
        };
        let first_seq = next.as_ref().unwrap_or(&self.state).seq + 1;
        let mut entries = Vec::with_capacity(events.len());
        let mut frames = Vec::with_capacity(events.len());
        for (seq, event) in (first_seq..).zip(&events) {
            if let Some(next) = next.as_mut() {
                next.apply(seq, now_ms, event);
            }
            let stored = StoredEvent {
                at_ms: now_ms,
                event: event.clone(),
            };
            entries.push(LogEntry {
                seq,
                bytes: stored::encode_event(&stored),
            });
            frames.push(RecentEvent {
                seq,
                frame: event_frame(seq, now_ms, event),
                audience: event.audience(),
            });
        }
        let snapshot = next
            .as_ref()
            .filter(|_| snapshot_due)
            .map(|next| self.snapshot_of(next));
        let batch = AppendBatch {
            group_id: self.group_id(),
            meeting_id: next.as_ref().unwrap_or(&self.state).meeting.id,
            entries: &entries,
            snapshot: snapshot.as_ref(),
        };
        if let Err(error) = self.context.store.append(batch).await {
            warn!(group = %self.group_id(), %error, "could not persist events");
            if matches!(error, StoreError::Conflict(_)) {
                self.lose_ownership("the log has moved on without this room");
            }
            return Err(storage_error(&error));
        }
        self.events_since_snapshot = if snapshot_due {
            self.snapshot_head_start = 0;
            0
        } else {
            self.events_since_snapshot + entries.len() as u64
        };
        match next {
            Some(next) => self.state = next,
            None => {
                for (seq, event) in (first_seq..).zip(&events) {
                    self.state.apply(seq, now_ms, event);
                }
            }
        }
        debug_assert_eq!(self.state.check_invariants(), Ok(()));

        let removed: Vec<MemberId> = events
            .iter()
            .filter_map(|event| match event {
                RoomEvent::MemberRemoved { member_id } => Some(*member_id),
                _ => None,
            })
            .collect();
        let mut slow = Vec::new();
        for (recent, event) in frames.into_iter().zip(&events) {
            let urgency = urgency_of(event);
            for (connection_id, subscriber) in &self.subscribers {
                if !recent.audience.includes(subscriber.member_id) {
                    continue;
                }
                if self
                    .flushes
                    .queue(&subscriber.outbox, recent.frame.clone(), urgency)
                    == Err(QueueError::Full)
                {
                    slow.push(*connection_id);
                }
            }
            self.recent.push_back(recent);
            if self.recent.len() > self.context.limits.recent_events_max {
                self.recent.pop_front();
            }
        }
        if !removed.is_empty() {
            self.subscribers.retain(|_, subscriber| {
                let gone = removed.contains(&subscriber.member_id);
                if gone {
                    subscriber.outbox.close(
                        CloseReason::Removed,
                        "the facilitator removed you from this group",
                    );
                }
                !gone
            });
        }
        if !slow.is_empty() {
            slow.sort_unstable();
            slow.dedup();
            Box::pin(self.drop_slow(slow)).await;
        }
        Ok(())
    }

    /// Ends the current meeting and starts the next. The new meeting's snapshot is written
    /// first: once it is durable the switch has happened, whatever comes after. Then the ended
    /// meeting's log gets its last event, for clients that resume into it.
    async fn start_next_meeting(&mut self, by: MemberId) -> Result<(), RoomError> {
        let events = state::decide_next_meeting(&self.state, by, wire::MeetingId::random())?;
        let now_ms = self.now_ms;
        let ended_meeting = self.state.meeting.id;
        let last_seq = self.state.seq + 1;
        let mut next = self.state.clone();
        for event in &events {
            next.apply(last_seq, now_ms, event);
        }
        let snapshot = self.snapshot_of(&next);
        let switch = AppendBatch {
            group_id: self.group_id(),
            meeting_id: next.meeting.id,
            entries: &[],
            snapshot: Some(&snapshot),
        };
        if let Err(error) = self.context.store.append(switch).await {
            warn!(group = %self.group_id(), %error, "could not start the next meeting");
            if matches!(error, StoreError::Conflict(_)) {
                self.lose_ownership("the store refused the next meeting's snapshot");
            }
            return Err(storage_error(&error));
        }
        let entries: Vec<LogEntry> = events
            .iter()
            .map(|event| LogEntry {
                seq: last_seq,
                bytes: stored::encode_event(&StoredEvent {
                    at_ms: now_ms,
                    event: event.clone(),
                }),
            })
            .collect();
        let last_event = AppendBatch {
            group_id: self.group_id(),
            meeting_id: ended_meeting,
            entries: &entries,
            snapshot: None,
        };
        if let Err(error) = self.context.store.append(last_event).await {
            // The switch is durable; a client resuming into the ended meeting gets a snapshot.
            warn!(group = %self.group_id(), %error, "ended meeting's last event not logged");
        }
        // Retention trims the ended meeting's log once it is old enough; if this record is
        // lost the log is simply kept.
        if let Err(error) = self.context.store.end_meeting(ended_meeting, now_ms).await {
            warn!(group = %self.group_id(), %error, "ended meeting not recorded for retention");
        }
        self.state = next;
        self.events_since_snapshot = 0;
        self.recent.clear();
        info!(group = %self.group_id(), meeting = %self.state.meeting.id, number = self.state.meeting.number, "next meeting started");
        let frames: Vec<WireFrame> = events
            .iter()
            .map(|event| event_frame(last_seq, now_ms, event))
            .collect();
        // Snapshots are per viewer (a buyer brief is in the buyer's only): one serialization per
        // member, shared by that member's connections.
        let mut snapshots: HashMap<MemberId, WireFrame> = HashMap::new();
        let mut slow = Vec::new();
        for (connection_id, subscriber) in &self.subscribers {
            let snapshot = snapshots
                .entry(subscriber.member_id)
                .or_insert_with(|| {
                    encode(&ServerMessage::Snapshot(
                        self.wire_snapshot_for(subscriber.member_id),
                    ))
                })
                .clone();
            let queued = frames
                .iter()
                .chain(std::iter::once(&snapshot))
                .try_for_each(|frame| {
                    self.flushes
                        .queue(&subscriber.outbox, frame.clone(), Urgency::Now)
                });
            if queued == Err(QueueError::Full) {
                slow.push(*connection_id);
            }
        }
        if !slow.is_empty() {
            Box::pin(self.drop_slow(slow)).await;
        }
        Ok(())
    }

    /// Closes connections that cannot keep up and records who went offline.
    async fn drop_slow(&mut self, connection_ids: Vec<ConnectionId>) {
        for connection_id in connection_ids {
            if let Some(subscriber) = self.subscribers.remove(&connection_id) {
                warn!(group = %self.group_id(), connection = connection_id, "slow consumer disconnected");
                subscriber.outbox.close(
                    CloseReason::SlowConsumer,
                    "you fell too far behind the room; reconnect to resume",
                );
            }
        }
        self.reconcile_presence(PresenceReason::ConnectionLost)
            .await;
    }

    /// Brings the stored presence in line with who is connected now. A failed write is retried
    /// later, so presence is eventually right even across a storage outage.
    async fn reconcile_presence(&mut self, reason: PresenceReason) {
        self.now_ms = self.context.clock.now_ms();
        let connected: std::collections::BTreeSet<MemberId> = self
            .subscribers
            .values()
            .map(|subscriber| subscriber.member_id)
            .collect();
        let mut events = Vec::new();
        for member in &self.state.members {
            let online = connected.contains(&member.id);
            if let Some(event) = state::decide_presence(&self.state, member.id, online, reason) {
                events.push(event);
            }
        }
        self.presence_out_of_date = match self.commit(events).await {
            Ok(()) => false,
            Err(_) => true,
        };
    }

    /// The frames that bring a joining connection of `viewer` up to date: only what is meant
    /// for them.
    async fn catch_up(&self, resume: Option<ResumePoint>, viewer: MemberId) -> CatchUpFrames {
        let snapshot = || {
            CatchUpFrames::Snapshot(encode(&ServerMessage::Snapshot(
                self.wire_snapshot_for(viewer),
            )))
        };
        let Some(resume) = resume else {
            return snapshot();
        };
        let current = self.state.seq;
        if resume.meeting_id != self.state.meeting.id
            || resume.seq > current
            || current - resume.seq > self.context.limits.replay_events_max as u64
        {
            return snapshot();
        }
        if resume.seq == current {
            return CatchUpFrames::Replay(Vec::new());
        }
        // The recent events cover the gap: no I/O.
        if let Some(first) = self.recent.front()
            && first.seq <= resume.seq + 1
        {
            let frames = self
                .recent
                .iter()
                .filter(|recent| recent.seq > resume.seq && recent.audience.includes(viewer))
                .map(|recent| recent.frame.clone())
                .collect();
            return CatchUpFrames::Replay(frames);
        }
        // Otherwise read the log; any gap in it (trimmed entries) means a snapshot.
        let wanted = (current - resume.seq) as usize;
        match self
            .context
            .store
            .read_log(self.state.meeting.id, resume.seq, wanted)
            .await
        {
            Ok(entries) => {
                let mut frames = Vec::with_capacity(entries.len());
                for (offset, entry) in entries.iter().enumerate() {
                    let expected = resume.seq + 1 + offset as u64;
                    let Ok(stored) = stored::decode_event(&entry.bytes) else {
                        return snapshot();
                    };
                    if entry.seq != expected {
                        return snapshot();
                    }
                    if stored.event.audience().includes(viewer) {
                        frames.push(event_frame(entry.seq, stored.at_ms, &stored.event));
                    }
                }
                if entries.len() == wanted {
                    CatchUpFrames::Replay(frames)
                } else {
                    snapshot()
                }
            }
            Err(error) => {
                warn!(group = %self.group_id(), %error, "could not read the log for a resume; sending a snapshot");
                snapshot()
            }
        }
    }

    fn snapshot_of(&self, state: &RoomState) -> Snapshot {
        Snapshot {
            meeting_id: state.meeting.id,
            seq: state.seq,
            bytes: stored::encode_snapshot(state),
        }
    }

    fn close_all(&mut self, reason: CloseReason, message: &str) {
        for subscriber in self.subscribers.values() {
            subscriber.outbox.close(reason, message);
        }
        self.subscribers.clear();
    }

    async fn write_final_snapshot(&mut self) {
        if self.events_since_snapshot == 0 {
            return;
        }
        let snapshot = self.snapshot_of(&self.state);
        let batch = AppendBatch {
            group_id: self.group_id(),
            meeting_id: self.state.meeting.id,
            entries: &[],
            snapshot: Some(&snapshot),
        };
        match self.context.store.append(batch).await {
            Ok(()) => self.events_since_snapshot = 0,
            // The log holds every event, so the next load replays it; nothing is lost.
            Err(error) => warn!(group = %self.group_id(), %error, "final snapshot not written"),
        }
    }
}

enum CatchUpFrames {
    Replay(Vec<WireFrame>),
    Snapshot(WireFrame),
}

#[cfg(test)]
mod tests {
    use super::{
        FLUSH_SOON_OUTBOXES_MAX, FLUSH_SOON_WITHIN, Flushes, RoomCommand, Urgency,
        snapshot_head_start,
    };
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
