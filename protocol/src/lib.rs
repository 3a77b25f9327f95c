//! The Roundtable wire protocol: every type that crosses the WebSocket between a server and its
//! clients, and nothing else.
//!
//! Frames are JSON text. A client sends [`ClientFrame`]s: a versioned envelope around one
//! [`Request`], carrying a client-chosen request id. The server answers every request with
//! exactly one [`ServerMessage::Ack`] or one [`ServerMessage::Error`] carrying the same id, and
//! pushes [`ServerMessage::Event`]s (numbered by `seq`, strictly increasing per meeting) and
//! [`ServerMessage::Snapshot`]s on its own. PROTOCOL.md documents every message with an example;
//! a test parses those examples with these types so the document cannot drift from the code.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod accountability;
mod event;
mod flow;
mod history;
mod ids;
mod minutes;
mod prep;
mod reactions;
mod request;
mod roleplay;
mod schedule;

pub use accountability::*;
pub use event::*;
pub use flow::*;
pub use history::*;
pub use ids::{GroupId, LogEpoch, MeetingId, MemberId, RolePlayId};
pub use minutes::*;
pub use prep::*;
pub use reactions::*;
pub use request::*;
pub use roleplay::*;
pub use schedule::*;

/// The protocol version this crate speaks. A frame with another `v` is refused with
/// [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u32 = 1;

/// A client-chosen request id, echoed in the ack or error that answers the request.
pub type RequestId = u64;

/// The number of an event within one meeting. Strictly increasing; a client may see gaps when
/// an event is not addressed to it.
pub type Seq = u64;

/// Milliseconds since the Unix epoch, by the server's clock unless the name says otherwise.
pub type UnixMs = u64;

// ---------------------------------------------------------------------------------------------
// Client to server
// ---------------------------------------------------------------------------------------------

/// The envelope of every frame a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ClientFrame {
    /// Protocol version; must equal [`PROTOCOL_VERSION`].
    pub v: u32,
    /// Client-chosen id, echoed in the single ack or error that answers this frame.
    pub id: RequestId,
    /// What the client asks for.
    #[serde(flatten)]
    pub request: Request,
}

// ---------------------------------------------------------------------------------------------
// Server to client
// ---------------------------------------------------------------------------------------------

/// Every frame the server sends.
// A message lives only from its construction to its serialization (the bytes are what is
// queued and shared), so the size of the snapshot variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Sent once, right after the WebSocket opens.
    Hello(Hello),
    /// The request with this id succeeded.
    Ack { id: RequestId, result: Reply },
    /// A request failed (with its id), or the connection did something wrong (no id).
    /// Nothing changed.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    },
    /// The whole visible state of the meeting as of `seq`.
    Snapshot(Snapshot),
    /// One change to the meeting.
    Event(EventFrame),
    /// The server is about to close this connection, and why. The WebSocket close frame
    /// carries the same reason.
    Closing {
        reason: CloseReason,
        message: String,
    },
    /// A member reacted. Ephemeral: no `seq`, never stored, never replayed.
    Reaction(ReactionFrame),
    /// Who is online now, and the change that made it so. Ephemeral like a reaction: no
    /// `seq`, never stored; a join's catch-up ends with one (PROTOCOL.md, "Presence").
    Presence(PresenceFrame),
}

/// What the server says first: its version, clock and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Hello {
    pub v: u32,
    pub server_time_ms: UnixMs,
    pub limits: LimitsInfo,
}

/// The limits a well-behaved client should stay within.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LimitsInfo {
    /// Largest accepted frame, in bytes.
    pub frame_bytes_max: u32,
    /// Sustained requests per second per connection (bursts of twice this pass).
    pub requests_per_second: u32,
    /// Longest display name, in characters.
    pub display_name_chars_max: u32,
    /// Longest group name, in characters.
    pub group_name_chars_max: u32,
}

/// The successful result of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    /// The request took effect; its events have been sent already.
    Done,
    /// Answer to [`Request::Join`]. A [`ServerMessage::Snapshot`] or the missed events follow.
    Joined(Joined),
    /// Answer to [`Request::Ping`].
    Pong {
        client_time_ms: UnixMs,
        server_time_ms: UnixMs,
    },
    /// The request created something with this id (a commitment, a practice).
    Created { id: u32 },
    /// Answer to [`Request::GetMyBenchmarks`].
    MyBenchmarks(MyBenchmarks),
    /// Answer to [`Request::SearchPractices`]: the newest matches, at most 50.
    Practices {
        practices: Vec<Practice>,
        total_matches: u32,
    },
    /// Answer to [`Request::RotateLink`], to the asking facilitator alone: the new link.
    LinkRotated {
        link: LinkKind,
        version: u32,
        url: String,
    },
    /// Answer to [`Request::ListSessions`]: every member's sessions, in the order they began.
    Sessions { sessions: Vec<SessionInfo> },
    /// Answer to [`Request::GetMyHistory`], to the asking member alone.
    MyHistory(MyHistory),
    /// Answer to [`Request::GetNextMeeting`]: `null` when the group has no schedule (or it
    /// has no meeting left).
    NextMeeting { next_meeting: Option<NextMeeting> },
    /// Answer to [`Request::RenewCalendarFeed`], to the asking member alone: their feed's URL
    /// (its secret is never shown again).
    CalendarFeed { url: String },
}

/// A member's session (one member token) as facilitators see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SessionInfo {
    pub member_id: MemberId,
    pub session_id: SessionId,
    /// When the session began (the member's join with a link).
    pub started_at_ms: UnixMs,
    /// When a connection of the session last joined or left; now, when one is open.
    pub last_seen_ms: UnixMs,
    /// The session's connections open now (tabs, or a reconnecting page).
    pub connections: u32,
}

/// How many times each link was made anew: 0 for the links the group was created with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LinkVersions {
    pub invite: u32,
    pub facilitator: u32,
}

impl LinkVersions {
    /// Both links are the ones the group was created with (then `links` is left out).
    pub fn never_rotated(&self) -> bool {
        *self == LinkVersions::default()
    }
}

/// Who the client is in the room, and how it catches up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Joined {
    pub member_id: MemberId,
    pub role: Role,
    pub meeting_id: MeetingId,
    /// Present when the server issued a new member token: keep it to rejoin as the same member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_token: Option<String>,
    /// How the client catches up: the missed events follow, or a fresh snapshot follows.
    pub catch_up: CatchUp,
    /// The room's log epoch: keep it with the seq of the events applied and send both back in
    /// the next join's `resume`. Seqs mean the same history only within one epoch.
    pub log_epoch: LogEpoch,
}

/// How a joining client receives the meeting state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// A [`ServerMessage::Snapshot`] follows.
    Snapshot,
    /// The events after the client's resume point follow, in order (possibly none).
    Replay,
}

/// The whole visible state of a meeting, as seen by one member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Snapshot {
    /// The seq of the last event included; events that follow have a higher seq.
    pub seq: Seq,
    pub group: GroupInfo,
    pub meeting: MeetingInfo,
    /// Current members of the group (removed members are gone), in the order they joined.
    pub members: Vec<MemberInfo>,
    /// The speaker queue: members with a raised hand, first raised first.
    pub hands: Vec<MemberId>,
    /// The commitment board: every open commitment and those resolved in recent meetings.
    pub commitments: Vec<Commitment>,
    /// Per member, how they keep their commitments.
    pub accountability: Vec<MemberAccountability>,
    /// This meeting's benchmarks as everyone sees them.
    pub benchmarks: BenchmarkView,
    /// The newest practices of the library (search for older ones).
    pub practices: Vec<Practice>,
    /// Practices in the library in all.
    pub practice_count: u32,
    /// Role play and scoring, as this member sees it.
    #[serde(default)]
    pub role_play: Box<RolePlayView>,
    pub flow: FlowInfo,
    /// Members who have a calendar feed turned on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calendar_feeds: Vec<MemberId>,
    /// Prep for this meeting, as this member sees it (their own prep, how many prepared, and
    /// once the meeting started everyone's check-ins and the ranked hot-seat requests); absent
    /// when there is nothing to say (prep closed, nothing prepared).
    #[serde(default, skip_serializing_if = "PrepView::is_empty")]
    pub prep: PrepView,
}

/// A group as clients see it. Secrets never cross the wire after creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GroupInfo {
    pub group_id: GroupId,
    pub name: String,
    /// The time zone the group's minutes are written in (an IANA name); UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The group's video call link (https), which everyone can open from the room; absent
    /// when none is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_url: Option<String>,
    /// The current version of each link, so a facilitator's page knows whether a link it
    /// remembers still works. Never a secret.
    #[serde(default, skip_serializing_if = "LinkVersions::never_rotated")]
    pub links: LinkVersions,
    /// When the group meets; absent when no schedule is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

/// A meeting as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MeetingInfo {
    pub meeting_id: MeetingId,
    /// 1 for the group's first meeting, then counting up.
    pub number: u32,
    /// When the meeting went live; while it is upcoming, when it became the group's current
    /// meeting (the group was created or the previous meeting ended).
    pub started_at_ms: UnixMs,
    /// Upcoming (prep open, the lobby) or live (the facilitator started it). Ended meetings
    /// are the past meetings' minutes.
    pub phase: MeetingPhase,
}

/// Where the group's current meeting is in its life: upcoming, then live once a facilitator
/// starts it. Ending a live meeting makes the next one upcoming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MeetingPhase {
    /// Scheduled and not started: the lobby; only requests that need no live meeting pass.
    Upcoming,
    /// Started by a facilitator: the meeting's stage.
    Live,
}

/// A member as clients see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MemberInfo {
    pub member_id: MemberId,
    pub display_name: String,
    pub role: Role,
    /// Whether at least one connection of this member is in the room now.
    pub online: bool,
}

/// Who of the group is online now: every member with at least one connection in the room.
/// Sent to everyone when a member comes or goes, and to a joining connection after its catch-up;
/// not an event (no `seq`, never stored), since who is online is not the meeting's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PresenceFrame {
    /// Every member online now, in the order they joined the group. A member not listed is
    /// offline.
    pub online: Vec<MemberId>,
    /// The change this frame announces; none in the frame that ends a catch-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub change: Option<PresenceChange>,
}

/// A member coming online or going offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresenceChange {
    pub member_id: MemberId,
    pub online: bool,
    pub reason: PresenceReason,
}

/// One numbered change to the meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct EventFrame {
    pub seq: Seq,
    /// When the server recorded the event.
    pub at_ms: UnixMs,
    pub event: Event,
}

/// Why the server closes a connection. Sent in [`ServerMessage::Closing`] and as the close
/// frame's reason text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The client could not keep up with the room's events; it may reconnect and resume.
    SlowConsumer,
    /// The server is shutting down; reconnect later and resume.
    ServerShutdown,
    /// The facilitator removed this member.
    Removed,
    /// The client kept breaking the rules (flooding, oversized frames, bad frames).
    PolicyViolation,
    /// The client did not join within the allowed time.
    JoinTimeout,
    /// The client speaks another protocol version.
    UnsupportedVersion,
    /// This server process no longer owns the room: another process took its ownership lease
    /// (for example after a long storage outage). The client reconnects and resumes; it lands
    /// on whichever process owns the room now.
    RoomMoved,
    /// A facilitator revoked this connection's session: its member token no longer works.
    SessionRevoked,
    /// A facilitator deleted the group: nothing of it is left, and its links do not work any
    /// more. Do not reconnect.
    GroupDeleted,
    /// This member left the group and erased their data; their token does not work any more.
    /// Do not reconnect.
    Left,
    /// This server process hands its meetings to other processes (a planned restart, a
    /// deploy): it has saved the room and given its ownership up. Reconnect at once and
    /// resume; another process runs the room now.
    Draining,
}

impl CloseReason {
    /// The reason's wire name, also used as the close frame's reason text.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::SlowConsumer => "slow_consumer",
            CloseReason::ServerShutdown => "server_shutdown",
            CloseReason::Removed => "removed",
            CloseReason::PolicyViolation => "policy_violation",
            CloseReason::JoinTimeout => "join_timeout",
            CloseReason::UnsupportedVersion => "unsupported_version",
            CloseReason::RoomMoved => "room_moved",
            CloseReason::SessionRevoked => "session_revoked",
            CloseReason::GroupDeleted => "group_deleted",
            CloseReason::Left => "left",
            CloseReason::Draining => "draining",
        }
    }

    /// The WebSocket close code that goes with the reason (RFC 6455, section 7.4).
    pub fn close_code(self) -> u16 {
        match self {
            CloseReason::ServerShutdown => 1001,
            // Service restart: the client reconnects at once.
            CloseReason::Draining => 1012,
            CloseReason::PolicyViolation
            | CloseReason::Removed
            | CloseReason::JoinTimeout
            | CloseReason::UnsupportedVersion
            | CloseReason::SessionRevoked => 1008,
            CloseReason::SlowConsumer | CloseReason::RoomMoved => 1013,
            // The end of the group, or of this member in it: a normal closure.
            CloseReason::GroupDeleted | CloseReason::Left => 1000,
        }
    }
}

/// Why a request failed. Every failed request changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame's `v` is not [`PROTOCOL_VERSION`]; the connection closes.
    UnsupportedVersion,
    /// The frame is not valid JSON, or misses a field, or a value is out of range.
    Invalid,
    /// The frame's `type` names no request.
    UnknownType,
    /// The frame exceeds the frame size limit.
    TooLarge,
    /// The connection sends faster than the per-connection rate limit.
    RateLimited,
    /// A request other than join or ping arrived before a successful join.
    NotJoined,
    /// A second join on a connection that has joined already.
    AlreadyJoined,
    /// The credential (secret or token) is wrong.
    Unauthorized,
    /// The member's role does not allow the request.
    Forbidden,
    /// The group, meeting or member does not exist.
    NotFound,
    /// The request conflicts with the current state (for example demoting the last
    /// facilitator).
    Conflict,
    /// The room has as many members as it may.
    RoomFull,
    /// The server holds as many live rooms as it may; try later.
    ServerBusy,
    /// The store cannot make the change durable right now; nothing changed, try again.
    StorageUnavailable,
    /// The group's room is live in another server process, which holds its ownership lease.
    /// The join changed nothing; try again shortly (the lease is released when that room
    /// unloads and expires when its process has died).
    RoomElsewhere,
    /// The server is shutting down.
    ShuttingDown,
    /// A bug on the server. Nothing changed.
    Internal,
    /// A list (agenda items, proposals, suggestions) holds as many entries as it may.
    LimitReached,
    /// The request needs a live meeting and the group's current meeting is upcoming (not
    /// started yet). Nothing changed.
    MeetingNotLive,
    /// The meeting's server went away while the request was under way (the client stays
    /// connected: the server it is connected to joins it again where the meeting runs now). The
    /// request may or may not have been done: the snapshot that follows shows the meeting as
    /// it is.
    ConnectionLost,
}

impl ErrorCode {
    /// Every error code, for documentation checks.
    pub const ALL: [ErrorCode; 20] = [
        ErrorCode::UnsupportedVersion,
        ErrorCode::Invalid,
        ErrorCode::UnknownType,
        ErrorCode::TooLarge,
        ErrorCode::RateLimited,
        ErrorCode::NotJoined,
        ErrorCode::AlreadyJoined,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::RoomFull,
        ErrorCode::ServerBusy,
        ErrorCode::StorageUnavailable,
        ErrorCode::RoomElsewhere,
        ErrorCode::ShuttingDown,
        ErrorCode::Internal,
        ErrorCode::LimitReached,
        ErrorCode::MeetingNotLive,
        ErrorCode::ConnectionLost,
    ];

    /// The code's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::Invalid => "invalid",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::ServerBusy => "server_busy",
            ErrorCode::StorageUnavailable => "storage_unavailable",
            ErrorCode::RoomElsewhere => "room_elsewhere",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Internal => "internal",
            ErrorCode::LimitReached => "limit_reached",
            ErrorCode::MeetingNotLive => "meeting_not_live",
            ErrorCode::ConnectionLost => "connection_lost",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP API
// ---------------------------------------------------------------------------------------------

/// Body of `POST /api/groups`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupRequest {
    pub name: String,
    /// The group's time zone, an IANA name (the creating browser's); UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// Answer to `POST /api/groups` (status 201). The links carry their secret in the `#fragment`,
/// which browsers never send to a server, so it stays out of access logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CreateGroupResponse {
    pub group_id: GroupId,
    pub meeting_id: MeetingId,
    /// Open to run the meeting as facilitator. Keep it private.
    pub facilitator_url: String,
    /// Share with the members of the group.
    pub invite_url: String,
}

/// Body of every HTTP error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HttpError {
    pub error: ErrorBody,
}

/// The code and human-readable message of an HTTP error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// Answer to `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub protocol: u32,
    pub live_rooms: u64,
    pub connections: u64,
}

/// Helpers to build frames in tests and tools.
impl ClientFrame {
    pub fn new(id: RequestId, request: Request) -> Self {
        ClientFrame {
            v: PROTOCOL_VERSION,
            id,
            request,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a client frame always serializes")
    }
}
