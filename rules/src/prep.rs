//! Prep before a meeting: while the meeting is upcoming each member may save a check-in (a win,
//! a challenge, what they want from the group), ask for the hot seat (a problem, a priority
//! A/B/C and the minutes wanted) and report back on their open commitments. Numbers go through
//! the benchmarks' own `submit_numbers`; this module keeps the rest.
//!
//! Privacy: a member's check-in, hot-seat request and held report backs are sent to the member
//! alone ([`crate::roster::Audience::Only`]) until the meeting starts; everyone receives only
//! how many members prepared, where *prepared* means: a current member with a saved check-in
//! for this meeting (a hot-seat request, numbers or report backs alone do not count: the
//! check-in is what the round needs from everyone, and the count stays what the lobby has
//! always shown; the count is over all current members, observers included, and the group's
//! size is the number of members). When the meeting starts, [`reveal`] gives everyone the
//! check-ins and the ranked hot-seat requests in one event, [`report_backs_at_start`] applies
//! the held report backs to the commitment board, and prep closes. A member's prep is named
//! (stored under their id); numbers shared anonymously are never part of it.
//!
//! Report backs: while the meeting is upcoming, an `update_commitment` by a commitment's owner
//! on their own open commitment is not applied to the board: it is held
//! ([`decide_report_back`], the event `ReportBackHeld` to the owner alone), and may be revised
//! (another update) or withdrawn (`withdraw_report_back`) until the start. An update that
//! would change nothing on the board withdraws the held one. A facilitator's update of someone
//! else's commitment, and an update of a closed commitment, go to the board at once as during
//! the meeting. When the commitment a report back is held on is closed meanwhile (a
//! facilitator marked it), the held one is dropped: the fold of the `commitment_updated` drops
//! it (so every event keeps the held report backs on open commitments), and a
//! `ReportBackHeld` with none after it tells the owner's page;
//! at the start the held report backs are applied in the order of their commitments' ids, each
//! as the `commitment_updated` a live update would have been, after `meeting_started`, and one
//! whose commitment is no longer an open commitment of its author is dropped.
//!
//! Resending is harmless: saving what is saved already (the same check-in, the same request,
//! the same report back, withdrawing nothing) decides no event, so a page that is unsure
//! whether its draft arrived sends it again.

use std::collections::BTreeMap;

use roundtable_protocol::{
    self as wire, CheckIn, CommitmentId, CommitmentStatus, ErrorCode, HotSeatRequest,
    MemberCheckIn, MemberId, RankedHotSeat, ReportBack, UnixMs,
};

pub use crate::command::PrepCommand;
use crate::commitments::{self, CommitmentBoard};
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
    /// Report backs held until the start, by commitment (each on an open commitment of the
    /// member's: at most one per open commitment, so at most
    /// [`commitments::OPEN_COMMITMENTS_PER_MEMBER_MAX`]).
    pub report_backs: BTreeMap<CommitmentId, ReportBack>,
}

impl MemberPrep {
    fn is_empty(&self) -> bool {
        self.check_in.is_none() && self.hot_seat.is_none() && self.report_backs.is_empty()
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
                report_backs: mine
                    .report_backs
                    .into_iter()
                    .map(|(commitment_id, held)| wire::HeldReportBack {
                        commitment_id,
                        status: held.status,
                        note: held.note,
                    })
                    .collect(),
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

    /// Folds a held or dropped report back.
    pub fn save_report_back(
        &mut self,
        member_id: MemberId,
        commitment_id: CommitmentId,
        report_back: &Option<ReportBack>,
    ) {
        let prep = self.by_member.entry(member_id).or_default();
        match report_back {
            Some(report_back) => {
                prep.report_backs.insert(commitment_id, report_back.clone());
            }
            None => {
                prep.report_backs.remove(&commitment_id);
            }
        }
        if prep.is_empty() {
            self.by_member.remove(&member_id);
        }
    }

    /// The report back `member_id` holds on `commitment_id`, if any.
    pub fn report_back(
        &self,
        member_id: MemberId,
        commitment_id: CommitmentId,
    ) -> Option<&ReportBack> {
        self.by_member
            .get(&member_id)?
            .report_backs
            .get(&commitment_id)
    }

    /// The meeting started: the held report backs are on the board now (the start's
    /// `commitment_updated` events), so prep holds none any more.
    pub fn clear_report_backs(&mut self) {
        for prep in self.by_member.values_mut() {
            prep.report_backs.clear();
        }
        self.by_member.retain(|_, prep| !prep.is_empty());
    }

    /// Forgets a member's prep (they were removed or left).
    pub fn forget_member(&mut self, member_id: MemberId) {
        self.by_member.remove(&member_id);
    }

    /// Checks the prep's invariants against who may hold prep and the commitment board: every
    /// held report back is on an open commitment of its author's.
    pub fn check_invariants(
        &self,
        is_member: impl Fn(MemberId) -> bool,
        board: &CommitmentBoard,
    ) -> Result<(), String> {
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
            for commitment_id in prep.report_backs.keys() {
                let open_and_theirs = board.get(*commitment_id).is_some_and(|commitment| {
                    commitment.owner == *member_id && commitment.status == CommitmentStatus::Open
                });
                if !open_and_theirs {
                    return Err(format!(
                        "{member_id} holds a report back on {commitment_id}, which is not an \
                         open commitment of theirs"
                    ));
                }
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
        PrepCommand::WithdrawReportBack { commitment_id } => {
            if ctx.prep.report_back(by, *commitment_id).is_none() {
                return Ok(Vec::new());
            }
            Ok(vec![RoomEvent::ReportBackHeld {
                member_id: by,
                commitment_id: *commitment_id,
                report_back: None,
            }])
        }
    }
}

/// Whether `update_commitment` by `by` on `commitment_id` is a report back to hold: prep is
/// open, and the commitment is an open commitment of `by`'s own.
pub fn holds_report_back(
    prep_open: bool,
    board: &CommitmentBoard,
    by: MemberId,
    commitment_id: CommitmentId,
) -> bool {
    prep_open
        && board.get(commitment_id).is_some_and(|commitment| {
            commitment.owner == by && commitment.status == CommitmentStatus::Open
        })
}

/// Decides a report back held as prep (see the module documentation; the caller checked
/// [`holds_report_back`]). The status and note are checked as a live update's are
/// ([`commitments::decide_update`]); a note left out keeps the held report back's note, or
/// else the commitment's. A report back that would change nothing on the board withdraws
/// the held one.
pub fn decide_report_back(
    prep: &PrepState,
    room: commitments::Context<'_>,
    by: MemberId,
    commitment_id: CommitmentId,
    status: CommitmentStatus,
    note: Option<&str>,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let held = prep.report_back(by, commitment_id);
    let note = note.or(held.map(|held| held.note.as_str()));
    let live = commitments::decide_update(room, by, commitment_id, status, note, now_ms)?;
    let report_back = live.into_iter().find_map(|event| match event {
        RoomEvent::CommitmentUpdated { commitment, .. } => Some(ReportBack {
            status: commitment.status,
            note: commitment.note,
        }),
        _ => None,
    });
    if report_back.as_ref() == held {
        return Ok(Vec::new());
    }
    Ok(vec![RoomEvent::ReportBackHeld {
        member_id: by,
        commitment_id,
        report_back,
    }])
}

/// The held report backs `events` (a change to the board decided while prep is open) makes
/// moot: each on a commitment an event closes. Their authors are told they are no longer held
/// (the fold of the closing `commitment_updated` has dropped them already).
pub fn drop_report_backs_on_closed(prep: &PrepState, events: &[RoomEvent]) -> Vec<RoomEvent> {
    events
        .iter()
        .filter_map(|event| match event {
            RoomEvent::CommitmentUpdated { commitment, .. }
                if commitment.status != CommitmentStatus::Open
                    && prep
                        .report_back(commitment.owner, commitment.commitment_id)
                        .is_some() =>
            {
                Some(RoomEvent::ReportBackHeld {
                    member_id: commitment.owner,
                    commitment_id: commitment.commitment_id,
                    report_back: None,
                })
            }
            _ => None,
        })
        .collect()
}

/// The held report backs applied to the board at the start: in the order of their
/// commitments' ids, each the `commitment_updated` its author's live update would have
/// decided on the board with the earlier ones applied. A report back whose commitment is no
/// longer an open commitment of its author's is dropped, and so is one that would change
/// nothing.
pub fn report_backs_at_start(
    prep: &PrepState,
    room: commitments::Context<'_>,
    now_ms: UnixMs,
) -> Vec<RoomEvent> {
    let mut held: Vec<(CommitmentId, MemberId, &ReportBack)> = prep
        .by_member
        .iter()
        .flat_map(|(member_id, prep)| {
            prep.report_backs
                .iter()
                .map(|(commitment_id, report_back)| (*commitment_id, *member_id, report_back))
        })
        .collect();
    held.sort_by_key(|(commitment_id, member_id, _)| (*commitment_id, *member_id));
    let mut board = room.board.clone();
    let mut events = Vec::new();
    for (commitment_id, member_id, report_back) in held {
        if !holds_report_back(true, &board, member_id, commitment_id) {
            continue;
        }
        let context = commitments::Context {
            board: &board,
            ..room
        };
        let Ok(decided) = commitments::decide_update(
            context,
            member_id,
            commitment_id,
            report_back.status,
            Some(&report_back.note),
            now_ms,
        ) else {
            continue;
        };
        for event in decided {
            if let RoomEvent::CommitmentUpdated { commitment, .. } = &event {
                board.upsert(commitment);
            }
            events.push(event);
        }
    }
    events
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
