//! [`Command::try_from`]: a wire request sorted into what it asks of the room, one arm per
//! request, so that a new request must find its place here.

use roundtable_protocol::{Request, RolePlayRequest};

use super::*;

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
pub(super) fn role_play_command(action: RolePlayRequest) -> Command {
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
