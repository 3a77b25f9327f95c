//! A meeting's life under random sequences of requests, with a controllable clock: nothing
//! that needs a live meeting changes an upcoming one, there is one live meeting at most and
//! only a start makes it, a meeting starts only from upcoming and ends only from live, and the
//! seqs and minutes follow: each ended meeting's minutes say when it started and ended.

use proptest::prelude::*;
use roundtable_protocol::{
    AgendaItemDraft, AgendaItemKind, Credential, ErrorCode, MeetingId, MeetingPhase, MemberId,
    Reaction, Request, Role, RolePlayId, RolePlayRequest, Sharing,
};

use super::{Needs, needs};
use crate::command::Command;
use crate::limits::RoomLimits;
use crate::roleplay::{self, Fresh};
use crate::secret::{hash_secret, new_secret};
use crate::state::{
    FreshMember, Group, RoomError, RoomEvent, RoomState, admit, decide, decide_attendance,
    decide_join, decide_next_meeting, decide_start_meeting,
};

const FACILITATOR_SECRET: &str = "f-secret";
const INVITE_SECRET: &str = "i-secret";
const T0: u64 = 1_764_000_000_000;

/// A group of a facilitator and three members, all here, its first meeting upcoming.
struct Room {
    state: RoomState,
    now_ms: u64,
    fran: MemberId,
    members: Vec<MemberId>,
    next_id: u128,
}

impl Room {
    fn new() -> Room {
        let group = Group {
            id: roundtable_protocol::GroupId::random(),
            name: "Peers".into(),
            facilitator_secret_hash: hash_secret(FACILITATOR_SECRET),
            invite_secret_hash: hash_secret(INVITE_SECRET),
            created_at_ms: T0,
            time_zone: None,
            call_url: None,
        };
        let mut room = Room {
            state: RoomState::new_group(group, MeetingId::random(), T0),
            now_ms: T0,
            fran: MemberId::random(),
            members: Vec::new(),
            next_id: 1,
        };
        room.fran = room.join(Credential::Facilitator {
            secret: FACILITATOR_SECRET.into(),
            display_name: "Fran".into(),
            member_token: None,
        });
        for name in ["Ann", "Bob", "Cy"] {
            let member = room.join(Credential::Invite {
                secret: INVITE_SECRET.into(),
                display_name: name.into(),
                observer: false,
            });
            room.members.push(member);
        }
        room
    }

    fn join(&mut self, credential: Credential) -> MemberId {
        let (token, token_hash) = new_secret();
        let fresh = FreshMember {
            member_id: MemberId::random(),
            token,
            token_hash,
        };
        let decision =
            decide_join(&self.state, &credential, fresh, &RoomLimits::default()).unwrap();
        self.apply(&decision.events);
        self.state.set_online(decision.member_id, true);
        let attended = decide_attendance(&self.state, decision.member_id);
        self.apply(&attended.into_iter().collect::<Vec<_>>());
        decision.member_id
    }

    fn apply(&mut self, events: &[RoomEvent]) {
        for event in events {
            let seq = self.state.seq + 1;
            self.state.apply(seq, self.now_ms, event);
        }
    }

    /// What the room does with a request: the phase check first, then the rules.
    fn decide(&mut self, by: MemberId, request: Request) -> Result<Vec<RoomEvent>, RoomError> {
        let command = Command::try_from(request).expect("a room's request");
        admit(&self.state, &command)?;
        let limits = RoomLimits::default();
        match command {
            Command::Change(change) => decide(&self.state, by, &change, &limits, self.now_ms),
            Command::StartMeeting => decide_start_meeting(&self.state, by, self.now_ms),
            Command::StartNextMeeting => {
                self.next_id += 1;
                let id = MeetingId(uuid::Uuid::from_u128(self.next_id));
                decide_next_meeting(&self.state, by, id)
            }
            Command::RolePlay(command) => {
                self.next_id += 1;
                let fresh = Fresh {
                    role_play_id: RolePlayId(uuid::Uuid::from_u128(self.next_id)),
                    shuffle_seed: 3,
                };
                roleplay::decide(&self.state, by, &command, fresh, self.now_ms, &limits)
            }
            // Reactions are not events; past the phase check they are the reactions module's.
            Command::React(_) => Ok(Vec::new()),
            other => panic!("not generated: {other:?}"),
        }
    }
}

/// The requests the sequences draw from: the meeting's life, requests that need a live
/// meeting, and requests that need none.
fn request(room: &Room, pick: usize) -> Request {
    let ann = room.members[0];
    match pick % 14 {
        0 | 1 => Request::StartMeeting,
        2 => Request::StartNextMeeting,
        3 => Request::RaiseHand,
        4 => Request::StartRound {
            speaker_time_box_ms: 60_000,
            auto_advance: false,
            speakers: None,
            item_id: None,
        },
        5 => Request::NextAgendaItem,
        6 => Request::EndMeeting,
        7 => Request::React {
            reaction: Reaction::Applause,
        },
        8 => Request::RolePlay {
            action: RolePlayRequest::SetUp {
                seller: ann,
                buyer: None,
                scenario: "A cold call.".into(),
                buyer_brief: None,
                rubric: roleplay::templates::built_in()[0].clone(),
                reveal_threshold: None,
            },
        },
        9 => Request::AddAgendaItem {
            item: AgendaItemDraft {
                title: "Pricing".into(),
                kind: AgendaItemKind::Discussion,
                time_box_ms: 300_000,
                owner: None,
                notes: String::new(),
            },
            position: None,
        },
        10 => Request::RenameGroup {
            name: format!("Peers {}", room.state.meeting.number),
        },
        11 => Request::SubmitNumbers {
            values: [("calls".to_string(), 12.0)].into_iter().collect(),
            sharing: Sharing::Named,
        },
        12 => Request::AddCommitment {
            text: "Call three accounts".into(),
            owner: None,
            due_meeting: None,
            due_date: None,
        },
        _ => Request::PauseTimer,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn a_meetings_life_holds_under_any_sequence_of_requests(
        steps in prop::collection::vec((0usize..14, 0usize..4, 1u64..600_000), 1..60)
    ) {
        let mut room = Room::new();
        prop_assert_eq!(room.state.meeting.phase, MeetingPhase::Upcoming);
        // When the current meeting went live, if it did.
        let mut live_since: Option<u64> = None;
        for (pick, who, wait_ms) in steps {
            room.now_ms += wait_ms;
            let by = if who == 0 { room.fran } else { room.members[who - 1] };
            let request = request(&room, pick);
            let needed = needs(&Command::try_from(request.clone()).unwrap());
            let before = room.state.clone();
            let decided = room.decide(by, request.clone());
            match (&decided, before.meeting.phase, needed) {
                (Err(error), MeetingPhase::Upcoming, Needs::Live) => {
                    prop_assert_eq!(error.code, ErrorCode::MeetingNotLive, "{:?}", request);
                }
                (Err(error), MeetingPhase::Live, Needs::Upcoming) => {
                    prop_assert_eq!(error.code, ErrorCode::Conflict, "{:?}", request);
                }
                (Ok(events), MeetingPhase::Upcoming, Needs::Live)
                | (Ok(events), MeetingPhase::Live, Needs::Upcoming) => {
                    prop_assert!(false, "{:?} passed in the wrong phase: {:?}", request, events);
                }
                _ => {}
            }
            let Ok(events) = decided else {
                // A refused request changes nothing.
                prop_assert_eq!(&room.state, &before);
                continue;
            };
            room.apply(&events);
            let state = &room.state;
            state.check_invariants().map_err(TestCaseError::fail)?;
            match request {
                Request::StartMeeting => {
                    prop_assert_eq!(by, room.fran, "only a facilitator starts");
                    prop_assert_eq!(before.meeting.phase, MeetingPhase::Upcoming);
                    prop_assert_eq!(state.meeting.phase, MeetingPhase::Live);
                    prop_assert_eq!(state.meeting.started_at_ms, room.now_ms);
                    prop_assert_eq!(state.meeting.id, before.meeting.id);
                    // `meeting_started`, `prep_revealed` when anyone prepared or submitted
                    // numbers before the start (`crate::prep`), and a `member_attended` for
                    // each member here.
                    let revealed = !before.prep.by_member.is_empty()
                        || !before.activity.current.is_empty()
                        || !before.activity.anonymous.is_empty();
                    let here = before.online_members().len() as u64;
                    prop_assert_eq!(state.seq, before.seq + 1 + u64::from(revealed) + here);
                    // Who is here when it starts attends it.
                    prop_assert_eq!(state.meeting.attended.len(), 4);
                    live_since = Some(room.now_ms);
                }
                Request::StartNextMeeting => {
                    prop_assert_eq!(by, room.fran, "only a facilitator ends");
                    prop_assert_eq!(before.meeting.phase, MeetingPhase::Live);
                    prop_assert_eq!(state.meeting.phase, MeetingPhase::Upcoming);
                    prop_assert_eq!(state.meeting.number, before.meeting.number + 1);
                    prop_assert_ne!(state.meeting.id, before.meeting.id);
                    // The new meeting's log starts from nothing.
                    prop_assert_eq!(state.seq, 0);
                    prop_assert!(state.hands.is_empty());
                    // Its minutes say when it actually started and ended.
                    let minutes = state.past_meetings.last().unwrap();
                    prop_assert_eq!(minutes.meeting_id, before.meeting.id);
                    prop_assert_eq!(minutes.meeting_number, before.meeting.number);
                    prop_assert_eq!(Some(minutes.started_at_ms), live_since);
                    // It ended when the facilitator ended its agenda, or else now.
                    let ended = before.flow.ended_at_ms.unwrap_or(room.now_ms);
                    prop_assert_eq!(minutes.ended_at_ms, Some(ended));
                    live_since = None;
                }
                _ => {
                    prop_assert_eq!(state.meeting.phase, before.meeting.phase);
                    prop_assert_eq!(state.meeting.id, before.meeting.id);
                    if !events.is_empty() {
                        prop_assert_eq!(state.seq, before.seq + events.len() as u64);
                    }
                }
            }
            // While upcoming, nothing of a running meeting moves: no hands, no round, no timer,
            // no role play, the agenda not started.
            // (A role play left unfinished when a meeting ends stays as it was.)
            if state.meeting.phase == MeetingPhase::Upcoming {
                prop_assert!(state.hands.is_empty());
                prop_assert!(state.flow.round.is_none());
                prop_assert!(state.flow.timer.is_none());
                prop_assert!(state.flow.ended_at_ms.is_none());
                prop_assert!(state.meeting.attended.is_empty());
                prop_assert_eq!(&state.role_play.current, &before.role_play.current);
            }
            // One live meeting at most: every past meeting ended, in order, each after it began.
            let mut previous_end = T0;
            for (index, minutes) in state.past_meetings.iter().enumerate() {
                let ended = minutes.ended_at_ms.expect("a past meeting ended");
                prop_assert!(minutes.started_at_ms >= previous_end);
                prop_assert!(ended >= minutes.started_at_ms);
                prop_assert_eq!(minutes.meeting_number, index as u32 + 1);
                previous_end = ended;
            }
            prop_assert_eq!(state.meeting.number, state.past_meetings.len() as u32 + 1);
            prop_assert_eq!(state.meeting.phase == MeetingPhase::Live, live_since.is_some());
        }
    }
}

/// The table's rows for a sample of each kind: what a lobby allows and what it refuses.
#[test]
fn the_table_says_which_requests_need_a_live_meeting() {
    let room = Room::new();
    let cases: Vec<(Request, Needs)> = (0..14)
        .map(|pick| request(&room, pick))
        .zip([
            Needs::Upcoming,
            Needs::Upcoming,
            Needs::Live,
            Needs::Live,
            Needs::Live,
            Needs::Live,
            Needs::Live,
            Needs::Live,
            Needs::Live,
            Needs::AnyPhase,
            Needs::AnyPhase,
            Needs::AnyPhase,
            Needs::AnyPhase,
            Needs::Live,
        ])
        .collect();
    for (request, expected) in cases {
        let command = Command::try_from(request.clone()).unwrap();
        assert_eq!(needs(&command), expected, "{request:?}");
    }
    let any = [
        Request::SetCallLink { url: None },
        Request::UpdateCommitment {
            commitment_id: 1,
            status: roundtable_protocol::CommitmentStatus::Done,
            note: None,
        },
        Request::SetRole {
            member_id: room.members[0],
            role: Role::Member,
        },
        Request::GetMyBenchmarks,
        Request::ListSessions,
        Request::SaveAgendaAsTemplate,
    ];
    for request in any {
        let command = Command::try_from(request.clone()).unwrap();
        assert_eq!(needs(&command), Needs::AnyPhase, "{request:?}");
    }
}

/// The refusal says what to do, and a member (not a facilitator) cannot start the meeting.
#[test]
fn an_upcoming_meeting_refuses_the_round_with_a_clear_message_and_only_a_facilitator_starts_it() {
    let mut room = Room::new();
    let ann = room.members[0];
    let error = room
        .decide(ann, Request::RaiseHand)
        .expect_err("no hands before the start");
    assert_eq!(error.code, ErrorCode::MeetingNotLive);
    assert_eq!(
        error.message,
        "meeting 1 has not started yet; this can be done once a facilitator starts it"
    );
    let error = room.decide(ann, Request::StartMeeting).unwrap_err();
    assert_eq!(error.code, ErrorCode::Forbidden);
    let error = room
        .decide(room.fran, Request::StartNextMeeting)
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::MeetingNotLive);
    let events = room.decide(room.fran, Request::StartMeeting).unwrap();
    // The start, then the attendance of everyone here (who is online is no event).
    let mut expected = vec![RoomEvent::MeetingStarted];
    expected.extend(
        room.state
            .online_members()
            .into_iter()
            .map(|member_id| RoomEvent::MemberAttended { member_id }),
    );
    assert_eq!(events, expected);
    room.apply(&events);
    let error = room.decide(room.fran, Request::StartMeeting).unwrap_err();
    assert_eq!(error.code, ErrorCode::Conflict);
    assert_eq!(error.message, "meeting 1 is live already");
    assert!(room.decide(ann, Request::RaiseHand).is_ok());
}
