//! What clients see of the room: a viewer's snapshot and each stored event as it goes on the
//! wire. Both depend on the state or the event alone (and its time), so a replayed event looks
//! exactly as it did live.

use roundtable_protocol::{self as wire, MemberId, UnixMs};

use crate::event::RoomEvent;
use crate::practices;
use crate::room::RoomState;
use crate::roster::{Audience, Member};
use crate::same_on_the_wire::same_on_the_wire;
use crate::secret::PseudonymKey;

impl RoomState {
    /// The snapshot for a connection of `viewer` that joined with the member token whose
    /// pseudonym key is `key`: [`RoomState::to_wire_snapshot_for`], plus whether that key's
    /// slot holds a submission in the role play being scored (`you_submitted`). Every page
    /// with the same token gets the same answer, before and after a restart. The key is used,
    /// never kept.
    pub fn to_wire_snapshot_with_key(
        &self,
        viewer: MemberId,
        key: &PseudonymKey,
    ) -> wire::Snapshot {
        let mut snapshot = self.to_wire_snapshot_for(viewer);
        snapshot.role_play.you_submitted = self.role_play.submitted_with(key);
        snapshot
    }

    /// The state as `viewer` sees it (private parts only for whom they are meant), without
    /// what only their connection's key tells (`you_submitted` is false): what a connection
    /// gets is [`RoomState::to_wire_snapshot_with_key`].
    pub fn to_wire_snapshot_for(&self, viewer: MemberId) -> wire::Snapshot {
        wire::Snapshot {
            seq: self.seq,
            group: wire::GroupInfo {
                group_id: self.group.id,
                name: self.group.name.clone(),
                time_zone: self.group.time_zone.clone(),
                call_url: self.group.call_url.clone(),
                links: self.access.links,
                schedule: self.schedule.clone(),
            },
            meeting: wire::MeetingInfo {
                meeting_id: self.meeting.id,
                number: self.meeting.number,
                started_at_ms: self.meeting.started_at_ms,
                phase: self.meeting.phase,
            },
            members: self
                .members
                .iter()
                .map(|member| self.member_info(member))
                .collect(),
            hands: self.hands.clone(),
            commitments: self.commitments.commitments.clone(),
            accountability: self
                .members
                .iter()
                .map(|member| {
                    self.commitments
                        .accountability(member.id, self.meeting.number)
                })
                .collect(),
            benchmarks: self.benchmarks_view(),
            practices: self.practices.newest(practices::PRACTICES_IN_SNAPSHOT),
            practice_count: self.practices.practices.len() as u32,
            role_play: Box::new(
                self.role_play.view_for(
                    viewer,
                    &self
                        .members
                        .iter()
                        .map(|member| member.id)
                        .collect::<Vec<_>>(),
                ),
            ),
            flow: wire::FlowInfo {
                votes: self.flow.votes.view_for(viewer),
                ..self.flow.to_wire()
            },
            calendar_feeds: self.calendar_feeds.keys().copied().collect(),
            prep: self.prep.view_for(
                viewer,
                &self
                    .members
                    .iter()
                    .map(|member| member.id)
                    .collect::<Vec<_>>(),
                self.prep_open(),
            ),
        }
    }

    fn member_info(&self, member: &Member) -> wire::MemberInfo {
        wire::MemberInfo {
            member_id: member.id,
            display_name: member.display_name.clone(),
            role: member.role,
            online: self.online.contains(&member.id),
        }
    }
}

impl RoomEvent {
    /// The event as clients see it. Depends on the event and its time alone, so that events
    /// replayed from the log look exactly as they did live.
    pub fn to_wire(&self, at_ms: UnixMs) -> wire::Event {
        same_on_the_wire!(self, RoomEvent {
            PresenceChanged { member_id, online, reason },
            MemberAttended { member_id },
            GroupRenamed { name },
            TimeZoneSet { time_zone },
            CallLinkSet { url },
            MemberRemoved { member_id },
            RoleChanged { member_id, role },
            HandRaised { member_id },
            HandLowered { member_id },
            CommitmentAdded { commitment, owner_accountability },
            CommitmentUpdated { commitment, owner_accountability },
            PracticePosted { practice },
            PracticeUpvoted { practice_id, member_id, up },
            PracticeCommented { practice_id, comment },
            RolePlay { change },
            ScheduleSet { schedule },
            CheckInSaved { member_id, check_in },
            HotSeatSaved { member_id, hot_seat },
            PreparedCountChanged { prepared },
            PrepRevealed { check_ins, hot_seat, benchmarks },
            ReportBackHeld { member_id, commitment_id, report_back },
        }
            // The token's hash stays on the server.
            RoomEvent::MemberAdded {
                member_id,
                display_name,
                role,
                ..
            } => wire::Event::MemberAdded {
                member: wire::MemberInfo {
                    member_id: *member_id,
                    display_name: display_name.clone(),
                    role: *role,
                    // A member is added first and comes online with the next event.
                    online: false,
                },
            },
            // Who submitted, and what, stays on the server: anonymous numbers must never be
            // sent with their member, and named ones are in the view already.
            RoomEvent::NumbersSubmitted { view, .. }
            | RoomEvent::MetricsSet { view, .. }
            | RoomEvent::AnonymousNumbersSubmitted { view, .. }
            | RoomEvent::NumbersWithdrawn { view, .. }
            | RoomEvent::AnonymousNumbersWithdrawn { view, .. }
            | RoomEvent::PastAnonymousNumbersRemoved { view, .. } => {
                wire::Event::BenchmarksChanged { view: view.clone() }
            }
            RoomEvent::NextMeetingStarted { meeting_id, number } => {
                wire::Event::NextMeetingStarted {
                    meeting: wire::MeetingInfo {
                        meeting_id: *meeting_id,
                        number: *number,
                        started_at_ms: at_ms,
                        phase: wire::MeetingPhase::Live,
                    },
                }
            }
            RoomEvent::MeetingStarted => wire::Event::MeetingStarted {
                started_at_ms: at_ms,
            },
            RoomEvent::NextMeetingOpened { meeting_id, number } => {
                wire::Event::NextMeetingOpened {
                    meeting: wire::MeetingInfo {
                        meeting_id: *meeting_id,
                        number: *number,
                        started_at_ms: at_ms,
                        phase: wire::MeetingPhase::Upcoming,
                    },
                }
            }
            RoomEvent::Flow { event } => event.to_wire(),
            // The new secret's hash stays on the server; the secret itself was never here.
            RoomEvent::LinkRotated { link, version, .. } => wire::Event::LinkRotated {
                link: *link,
                version: *version,
            },
            RoomEvent::SessionRevoked {
                member_id,
                session_id,
            } => wire::Event::SessionRevoked {
                member_id: *member_id,
                session_id: *session_id,
            },
            RoomEvent::SessionStarted {
                member_id,
                session_id,
                ..
            } => wire::Event::SessionStarted {
                member_id: *member_id,
                session_id: *session_id,
            },
            // What the member chose stays on the server; the snapshot that follows shows it.
            RoomEvent::MemberErased { member_id, .. } => wire::Event::MemberErased {
                member_id: *member_id,
            },
            // The feed's hash stays on the server.
            RoomEvent::CalendarFeedRenewed { member_id, .. } => wire::Event::CalendarFeedChanged {
                member_id: *member_id,
                active: true,
            },
            RoomEvent::CalendarFeedRevoked { member_id } => wire::Event::CalendarFeedChanged {
                member_id: *member_id,
                active: false,
            },
        )
    }

    /// Who receives the event, live and in replays.
    pub fn audience(&self) -> Audience {
        match self {
            RoomEvent::RolePlay { change } => crate::roleplay::audience(change),
            RoomEvent::Flow { event } => crate::flow::votes::audience(event),
            // A member's prep is theirs alone until the meeting starts.
            RoomEvent::CheckInSaved { member_id, .. }
            | RoomEvent::HotSeatSaved { member_id, .. }
            | RoomEvent::ReportBackHeld { member_id, .. } => Audience::Only(*member_id),
            _ => Audience::Everyone,
        }
    }
}
