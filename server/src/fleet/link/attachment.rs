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
mod tests {
    use roundtable_protocol::{ErrorCode, Joined, MemberId, Role};

    use super::*;

    fn joined(token: Option<&str>) -> ServerMessage {
        ServerMessage::Ack {
            id: 1,
            result: Reply::Joined(Joined {
                member_id: MemberId::random(),
                role: Role::Member,
                meeting_id: MeetingId::random(),
                member_token: token.map(str::to_string),
                catch_up: CatchUp::Snapshot,
                log_epoch: LogEpoch::random(),
            }),
        }
    }

    /// A join's credential that creates a member: only the ack names the member's token.
    fn invite() -> Credential {
        Credential::Invite {
            secret: "invite-secret".into(),
            display_name: "Ana".into(),
            observer: false,
        }
    }

    fn token(token: &str) -> Credential {
        Credential::MemberToken {
            token: token.into(),
        }
    }

    fn encode(message: &ServerMessage) -> String {
        serde_json::to_string(message).unwrap()
    }

    #[test]
    fn the_servers_acks_and_errors_name_their_request_where_the_link_looks() {
        let ack = encode(&joined(None));
        assert_eq!(answered_id(&ack), Some((1, false)));
        let error = encode(&ServerMessage::Error {
            id: Some(77),
            code: ErrorCode::Forbidden,
            message: "no".into(),
        });
        assert_eq!(answered_id(&error), Some((77, true)));
        let unnamed = encode(&ServerMessage::Error {
            id: None,
            code: ErrorCode::Invalid,
            message: "no".into(),
        });
        assert_eq!(answered_id(&unnamed), None);
        assert_eq!(answered_id(r#"{"type":"event","seq":3}"#), None);
    }

    #[test]
    fn a_join_made_again_uses_the_token_the_first_ack_issued_and_answers_what_was_under_way() {
        let attachment = Attachment::new(GroupId::random(), 1, &invite(), None);
        attachment.sent(r#"{"v":1,"id":1,"type":"join"}"#);
        assert_eq!(attachment.rejoin(), None, "not joined before the ack");
        assert_eq!(attachment.seen(&encode(&joined(Some("tok")))), Seen::Pass);
        attachment.sent(r#"{"v":1,"id":2,"type":"raise_hand"}"#);
        attachment.sent(r#"{"v":1,"id":3,"type":"lower_hand"}"#);
        attachment.seen(r#"{"type":"ack","id":2,"result":{"kind":"done"}}"#);
        let again = attachment.rejoin().expect("a token");
        assert_eq!(again.token, "tok");
        assert_eq!(again.unanswered, vec![3]);
        // The join made again is refused: the client is closed instead.
        let refused = encode(&ServerMessage::Error {
            id: Some(1),
            code: ErrorCode::Unauthorized,
            message: "removed".into(),
        });
        assert_eq!(attachment.seen(&refused), Seen::RejoinRefused);
        // A later error under the join's id (none is awaited) passes.
        assert_eq!(attachment.seen(&refused), Seen::Pass);
    }

    #[test]
    fn the_clients_own_token_is_kept_and_its_first_joins_refusal_reaches_it() {
        let attachment = Attachment::new(GroupId::random(), 4, &token("own"), None);
        let refused = encode(&ServerMessage::Error {
            id: Some(4),
            code: ErrorCode::RoomElsewhere,
            message: "elsewhere".into(),
        });
        assert_eq!(attachment.seen(&refused), Seen::Pass);
        assert_eq!(
            attachment.rejoin(),
            None,
            "a client never joined is not joined again"
        );
        let retried = Attachment::new(GroupId::random(), 4, &token("own"), None);
        let mut joined = joined(None);
        if let ServerMessage::Ack { id, .. } = &mut joined {
            *id = 4;
        }
        assert_eq!(retried.seen(&encode(&joined)), Seen::Pass);
        assert_eq!(
            retried.rejoin().map(|again| again.token).as_deref(),
            Some("own")
        );
        assert!(
            !format!("{retried:?}").contains("own"),
            "the token is never printed"
        );
    }

    #[test]
    fn a_token_join_still_unanswered_when_its_room_goes_is_sent_again_from_its_own_point() {
        let meeting = MeetingId::random();
        let asked = point(meeting, 10, LogEpoch::random());
        let resuming = Attachment::new(GroupId::random(), 3, &token("own"), asked);
        resuming.sent(r#"{"v":1,"id":3,"type":"join"}"#);
        resuming.sent(r#"{"v":1,"id":4,"type":"ping","client_time_ms":1}"#);
        let again = resuming.rejoin().expect("sent again");
        assert_eq!(again.token, "own");
        assert_eq!(again.resume, asked, "from the point the client asked for");
        assert_eq!(
            again.unanswered,
            vec![4],
            "the join itself is answered by its resend"
        );
        // Its answer is the client's; a refusal of it closes the client, as a join made again.
        let refused = encode(&ServerMessage::Error {
            id: Some(3),
            code: ErrorCode::RoomElsewhere,
            message: "elsewhere".into(),
        });
        assert_eq!(resuming.seen(&refused), Seen::RejoinRefused);
        assert_eq!(resuming.rejoin(), None, "refused: never joined");
        // Sent again twice before an answer: still from the client's own point.
        let twice = Attachment::new(GroupId::random(), 3, &token("own"), asked);
        twice.rejoin().expect("sent again");
        assert_eq!(twice.rejoin().expect("sent again").resume, asked);
        // Acknowledged with a replay: it stands where the replay takes it, as any client.
        let epoch = LogEpoch::random();
        assert_eq!(
            twice.seen(&ack(3, CatchUp::Replay, meeting, epoch)),
            Seen::Pass
        );
        twice.seen(&event(11));
        assert_eq!(twice.rejoin().unwrap().resume, point(meeting, 11, epoch));

        // A join with an invite or the facilitator secret may create or change a member:
        // unanswered, it is not sent again (the client is closed and reconnects).
        assert_eq!(
            Attachment::new(GroupId::random(), 1, &invite(), None).rejoin(),
            None
        );
        let facilitator = Credential::Facilitator {
            secret: "facilitator-secret".into(),
            display_name: "Bo".into(),
            member_token: Some("own".into()),
        };
        assert_eq!(
            Attachment::new(GroupId::random(), 1, &facilitator, None).rejoin(),
            None
        );
    }

    #[test]
    fn a_client_following_its_room_keeps_the_rooms_close_until_its_join_is_answered() {
        let keep: Keep = std::sync::Arc::new(());
        let kept = |keep: &Keep| std::sync::Arc::strong_count(keep) - 1;
        let following = Attachment::joined(
            GroupId::random(),
            1,
            "tok".into(),
            Some(std::sync::Arc::clone(&keep)),
        );
        following.rejoin().expect("joined again");
        following.seen(r#"{"type":"ack","id":2,"result":{"kind":"done"}}"#);
        following.seen(r#"{"type":"event","seq":9}"#);
        assert_eq!(kept(&keep), 1, "kept until the join's own answer");
        assert_eq!(following.seen(&encode(&joined(None))), Seen::Pass);
        assert_eq!(kept(&keep), 0, "let go at the answer");
        // Answered where the room now runs (on this node): let go too.
        let here = Attachment::joined(
            GroupId::random(),
            1,
            "tok".into(),
            Some(std::sync::Arc::clone(&keep)),
        );
        here.rejoin().expect("joined again");
        here.rejoined_here();
        assert_eq!(kept(&keep), 0);
    }

    #[test]
    fn at_most_the_bound_of_requests_is_remembered() {
        let attachment = Attachment::new(GroupId::random(), 1, &token("t"), None);
        attachment.seen(&encode(&joined(None)));
        for id in 2..(2 + IN_FLIGHT_MAX as u64 + 10) {
            attachment.sent(&format!(
                r#"{{"v":1,"id":{id},"type":"ping","client_time_ms":1}}"#
            ));
        }
        let unanswered = attachment.rejoin().unwrap().unanswered;
        assert_eq!(unanswered.len(), IN_FLIGHT_MAX);
        assert_eq!(unanswered[0], 12, "the oldest are forgotten");
    }

    fn ack(id: RequestId, catch_up: CatchUp, meeting_id: MeetingId, log_epoch: LogEpoch) -> String {
        encode(&ServerMessage::Ack {
            id,
            result: Reply::Joined(Joined {
                member_id: MemberId::random(),
                role: Role::Member,
                meeting_id,
                member_token: Some("tok".into()),
                catch_up,
                log_epoch,
            }),
        })
    }

    fn event(seq: Seq) -> String {
        encode(&ServerMessage::Event(roundtable_protocol::EventFrame {
            seq,
            at_ms: 5,
            event: roundtable_protocol::Event::HandRaised {
                member_id: MemberId::random(),
            },
        }))
    }

    fn point(meeting_id: MeetingId, seq: Seq, log_epoch: LogEpoch) -> Option<ResumePoint> {
        Some(ResumePoint {
            meeting_id,
            seq,
            log_epoch: Some(log_epoch),
        })
    }

    #[test]
    fn the_edge_knows_where_its_client_stands_from_the_frames_it_passes() {
        let meeting = MeetingId::random();
        let (first, second, third) = (LogEpoch::random(), LogEpoch::random(), LogEpoch::random());
        // The client's own join resumes from seq 10 and is replayed: it stands where each
        // replayed event takes it, in the room's epoch.
        let asked = point(meeting, 10, first);
        let resumed = Attachment::new(GroupId::random(), 1, &token("t"), asked);
        resumed.seen(&ack(1, CatchUp::Replay, meeting, second));
        resumed.seen(&event(11));
        resumed.seen(r#"{"type":"presence","online":[]}"#);
        resumed.seen(&event(12));
        let again = resumed.rejoin().expect("joined");
        assert_eq!(again.resume, point(meeting, 12, second));
        // The join made again with that point is replayed too, in the new room's epoch.
        resumed.seen(&ack(1, CatchUp::Replay, meeting, third));
        resumed.seen(&event(13));
        assert_eq!(resumed.rejoin().unwrap().resume, point(meeting, 13, third));

        // A join with a snapshot catch-up: placed by the snapshot's seq.
        let fresh = Attachment::new(GroupId::random(), 1, &invite(), None);
        fresh.seen(&ack(1, CatchUp::Snapshot, meeting, first));
        fresh.seen(r#"{"type":"snapshot","seq":20,"group":{}}"#);
        fresh.seen(&event(21));
        assert_eq!(fresh.rejoin().unwrap().resume, point(meeting, 21, first));
        // Its join made again answered with a snapshot whose frame never came: not known.
        fresh.seen(&ack(1, CatchUp::Snapshot, meeting, second));
        assert_eq!(fresh.rejoin().unwrap().resume, None);
        // Nor after a snapshot that follows no join.
        fresh.seen(&ack(1, CatchUp::Snapshot, meeting, second));
        fresh.seen(r#"{"type":"snapshot","seq":30}"#);
        fresh.seen(r#"{"type":"snapshot","seq":31}"#);
        assert_eq!(fresh.rejoin().unwrap().resume, None);
        // Nor when a replay answers a join that sent no point.
        let pointless = Attachment::new(GroupId::random(), 1, &invite(), None);
        pointless.seen(&ack(1, CatchUp::Replay, meeting, first));
        pointless.seen(&event(5));
        assert_eq!(pointless.rejoin().unwrap().resume, None);
    }

    #[test]
    fn the_servers_events_and_snapshots_begin_with_their_seq() {
        // A whole snapshot, the one PROTOCOL.md shows, as the server's serializer writes it.
        let example = include_str!("../../../../PROTOCOL.md")
            .lines()
            .find(|line| line.starts_with(r#"{"type": "snapshot""#))
            .expect("PROTOCOL.md shows a snapshot");
        let snapshot: ServerMessage = serde_json::from_str(example).expect("the example parses");
        assert_eq!(seq_after(&encode(&snapshot), SNAPSHOT_PREFIX), Some(42));
        assert_eq!(seq_after(&event(42), EVENT_PREFIX), Some(42));
        assert_eq!(seq_after(&event(42), SNAPSHOT_PREFIX), None);
        assert_eq!(
            seq_after(
                &ack(1, CatchUp::Replay, MeetingId::random(), LogEpoch::random()),
                EVENT_PREFIX
            ),
            None
        );
        assert_eq!(
            seq_after(
                r#"{"type":"snapshot","seq":18446744073709551615,"#,
                SNAPSHOT_PREFIX
            ),
            Some(u64::MAX)
        );
        assert_eq!(seq_after(r#"{"type":"event","seq":,"#, EVENT_PREFIX), None);
    }
}
