//! The changes to a room as its meeting's log keeps them: [`RoomEvent`] and [`StoredEvent`].
//! The rules of each feature decide these; the room's state folds them in
//! ([`crate::state`]); the stored and wire forms are derived from them.

use std::collections::BTreeMap;

use roundtable_protocol::{self as wire, MeetingId, MemberId, Role, UnixMs};

use crate::command::Erasure;
use crate::flow::{FlowEvent, QueueEvent};
use crate::secret::{Place, SecretHash};

/// A change to the room, as stored in the meeting's event log. Wire events are derived from
/// these by [`RoomEvent::to_wire`]; stored events may carry what never crosses the wire (a
/// token hash).
#[derive(Debug, Clone, PartialEq)]
pub enum RoomEvent {
    MemberAdded {
        member_id: MemberId,
        display_name: String,
        role: Role,
        token_hash: SecretHash,
    },
    /// Obsolete: in format 1-3 logs only. Who is online is not history, so no server decides
    /// or writes this any more; folding an old log applies it to
    /// [`crate::state::RoomState::logged_online`] and the meeting's attendance, as then.
    PresenceChanged {
        member_id: MemberId,
        online: bool,
        reason: wire::PresenceReason,
    },
    GroupRenamed {
        name: String,
    },
    TimeZoneSet {
        time_zone: String,
    },
    CallLinkSet {
        url: Option<String>,
    },
    MemberRemoved {
        member_id: MemberId,
    },
    RoleChanged {
        member_id: MemberId,
        role: Role,
    },
    HandRaised {
        member_id: MemberId,
    },
    HandLowered {
        member_id: MemberId,
    },
    CommitmentAdded {
        commitment: wire::Commitment,
        owner_accountability: wire::MemberAccountability,
    },
    CommitmentUpdated {
        commitment: wire::Commitment,
        owner_accountability: wire::MemberAccountability,
    },
    /// Named numbers (stored formats 1 to 3 also wrote anonymous ones this way, with the
    /// member's id: read back, those go to the member's legacy place,
    /// [`crate::activity::Place::legacy`]). Stored with the member and their values; on the
    /// wire only the resulting view.
    NumbersSubmitted {
        member_id: MemberId,
        values: BTreeMap<String, f64>,
        sharing: wire::Sharing,
        view: wire::BenchmarkView,
    },
    MetricsSet {
        metrics: Vec<wire::Metric>,
        view: wire::BenchmarkView,
    },
    PracticePosted {
        practice: wire::Practice,
    },
    PracticeUpvoted {
        practice_id: wire::PracticeId,
        member_id: MemberId,
        up: bool,
    },
    PracticeCommented {
        practice_id: wire::PracticeId,
        comment: wire::PracticeComment,
    },
    /// The current meeting ended and the next began, live, at the event's time: what ending a
    /// meeting did before meetings had phases (formats 1 to 3). Today's rules decide
    /// [`RoomEvent::NextMeetingOpened`] instead; this one is still read from older logs. The
    /// last event of the ended meeting's log; the new meeting's log starts empty.
    NextMeetingStarted {
        meeting_id: MeetingId,
        number: u32,
    },
    /// Role play and scoring; stored as on the wire (`room/roleplay`).
    RolePlay {
        change: wire::RolePlayEvent,
    },
    /// A change to the meeting flow.
    Flow {
        event: FlowEvent,
    },
    /// A facilitator made `link` anew: its secret is now the one hashing to `secret_hash`
    /// (`crate::access`). On the wire without the hash.
    LinkRotated {
        link: wire::LinkKind,
        version: u32,
        secret_hash: SecretHash,
    },
    /// A facilitator ended a member's session: its token no longer admits them.
    SessionRevoked {
        member_id: MemberId,
        session_id: wire::SessionId,
    },
    /// A member with no session left came back through a link: a new session, a new token.
    SessionStarted {
        member_id: MemberId,
        session_id: wire::SessionId,
        token_hash: SecretHash,
    },
    /// The member left and erased their data as `erasure` says: they are no member any more,
    /// their name is gone from the past meetings' minutes, and what they chose to remove is
    /// gone ([`crate::state`] folds it).
    MemberErased {
        member_id: MemberId,
        erasure: Erasure,
    },
    /// A facilitator set, changed or removed the group's schedule (`crate::schedule`): the
    /// whole schedule as it is now, moved meetings included.
    ScheduleSet {
        schedule: Option<wire::Schedule>,
    },
    /// The member's calendar feed is now the secret hashing to `secret_hash` (their previous
    /// one stops working). On the wire without the hash.
    CalendarFeedRenewed {
        member_id: MemberId,
        secret_hash: SecretHash,
    },
    /// The member's calendar feed was turned off.
    CalendarFeedRevoked {
        member_id: MemberId,
    },
    /// A facilitator started the upcoming meeting: it is live from the event's time, and who
    /// is here then attends it.
    MeetingStarted,
    /// The live meeting ended at the event's time (its minutes are kept) and the next one,
    /// `number`, is upcoming. The last event of the ended meeting's log; the new meeting's log
    /// starts empty.
    NextMeetingOpened {
        meeting_id: MeetingId,
        number: u32,
    },
    /// A member saved their check-in for the upcoming meeting ([`crate::prep`]): sent to the
    /// member alone.
    CheckInSaved {
        member_id: MemberId,
        check_in: wire::CheckIn,
    },
    /// A member asked for the hot seat, changed their request, or (`None`) withdrew it: sent
    /// to the member alone.
    HotSeatSaved {
        member_id: MemberId,
        hot_seat: Option<wire::RankedHotSeat>,
    },
    /// How many members prepared for the upcoming meeting, when it changed.
    PreparedCountChanged {
        prepared: u32,
    },
    /// The meeting started: everyone's check-ins, the ranked hot-seat requests and the
    /// benchmarks with the numbers submitted during prep, for everyone; prep closes.
    PrepRevealed {
        check_ins: Vec<wire::MemberCheckIn>,
        hot_seat: Vec<wire::RankedHotSeat>,
        benchmarks: wire::BenchmarkView,
    },
    /// Anonymous numbers, kept at a place derived from the submitter's pseudonym key: the event
    /// names nobody. On the wire only the resulting view.
    AnonymousNumbersSubmitted {
        place: Place,
        values: BTreeMap<String, f64>,
        view: wire::BenchmarkView,
    },
    /// A member's named numbers of this meeting were taken out (they now share anonymously).
    /// Carries no values; on the wire only the resulting view.
    NumbersWithdrawn {
        member_id: MemberId,
        view: wire::BenchmarkView,
    },
    /// The anonymous numbers at a place were taken out (their member now shares by name).
    AnonymousNumbersWithdrawn {
        place: Place,
        view: wire::BenchmarkView,
    },
    /// A member who left and chose to remove their numbers took their past anonymous numbers
    /// out of the trends, found by their key; names nobody. On the wire only the group's view
    /// (which it does not change: only that member ever saw past numbers).
    PastAnonymousNumbersRemoved {
        places: Vec<Place>,
        view: wire::BenchmarkView,
    },
    /// The member came to this meeting for the first time (format 4): the meeting's
    /// attendance, which its minutes list. Recorded when a member first comes online in a
    /// meeting, after their join is answered, and for everyone online as a meeting starts.
    MemberAttended {
        member_id: MemberId,
    },
    /// The member's report back on their open commitment `commitment_id`, made while the
    /// meeting is upcoming, is held as prep until the start (format 5), or (`None`) no longer
    /// held: withdrawn, or the commitment was closed meanwhile. Sent to the member alone; the
    /// start applies what is held to the board ([`crate::prep`]).
    ReportBackHeld {
        member_id: MemberId,
        commitment_id: wire::CommitmentId,
        report_back: Option<wire::ReportBack>,
    },
}

/// One event as stored in the meeting's log: the event and when it happened.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub at_ms: UnixMs,
    pub event: RoomEvent,
}

impl From<FlowEvent> for RoomEvent {
    fn from(event: FlowEvent) -> RoomEvent {
        RoomEvent::Flow { event }
    }
}

impl From<QueueEvent> for RoomEvent {
    fn from(event: QueueEvent) -> RoomEvent {
        match event {
            QueueEvent::HandRaised { member_id } => RoomEvent::HandRaised { member_id },
            QueueEvent::HandLowered { member_id } => RoomEvent::HandLowered { member_id },
            QueueEvent::Flow(event) => RoomEvent::Flow { event },
        }
    }
}
