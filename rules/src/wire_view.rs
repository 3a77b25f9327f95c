//! What clients see of the room: a viewer's snapshot and each stored event as it goes on the
//! wire. Both depend on the state or the event alone (and its time), so a replayed event looks
//! exactly as it did live.

use roundtable_protocol::{self as wire, MemberId, UnixMs};

use crate::event::RoomEvent;
use crate::practices;
use crate::room::RoomState;
use crate::roster::{Audience, Member};
use crate::same_on_the_wire::same_on_the_wire;

impl RoomState {
    /// The state as `viewer` sees it (private parts only for whom they are meant).
    pub fn to_wire_snapshot_for(&self, viewer: MemberId) -> wire::Snapshot {
        wire::Snapshot {
            seq: self.seq,
            group: wire::GroupInfo {
                group_id: self.group.id,
                name: self.group.name.clone(),
                time_zone: self.group.time_zone.clone(),
                call_url: self.group.call_url.clone(),
                links: self.access.links,
            },
            meeting: wire::MeetingInfo {
                meeting_id: self.meeting.id,
                number: self.meeting.number,
                started_at_ms: self.meeting.started_at_ms,
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
            benchmarks: self.activity.view(),
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
            RoomEvent::NumbersSubmitted { view, .. } | RoomEvent::MetricsSet { view, .. } => {
                wire::Event::BenchmarksChanged { view: view.clone() }
            }
            RoomEvent::NextMeetingStarted { meeting_id, number } => {
                wire::Event::NextMeetingStarted {
                    meeting: wire::MeetingInfo {
                        meeting_id: *meeting_id,
                        number: *number,
                        started_at_ms: at_ms,
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
        )
    }

    /// Who receives the event, live and in replays.
    pub fn audience(&self) -> Audience {
        match self {
            RoomEvent::RolePlay { change } => crate::roleplay::audience(change),
            RoomEvent::Flow { event } => crate::flow::votes::audience(event),
            _ => Audience::Everyone,
        }
    }
}
