//! The changes to a meeting the server pushes ([`Event`], inside a numbered
//! [`EventFrame`](crate::EventFrame)), applied by clients to their copy of the snapshot.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::*;

/// A change to the meeting, applied by clients to their copy of the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A new member entered the group (through the invite or facilitator link).
    MemberAdded {
        member: MemberInfo,
    },
    /// Obsolete: a member came online or went offline. Written to meeting logs by servers before
    /// presence became ephemeral ([`crate::ServerMessage::Presence`]); a client gets one only in
    /// the replay of such a log, and the `presence` frame that ends the catch-up says who is
    /// online now.
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
    /// A facilitator set (or, with `null`, removed) the group's video call link.
    CallLinkSet {
        url: Option<String>,
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
    /// The facilitator ended this meeting and started the next, live at once: what ending a
    /// meeting did before meetings had phases, and the last event of such older meetings' logs.
    /// Ending a meeting now sends `next_meeting_opened`.
    NextMeetingStarted {
        meeting: MeetingInfo,
    },
    /// A facilitator started the upcoming meeting: its `phase` is `live` and its
    /// `started_at_ms` this time (the event's).
    MeetingStarted {
        started_at_ms: UnixMs,
    },
    /// A facilitator ended this meeting (its minutes are kept); the group's next meeting,
    /// `meeting`, is upcoming. A snapshot of the new meeting follows. This is the last event
    /// of the ended meeting.
    NextMeetingOpened {
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
    // Links and sessions (PROTOCOL.md, "Links and sessions").
    /// A facilitator made a new `link`; the previous one no longer works. `version` counts
    /// the link's rotations (the group's first link is version 0). No secret, ever.
    LinkRotated {
        link: LinkKind,
        version: u32,
    },
    /// A facilitator ended one of a member's sessions: its token no longer works.
    SessionRevoked {
        member_id: MemberId,
        session_id: SessionId,
    },
    /// A member whose every session had been revoked came back through a link, under their
    /// name: a new session of the same member.
    SessionStarted {
        member_id: MemberId,
        session_id: SessionId,
    },
    /// A member left the group and erased their data. Their name is gone from the group's
    /// history; a snapshot of the room as it is now follows.
    MemberErased {
        member_id: MemberId,
    },
    /// A facilitator set, changed (a meeting moved or moved back) or removed (`null`) the
    /// group's schedule. Ask [`crate::Request::GetNextMeeting`] for the next meeting.
    ScheduleSet {
        schedule: Option<Schedule>,
    },
    /// The member's calendar feed was made anew (`active: true`) or turned off.
    CalendarFeedChanged {
        member_id: MemberId,
        active: bool,
    },
    /// To the author alone: their check-in for the upcoming meeting was saved.
    CheckInSaved {
        member_id: MemberId,
        check_in: CheckIn,
    },
    /// To the author alone: their hot-seat request was saved, or (`null`) withdrawn.
    HotSeatSaved {
        member_id: MemberId,
        hot_seat: Option<RankedHotSeat>,
    },
    /// To everyone: how many members have prepared for the upcoming meeting changed.
    PreparedCountChanged {
        prepared: u32,
    },
    /// To everyone, when the meeting starts: the check-ins, the ranked hot-seat requests, and
    /// the benchmarks with the numbers submitted during prep.
    PrepRevealed {
        check_ins: Vec<MemberCheckIn>,
        hot_seat: Vec<RankedHotSeat>,
        benchmarks: BenchmarkView,
    },
    /// The member came to this meeting for the first time: its minutes list them as attending.
    /// Who is online now is not an event (see [`crate::ServerMessage::Presence`]).
    MemberAttended {
        member_id: MemberId,
    },
    /// To the author alone: their report back on their commitment `commitment_id` is held
    /// until the meeting starts, or (`null`) no longer held (withdrawn, or the commitment was
    /// closed by someone else meanwhile).
    ReportBackHeld {
        member_id: MemberId,
        commitment_id: CommitmentId,
        report_back: Option<ReportBack>,
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
