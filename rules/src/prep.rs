//! Prep before a meeting: while the meeting is upcoming each member may save a check-in (a win,
//! a challenge, what they want from the group) and ask for the hot seat (a problem, a priority
//! A/B/C and the minutes wanted). Numbers go through the benchmarks' own `submit_numbers` and
//! report-backs through the commitment board's `update_commitment`; this module keeps the rest.
//!
//! Privacy: a member's check-in and hot-seat request are sent to the member alone
//! ([`crate::roster::Audience::Only`]) until the meeting starts; everyone receives only how many
//! members prepared, where *prepared* means: a current member with a saved check-in for this
//! meeting (a hot-seat request, numbers or report-backs alone do not count; the count is over
//! all current members, observers included, and the group's size is the number of members).
//! When the meeting starts, [`reveal`] gives everyone the check-ins and the ranked hot-seat
//! requests in one event, and prep closes. A member's prep is named (stored under their id);
//! numbers shared anonymously are never part of it.
//!
//! Resending is harmless: saving what is saved already (the same check-in, the same request,
//! withdrawing nothing) decides no event, so a page that is unsure whether its draft arrived
//! sends it again.

use std::collections::BTreeMap;

use roundtable_protocol::{
    self as wire, CheckIn, ErrorCode, HotSeatRequest, MemberCheckIn, MemberId, RankedHotSeat,
    UnixMs,
};

pub use crate::command::PrepCommand;
use crate::error::RoomError;
use crate::event::RoomEvent;
use crate::limits::PrepLimits;
use crate::roster::Roster;
use crate::text;

/// Prep for the current meeting.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrepState {
    /// Each member's prep, by member (at most one entry per current member).
    pub by_member: BTreeMap<MemberId, MemberPrep>,
    /// The meeting started and everyone has seen the prep: it is closed.
    pub revealed: bool,
}

/// One member's prep.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemberPrep {
    pub check_in: Option<CheckIn>,
    pub hot_seat: Option<RankedHotSeat>,
}

impl MemberPrep {
    fn is_empty(&self) -> bool {
        self.check_in.is_none() && self.hot_seat.is_none()
    }
}

/// What the prep rules see of the room.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub prep: &'a PrepState,
    pub roster: Roster<'a>,
    /// The meeting is upcoming (not started yet) and prep has not been revealed.
    pub open: bool,
    pub limits: &'a PrepLimits,
}

impl PrepState {
    /// How many current members prepared (see the module documentation).
    pub fn prepared(&self) -> u32 {
        self.by_member
            .values()
            .filter(|prep| prep.check_in.is_some())
            .count() as u32
    }

    /// Whether `member_id` has prepared.
    pub fn has_prepared(&self, member_id: MemberId) -> bool {
        self.by_member
            .get(&member_id)
            .is_some_and(|prep| prep.check_in.is_some())
    }

    /// The check-ins, in the order of `members`.
    pub fn check_ins(&self, members: &[MemberId]) -> Vec<MemberCheckIn> {
        members
            .iter()
            .filter_map(|member_id| {
                let check_in = self.by_member.get(member_id)?.check_in.clone()?;
                Some(MemberCheckIn {
                    member_id: *member_id,
                    check_in,
                })
            })
            .collect()
    }

    /// The hot-seat requests, ranked: priority A before B before C, then the earlier request,
    /// then by member id so that equal times still have one order.
    pub fn ranked_hot_seat(&self) -> Vec<RankedHotSeat> {
        let mut ranked: Vec<RankedHotSeat> = self
            .by_member
            .values()
            .filter_map(|prep| prep.hot_seat.clone())
            .collect();
        ranked.sort_by_key(|hot_seat| {
            (
                hot_seat.request.priority,
                hot_seat.requested_at_ms,
                hot_seat.member_id,
            )
        });
        ranked
    }

    /// Prep as `viewer` sees it: their own, the count, and everyone's once revealed.
    pub fn view_for(&self, viewer: MemberId, members: &[MemberId], open: bool) -> wire::PrepView {
        let mine = self.by_member.get(&viewer).cloned().unwrap_or_default();
        let (check_ins, hot_seat) = if self.revealed {
            (self.check_ins(members), self.ranked_hot_seat())
        } else {
            (Vec::new(), Vec::new())
        };
        wire::PrepView {
            open,
            prepared: self.prepared(),
            mine: wire::MyPrep {
                check_in: mine.check_in,
                hot_seat: mine.hot_seat,
            },
            check_ins,
            hot_seat,
        }
    }

    /// Folds a saved check-in.
    pub fn save_check_in(&mut self, member_id: MemberId, check_in: &CheckIn) {
        self.by_member.entry(member_id).or_default().check_in = Some(check_in.clone());
    }

    /// Folds a saved or withdrawn hot-seat request.
    pub fn save_hot_seat(&mut self, member_id: MemberId, hot_seat: &Option<RankedHotSeat>) {
        let prep = self.by_member.entry(member_id).or_default();
        prep.hot_seat = hot_seat.clone();
        if prep.is_empty() {
            self.by_member.remove(&member_id);
        }
    }

    /// Forgets a member's prep (they were removed or left).
    pub fn forget_member(&mut self, member_id: MemberId) {
        self.by_member.remove(&member_id);
    }

    /// Checks the prep's invariants against who may hold prep.
    pub fn check_invariants(&self, is_member: impl Fn(MemberId) -> bool) -> Result<(), String> {
        for (member_id, prep) in &self.by_member {
            if !is_member(*member_id) {
                return Err(format!("prep of {member_id} who is not a member"));
            }
            if prep.is_empty() {
                return Err(format!("empty prep kept for {member_id}"));
            }
            if let Some(hot_seat) = &prep.hot_seat
                && hot_seat.member_id != *member_id
            {
                return Err(format!("hot-seat request of {member_id} names another"));
            }
        }
        Ok(())
    }
}

fn closed() -> RoomError {
    RoomError::new(
        ErrorCode::Conflict,
        "prep is open only while the meeting is upcoming; this meeting has started",
    )
}

/// Decides a member's prep request.
pub fn decide(
    ctx: Context,
    by: MemberId,
    command: &PrepCommand,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    ctx.roster.require_member_role(by)?;
    if !ctx.open {
        return Err(closed());
    }
    let mine = ctx.prep.by_member.get(&by);
    match command {
        PrepCommand::SaveCheckIn { check_in } => {
            let check_in = checked_check_in(check_in, ctx.limits)?;
            if mine.and_then(|prep| prep.check_in.as_ref()) == Some(&check_in) {
                return Ok(Vec::new());
            }
            let first = !ctx.prep.has_prepared(by);
            let mut events = vec![RoomEvent::CheckInSaved {
                member_id: by,
                check_in,
            }];
            if first {
                events.push(RoomEvent::PreparedCountChanged {
                    prepared: ctx.prep.prepared() + 1,
                });
            }
            Ok(events)
        }
        PrepCommand::RequestHotSeat { request } => {
            let request = checked_hot_seat(request, ctx.limits)?;
            let saved = mine.and_then(|prep| prep.hot_seat.as_ref());
            if saved.is_some_and(|saved| saved.request == request) {
                return Ok(Vec::new());
            }
            let requested_at_ms = saved.map_or(now_ms, |saved| saved.requested_at_ms);
            Ok(vec![RoomEvent::HotSeatSaved {
                member_id: by,
                hot_seat: Some(RankedHotSeat {
                    member_id: by,
                    request,
                    requested_at_ms,
                }),
            }])
        }
        PrepCommand::WithdrawHotSeat => {
            if mine.and_then(|prep| prep.hot_seat.as_ref()).is_none() {
                return Ok(Vec::new());
            }
            Ok(vec![RoomEvent::HotSeatSaved {
                member_id: by,
                hot_seat: None,
            }])
        }
    }
}

fn checked_check_in(check_in: &CheckIn, limits: &PrepLimits) -> Result<CheckIn, RoomError> {
    let max = limits.check_in_field_chars_max;
    let checked = CheckIn {
        win: text::block("the win", &check_in.win, max)?,
        challenge: text::block("the challenge", &check_in.challenge, max)?,
        ask: text::block("the ask", &check_in.ask, max)?,
    };
    if checked.win.is_empty() && checked.challenge.is_empty() && checked.ask.is_empty() {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            "a check-in needs a win, a challenge or an ask",
        ));
    }
    Ok(checked)
}

fn checked_hot_seat(
    request: &HotSeatRequest,
    limits: &PrepLimits,
) -> Result<HotSeatRequest, RoomError> {
    let problem = text::required_block(
        "the hot-seat problem",
        &request.problem,
        limits.hot_seat_problem_chars_max,
    )?;
    let max = limits.hot_seat_minutes_max;
    if !(1..=max).contains(&request.minutes) {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!("the minutes wanted must be 1 to {max}"),
        ));
    }
    Ok(HotSeatRequest {
        problem,
        priority: request.priority,
        minutes: request.minutes,
    })
}

/// The event that opens the prep to everyone when the meeting starts: the check-ins in the
/// members' order, the ranked hot-seat requests, and the benchmarks as everyone may now see
/// them. None when it was revealed already, or when there is nothing to reveal (no prep and
/// no numbers were submitted before the start: the benchmarks everyone has are the same).
pub fn reveal(
    prep: &PrepState,
    members: &[MemberId],
    numbers_submitted: bool,
    benchmarks: wire::BenchmarkView,
) -> Option<RoomEvent> {
    if prep.revealed || (prep.by_member.is_empty() && !numbers_submitted) {
        return None;
    }
    Some(RoomEvent::PrepRevealed {
        check_ins: prep.check_ins(members),
        hot_seat: prep.ranked_hot_seat(),
        benchmarks,
    })
}

#[cfg(test)]
#[path = "prep_tests.rs"]
mod tests;
