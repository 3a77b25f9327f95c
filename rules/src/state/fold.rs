//! The fold: [`RoomState::apply`] folds one event into the room, with what an event does to
//! more than one feature (a member removed or erased, a meeting started or ended).

use roundtable_protocol as wire;
use roundtable_protocol::{MeetingId, MemberId, Seq, UnixMs};

use super::{Meeting, Member, RoomEvent, RoomState};
use crate::activity::{Place, Submission};
use crate::command::Erasure;
use crate::minutes;

impl RoomState {
    fn member_mut(&mut self, member_id: MemberId) -> Option<&mut Member> {
        self.members
            .iter_mut()
            .find(|member| member.id == member_id)
    }

    /// Folds one event into the state. Events were decided against this state, so they always
    /// fit; one that does not (a bug, or a damaged log) is ignored field by field rather than
    /// panicking, and the invariant checks in tests catch it.
    pub fn apply(&mut self, seq: Seq, at_ms: UnixMs, event: &RoomEvent) {
        debug_assert!(seq > self.seq, "events apply in seq order");
        self.seq = seq;
        match event {
            RoomEvent::MemberAdded {
                member_id,
                display_name,
                role,
                token_hash,
            } => {
                if self.member(*member_id).is_none() {
                    self.members.push(Member {
                        id: *member_id,
                        display_name: display_name.clone(),
                        role: *role,
                        token_hash: *token_hash,
                        joined_at_ms: at_ms,
                    });
                    // The member's first session, numbered from its token as the join numbered it.
                    let session_id = crate::access::session_id_of(*token_hash);
                    self.access
                        .begin(*member_id, session_id, *token_hash, at_ms);
                }
            }
            // Format 1-3 logs only: presence no longer goes into the log. What it says of who
            // was online is kept apart from who is online now, and its arrivals attended.
            RoomEvent::PresenceChanged {
                member_id, online, ..
            } => self.apply_logged_presence(*member_id, *online),
            RoomEvent::GroupRenamed { name } => self.group.name = name.clone(),
            RoomEvent::TimeZoneSet { time_zone } => self.group.time_zone = Some(time_zone.clone()),
            RoomEvent::CallLinkSet { url } => self.group.call_url = url.clone(),
            RoomEvent::MemberRemoved { member_id } => self.remove_member(*member_id),
            RoomEvent::RoleChanged { member_id, role } => {
                if let Some(member) = self.member_mut(*member_id) {
                    member.role = *role;
                }
            }
            RoomEvent::HandRaised { member_id } => {
                if !self.hands.contains(member_id) {
                    self.hands.push(*member_id);
                }
            }
            RoomEvent::HandLowered { member_id } => self.hands.retain(|id| id != member_id),
            RoomEvent::CommitmentAdded { commitment, .. }
            | RoomEvent::CommitmentUpdated { commitment, .. } => {
                self.commitments.upsert(commitment);
                // A report back held on a commitment that is closed now is dropped (its
                // author is told by the `ReportBackHeld` that follows).
                if commitment.status != wire::CommitmentStatus::Open {
                    self.prep
                        .save_report_back(commitment.owner, commitment.commitment_id, &None);
                }
            }
            RoomEvent::NumbersSubmitted {
                member_id,
                values,
                sharing,
                ..
            } => {
                // The member's one submission of this meeting is replaced; a record from
                // before places may hold anonymous numbers, which go to their legacy place.
                let legacy = Place::legacy(self.meeting.id, *member_id);
                self.activity.remove_member(*member_id);
                self.activity.withdraw_anonymous(legacy);
                match sharing {
                    wire::Sharing::Named => self.activity.submit(
                        *member_id,
                        Submission {
                            values: values.clone(),
                            sharing: *sharing,
                        },
                    ),
                    wire::Sharing::Anonymous => {
                        self.activity.submit_anonymous(legacy, values.clone());
                    }
                }
            }
            RoomEvent::AnonymousNumbersSubmitted { place, values, .. } => {
                self.activity.submit_anonymous(*place, values.clone());
            }
            RoomEvent::NumbersWithdrawn { member_id, .. } => {
                self.activity.remove_member(*member_id);
            }
            RoomEvent::AnonymousNumbersWithdrawn { place, .. } => {
                self.activity.withdraw_anonymous(*place);
            }
            RoomEvent::PastAnonymousNumbersRemoved { places, .. } => {
                self.activity.remove_past_places(places);
            }
            RoomEvent::MetricsSet { metrics, .. } => self.activity.set_metrics(metrics.clone()),
            RoomEvent::PracticePosted { practice } => self.practices.add(practice),
            RoomEvent::PracticeUpvoted {
                practice_id,
                member_id,
                up,
            } => self.practices.upvote(*practice_id, *member_id, *up),
            RoomEvent::PracticeCommented {
                practice_id,
                comment,
            } => self.practices.comment(*practice_id, comment),
            RoomEvent::NextMeetingStarted { meeting_id, number } => {
                self.end_meeting(*meeting_id, *number, at_ms);
                self.start_meeting(at_ms);
                // A format 1-3 log: who its presence events left online attended the new
                // meeting from its start.
                self.meeting.attended = self.logged_online.iter().copied().collect();
            }
            RoomEvent::MeetingStarted => self.start_meeting(at_ms),
            RoomEvent::NextMeetingOpened { meeting_id, number } => {
                self.end_meeting(*meeting_id, *number, at_ms);
            }
            RoomEvent::RolePlay { change } => self.role_play.apply(change),
            RoomEvent::Flow { event } => self.flow.apply(at_ms, event),
            RoomEvent::LinkRotated {
                link,
                version,
                secret_hash,
            } => {
                match link {
                    wire::LinkKind::Invite => self.group.invite_secret_hash = *secret_hash,
                    wire::LinkKind::Facilitator => {
                        self.group.facilitator_secret_hash = *secret_hash;
                    }
                }
                self.access.rotated(*link, *version);
            }
            RoomEvent::SessionRevoked {
                member_id,
                session_id,
            } => self.access.revoke(*member_id, *session_id),
            RoomEvent::SessionStarted {
                member_id,
                session_id,
                token_hash,
            } => {
                if self.member(*member_id).is_some() {
                    self.access
                        .begin(*member_id, *session_id, *token_hash, at_ms);
                }
            }
            RoomEvent::MemberErased { member_id, erasure } => {
                self.erase_member(*member_id, *erasure);
            }
            RoomEvent::ScheduleSet { schedule } => self.schedule = schedule.clone(),
            RoomEvent::CalendarFeedRenewed {
                member_id,
                secret_hash,
            } => {
                if self.member(*member_id).is_some() {
                    self.calendar_feeds.insert(*member_id, *secret_hash);
                }
            }
            RoomEvent::CalendarFeedRevoked { member_id } => {
                self.calendar_feeds.remove(member_id);
            }
            RoomEvent::CheckInSaved {
                member_id,
                check_in,
            } => {
                if self.member(*member_id).is_some() {
                    self.prep.save_check_in(*member_id, check_in);
                }
            }
            RoomEvent::HotSeatSaved {
                member_id,
                hot_seat,
            } => {
                if self.member(*member_id).is_some() {
                    self.prep.save_hot_seat(*member_id, hot_seat);
                }
            }
            // The count is the prep's own; the event tells the others.
            RoomEvent::PreparedCountChanged { .. } => {}
            RoomEvent::PrepRevealed { .. } => self.prep.revealed = true,
            RoomEvent::MemberAttended { member_id } => self.attend(*member_id),
            RoomEvent::ReportBackHeld {
                member_id,
                commitment_id,
                report_back,
            } => {
                if self.member(*member_id).is_some() {
                    self.prep
                        .save_report_back(*member_id, *commitment_id, report_back);
                }
            }
        }
    }

    fn attend(&mut self, member_id: MemberId) {
        if self.member(member_id).is_some() && !self.meeting.attended.contains(&member_id) {
            self.meeting.attended.push(member_id);
        }
    }

    /// Takes a member who left out of the room and erases what names them: their name from
    /// the past meetings' minutes, and what they chose to remove. Their anonymous numbers and
    /// role play scores stay as they are (taking them out would change aggregates others have
    /// seen, which could tell which values were theirs); what they chose to anonymize stays
    /// under their id, which names nobody any more.
    fn erase_member(&mut self, member_id: MemberId, erasure: Erasure) {
        self.members.retain(|member| member.id != member_id);
        self.online.remove(&member_id);
        self.logged_online.remove(&member_id);
        self.hands.retain(|id| *id != member_id);
        self.role_play.forget_member(member_id);
        self.access.remove_member(member_id);
        self.calendar_feeds.remove(&member_id);
        self.prep.forget_member(member_id);
        self.former_members.insert(member_id);
        let remove = |choice: wire::ErasureChoice| choice == wire::ErasureChoice::Remove;
        if remove(erasure.commitments) {
            self.commitments.remove_owner(member_id);
        }
        if remove(erasure.numbers) {
            self.activity.remove_named(member_id);
        }
        if remove(erasure.practices) {
            self.practices.remove_author(member_id);
        }
        for past in &mut self.past_meetings {
            minutes::erase_member(past, member_id, erasure);
        }
    }

    /// A `presence_changed` event of a format 1-3 log: as those logs were folded then, into
    /// [`RoomState::logged_online`] (never into who is online now).
    fn apply_logged_presence(&mut self, member_id: MemberId, online: bool) {
        if online {
            self.logged_online.insert(member_id);
            if self.meeting.phase == wire::MeetingPhase::Live
                && !self.meeting.attended.contains(&member_id)
            {
                self.meeting.attended.push(member_id);
            }
        } else {
            self.logged_online.remove(&member_id);
        }
    }

    /// Removes a member and everything that is theirs alone in the room.
    fn remove_member(&mut self, member_id: MemberId) {
        self.members.retain(|member| member.id != member_id);
        self.online.remove(&member_id);
        self.logged_online.remove(&member_id);
        self.hands.retain(|id| *id != member_id);
        self.commitments.remove_owner(member_id);
        self.activity.remove_member(member_id);
        self.role_play.forget_member(member_id);
        self.access.remove_member(member_id);
        self.calendar_feeds.remove(&member_id);
        self.prep.forget_member(member_id);
    }

    /// Makes the upcoming meeting live at `at_ms`. Who is here then attends it: the start's
    /// `member_attended` events say so ([`decide_start_meeting`]), since who is online is not
    /// stored and a replay must find the same attendance.
    fn start_meeting(&mut self, at_ms: UnixMs) {
        // The held report backs: the start's `commitment_updated` events apply them.
        self.prep.clear_report_backs();
        self.meeting.phase = wire::MeetingPhase::Live;
        self.meeting.started_at_ms = at_ms;
        self.meeting.attended = Vec::new();
    }

    /// Ends the current meeting at `at_ms` (its minutes are kept); the next one is upcoming.
    fn end_meeting(&mut self, meeting_id: MeetingId, number: u32, at_ms: UnixMs) {
        let ended = minutes::build(self, Some(at_ms));
        self.past_meetings.push(ended);
        if self.past_meetings.len() > minutes::PAST_MEETINGS_KEPT {
            self.past_meetings.remove(0);
        }
        self.activity
            .close_meeting(self.meeting.number, self.meeting.id);
        self.hands.clear();
        // Prep starts anew for the new meeting.
        self.prep = crate::prep::PrepState::default();
        // The agenda starts from the template, with unfinished items carried over.
        self.flow = self.flow.next_meeting();
        self.meeting = Meeting {
            id: meeting_id,
            number,
            started_at_ms: at_ms,
            // Nobody attends before it starts; see `start_meeting`.
            attended: Vec::new(),
            phase: wire::MeetingPhase::Upcoming,
        };
        // The new meeting's log starts from nothing.
        self.seq = 0;
    }
}
