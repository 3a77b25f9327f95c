//! The minutes of a meeting, as exported by `GET /api/groups/{group_id}/minutes`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{
    AgendaItem, BenchmarkView, Commitment, MeetingId, MemberId, Practice, RolePlayResults,
    TalkTime, UnixMs,
};

/// Everything the group wants to keep from one meeting. Role plays appear only as aggregates:
/// individual scores are never kept, so they can never be exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Minutes {
    pub group_name: String,
    pub meeting_id: MeetingId,
    pub meeting_number: u32,
    pub started_at_ms: UnixMs,
    /// When a facilitator ended the meeting (or started the next one without ending it first);
    /// `None` while it goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<UnixMs>,
    /// The group's time zone when the minutes were written (an IANA name); the Markdown gives
    /// times in it. UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Members who were in the room at some point, in the order they first came.
    pub attendees: Vec<Attendee>,
    /// The agenda with each item's outcome; problem items carry their suggestions and the
    /// presenter's choice.
    #[serde(default)]
    pub agenda: Vec<AgendaItem>,
    /// Each member's talk time in this meeting's rounds and turns.
    #[serde(default)]
    pub talk_times: Vec<TalkTime>,
    /// Role plays revealed in this meeting: aggregates and anonymous comments only.
    #[serde(default)]
    pub role_plays: Vec<RolePlayResults>,
    /// Commitments made in this meeting.
    pub commitments_made: Vec<Commitment>,
    /// Commitments that were due at this meeting, with the status they were reported with.
    pub commitments_reported: Vec<Commitment>,
    /// This meeting's benchmarks as the group saw them.
    pub benchmarks: BenchmarkView,
    /// Practices shared in this meeting.
    pub practices: Vec<Practice>,
}

/// A member who attended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Attendee {
    pub member_id: MemberId,
    pub display_name: String,
}

/// Answer to `GET /api/groups/{group_id}/meetings`: the group's meetings, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MeetingList {
    pub meetings: Vec<MeetingSummary>,
}

/// One meeting in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MeetingSummary {
    pub meeting_id: MeetingId,
    pub number: u32,
    pub started_at_ms: UnixMs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<UnixMs>,
}
