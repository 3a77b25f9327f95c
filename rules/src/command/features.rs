//! Each feature's own requests, as [`Change`](super::Change) and [`Command`](super::Command)
//! carry them: one enum per feature, with the protocol's names and fields.

use std::collections::BTreeMap;

use roundtable_protocol::{
    AgendaItemDraft, AgendaItemId, CommitmentId, CommitmentStatus, ErasureChoice, LinkKind,
    MemberId, Metric, PracticeId, PracticeOutcome, ProblemPhase, ProposalId, Role, RolePlayId,
    Rubric, ScheduleDraft, SessionId, Sharing, SuggestionChoice, SuggestionId,
};

/// The group's links and its members' sessions (facilitators only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessCommand {
    RotateLink {
        link: LinkKind,
    },
    ListSessions,
    RevokeSession {
        member_id: MemberId,
        session_id: SessionId,
    },
}

/// What a leaving member chose for each kind of their contributions (their anonymous ones
/// always stay as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erasure {
    pub commitments: ErasureChoice,
    /// Numbers shared by name.
    pub numbers: ErasureChoice,
    /// Practices, with the member's comments and upvotes.
    pub practices: ErasureChoice,
}

/// A member's prep request ([`crate::prep`]).
#[derive(Debug, Clone, PartialEq)]
pub enum PrepCommand {
    SaveCheckIn {
        check_in: roundtable_protocol::CheckIn,
    },
    RequestHotSeat {
        request: roundtable_protocol::HotSeatRequest,
    },
    WithdrawHotSeat,
    WithdrawReportBack {
        commitment_id: roundtable_protocol::CommitmentId,
    },
}

/// The group's schedule (facilitators) and the members' calendar feeds
/// ([`crate::schedule`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleCommand {
    Set {
        schedule: Option<ScheduleDraft>,
    },
    Move {
        occurrence: String,
        to: String,
    },
    ClearMove {
        occurrence: String,
    },
    /// The member's own feed, or (facilitators) another member's.
    RevokeFeed {
        member_id: Option<MemberId>,
    },
}

/// What the server answers about the calendar from outside the rules: the next meeting needs
/// its clock and time zone database, a new feed its random secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarCommand {
    GetNextMeeting,
    RenewFeed,
}

/// Dot votes on a problem's suggestions ([`crate::flow::votes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteCommand {
    VoteSuggestion {
        item_id: AgendaItemId,
        suggestion_id: SuggestionId,
        vote: bool,
    },
}

/// The group and its members (facilitators only).
#[derive(Debug, Clone, PartialEq)]
pub enum MembershipCommand {
    RenameGroup { name: String },
    SetTimeZone { time_zone: String },
    SetCallLink { url: Option<String> },
    RemoveMember { member_id: MemberId },
    SetRole { member_id: MemberId, role: Role },
    HandOverFacilitator { member_id: MemberId },
}

/// The speaker queue: hands and the called speaker.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueCommand {
    RaiseHand,
    LowerHand,
    CallNextSpeaker {
        time_box_ms: Option<u64>,
        member_id: Option<MemberId>,
    },
    EndTurn,
    ClearHands,
    LowerHandOf {
        member_id: MemberId,
    },
}

/// The meeting's agenda and members' proposals.
#[derive(Debug, Clone, PartialEq)]
pub enum AgendaCommand {
    AddAgendaItem {
        item: AgendaItemDraft,
        position: Option<u32>,
    },
    EditAgendaItem {
        item_id: AgendaItemId,
        item: AgendaItemDraft,
    },
    RemoveAgendaItem {
        item_id: AgendaItemId,
    },
    ReorderAgenda {
        order: Vec<AgendaItemId>,
    },
    SetCurrentAgendaItem {
        item_id: AgendaItemId,
    },
    MarkAgendaItemDone {
        item_id: AgendaItemId,
    },
    NextAgendaItem,
    PreviousAgendaItem,
    EndMeeting,
    ProposeAgendaItem {
        item: AgendaItemDraft,
    },
    AcceptProposal {
        proposal_id: ProposalId,
        position: Option<u32>,
    },
    DeclineProposal {
        proposal_id: ProposalId,
    },
    SaveAgendaAsTemplate,
}

/// Rounds and the timer that times them.
#[derive(Debug, Clone, PartialEq)]
pub enum RoundCommand {
    StartRound {
        speaker_time_box_ms: u64,
        auto_advance: bool,
        speakers: Option<Vec<MemberId>>,
        item_id: Option<AgendaItemId>,
    },
    ReorderSpeakers {
        order: Vec<MemberId>,
    },
    ShuffleSpeakers,
    NextSpeaker,
    SkipSpeaker {
        member_id: Option<MemberId>,
    },
    PreviousSpeaker,
    RestoreSpeaker {
        member_id: MemberId,
    },
    EndRound,
    SetAutoAdvance {
        auto_advance: bool,
    },
    PauseTimer,
    ResumeTimer,
    ExtendTimer {
        delta_ms: i64,
    },
}

/// A bring-a-problem item's protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum ProblemCommand {
    StartProblemPhase {
        item_id: AgendaItemId,
        phase: ProblemPhase,
        time_box_ms: Option<u64>,
    },
    AddSuggestion {
        item_id: AgendaItemId,
        text: String,
    },
    ChooseSuggestions {
        item_id: AgendaItemId,
        choices: Option<Vec<SuggestionChoice>>,
        suggestion_ids: Option<Vec<SuggestionId>>,
    },
}

/// The group's commitment board.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitmentCommand {
    AddCommitment {
        text: String,
        owner: Option<MemberId>,
        due_meeting: Option<u32>,
        due_date: Option<String>,
    },
    UpdateCommitment {
        commitment_id: CommitmentId,
        status: CommitmentStatus,
        note: Option<String>,
    },
}

/// The group's sales-activity numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum ActivityCommand {
    SetMetrics {
        metrics: Vec<Metric>,
    },
    SubmitNumbers {
        values: BTreeMap<String, f64>,
        sharing: Sharing,
    },
}

/// The best-practice library.
#[derive(Debug, Clone, PartialEq)]
pub enum PracticeCommand {
    PostPractice {
        title: String,
        description: String,
        tags: Vec<String>,
        outcome: PracticeOutcome,
    },
    UpvotePractice {
        practice_id: PracticeId,
        up: bool,
    },
    CommentOnPractice {
        practice_id: PracticeId,
        text: String,
    },
}

/// Role play, set up and run by a facilitator.
#[derive(Debug, Clone, PartialEq)]
pub enum RolePlayCommand {
    SetUp(SetUpRolePlay),
    OpenScoring { role_play_id: RolePlayId },
    CloseScoring { role_play_id: RolePlayId },
    Reveal { role_play_id: RolePlayId },
    Cancel { role_play_id: RolePlayId },
    SaveTemplate { rubric: Rubric },
    DeleteTemplate { name: String },
}

/// A new role play: who sells, who buys (with a private brief), the scenario, the rubric and
/// how many must score before the reveal.
#[derive(Debug, Clone, PartialEq)]
pub struct SetUpRolePlay {
    pub seller: MemberId,
    pub buyer: Option<MemberId>,
    pub scenario: String,
    pub buyer_brief: Option<String>,
    pub rubric: Rubric,
    pub reveal_threshold: Option<u32>,
}

/// One scorer's form for the role play being scored.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSubmission {
    pub role_play_id: RolePlayId,
    /// One score per criterion, in the rubric's order.
    pub scores: Vec<u32>,
    pub comment: String,
    pub one_thing_differently: Option<String>,
}
