//! Prep before a meeting: while a meeting is upcoming each member writes a check-in and may ask
//! for the hot seat. Both stay with their author until the meeting starts; everyone else sees
//! only how many members prepared. When the meeting starts the check-ins and the ranked hot-seat
//! requests go to everyone ([`crate::Event::PrepRevealed`]).
//!
//! A member's report back on their own open commitment (`update_commitment`) made while the
//! meeting is upcoming is prep too: it is held ([`crate::Event::ReportBackHeld`], to the
//! author alone) and applied to the commitment board when the meeting starts.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::*;

/// A member's check-in for the next meeting: a win, a challenge and what they want from the
/// group. Any of the three may be empty, not all of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    #[serde(default)]
    pub win: String,
    #[serde(default)]
    pub challenge: String,
    /// What the member wants from the group.
    #[serde(default)]
    pub ask: String,
}

/// How pressing a hot-seat request is: `a` before `b` before `c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum HotSeatPriority {
    A,
    B,
    C,
}

/// A member asks for the hot seat: the problem they would bring, how pressing it is and the
/// minutes they want.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct HotSeatRequest {
    pub problem: String,
    pub priority: HotSeatPriority,
    pub minutes: u32,
}

/// A member's check-in, once the meeting started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MemberCheckIn {
    pub member_id: MemberId,
    pub check_in: CheckIn,
}

/// A hot-seat request in the ranking of the bring-a-problem item (priority first, then the
/// earlier request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RankedHotSeat {
    pub member_id: MemberId,
    pub request: HotSeatRequest,
    /// When the member first asked (an edit keeps the time; withdrawing and asking again does
    /// not).
    pub requested_at_ms: UnixMs,
}

/// A report back held until the meeting starts: the status and note its commitment gets then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReportBack {
    pub status: CommitmentStatus,
    pub note: String,
}

/// One of the viewer's held report backs, on their commitment `commitment_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HeldReportBack {
    pub commitment_id: CommitmentId,
    pub status: CommitmentStatus,
    pub note: String,
}

/// The viewer's own prep for the upcoming meeting.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct MyPrep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in: Option<CheckIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_seat: Option<RankedHotSeat>,
    /// The viewer's report backs held until the start, by commitment id. Empty once the
    /// meeting started (they are on the board then).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub report_backs: Vec<HeldReportBack>,
}

impl PrepView {
    /// Prep closed and nothing in it: the snapshot leaves it out.
    pub fn is_empty(&self) -> bool {
        *self == PrepView::default()
    }
}

/// Prep as one viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct PrepView {
    /// Members may prepare now: the meeting is upcoming. False once it started (and while no
    /// meeting is upcoming).
    #[serde(default)]
    pub open: bool,
    /// How many current members have a saved check-in for this meeting (a member counts as
    /// prepared once their check-in is saved; a hot-seat request, numbers or report-backs
    /// alone do not count). The group's size is the members' count.
    #[serde(default)]
    pub prepared: u32,
    /// The viewer's own check-in, hot-seat request and held report backs.
    #[serde(default)]
    pub mine: MyPrep,
    /// Once the meeting started: every member's check-in, in the members' order. Empty before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_ins: Vec<MemberCheckIn>,
    /// Once the meeting started: the hot-seat requests, ranked. Empty before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hot_seat: Vec<RankedHotSeat>,
}
