//! A meeting's life: upcoming (the lobby, prep open), then live once a facilitator starts it,
//! then ended (its minutes are the past meetings'), which makes the next meeting upcoming.
//!
//! [`needs`] is the one table of which requests need which phase of the current meeting, and
//! [`admit`] the one check of it: the room runs every request through [`admit`] before it
//! decides anything, so a refused request changes nothing. The table is an exhaustive match
//! with no catch-all arm, so a new request cannot be added without deciding its row here.

use roundtable_protocol::{ErrorCode, MeetingPhase};

use crate::command::{
    AgendaCommand, Change, Command, MembershipCommand, RolePlayCommand, VoteCommand,
};
use crate::error::RoomError;
use crate::roster::Meeting;

/// The phase of the current meeting a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Any phase: the group's settings, its members and links, the agenda's contents,
    /// commitments, numbers, the library, reading.
    AnyPhase,
    /// A live meeting: the meeting itself (the round, the timer, the floor and hands, a
    /// problem's phases, votes, role play, reactions, moving through the agenda) and ending it.
    Live,
    /// An upcoming meeting: starting it, and prep (a check-in, a hot-seat request).
    Upcoming,
}

/// Which phase each request needs: the table.
pub fn needs(command: &Command) -> Needs {
    use Needs::{AnyPhase, Live, Upcoming};
    match command {
        Command::Change(change) => match change {
            Change::Membership(command) => match command {
                MembershipCommand::RenameGroup { .. }
                | MembershipCommand::SetTimeZone { .. }
                | MembershipCommand::SetCallLink { .. }
                | MembershipCommand::RemoveMember { .. }
                | MembershipCommand::SetRole { .. }
                | MembershipCommand::HandOverFacilitator { .. } => AnyPhase,
            },
            // Hands and the floor: the meeting's.
            Change::Queue(_) => Live,
            Change::Agenda(command) => match command {
                // Editing the agenda, before the meeting as during it.
                AgendaCommand::AddAgendaItem { .. }
                | AgendaCommand::EditAgendaItem { .. }
                | AgendaCommand::RemoveAgendaItem { .. }
                | AgendaCommand::ReorderAgenda { .. }
                | AgendaCommand::ProposeAgendaItem { .. }
                | AgendaCommand::AcceptProposal { .. }
                | AgendaCommand::DeclineProposal { .. }
                | AgendaCommand::SaveAgendaAsTemplate => AnyPhase,
                // Moving through it is running the meeting.
                AgendaCommand::SetCurrentAgendaItem { .. }
                | AgendaCommand::MarkAgendaItemDone { .. }
                | AgendaCommand::NextAgendaItem
                | AgendaCommand::PreviousAgendaItem
                | AgendaCommand::EndMeeting => Live,
            },
            // The round and the speaking timer.
            Change::Round(_) => Live,
            // A problem's phases and suggestions.
            Change::Problem(_) => Live,
            Change::Votes(VoteCommand::VoteSuggestion { .. }) => Live,
            // Reporting on commitments, the period's numbers, the library: between meetings too.
            Change::Commitments(_) | Change::Activity(_) | Change::Practices(_) => AnyPhase,
            // The group's schedule: its settings.
            Change::Schedule(_) => AnyPhase,
            // Prep is for the upcoming meeting; the start reveals it (`crate::prep`).
            Change::Prep(_) => Upcoming,
        },
        Command::Query(_) => AnyPhase,
        Command::RolePlay(command) => match command {
            RolePlayCommand::SetUp(_)
            | RolePlayCommand::OpenScoring { .. }
            | RolePlayCommand::CloseScoring { .. }
            | RolePlayCommand::Reveal { .. }
            | RolePlayCommand::Cancel { .. } => Live,
            // The group's rubric templates are its settings.
            RolePlayCommand::SaveTemplate { .. } | RolePlayCommand::DeleteTemplate { .. } => {
                AnyPhase
            }
        },
        Command::SubmitScores(_) => Live,
        Command::React(_) => Live,
        Command::StartMeeting => Upcoming,
        // "End meeting": only a live meeting ends.
        Command::StartNextMeeting => Live,
        Command::Access(_) | Command::DeleteGroup { .. } | Command::LeaveGroup(_) => AnyPhase,
        // A member's calendar feed: between meetings too.
        Command::Calendar(_) => AnyPhase,
    }
}

/// Refuses a request the current meeting's phase does not allow, with a message that says why.
pub fn admit(meeting: &Meeting, command: &Command) -> Result<(), RoomError> {
    match (needs(command), meeting.phase) {
        (Needs::AnyPhase, _)
        | (Needs::Live, MeetingPhase::Live)
        | (Needs::Upcoming, MeetingPhase::Upcoming) => Ok(()),
        (Needs::Live, MeetingPhase::Upcoming) => Err(RoomError::new(
            ErrorCode::MeetingNotLive,
            format!(
                "meeting {} has not started yet; this can be done once a facilitator starts it",
                meeting.number
            ),
        )),
        (Needs::Upcoming, MeetingPhase::Live) => Err(RoomError::new(
            ErrorCode::Conflict,
            format!("meeting {} is live already", meeting.number),
        )),
    }
}

#[cfg(test)]
#[path = "meeting_life_tests.rs"]
mod tests;
