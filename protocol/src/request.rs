//! What a client asks of the server: every [`Request`], how a client proves who it is
//! ([`Credential`]), where it resumes ([`ResumePoint`]), and the roles of a group.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::*;

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
    /// Facilitator: the time zone the group's minutes and exports are written in, an IANA name
    /// such as `Europe/Berlin`.
    SetTimeZone {
        time_zone: String,
    },
    /// Facilitator: the group's video call link (an https URL of any video service), which
    /// everyone in the room can open; `null` removes it.
    SetCallLink {
        url: Option<String>,
    },
    /// Facilitator: give the group a new name.
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
    /// Set a commitment's status and note: its owner, or a facilitator. While the meeting is
    /// upcoming, the owner's update of their own open commitment is a report back held as
    /// prep ([`crate::Event::ReportBackHeld`], to the owner alone) and applied to the board
    /// when the meeting starts.
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
    /// Facilitator ("End meeting"): end this live meeting; the group's next meeting is upcoming.
    /// Everyone receives the `next_meeting_opened` event, then a snapshot of the new meeting.
    StartNextMeeting,
    /// Facilitator: start the upcoming meeting; it becomes live. Everyone receives the
    /// `meeting_started` event.
    StartMeeting,
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
    // Links and sessions (PROTOCOL.md, "Links and sessions"): facilitators only.
    /// Makes a new secret for the invite or the facilitator link; the old one stops working at
    /// once. The new link comes in the ack, to the asking facilitator alone; everyone gets
    /// `link_rotated`, which carries no secret.
    RotateLink {
        link: LinkKind,
    },
    /// Every member's sessions (one per member token), with when each was last seen.
    ListSessions,
    /// Ends a session: its member token stops working and its open connections close with
    /// `session_revoked`. The member and everything of theirs stay.
    RevokeSession {
        member_id: MemberId,
        session_id: SessionId,
    },
    // Deletion and erasure (PROTOCOL.md, "Leaving and deleting").
    /// Facilitator: delete the group and everything stored of it, for good. `confirm_name`
    /// must be the group's name exactly as it is now. Every connection of the group is then
    /// closed with `group_deleted`, and its links stop working.
    DeleteGroup {
        confirm_name: String,
    },
    /// Any member but the group's last facilitator: leave the group and erase what names you.
    /// Your name becomes "a former member" everywhere, your anonymous contributions stay as
    /// they are, and each choice says what happens to your commitments, your numbers shared
    /// by name and your practices (with your comments and upvotes). Your token stops working
    /// and your connections are closed with `left`.
    LeaveGroup {
        commitments: ErasureChoice,
        numbers: ErasureChoice,
        practices: ErasureChoice,
    },
    /// Your own history: the minutes of the kept meetings held since you joined, your
    /// commitments meeting by meeting, your numbers against the group's medians and the scores
    /// your role plays were given. Answered with [`Reply::MyHistory`], to you alone.
    GetMyHistory,
    /// Facilitator: set the group's schedule (moves of the previous schedule are dropped), or
    /// with `null` remove it. The time zone must be one the server knows; the group's time
    /// zone follows the schedule's.
    SetSchedule {
        schedule: Option<ScheduleDraft>,
    },
    /// Facilitator: move one meeting of the schedule, named by its regular date
    /// (`YYYY-MM-DD`), to the local moment `to` (`YYYY-MM-DDTHH:MM`, the schedule's zone).
    /// Moving it again replaces the move.
    MoveMeeting {
        occurrence: String,
        to: String,
    },
    /// Facilitator: put a moved meeting back at its regular time.
    ClearMove {
        occurrence: String,
    },
    /// When the next meeting is. Answered with [`Reply::NextMeeting`].
    GetNextMeeting,
    /// A new calendar feed URL for the asking member, answered once with
    /// [`Reply::CalendarFeed`]; the member's previous feed URL stops working.
    RenewCalendarFeed,
    /// Turn off a calendar feed: the member's own, or (facilitators) another member's.
    RevokeCalendarFeed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_id: Option<MemberId>,
    },
    /// While the meeting is upcoming: save your check-in (replacing the one you saved). Only
    /// you see it until the meeting starts. Saving the same check-in again changes nothing
    /// and is acked `done`, so a page may resend a draft it is unsure was saved.
    SaveCheckIn {
        #[serde(default)]
        win: String,
        #[serde(default)]
        challenge: String,
        #[serde(default)]
        ask: String,
    },
    /// While the meeting is upcoming: ask for the hot seat, or change your request (which
    /// keeps its place among equal priorities). Only you see it until the meeting starts.
    /// Sending the same request again changes nothing.
    RequestHotSeat {
        problem: String,
        priority: HotSeatPriority,
        minutes: u32,
    },
    /// While the meeting is upcoming: withdraw your hot-seat request (a no-op without one).
    WithdrawHotSeat,
    /// While the meeting is upcoming: withdraw your report back held on your commitment
    /// `commitment_id` (a no-op without one); the commitment stays as it is on the board.
    WithdrawReportBack {
        commitment_id: CommitmentId,
    },
}

/// A schedule as the facilitator sets it (the moves are made one by one afterwards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDraft {
    pub cadence: Cadence,
    pub starts_on: String,
    pub start_time: String,
    pub duration_minutes: u32,
    pub time_zone: String,
}

/// What happens to one kind of a leaving member's contributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErasureChoice {
    /// Taken out of the group: the board, the library, the benchmarks and the past minutes.
    Remove,
    /// Kept for the group, under "a former member" instead of the name.
    Anonymize,
}

/// One of a group's two links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The invite link, shared with the members: it adds a member.
    Invite,
    /// The facilitator link, kept private: it adds a facilitator or makes a member one.
    Facilitator,
}

/// A member's session: one member token, numbered within the group from 1.
pub type SessionId = u32;

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
    /// The log epoch of the join that gave the client its state (`Joined::log_epoch`). A resume
    /// without one, or from an epoch the room does not hold, is answered with a snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_epoch: Option<LogEpoch>,
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
