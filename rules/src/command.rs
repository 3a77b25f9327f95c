//! What a member asks of the room, as the rules see it.
//!
//! [`Command::try_from`] is the one place where a wire request is sorted: requests that change
//! the room ([`Change`], one enum per feature), that only read it ([`Query`]), role play (whose
//! submissions are not events), and the start of the next meeting (a new log). Join and ping
//! never reach a room: they come back as a [`SessionRequest`] for the connection to answer.
//! Every other match over requests is over one of these enums, so it is exhaustive and has no
//! "not mine" arm. The variants keep the protocol's names and fields; PROTOCOL.md documents
//! each.

use std::collections::BTreeMap;

use roundtable_protocol::{
    AgendaItemDraft, AgendaItemId, CommitmentId, CommitmentStatus, Credential, ErasureChoice,
    GroupId, LinkKind, MemberId, Metric, PracticeId, PracticeOutcome, ProblemPhase, ProposalId,
    Reaction, Request, ResumePoint, Role, RolePlayId, RolePlayRequest, Rubric, ScheduleDraft,
    SessionId, Sharing, SuggestionChoice, SuggestionId, UnixMs,
};

/// A request a joined member makes of their room.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Changes the room: decided into events ([`crate::state::decide`]).
    Change(Change),
    /// Reads the room, for the asking member alone ([`crate::state::answer`]).
    Query(Query),
    /// Role play, run by a facilitator ([`crate::roleplay::decide`]); the room draws the fresh
    /// values it needs.
    RolePlay(RolePlayCommand),
    /// A scorer's form ([`crate::roleplay::decide_submission`]): not an event, so that nothing
    /// orders or dates it next to the scorer's name.
    SubmitScores(ScoreSubmission),
    /// Ends this live meeting; the next one is upcoming ([`crate::state::decide_next_meeting`]).
    StartNextMeeting,
    /// Starts the upcoming meeting: it becomes live ([`crate::state::decide_start_meeting`]).
    StartMeeting,
    /// A quick reaction ([`crate::reactions`]): not an event, never stored.
    React(Reaction),
    /// The links and the members' sessions ([`crate::access`]), facilitators only: the room
    /// draws a new link's secret and knows which connections each session has.
    Access(AccessCommand),
    /// A facilitator deletes the group ([`crate::membership::decide_delete_group`]): nothing
    /// is recorded, the store forgets the group.
    DeleteGroup { confirm_name: String },
    /// A member leaves and erases their data ([`crate::membership::decide_leave`]).
    LeaveGroup(Erasure),
    /// The next meeting, or a member's new calendar feed ([`CalendarCommand`]).
    Calendar(CalendarCommand),
}

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

/// A request that changes the room, by feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Membership(MembershipCommand),
    Queue(QueueCommand),
    Agenda(AgendaCommand),
    Round(RoundCommand),
    Problem(ProblemCommand),
    Commitments(CommitmentCommand),
    Activity(ActivityCommand),
    Practices(PracticeCommand),
    Votes(VoteCommand),
    Schedule(ScheduleCommand),
    Prep(PrepCommand),
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

/// A request that only reads the room.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    GetMyBenchmarks,
    SearchPractices { text: String, tag: Option<String> },
    GetMyHistory,
}

/// A request the connection answers itself: it never reaches a room.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionRequest {
    Join {
        group_id: GroupId,
        credential: Credential,
        resume: Option<ResumePoint>,
    },
    Ping {
        client_time_ms: UnixMs,
    },
}

impl TryFrom<Request> for Command {
    type Error = SessionRequest;

    fn try_from(request: Request) -> Result<Command, SessionRequest> {
        use Command::Change as C;
        Ok(match request {
            Request::Join {
                group_id,
                credential,
                resume,
            } => {
                return Err(SessionRequest::Join {
                    group_id,
                    credential,
                    resume,
                });
            }
            Request::Ping { client_time_ms } => {
                return Err(SessionRequest::Ping { client_time_ms });
            }
            Request::SetTimeZone { time_zone } => {
                C(Change::Membership(MembershipCommand::SetTimeZone {
                    time_zone,
                }))
            }
            Request::SetCallLink { url } => {
                C(Change::Membership(MembershipCommand::SetCallLink { url }))
            }
            Request::RenameGroup { name } => {
                C(Change::Membership(MembershipCommand::RenameGroup { name }))
            }
            Request::RemoveMember { member_id } => {
                C(Change::Membership(MembershipCommand::RemoveMember {
                    member_id,
                }))
            }
            Request::SetRole { member_id, role } => {
                C(Change::Membership(MembershipCommand::SetRole {
                    member_id,
                    role,
                }))
            }
            Request::HandOverFacilitator { member_id } => {
                C(Change::Membership(MembershipCommand::HandOverFacilitator {
                    member_id,
                }))
            }
            Request::SaveCheckIn {
                win,
                challenge,
                ask,
            } => C(Change::Prep(PrepCommand::SaveCheckIn {
                check_in: roundtable_protocol::CheckIn {
                    win,
                    challenge,
                    ask,
                },
            })),
            Request::RequestHotSeat {
                problem,
                priority,
                minutes,
            } => C(Change::Prep(PrepCommand::RequestHotSeat {
                request: roundtable_protocol::HotSeatRequest {
                    problem,
                    priority,
                    minutes,
                },
            })),
            Request::WithdrawHotSeat => C(Change::Prep(PrepCommand::WithdrawHotSeat)),
            Request::WithdrawReportBack { commitment_id } => {
                C(Change::Prep(PrepCommand::WithdrawReportBack {
                    commitment_id,
                }))
            }
            Request::RaiseHand => C(Change::Queue(QueueCommand::RaiseHand)),
            Request::LowerHand => C(Change::Queue(QueueCommand::LowerHand)),
            Request::CallNextSpeaker {
                time_box_ms,
                member_id,
            } => C(Change::Queue(QueueCommand::CallNextSpeaker {
                time_box_ms,
                member_id,
            })),
            Request::EndTurn => C(Change::Queue(QueueCommand::EndTurn)),
            Request::ClearHands => C(Change::Queue(QueueCommand::ClearHands)),
            Request::LowerHandOf { member_id } => {
                C(Change::Queue(QueueCommand::LowerHandOf { member_id }))
            }
            Request::AddAgendaItem { item, position } => {
                C(Change::Agenda(AgendaCommand::AddAgendaItem {
                    item,
                    position,
                }))
            }
            Request::EditAgendaItem { item_id, item } => {
                C(Change::Agenda(AgendaCommand::EditAgendaItem {
                    item_id,
                    item,
                }))
            }
            Request::RemoveAgendaItem { item_id } => {
                C(Change::Agenda(AgendaCommand::RemoveAgendaItem { item_id }))
            }
            Request::ReorderAgenda { order } => {
                C(Change::Agenda(AgendaCommand::ReorderAgenda { order }))
            }
            Request::SetCurrentAgendaItem { item_id } => {
                C(Change::Agenda(AgendaCommand::SetCurrentAgendaItem {
                    item_id,
                }))
            }
            Request::MarkAgendaItemDone { item_id } => {
                C(Change::Agenda(AgendaCommand::MarkAgendaItemDone {
                    item_id,
                }))
            }
            Request::NextAgendaItem => C(Change::Agenda(AgendaCommand::NextAgendaItem)),
            Request::PreviousAgendaItem => C(Change::Agenda(AgendaCommand::PreviousAgendaItem)),
            Request::EndMeeting => C(Change::Agenda(AgendaCommand::EndMeeting)),
            Request::ProposeAgendaItem { item } => {
                C(Change::Agenda(AgendaCommand::ProposeAgendaItem { item }))
            }
            Request::AcceptProposal {
                proposal_id,
                position,
            } => C(Change::Agenda(AgendaCommand::AcceptProposal {
                proposal_id,
                position,
            })),
            Request::DeclineProposal { proposal_id } => {
                C(Change::Agenda(AgendaCommand::DeclineProposal {
                    proposal_id,
                }))
            }
            Request::SaveAgendaAsTemplate => C(Change::Agenda(AgendaCommand::SaveAgendaAsTemplate)),
            Request::StartRound {
                speaker_time_box_ms,
                auto_advance,
                speakers,
                item_id,
            } => C(Change::Round(RoundCommand::StartRound {
                speaker_time_box_ms,
                auto_advance,
                speakers,
                item_id,
            })),
            Request::ReorderSpeakers { order } => {
                C(Change::Round(RoundCommand::ReorderSpeakers { order }))
            }
            Request::ShuffleSpeakers => C(Change::Round(RoundCommand::ShuffleSpeakers)),
            Request::NextSpeaker => C(Change::Round(RoundCommand::NextSpeaker)),
            Request::SkipSpeaker { member_id } => {
                C(Change::Round(RoundCommand::SkipSpeaker { member_id }))
            }
            Request::PreviousSpeaker => C(Change::Round(RoundCommand::PreviousSpeaker)),
            Request::RestoreSpeaker { member_id } => {
                C(Change::Round(RoundCommand::RestoreSpeaker { member_id }))
            }
            Request::EndRound => C(Change::Round(RoundCommand::EndRound)),
            Request::SetAutoAdvance { auto_advance } => {
                C(Change::Round(RoundCommand::SetAutoAdvance { auto_advance }))
            }
            Request::PauseTimer => C(Change::Round(RoundCommand::PauseTimer)),
            Request::ResumeTimer => C(Change::Round(RoundCommand::ResumeTimer)),
            Request::ExtendTimer { delta_ms } => {
                C(Change::Round(RoundCommand::ExtendTimer { delta_ms }))
            }
            Request::StartProblemPhase {
                item_id,
                phase,
                time_box_ms,
            } => C(Change::Problem(ProblemCommand::StartProblemPhase {
                item_id,
                phase,
                time_box_ms,
            })),
            Request::AddSuggestion { item_id, text } => {
                C(Change::Problem(ProblemCommand::AddSuggestion {
                    item_id,
                    text,
                }))
            }
            Request::ChooseSuggestions {
                item_id,
                choices,
                suggestion_ids,
            } => C(Change::Problem(ProblemCommand::ChooseSuggestions {
                item_id,
                choices,
                suggestion_ids,
            })),
            Request::AddCommitment {
                text,
                owner,
                due_meeting,
                due_date,
            } => C(Change::Commitments(CommitmentCommand::AddCommitment {
                text,
                owner,
                due_meeting,
                due_date,
            })),
            Request::UpdateCommitment {
                commitment_id,
                status,
                note,
            } => C(Change::Commitments(CommitmentCommand::UpdateCommitment {
                commitment_id,
                status,
                note,
            })),
            Request::SetMetrics { metrics } => {
                C(Change::Activity(ActivityCommand::SetMetrics { metrics }))
            }
            Request::SubmitNumbers { values, sharing } => {
                C(Change::Activity(ActivityCommand::SubmitNumbers {
                    values,
                    sharing,
                }))
            }
            Request::PostPractice {
                title,
                description,
                tags,
                outcome,
            } => C(Change::Practices(PracticeCommand::PostPractice {
                title,
                description,
                tags,
                outcome,
            })),
            Request::UpvotePractice { practice_id, up } => {
                C(Change::Practices(PracticeCommand::UpvotePractice {
                    practice_id,
                    up,
                }))
            }
            Request::CommentOnPractice { practice_id, text } => {
                C(Change::Practices(PracticeCommand::CommentOnPractice {
                    practice_id,
                    text,
                }))
            }
            Request::GetMyBenchmarks => Command::Query(Query::GetMyBenchmarks),
            Request::SearchPractices { text, tag } => {
                Command::Query(Query::SearchPractices { text, tag })
            }
            Request::GetMyHistory => Command::Query(Query::GetMyHistory),
            Request::RolePlay { action } => role_play_command(action),
            Request::StartNextMeeting => Command::StartNextMeeting,
            Request::StartMeeting => Command::StartMeeting,
            Request::React { reaction } => Command::React(reaction),
            Request::VoteSuggestion {
                item_id,
                suggestion_id,
                vote,
            } => C(Change::Votes(VoteCommand::VoteSuggestion {
                item_id,
                suggestion_id,
                vote,
            })),
            Request::RotateLink { link } => Command::Access(AccessCommand::RotateLink { link }),
            Request::ListSessions => Command::Access(AccessCommand::ListSessions),
            Request::RevokeSession {
                member_id,
                session_id,
            } => Command::Access(AccessCommand::RevokeSession {
                member_id,
                session_id,
            }),
            Request::DeleteGroup { confirm_name } => Command::DeleteGroup { confirm_name },
            Request::LeaveGroup {
                commitments,
                numbers,
                practices,
            } => Command::LeaveGroup(Erasure {
                commitments,
                numbers,
                practices,
            }),
            Request::SetSchedule { schedule } => {
                C(Change::Schedule(ScheduleCommand::Set { schedule }))
            }
            Request::MoveMeeting { occurrence, to } => {
                C(Change::Schedule(ScheduleCommand::Move { occurrence, to }))
            }
            Request::ClearMove { occurrence } => {
                C(Change::Schedule(ScheduleCommand::ClearMove { occurrence }))
            }
            Request::RevokeCalendarFeed { member_id } => {
                C(Change::Schedule(ScheduleCommand::RevokeFeed { member_id }))
            }
            Request::GetNextMeeting => Command::Calendar(CalendarCommand::GetNextMeeting),
            Request::RenewCalendarFeed => Command::Calendar(CalendarCommand::RenewFeed),
        })
    }
}

/// Sorts a role play request: the submission apart from the facilitator's controls.
fn role_play_command(action: RolePlayRequest) -> Command {
    use Command::RolePlay as R;
    match action {
        RolePlayRequest::Submit {
            role_play_id,
            scores,
            comment,
            one_thing_differently,
        } => Command::SubmitScores(ScoreSubmission {
            role_play_id,
            scores,
            comment,
            one_thing_differently,
        }),
        RolePlayRequest::SetUp {
            seller,
            buyer,
            scenario,
            buyer_brief,
            rubric,
            reveal_threshold,
        } => R(RolePlayCommand::SetUp(SetUpRolePlay {
            seller,
            buyer,
            scenario,
            buyer_brief,
            rubric,
            reveal_threshold,
        })),
        RolePlayRequest::OpenScoring { role_play_id } => {
            R(RolePlayCommand::OpenScoring { role_play_id })
        }
        RolePlayRequest::CloseScoring { role_play_id } => {
            R(RolePlayCommand::CloseScoring { role_play_id })
        }
        RolePlayRequest::Reveal { role_play_id } => R(RolePlayCommand::Reveal { role_play_id }),
        RolePlayRequest::Cancel { role_play_id } => R(RolePlayCommand::Cancel { role_play_id }),
        RolePlayRequest::SaveTemplate { rubric } => R(RolePlayCommand::SaveTemplate { rubric }),
        RolePlayRequest::DeleteTemplate { name } => R(RolePlayCommand::DeleteTemplate { name }),
    }
}

/// Tests speak in wire requests, as clients do; these sort one the way the room does.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// The change a request asks for; panics on any other kind of request.
    pub fn change(request: &Request) -> Change {
        match Command::try_from(request.clone()) {
            Ok(Command::Change(change)) => change,
            other => panic!("{request:?} is not a change: {other:?}"),
        }
    }

    /// Decides a request that asks for a change, as the room does.
    pub fn decide(
        state: &crate::state::RoomState,
        by: MemberId,
        request: &Request,
        limits: &crate::limits::RoomLimits,
        now_ms: UnixMs,
    ) -> Result<Vec<crate::state::RoomEvent>, crate::state::RoomError> {
        crate::state::decide_keyed(
            state,
            by,
            crate::state::test_key(by),
            &change(request),
            limits,
            now_ms,
        )
    }

    /// The facilitator's role play command a request asks for; panics on a submission.
    pub fn role_play_command(action: &RolePlayRequest) -> RolePlayCommand {
        match super::role_play_command(action.clone()) {
            Command::RolePlay(command) => command,
            other => panic!("{action:?} is not a facilitator's role play command: {other:?}"),
        }
    }
}
