//! What a member asks of the room, as the rules see it.
//!
//! [`Command::try_from`] is the one place where a wire request is sorted: requests that change
//! the room ([`Change`], one enum per feature), that only read it ([`Query`]), role play (whose
//! submissions are not events), and the start of the next meeting (a new log). Join and ping
//! never reach a room: they come back as a [`SessionRequest`] for the connection to answer.
//! Every other match over requests is over one of these enums, so it is exhaustive and has no
//! "not mine" arm. The variants keep the protocol's names and fields; PROTOCOL.md documents
//! each.
//!
//! The sorted requests are defined here ([`Command`], [`Change`], [`Query`],
//! [`SessionRequest`]) and each feature's own enum in `features.rs`; the sorting itself, one arm
//! per wire request, is in `from_wire.rs`.

mod features;
mod from_wire;

use roundtable_protocol::{Credential, GroupId, Reaction, ResumePoint, UnixMs};

pub use features::{
    AccessCommand, ActivityCommand, AgendaCommand, CalendarCommand, CommitmentCommand, Erasure,
    MembershipCommand, PracticeCommand, PrepCommand, ProblemCommand, QueueCommand, RolePlayCommand,
    RoundCommand, ScheduleCommand, ScoreSubmission, SetUpRolePlay, VoteCommand,
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

/// Tests speak in wire requests, as clients do; these sort one the way the room does.
#[cfg(test)]
pub(crate) mod test_support {
    use roundtable_protocol::{MemberId, Request, RolePlayRequest, UnixMs};

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
        match super::from_wire::role_play_command(action.clone()) {
            Command::RolePlay(command) => command,
            other => panic!("{action:?} is not a facilitator's role play command: {other:?}"),
        }
    }
}
