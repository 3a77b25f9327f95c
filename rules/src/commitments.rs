//! The commitment board: members promise actions, the group follows up at a later meeting.
//!
//! Commitments belong to the group, not to a meeting: an open commitment stays on the board
//! from meeting to meeting until its owner (or a facilitator) marks it done, partial, missed or
//! dropped. Completion rates and streaks are derived from the board, never stored apart.

use crate::command::CommitmentCommand;
use roundtable_protocol::{
    Commitment, CommitmentId, CommitmentSource, CommitmentStatus, ErrorCode, MemberAccountability,
    MemberId, Role, UnixMs,
};

use crate::error::RoomError;
use crate::event::RoomEvent;
use crate::roster::Roster;
use crate::text;

/// Longest commitment text, in characters.
pub const COMMITMENT_TEXT_CHARS_MAX: usize = 280;
/// Longest note on a commitment, in characters.
pub const COMMITMENT_NOTE_CHARS_MAX: usize = 500;
/// Open commitments one member may have at once.
pub const OPEN_COMMITMENTS_PER_MEMBER_MAX: usize = 30;
/// Commitments a group keeps; the oldest resolved ones make room for new ones.
pub const COMMITMENTS_KEPT_MAX: usize = 2000;
/// How far ahead a commitment may be due, in meetings.
pub const DUE_MEETINGS_AHEAD_MAX: u32 = 52;
/// Meetings over which completion rates are computed.
pub const COMPLETION_MEETINGS: u32 = 6;

/// The group's commitments and the next id to give.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommitmentBoard {
    pub commitments: Vec<Commitment>,
    pub next_id: CommitmentId,
}

impl CommitmentBoard {
    pub fn get(&self, commitment_id: CommitmentId) -> Option<&Commitment> {
        self.commitments
            .iter()
            .find(|commitment| commitment.commitment_id == commitment_id)
    }

    /// Adds or replaces a commitment by id, keeping at most [`COMMITMENTS_KEPT_MAX`] by
    /// dropping the oldest resolved ones.
    pub fn upsert(&mut self, commitment: &Commitment) {
        self.next_id = self.next_id.max(commitment.commitment_id);
        match self
            .commitments
            .iter_mut()
            .find(|existing| existing.commitment_id == commitment.commitment_id)
        {
            Some(existing) => *existing = commitment.clone(),
            None => self.commitments.push(commitment.clone()),
        }
        while self.commitments.len() > COMMITMENTS_KEPT_MAX {
            let oldest_resolved = self
                .commitments
                .iter()
                .position(|commitment| commitment.status != CommitmentStatus::Open);
            match oldest_resolved {
                Some(index) => {
                    self.commitments.remove(index);
                }
                None => break,
            }
        }
    }

    /// Removes a member's commitments (when the member leaves the group).
    pub fn remove_owner(&mut self, owner: MemberId) {
        self.commitments
            .retain(|commitment| commitment.owner != owner);
    }

    /// How `member_id` keeps their commitments, as of meeting `current_meeting`.
    pub fn accountability(
        &self,
        member_id: MemberId,
        current_meeting: u32,
    ) -> MemberAccountability {
        let first_counted = current_meeting
            .saturating_sub(COMPLETION_MEETINGS - 1)
            .max(1);
        let mut mine: Vec<&Commitment> = self
            .commitments
            .iter()
            .filter(|commitment| commitment.owner == member_id)
            .collect();
        let mut points_doubled = 0u32;
        let mut resolved_count = 0u32;
        for commitment in &mine {
            if commitment.due_meeting < first_counted || commitment.due_meeting > current_meeting {
                continue;
            }
            match commitment.status {
                CommitmentStatus::Done => points_doubled += 2,
                CommitmentStatus::Partial => points_doubled += 1,
                CommitmentStatus::Missed => {}
                CommitmentStatus::Open | CommitmentStatus::Dropped => continue,
            }
            resolved_count += 1;
        }
        let completion_rate_percent = (resolved_count > 0).then(|| {
            let percent = f64::from(points_doubled) * 50.0 / f64::from(resolved_count);
            percent.round().clamp(0.0, 100.0) as u8
        });
        mine.retain(|commitment| {
            !matches!(
                commitment.status,
                CommitmentStatus::Open | CommitmentStatus::Dropped
            )
        });
        let streak = meetings_all_done_in_a_row(&mine);
        let overdue_count = self
            .commitments
            .iter()
            .filter(|commitment| {
                commitment.owner == member_id
                    && commitment.status == CommitmentStatus::Open
                    && commitment.due_meeting <= current_meeting
            })
            .count() as u32;
        MemberAccountability {
            member_id,
            completion_rate_percent,
            resolved_count,
            streak,
            overdue_count,
            meetings_counted: current_meeting - first_counted + 1,
        }
    }
}

/// The streak: how many meetings in a row, the most recent first, had all of `resolved`'s
/// commitments due in them done. Meetings with none of them due do not count and do not break
/// it; one partial or missed commitment ends it. Two commitments done for the same meeting are
/// one meeting of the streak.
fn meetings_all_done_in_a_row(resolved: &[&Commitment]) -> u32 {
    let mut by_meeting: std::collections::BTreeMap<u32, bool> = std::collections::BTreeMap::new();
    for commitment in resolved {
        let all_done = by_meeting.entry(commitment.due_meeting).or_insert(true);
        *all_done &= commitment.status == CommitmentStatus::Done;
    }
    by_meeting
        .values()
        .rev()
        .take_while(|all_done| **all_done)
        .count() as u32
}

/// Checks a `YYYY-MM-DD` date: digits in the right places, a real month and day.
pub fn valid_date(date: &str) -> Result<String, RoomError> {
    let invalid = || {
        RoomError::new(
            ErrorCode::Invalid,
            format!("due date {date:?} is not a date like 2026-12-03"),
        )
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(invalid());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(invalid());
    }
    let year: u32 = year.parse().map_err(|_| invalid())?;
    let month: u32 = month.parse().map_err(|_| invalid())?;
    let day: u32 = day.parse().map_err(|_| invalid())?;
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(invalid()),
    };
    if !(2000..=2999).contains(&year) || day == 0 || day > days_in_month {
        return Err(invalid());
    }
    Ok(date.to_string())
}

/// What a new commitment needs besides its text.
#[derive(Debug, Clone)]
pub struct NewCommitment<'a> {
    pub by: MemberId,
    pub owner: Option<MemberId>,
    pub text: &'a str,
    pub due_meeting: Option<u32>,
    pub due_date: Option<&'a str>,
    pub source: CommitmentSource,
}

/// What the commitment rules read of the room: the board, the members, the current meeting.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub board: &'a CommitmentBoard,
    pub roster: Roster<'a>,
    pub meeting_number: u32,
}

/// Decides a change to the commitment board.
pub fn decide(
    room: Context<'_>,
    by: MemberId,
    command: &CommitmentCommand,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    match command {
        CommitmentCommand::AddCommitment {
            text,
            owner,
            due_meeting,
            due_date,
        } => decide_add(
            room,
            NewCommitment {
                by,
                owner: *owner,
                text,
                due_meeting: *due_meeting,
                due_date: due_date.as_deref(),
                source: CommitmentSource::Own,
            },
            now_ms,
        ),
        CommitmentCommand::UpdateCommitment {
            commitment_id,
            status,
            note,
        } => decide_update(room, by, *commitment_id, *status, note.as_deref(), now_ms),
    }
}

/// Decides adding a commitment.
pub fn decide_add(
    room: Context<'_>,
    new: NewCommitment<'_>,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let owner = new.owner.unwrap_or(new.by);
    let Some(owner_member) = room.roster.member(owner) else {
        return Err(RoomError::new(
            ErrorCode::NotFound,
            format!("no member {owner} in this group"),
        ));
    };
    let source = if owner == new.by {
        new.source
    } else {
        if room.roster.role_of(new.by) != Some(Role::Facilitator) {
            return Err(RoomError::new(
                ErrorCode::Forbidden,
                "only a facilitator may add a commitment for someone else",
            ));
        }
        CommitmentSource::Facilitator { by: new.by }
    };
    if owner_member.role == Role::Observer {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            "observers do not make commitments",
        ));
    }
    let text = text::line("commitment", new.text, COMMITMENT_TEXT_CHARS_MAX)?;
    let current = room.meeting_number;
    let due_meeting = new.due_meeting.unwrap_or(current + 1);
    if due_meeting < current || due_meeting > current + DUE_MEETINGS_AHEAD_MAX {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!(
                "a commitment is due between this meeting ({current}) and meeting {}",
                current + DUE_MEETINGS_AHEAD_MAX
            ),
        ));
    }
    let due_date = new.due_date.map(valid_date).transpose()?;
    let open_count = room
        .board
        .commitments
        .iter()
        .filter(|c| c.owner == owner && c.status == CommitmentStatus::Open)
        .count();
    if open_count >= OPEN_COMMITMENTS_PER_MEMBER_MAX {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            format!(
                "{} has {open_count} open commitments, the most one may have; close some first",
                owner_member.display_name
            ),
        ));
    }
    let commitment = Commitment {
        commitment_id: room.board.next_id + 1,
        owner,
        text,
        due_meeting,
        due_date,
        status: CommitmentStatus::Open,
        note: String::new(),
        made_in_meeting: current,
        source,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    };
    let mut board = room.board.clone();
    board.upsert(&commitment);
    let owner_accountability = board.accountability(owner, current);
    Ok(vec![RoomEvent::CommitmentAdded {
        commitment,
        owner_accountability,
    }])
}

/// Decides a status change: by the owner, or a facilitator.
pub fn decide_update(
    room: Context<'_>,
    by: MemberId,
    commitment_id: CommitmentId,
    status: CommitmentStatus,
    note: Option<&str>,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let Some(existing) = room.board.get(commitment_id) else {
        return Err(RoomError::new(
            ErrorCode::NotFound,
            format!("no commitment {commitment_id} in this group"),
        ));
    };
    if existing.owner != by && room.roster.role_of(by) != Some(Role::Facilitator) {
        return Err(RoomError::new(
            ErrorCode::Forbidden,
            "only its owner or a facilitator may update a commitment",
        ));
    }
    let note = match note {
        Some(note) if note.trim().is_empty() => String::new(),
        Some(note) => text::line("note", note, COMMITMENT_NOTE_CHARS_MAX)?,
        None => existing.note.clone(),
    };
    if existing.status == status && existing.note == note {
        return Ok(Vec::new());
    }
    let mut commitment = existing.clone();
    commitment.status = status;
    commitment.note = note;
    commitment.updated_at_ms = now_ms;
    let mut board = room.board.clone();
    board.upsert(&commitment);
    let owner_accountability = board.accountability(commitment.owner, room.meeting_number);
    Ok(vec![RoomEvent::CommitmentUpdated {
        commitment,
        owner_accountability,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commitment(id: u32, due: u32, status: CommitmentStatus, updated: u64) -> Commitment {
        Commitment {
            commitment_id: id,
            owner: MemberId(uuid::Uuid::from_u128(1)),
            text: format!("commitment {id}"),
            due_meeting: due,
            due_date: None,
            status,
            note: String::new(),
            made_in_meeting: due.saturating_sub(1),
            source: CommitmentSource::Own,
            created_at_ms: 0,
            updated_at_ms: updated,
        }
    }

    #[test]
    fn completion_rate_counts_recent_resolved_commitments() {
        use CommitmentStatus::*;
        let owner = MemberId(uuid::Uuid::from_u128(1));
        let mut board = CommitmentBoard::default();
        // Due in meeting 1: outside a window of 6 ending at meeting 7.
        board.upsert(&commitment(1, 1, Missed, 10));
        board.upsert(&commitment(2, 2, Done, 20));
        board.upsert(&commitment(3, 3, Partial, 30));
        board.upsert(&commitment(4, 4, Missed, 40));
        board.upsert(&commitment(5, 5, Done, 50));
        board.upsert(&commitment(6, 6, Dropped, 60));
        board.upsert(&commitment(7, 7, Open, 70));
        board.upsert(&commitment(8, 8, Done, 80)); // due after the current meeting: not yet
        let stats = board.accountability(owner, 7);
        // Counted: 2 done (2+... ), 3 partial, 4 missed, 5 done = (1 + 0.5 + 0 + 1) / 4.
        assert_eq!(stats.resolved_count, 4);
        assert_eq!(stats.completion_rate_percent, Some(63));
        assert_eq!(stats.meetings_counted, 6);
        assert_eq!(stats.overdue_count, 1, "commitment 7 is open and due now");
        // Meetings most recent first: 8 done, 5 done, then 4 missed (6 dropped and 7 open
        // have nothing resolved).
        assert_eq!(stats.streak, 2);
    }

    #[test]
    fn the_streak_counts_meetings_not_commitments() {
        use CommitmentStatus::*;
        let owner = MemberId(uuid::Uuid::from_u128(1));
        let mut board = CommitmentBoard::default();
        // Two done for meeting 2: one meeting all done.
        board.upsert(&commitment(1, 2, Done, 10));
        board.upsert(&commitment(2, 2, Done, 20));
        assert_eq!(board.accountability(owner, 3).streak, 1);
        // Meeting 3 all done too: two meetings in a row, whatever order they were marked in.
        board.upsert(&commitment(3, 3, Done, 5));
        assert_eq!(board.accountability(owner, 3).streak, 2);
        // A partial one for meeting 3 ends the streak there, though two are done.
        board.upsert(&commitment(4, 3, Partial, 30));
        assert_eq!(board.accountability(owner, 3).streak, 0);
        // Meeting 5 all done; meeting 4 had nothing resolved of theirs, so it does not count.
        board.upsert(&commitment(5, 5, Done, 40));
        board.upsert(&commitment(6, 4, Dropped, 41));
        assert_eq!(board.accountability(owner, 5).streak, 1);
        // A missed commitment of an earlier meeting marked late does not end the later streak.
        board.upsert(&commitment(7, 1, Missed, 50));
        assert_eq!(board.accountability(owner, 5).streak, 1);
    }

    #[test]
    fn no_resolved_commitments_means_no_rate_yet() {
        let board = CommitmentBoard::default();
        let stats = board.accountability(MemberId(uuid::Uuid::from_u128(1)), 1);
        assert_eq!(stats.completion_rate_percent, None);
        assert_eq!(
            (stats.streak, stats.resolved_count, stats.meetings_counted),
            (0, 0, 1)
        );
    }

    #[test]
    fn dates_are_checked() {
        assert!(valid_date("2026-12-03").is_ok());
        assert!(valid_date("2028-02-29").is_ok());
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "tomorrow",
            "2026-04-31",
            "",
        ] {
            assert!(valid_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_board_keeps_a_bounded_history() {
        let mut board = CommitmentBoard::default();
        for id in 1..=(COMMITMENTS_KEPT_MAX as u32 + 10) {
            board.upsert(&commitment(id, 1, CommitmentStatus::Done, u64::from(id)));
        }
        assert_eq!(board.commitments.len(), COMMITMENTS_KEPT_MAX);
        assert_eq!(
            board.commitments[0].commitment_id, 11,
            "the oldest resolved go first"
        );
        assert_eq!(board.next_id, COMMITMENTS_KEPT_MAX as u32 + 10);
    }
}
