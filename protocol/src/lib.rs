//! The Roundtable wire protocol: every type that crosses the WebSocket between a server and its
//! clients, and nothing else.
//!
//! Frames are JSON text. A client sends [`ClientFrame`]s: a versioned envelope around one
//! [`Request`], carrying a client-chosen request id. The server answers every request with
//! exactly one [`ServerMessage::Ack`] or one [`ServerMessage::Error`] carrying the same id, and
//! pushes [`ServerMessage::Event`]s (numbered by `seq`, strictly increasing per meeting) and
//! [`ServerMessage::Snapshot`]s on its own. PROTOCOL.md documents every message with an example;
//! a test parses those examples with these types so the document cannot drift from the code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod accountability;
mod flow;
mod ids;
mod minutes;
mod reactions;
mod roleplay;

pub use accountability::*;
pub use flow::*;
pub use ids::{GroupId, MeetingId, MemberId, RolePlayId};
pub use minutes::*;
pub use reactions::*;
pub use roleplay::*;

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

/// Everything a client can ask of the server. The first request on a connection must be
/// [`Request::Join`] (or [`Request::Ping`], allowed at any time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Enter a group's live meeting room, or come back to it.
    Join {
        group_id: GroupId,
        credential: Credential,
        /// Where the client left off, to receive exactly the events it missed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<ResumePoint>,
    },
    /// Measure the clock offset and round-trip time. Answered with [`Reply::Pong`].
    Ping {
        /// The client's own clock when it sent the ping.
        client_time_ms: UnixMs,
    },
    /// Facilitator: give the group a new name.
    /// The time zone the group's minutes and exports are written in: an IANA name such as
    /// `Europe/Berlin` (facilitators only).
    SetTimeZone {
        time_zone: String,
    },
    RenameGroup {
        name: String,
    },
    /// Facilitator: remove a member from the group. Their token stops working and their
    /// connections are closed.
    RemoveMember {
        member_id: MemberId,
    },
    /// Facilitator: change a member's role. Setting another member to `facilitator` shares the
    /// role; the last facilitator cannot be demoted.
    SetRole {
        member_id: MemberId,
        role: Role,
    },
    /// Facilitator: make another member the facilitator and become a plain member.
    HandOverFacilitator {
        member_id: MemberId,
    },
    /// Join the speaker queue (raise your hand). Raising a raised hand is a no-op ack.
    RaiseHand,
    /// Leave the speaker queue. Lowering a lowered hand is a no-op ack.
    LowerHand,
    /// Add a commitment: for yourself, or (facilitator) for `owner`. Due at the next meeting
    /// unless `due_meeting` says otherwise. Answered with [`Reply::Created`].
    AddCommitment {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<MemberId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_meeting: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_date: Option<String>,
    },
    /// Set a commitment's status and note: its owner, or a facilitator.
    UpdateCommitment {
        commitment_id: CommitmentId,
        status: CommitmentStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Facilitator: define the metrics the group compares.
    SetMetrics {
        metrics: Vec<Metric>,
    },
    /// Submit (or correct) your numbers for this meeting.
    SubmitNumbers {
        values: BTreeMap<String, f64>,
        sharing: Sharing,
    },
    /// Your own numbers, your position and your trend. Answered with [`Reply::MyBenchmarks`].
    GetMyBenchmarks,
    /// Share a practice with the group's library. Answered with [`Reply::Created`].
    PostPractice {
        title: String,
        description: String,
        #[serde(default)]
        tags: Vec<String>,
        outcome: PracticeOutcome,
    },
    /// Upvote a practice (`up: false` takes the vote back).
    UpvotePractice {
        practice_id: PracticeId,
        up: bool,
    },
    CommentOnPractice {
        practice_id: PracticeId,
        text: String,
    },
    /// Facilitator: end this meeting and start the group's next one. Everyone receives the
    /// `next_meeting_started` event, then a snapshot of the new meeting.
    StartNextMeeting,
    /// Search the library by words in the title or description and by tag, newest first.
    /// Answered with [`Reply::Practices`].
    SearchPractices {
        #[serde(default)]
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
    },
    /// Role play and anonymous scoring (see [`RolePlayRequest`]).
    RolePlay {
        action: RolePlayRequest,
    },
    // Meeting flow (see `flow.rs` and PROTOCOL.md, "Meeting flow"). All but
    // `propose_agenda_item`, `add_suggestion` and `choose_suggestions` are facilitator-only.
    /// Add an item to the agenda, at `position` (0 = first) or at the end.
    AddAgendaItem {
        item: AgendaItemDraft,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<u32>,
    },
    /// Replace an item's editable fields.
    EditAgendaItem {
        item_id: AgendaItemId,
        item: AgendaItemDraft,
    },
    RemoveAgendaItem {
        item_id: AgendaItemId,
    },
    /// Put the agenda in this order; `order` lists every item once.
    ReorderAgenda {
        order: Vec<AgendaItemId>,
    },
    /// Make the item current (the previous current item goes back to pending).
    SetCurrentAgendaItem {
        item_id: AgendaItemId,
    },
    MarkAgendaItemDone {
        item_id: AgendaItemId,
    },
    /// Next: the current item is done and the next pending item after it becomes current (the
    /// first pending item when none is current). A round of the finished item ends with it.
    NextAgendaItem,
    /// Back: the current item goes back to pending and the item before it becomes current
    /// again (the last done item when none is current).
    PreviousAgendaItem,
    /// End the meeting: any turn, round and timer end, the current item goes back to pending
    /// and hands are lowered. Until a facilitator starts the next meeting, nothing that runs
    /// the meeting (rounds, calling speakers, problem phases, moving through the agenda) is
    /// accepted.
    EndMeeting,
    /// Any member: propose an item; a facilitator accepts or declines it.
    ProposeAgendaItem {
        item: AgendaItemDraft,
    },
    AcceptProposal {
        proposal_id: ProposalId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<u32>,
    },
    DeclineProposal {
        proposal_id: ProposalId,
    },
    /// Make the current agenda the group's template for its next meetings.
    SaveAgendaAsTemplate,
    /// Start a round: the first speaker gets the floor and the timer runs. Speakers default to
    /// the members present (observers excluded), in the order they joined the group.
    StartRound {
        speaker_time_box_ms: u64,
        #[serde(default)]
        auto_advance: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        speakers: Option<Vec<MemberId>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item_id: Option<AgendaItemId>,
    },
    /// Put the speakers who are still waiting in this order.
    ReorderSpeakers {
        order: Vec<MemberId>,
    },
    /// Shuffle the speakers who are still waiting.
    ShuffleSpeakers,
    /// The current speaker is done; the next waiting speaker gets the floor.
    NextSpeaker,
    /// Skip a waiting speaker (absent), or by default the current one.
    SkipSpeaker {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_id: Option<MemberId>,
    },
    /// Give the floor back to the previous speaker, with a fresh time box.
    PreviousSpeaker,
    /// Put a skipped speaker back in their place in the order: they speak when the order
    /// reaches them, or next when their place has passed.
    RestoreSpeaker {
        member_id: MemberId,
    },
    EndRound,
    SetAutoAdvance {
        auto_advance: bool,
    },
    PauseTimer,
    ResumeTimer,
    /// Add time to the timer; negative takes time away.
    ExtendTimer {
        delta_ms: i64,
    },
    /// Give the floor to a raised hand (lowering it): `member_id`'s, or the first one's;
    /// optionally with a time box.
    CallNextSpeaker {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_box_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_id: Option<MemberId>,
    },
    /// End the called speaker's turn.
    EndTurn,
    /// Lower every raised hand.
    ClearHands,
    /// Lower another member's hand.
    LowerHandOf {
        member_id: MemberId,
    },
    /// Move a `problem` item's protocol to a phase and run its time box (default per phase).
    StartProblemPhase {
        item_id: AgendaItemId,
        phase: ProblemPhase,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_box_ms: Option<u64>,
    },
    /// Any member but the presenter, in the suggest phase.
    AddSuggestion {
        item_id: AgendaItemId,
        text: String,
    },
    /// The presenter, in the decide phase: the suggestions they will act on, each of which
    /// becomes one commitment of theirs. `choices` may carry each commitment's text as the
    /// presenter edited it; `suggestion_ids` (the older form, one of the two) takes the
    /// suggestions' texts as they are.
    ChooseSuggestions {
        item_id: AgendaItemId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        choices: Option<Vec<SuggestionChoice>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suggestion_ids: Option<Vec<SuggestionId>>,
    },
    // Reactions and dot votes (PROTOCOL.md, "Reactions" and "Dot votes").
    /// Any joined member: a quick reaction everyone sees at once. Never stored; rate-limited
    /// per member.
    React {
        reaction: Reaction,
    },
    /// Any member but observers and the presenter, in the suggest and decide phases: put one
    /// of your dots on a suggestion (`vote: true`) or take it back (`vote: false`).
    VoteSuggestion {
        item_id: AgendaItemId,
        suggestion_id: SuggestionId,
        vote: bool,
    },
}

/// How a client proves who it is when it joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Credential {
    /// The facilitator secret from the facilitator link. Creates a facilitator member, or, with
    /// the token of an existing member, makes that member a facilitator.
    Facilitator {
        secret: String,
        display_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_token: Option<String>,
    },
    /// The invite secret from the invite link: creates a new member (or observer).
    Invite {
        secret: String,
        display_name: String,
        #[serde(default, skip_serializing_if = "is_false")]
        observer: bool,
    },
    /// The member token the server issued at the first join: the same person, again.
    MemberToken { token: String },
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The last event a client saw, sent on rejoin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ResumePoint {
    pub meeting_id: MeetingId,
    pub seq: Seq,
}

/// A member's role in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the meeting: the clock, the agenda, the group's settings.
    Facilitator,
    /// Takes part.
    Member,
    /// Watches; is present but takes no part in rounds or scoring.
    Observer,
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
}

/// A group as clients see it. Secrets never cross the wire after creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GroupInfo {
    pub group_id: GroupId,
    pub name: String,
    /// The time zone the group's minutes are written in (an IANA name); UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A meeting as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MeetingInfo {
    pub meeting_id: MeetingId,
    /// 1 for the group's first meeting, then counting up.
    pub number: u32,
    pub started_at_ms: UnixMs,
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

/// One numbered change to the meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct EventFrame {
    pub seq: Seq,
    /// When the server recorded the event.
    pub at_ms: UnixMs,
    pub event: Event,
}

/// A change to the meeting, applied by clients to their copy of the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A new member entered the group (through the invite or facilitator link).
    MemberAdded {
        member: MemberInfo,
    },
    /// A member came online or went offline.
    PresenceChanged {
        member_id: MemberId,
        online: bool,
        reason: PresenceReason,
    },
    GroupRenamed {
        name: String,
    },
    /// A facilitator set the group's time zone.
    TimeZoneSet {
        time_zone: String,
    },
    /// The member is no longer in the group.
    MemberRemoved {
        member_id: MemberId,
    },
    RoleChanged {
        member_id: MemberId,
        role: Role,
    },
    /// The member joined the end of the speaker queue.
    HandRaised {
        member_id: MemberId,
    },
    /// The member left the speaker queue.
    HandLowered {
        member_id: MemberId,
    },
    CommitmentAdded {
        commitment: Commitment,
        owner_accountability: MemberAccountability,
    },
    /// A commitment's status or note changed; `commitment` is its new whole state.
    CommitmentUpdated {
        commitment: Commitment,
        owner_accountability: MemberAccountability,
    },
    /// The metrics or the submitted numbers changed.
    BenchmarksChanged {
        view: BenchmarkView,
    },
    PracticePosted {
        practice: Practice,
    },
    PracticeUpvoted {
        practice_id: PracticeId,
        member_id: MemberId,
        up: bool,
    },
    PracticeCommented {
        practice_id: PracticeId,
        comment: PracticeComment,
    },
    /// The facilitator ended this meeting and started the next; a snapshot of the new meeting
    /// follows. This is the last event of the ended meeting.
    NextMeetingStarted {
        meeting: MeetingInfo,
    },
    /// Role play and scoring (see [`RolePlayEvent`]).
    RolePlay {
        change: RolePlayEvent,
    },
    // Meeting flow (see `flow.rs` and PROTOCOL.md, "Meeting flow").
    AgendaItemAdded {
        item: AgendaItem,
        position: u32,
    },
    /// The item's fields changed; `item` is the whole item now.
    AgendaItemEdited {
        item: AgendaItem,
    },
    AgendaItemRemoved {
        item_id: AgendaItemId,
    },
    AgendaReordered {
        order: Vec<AgendaItemId>,
    },
    AgendaItemStatusChanged {
        item_id: AgendaItemId,
        status: AgendaItemStatus,
    },
    AgendaItemProposed {
        proposal: Proposal,
    },
    /// Accepted (an `agenda_item_added` follows) or declined.
    ProposalClosed {
        proposal_id: ProposalId,
        accepted: bool,
    },
    AgendaTemplateSaved {
        items: Vec<TemplateItem>,
    },
    RoundStarted {
        round: RoundInfo,
    },
    /// The round's speakers in their new order.
    RoundSpeakersReordered {
        order: Vec<MemberId>,
    },
    RoundSpeakerChanged {
        member_id: MemberId,
        status: SpeakerStatus,
    },
    RoundAutoAdvanceSet {
        auto_advance: bool,
    },
    RoundEnded,
    /// A facilitator ended the meeting at the frame's `at_ms` (`flow.ended_at_ms`).
    MeetingEnded,
    /// The timer changed (started, paused, resumed, extended) or stopped (`null`).
    TimerSet {
        timer: Option<TimerInfo>,
    },
    /// The timer reached its deadline. Sent once per deadline, whether or not anyone acts.
    TimeUp {
        subject: TimerSubject,
        deadline_ms: UnixMs,
    },
    /// A member's turn ended after `talk_ms` of talk (paused time excluded); `in_round` says
    /// whether it was a round turn (then it adds to the round speaker's `talk_ms` too).
    TurnEnded {
        member_id: MemberId,
        talk_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_box_ms: Option<u64>,
        in_round: bool,
    },
    /// The called speaker changed (`null`: nobody called has the floor).
    FloorGiven {
        floor: Option<FloorInfo>,
    },
    ProblemPhaseStarted {
        item_id: AgendaItemId,
        presenter: MemberId,
        phase: ProblemPhase,
    },
    SuggestionAdded {
        item_id: AgendaItemId,
        suggestion: Suggestion,
    },
    SuggestionsChosen {
        item_id: AgendaItemId,
        suggestion_ids: Vec<SuggestionId>,
    },
    // Dot votes (PROTOCOL.md, "Dot votes"): counts for everyone, never who voted.
    /// A suggestion's dots now number `votes`.
    SuggestionVotesCounted {
        item_id: AgendaItemId,
        suggestion_id: SuggestionId,
        votes: u32,
    },
    /// Private to the voter: your dot on the suggestion is there (`voted`) or taken back.
    YourVoteSet {
        item_id: AgendaItemId,
        suggestion_id: SuggestionId,
        voted: bool,
    },
}

/// Why a member's presence changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PresenceReason {
    /// Opened a connection to the room.
    Joined,
    /// Closed their last connection cleanly.
    Left,
    /// Their last connection dropped without a close (network loss, slow client).
    ConnectionLost,
    /// The facilitator removed them.
    Removed,
    /// The server restarted; they were online before and have not come back yet.
    ServerRestart,
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
        }
    }

    /// The WebSocket close code that goes with the reason (RFC 6455, section 7.4).
    pub fn close_code(self) -> u16 {
        match self {
            CloseReason::ServerShutdown => 1001,
            CloseReason::PolicyViolation
            | CloseReason::Removed
            | CloseReason::JoinTimeout
            | CloseReason::UnsupportedVersion => 1008,
            CloseReason::SlowConsumer | CloseReason::RoomMoved => 1013,
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
}

impl ErrorCode {
    /// Every error code, for documentation checks.
    pub const ALL: [ErrorCode; 18] = [
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
