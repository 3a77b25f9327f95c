//! Format 4's prep before a meeting (`crate::prep`): each member's check-in and hot-seat
//! request, under the member's id (prep is named; anonymous numbers are never part of it), and
//! whether the meeting's start revealed them.

use std::collections::BTreeMap;

use roundtable_protocol as wire;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Prep for the current meeting (`PrepState`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PrepState {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_member: BTreeMap<Uuid, MemberPrep>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub revealed: bool,
}

impl PrepState {
    /// Nothing prepared and nothing revealed: a snapshot leaves it out.
    pub fn is_empty(&self) -> bool {
        self.by_member.is_empty() && !self.revealed
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

// Read and converted forward to format 5's (`super::super::v5::PrepState`).

/// One member's prep (`MemberPrep`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberPrep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in: Option<CheckIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_seat: Option<RankedHotSeat>,
}

// Read and converted forward to format 5's (`super::super::v5::MemberPrep`).

/// A check-in (`CheckIn`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckIn {
    pub win: String,
    pub challenge: String,
    pub ask: String,
}

mirror_struct!(CheckIn <=> wire::CheckIn { win, challenge, ask });

/// A hot-seat request's priority (`HotSeatPriority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HotSeatPriority {
    A,
    B,
    C,
}

mirror_enum!(HotSeatPriority <=> wire::HotSeatPriority { A, B, C });

/// A hot-seat request (`HotSeatRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotSeatRequest {
    pub problem: String,
    pub priority: HotSeatPriority,
    pub minutes: u32,
}

mirror_struct!(HotSeatRequest <=> wire::HotSeatRequest { problem, priority, minutes });

/// A member's hot-seat request with when they first asked (`RankedHotSeat`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedHotSeat {
    pub member_id: Uuid,
    pub request: HotSeatRequest,
    pub requested_at_ms: u64,
}

mirror_struct!(RankedHotSeat <=> wire::RankedHotSeat { member_id, request, requested_at_ms });

/// A member's check-in as revealed at the start (`MemberCheckIn`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberCheckIn {
    pub member_id: Uuid,
    pub check_in: CheckIn,
}

mirror_struct!(MemberCheckIn <=> wire::MemberCheckIn { member_id, check_in });
