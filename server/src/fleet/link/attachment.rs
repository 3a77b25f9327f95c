//! What an edge knows of a client it forwards, kept across the owners it forwards the client
//! to: enough to join the client again wherever its room goes, over the connection the client
//! already has (see `transport::connection::forward`, "re-attach").
//!
//! The link's reader fills it from the owner's frames without parsing them, bar one: the
//! answer to the join. Every ack and error the server writes begins `{"type":"ack","id":` or
//! `{"type":"error","id":`, every event `{"type":"event","seq":` and every snapshot
//! `{"type":"snapshot","seq":` (a test holds the serializer to that), so telling which of the
//! client's requests are answered, and how far the client is in its room's history, costs a
//! prefix check per frame.
//!
//! **Where the client stands.** From the join's ack (its log epoch and meeting, and whether a
//! snapshot or the replay of the join's own resume point follows) and the seqs of the events
//! and snapshots passed on since, the edge knows the client's resume point as well as the
//! client does: a join made again sends it, so the room where it went replays what the client
//! missed (it holds the log epoch the client's state is in: ARCHITECTURE.md, "Log epochs")
//! rather than sending a snapshot. Every frame passed on reaches the client before the
//! answer to the join made again, in the client's own outbox. A snapshot the edge cannot place
//! (none follows a join) makes the point unknown, and the join made again asks for none.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use roundtable_protocol::{
    CatchUp, CloseReason, Credential, GroupId, LogEpoch, MeetingId, Reply, RequestId, ResumePoint,
    Seq, ServerMessage,
};
use serde::Deserialize;
use tokio::sync::Notify;

use crate::room::fleet::TurnHold;
use crate::transport::outbox::Keep;

/// The most unanswered requests an edge remembers per client: a client within its request
/// rate has far fewer under way. Past it the oldest is forgotten (it then gets no
/// `connection_lost` if its room moves before the answer).
pub const IN_FLIGHT_MAX: usize = 64;

const ACK_PREFIX: &str = r#"{"type":"ack","id":"#;
const ERROR_PREFIX: &str = r#"{"type":"error","id":"#;
const EVENT_PREFIX: &str = r#"{"type":"event","seq":"#;
const SNAPSHOT_PREFIX: &str = r#"{"type":"snapshot","seq":"#;

/// A forwarded client's session, as its edge knows it. Its member token is a credential: it is
/// never logged (the `Debug` form leaves it out).
pub struct Attachment {
    group_id: GroupId,
    /// The id of the client's join: a join made again answers under it.
    join_id: RequestId,
    state: Mutex<State>,
    moved: Notify,
}

#[derive(Default)]
struct State {
    /// The member token to join with again: the credential's own, or the one the first
    /// join's ack issued. `None` while neither is known.
    token: Option<String>,
    /// The client's own join carries nothing but a member token (no invite or facilitator
    /// secret): sent again it creates nothing, so while it is unanswered, a room that goes
    /// away has it sent again where the room runs now, rather than the client closed.
    token_join: bool,
    /// The client's join was acknowledged: it is in the room (until then a move closes it,
    /// unless it is a token join, which is sent again; a refused join reaches it as its
    /// answer).
    joined: bool,
    /// A join (the client's, or one made again) is waiting for its answer.
    awaiting_join: bool,
    /// That join is one this edge made again (for a client in the room, or the client's own
    /// token join sent again): a refusal closes the client rather than reaching it.
    rejoining: bool,
    /// The client's requests passed on and not answered yet, oldest first.
    in_flight: VecDeque<RequestId>,
    /// Why the room went away from the node the client was forwarded to, until the client's
    /// connection takes it.
    moved: Option<(CloseReason, String)>,
    /// Since when, and why, the client has had no room: its room went away, and the join
    /// made again has not been answered yet (the gap `roundtable_edge_reattach_seconds`
    /// measures). Not for a client whose own join is sent again: it was in no room yet, and
    /// its wait may hold a whole wait for a lease.
    gone_since: Option<(Instant, Gone)>,
    /// What the close of the room the client follows keeps alive until the join made again
    /// is answered (in a drain, the room's place among the handovers; see `room::fleet`).
    keep: Option<Keep>,
    /// Where the client stands in its room's history (see the module's comment); `None`
    /// while not known.
    position: Option<ResumePoint>,
    /// The resume point the join awaiting its answer sent: a replay continues from it.
    asked: Option<ResumePoint>,
    /// A join acknowledged with a snapshot catch-up: the meeting and log epoch the snapshot
    /// that follows is in.
    awaiting_snapshot: Option<(MeetingId, LogEpoch)>,
}

/// Why a client's room went away from the node it ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// The node handed the room over (a drain, a rebalance, a lease lost): it closed the
    /// client's stream, or, in this node's own drain, the client's connection here.
    HandedOver,
    /// The link to the node broke (the node was killed, or the network cut).
    LinkLost,
}

impl Gone {
    pub fn as_str(self) -> &'static str {
        match self {
            Gone::HandedOver => "handed_over",
            Gone::LinkLost => "link_lost",
        }
    }
}

/// What the link does with one of the owner's frames, after [`Attachment::seen`].
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// Pass it to the client.
    Pass,
    /// It refuses a join this edge made again: the client is closed instead (its own
    /// reconnection meets the refusal, or the room, wherever it is by then).
    RejoinRefused,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("group_id", &self.group_id)
            .field("join_id", &self.join_id)
            .finish_non_exhaustive()
    }
}

impl Attachment {
    /// The session of a client whose join `join_id` into `group_id`, with `credential` and
    /// the resume point `resume`, is being forwarded.
    pub fn new(
        group_id: GroupId,
        join_id: RequestId,
        credential: &Credential,
        resume: Option<ResumePoint>,
    ) -> Attachment {
        Attachment {
            group_id,
            join_id,
            state: Mutex::new(State {
                token: member_token(credential),
                token_join: matches!(credential, Credential::MemberToken { .. }),
                awaiting_join: true,
                asked: resume,
                ..State::default()
            }),
            moved: Notify::new(),
        }
    }

    /// The session of a client joined to a room on this node with join `join_id` and member
    /// `token`, which in a drain follows the room to the node it is handed to (see
    /// `transport::connection::forward`): made when the room's close reached the client's
    /// connection, which is when its gap is counted from, unless `keep` (from the room's
    /// close) is the room's handover, which says when the room stopped and where its members
    /// stand in its history (every frame the room sent them is in their outbox). `keep` is
    /// kept until the join made again has its answer, or the client goes.
    pub fn joined(
        group_id: GroupId,
        join_id: RequestId,
        token: String,
        keep: Option<Keep>,
    ) -> Attachment {
        let handover = keep
            .as_deref()
            .and_then(|keep| keep.downcast_ref::<TurnHold>());
        let since = handover.map_or_else(Instant::now, TurnHold::stopped_at);
        let position = handover.and_then(TurnHold::resume_point);
        Attachment {
            group_id,
            join_id,
            state: Mutex::new(State {
                token: Some(token),
                joined: true,
                gone_since: Some((since, Gone::HandedOver)),
                keep,
                position,
                ..State::default()
            }),
            moved: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn group_id(&self) -> GroupId {
        self.group_id
    }

    pub fn join_id(&self) -> RequestId {
        self.join_id
    }

    /// The client sent `text` on to the owner: a request whose answer is now awaited.
    pub fn sent(&self, text: &str) {
        #[derive(Deserialize)]
        struct IdOnly {
            id: Option<RequestId>,
        }
        let Some(id) = serde_json::from_str::<IdOnly>(text)
            .ok()
            .and_then(|frame| frame.id)
        else {
            return;
        };
        let mut state = self.lock();
        if state.in_flight.len() >= IN_FLIGHT_MAX {
            state.in_flight.pop_front();
        }
        state.in_flight.push_back(id);
    }

    /// The owner sent `text` to the client: notes the request it answers, the member token a
    /// join's ack issues, and how far the client is in its room's history.
    pub fn seen(&self, text: &str) -> Seen {
        if let Some(seq) = seq_after(text, EVENT_PREFIX) {
            if let Some(position) = self.lock().position.as_mut() {
                position.seq = seq;
            }
            return Seen::Pass;
        }
        if let Some(seq) = seq_after(text, SNAPSHOT_PREFIX) {
            let mut state = self.lock();
            state.position = state
                .awaiting_snapshot
                .take()
                .map(|(meeting_id, log_epoch)| ResumePoint {
                    meeting_id,
                    seq,
                    log_epoch: Some(log_epoch),
                });
            return Seen::Pass;
        }
        let Some((id, refused)) = answered_id(text) else {
            return Seen::Pass;
        };
        // What the room's close kept alive, let go at the answer: declared before the lock, so
        // dropped after it (the last one frees a drain's place).
        let mut _answered: Option<Keep> = None;
        let mut state = self.lock();
        if let Some(at) = state.in_flight.iter().position(|&sent| sent == id) {
            state.in_flight.remove(at);
        }
        if !state.awaiting_join || id != self.join_id {
            return Seen::Pass;
        }
        state.awaiting_join = false;
        state.joined |= !refused;
        _answered = state.keep.take();
        let rejoined = std::mem::take(&mut state.rejoining);
        let gone_since = state.gone_since.take();
        if rejoined
            && !refused
            && let Some((since, why)) = gone_since
        {
            crate::metrics::forwarding::reattach_gap(why.as_str(), since.elapsed());
        }
        if refused {
            return if rejoined {
                Seen::RejoinRefused
            } else {
                Seen::Pass
            };
        }
        let asked = state.asked.take();
        let Ok(ServerMessage::Ack {
            result: Reply::Joined(joined),
            ..
        }) = serde_json::from_str(text)
        else {
            state.position = None;
            return Seen::Pass;
        };
        if state.token.is_none() {
            state.token = joined.member_token;
        }
        // Where the client stands once its catch-up is through: the replay continues the point
        // the join sent, in the room's epoch; a snapshot places it anew.
        state.awaiting_snapshot = None;
        state.position = None;
        match joined.catch_up {
            CatchUp::Replay => {
                state.position = asked.map(|asked| ResumePoint {
                    meeting_id: joined.meeting_id,
                    seq: asked.seq,
                    log_epoch: Some(joined.log_epoch),
                });
            }
            CatchUp::Snapshot => {
                state.awaiting_snapshot = Some((joined.meeting_id, joined.log_epoch));
            }
        }
        Seen::Pass
    }

    /// Whether the join waiting for its answer is one this edge made again (see
    /// [`Attachment::rejoin`]).
    pub fn joining_again(&self) -> bool {
        let state = self.lock();
        state.awaiting_join && state.rejoining
    }

    /// Whether no join of the client's (its own, or one made again) waits for its answer.
    pub fn settled(&self) -> bool {
        !self.lock().awaiting_join
    }

    /// The room went away from the node the client is forwarded to (that node closed the
    /// stream for this reason, or the link to it broke: `why`): wakes the client's connection.
    pub fn moved(&self, why: Gone, reason: CloseReason, message: String) {
        let mut state = self.lock();
        state.moved = Some((reason, message));
        state.gone_since.get_or_insert((Instant::now(), why));
        drop(state);
        self.moved.notify_one();
    }

    /// The join made again was answered on this node (the room runs here now): the client's
    /// gap ends.
    pub fn rejoined_here(&self) {
        let mut state = self.lock();
        let _answered = state.keep.take();
        if let Some((since, why)) = state.gone_since.take() {
            crate::metrics::forwarding::reattach_gap(why.as_str(), since.elapsed());
        }
        drop(state);
    }

    /// Waits until [`Attachment::moved`] (at once if it was called meanwhile).
    pub async fn wait_moved(&self) {
        self.moved.notified().await;
    }

    /// Why the room went away, once.
    pub fn take_moved(&self) -> Option<(CloseReason, String)> {
        self.lock().moved.take()
    }

    /// Makes ready to join again: the member token, the requests that were under way, which
    /// will never be answered now, and where the client stands, to resume from. A client's
    /// own join that is still unanswered is sent again as it was (from the point it asked
    /// for) when it carries only a member token. `None` when the client's join was refused or
    /// never acknowledged otherwise (it is answered by the close), or no token is known.
    pub fn rejoin(&self) -> Option<JoinAgain> {
        let mut state = self.lock();
        let resent = !state.joined && state.awaiting_join && state.token_join;
        if !state.joined && !resent {
            return None;
        }
        let token = state.token.clone()?;
        state.awaiting_join = true;
        state.rejoining = true;
        // The client's join was answered, but a snapshot it announced never came: the point
        // is not known.
        state.awaiting_snapshot = None;
        if resent {
            // In no room yet: no gap of a client in one is counted for it.
            state.gone_since = None;
        } else {
            state.asked = state.position;
        }
        // An unanswered join is answered by the join made again, under its id.
        let join_id = self.join_id;
        let unanswered = state.in_flight.drain(..).filter(|&id| id != join_id);
        Some(JoinAgain {
            token,
            unanswered: unanswered.collect(),
            resume: state.asked,
        })
    }
}

/// The member token a join's credential carries, if it does.
pub fn member_token(credential: &Credential) -> Option<String> {
    match credential {
        Credential::MemberToken { token } => Some(token.clone()),
        Credential::Facilitator { member_token, .. } => member_token.clone(),
        Credential::Invite { .. } => None,
    }
}

/// What joining a client again takes ([`Attachment::rejoin`]).
#[derive(Debug, PartialEq, Eq)]
pub struct JoinAgain {
    /// The member token to join with.
    pub token: String,
    /// The client's requests that were under way: they get `connection_lost`.
    pub unanswered: Vec<RequestId>,
    /// Where the client stands in its room's history, when the edge knows (for the client's
    /// own join sent again, the point that join asked for).
    pub resume: Option<ResumePoint>,
}

/// The seq that follows `prefix` at the start of `text`, if it does.
fn seq_after(text: &str, prefix: &str) -> Option<Seq> {
    let rest = text.strip_prefix(prefix)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

/// The request id an ack or error frame of the server's answers, and whether it is an error.
fn answered_id(text: &str) -> Option<(RequestId, bool)> {
    let (rest, error) = match text.strip_prefix(ACK_PREFIX) {
        Some(rest) => (rest, false),
        None => (text.strip_prefix(ERROR_PREFIX)?, true),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok().map(|id| (id, error))
}

#[cfg(test)]
mod tests;
