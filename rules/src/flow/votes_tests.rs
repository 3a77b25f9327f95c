//! Tests of dot votes, driven through the room's rules as the actor drives them, with a
//! controllable clock.

use proptest::prelude::*;
use roundtable_protocol::{Credential, ErrorCode, GroupId, MeetingId, MemberId, Request};

use super::*;
use crate::command::test_support::decide;
use crate::limits::RoomLimits;
use crate::secret::{hash_secret, new_secret};
use crate::state::{FreshMember, Group, RoomEvent, RoomState, decide_join};

const ITEM: AgendaItemId = 3;

/// A room at `now_ms`: Fran (facilitator), Bob presents the problem of item 3, Ann, Cy and
/// Dee are members and Olive observes; the problem is in its suggest phase with four
/// suggestions.
struct Room {
    state: RoomState,
    now_ms: u64,
    fran: MemberId,
    bob: MemberId,
    members: Vec<MemberId>,
    olive: MemberId,
}

impl Room {
    fn new() -> Room {
        let mut room = Room {
            state: RoomState::new_group(
                Group {
                    id: GroupId::random(),
                    name: "Peers".into(),
                    facilitator_secret_hash: hash_secret("f"),
                    invite_secret_hash: hash_secret("i"),
                    created_at_ms: 1_000,
                    time_zone: None,
                    call_url: None,
                },
                MeetingId::random(),
                1_000,
            )
            .live(),
            now_ms: 1_000,
            fran: MemberId::random(),
            bob: MemberId::random(),
            members: Vec::new(),
            olive: MemberId::random(),
        };
        room.fran = room.join("f", "Fran", false);
        room.bob = room.join("i", "Bob", false);
        room.members = ["Ann", "Cy", "Dee"]
            .map(|name| room.join("i", name, false))
            .to_vec();
        room.olive = room.join("i", "Olive", true);
        let item = room
            .state
            .flow
            .item(ITEM)
            .expect("the default agenda's problem")
            .clone();
        assert_eq!(item.kind, AgendaItemKind::Problem);
        room.act(
            room.fran,
            Request::EditAgendaItem {
                item_id: ITEM,
                item: wire::AgendaItemDraft {
                    title: item.title,
                    kind: item.kind,
                    time_box_ms: item.time_box_ms,
                    owner: Some(room.bob),
                    notes: String::new(),
                },
            },
        )
        .unwrap();
        room.phase(ProblemPhase::Suggest);
        for (index, text) in [
            "Call the CFO",
            "Offer a pilot",
            "Drop the price",
            "Walk away",
        ]
        .into_iter()
        .enumerate()
        {
            let by = room.members[index % 3];
            room.act(
                by,
                Request::AddSuggestion {
                    item_id: ITEM,
                    text: text.into(),
                },
            )
            .unwrap();
        }
        room
    }

    fn join(&mut self, secret: &str, name: &str, observer: bool) -> MemberId {
        let credential = if secret == "f" {
            Credential::Facilitator {
                secret: secret.into(),
                display_name: name.into(),
                member_token: None,
            }
        } else {
            Credential::Invite {
                secret: secret.into(),
                display_name: name.into(),
                observer,
            }
        };
        let (token, token_hash) = new_secret();
        let fresh = FreshMember {
            member_id: MemberId::random(),
            token,
            token_hash,
        };
        let decision =
            decide_join(&self.state, &credential, fresh, &RoomLimits::default()).unwrap();
        self.apply(&decision.events);
        decision.member_id
    }

    fn apply(&mut self, events: &[RoomEvent]) {
        for event in events {
            let seq = self.state.seq + 1;
            self.state.apply(seq, self.now_ms, event);
        }
        self.state.check_invariants().unwrap();
    }

    fn act(&mut self, by: MemberId, request: Request) -> Result<Vec<RoomEvent>, RoomError> {
        self.now_ms += 1_000;
        let events = decide(
            &self.state,
            by,
            &request,
            &RoomLimits::default(),
            self.now_ms,
        )?;
        self.apply(&events);
        Ok(events)
    }

    fn phase(&mut self, phase: ProblemPhase) {
        let request = Request::StartProblemPhase {
            item_id: ITEM,
            phase,
            time_box_ms: None,
        };
        self.act(self.fran, request).unwrap();
    }

    fn vote(
        &mut self,
        by: MemberId,
        suggestion_id: SuggestionId,
        vote: bool,
    ) -> Result<Vec<RoomEvent>, RoomError> {
        let request = Request::VoteSuggestion {
            item_id: ITEM,
            suggestion_id,
            vote,
        };
        self.act(by, request)
    }

    fn count(&self, suggestion_id: SuggestionId) -> u32 {
        self.state.flow.votes.count(ITEM, suggestion_id)
    }

    fn suggestion_ids(&self) -> Vec<SuggestionId> {
        let problem = self
            .state
            .flow
            .item(ITEM)
            .unwrap()
            .problem
            .as_ref()
            .unwrap();
        problem
            .suggestions
            .iter()
            .map(|s| s.suggestion_id)
            .collect()
    }
}

fn code(result: Result<Vec<RoomEvent>, RoomError>) -> ErrorCode {
    result.expect_err("refused").code
}

#[test]
fn members_put_dots_and_take_them_back_and_everyone_sees_counts_only() {
    let mut room = Room::new();
    let ids = room.suggestion_ids();
    let [ann, cy, _dee] = room.members[..] else {
        unreachable!()
    };
    let events = room.vote(ann, ids[0], true).unwrap();
    let wire: Vec<_> = events
        .iter()
        .map(|event| event.to_wire(room.now_ms))
        .collect();
    assert_eq!(
        wire,
        vec![
            wire::Event::YourVoteSet {
                item_id: ITEM,
                suggestion_id: ids[0],
                voted: true
            },
            wire::Event::SuggestionVotesCounted {
                item_id: ITEM,
                suggestion_id: ids[0],
                votes: 1
            },
        ]
    );
    assert_eq!(events[0].audience(), Audience::Only(ann));
    assert_eq!(events[1].audience(), Audience::Everyone);
    assert!(
        !serde_json::to_string(&wire[1])
            .unwrap()
            .contains(&ann.to_string()),
        "the count names nobody"
    );
    room.vote(cy, ids[0], true).unwrap();
    assert_eq!(room.count(ids[0]), 2);
    // A dot that is there already, or taken back when it is not, changes nothing.
    assert!(room.vote(ann, ids[0], true).unwrap().is_empty());
    assert!(room.vote(ann, ids[1], false).unwrap().is_empty());
    room.vote(ann, ids[0], false).unwrap();
    assert_eq!(room.count(ids[0]), 1);
    // The snapshot: counts for all, each their own dots.
    let for_cy = room.state.to_wire_snapshot_for(cy).flow.votes;
    assert_eq!(for_cy.len(), 1);
    assert_eq!(
        for_cy[0].counts,
        vec![wire::SuggestionVotes {
            suggestion_id: ids[0],
            votes: 1
        }]
    );
    assert_eq!(for_cy[0].yours, vec![ids[0]]);
    assert!(
        room.state.to_wire_snapshot_for(ann).flow.votes[0]
            .yours
            .is_empty()
    );
}

#[test]
fn each_member_has_three_dots_per_problem() {
    let mut room = Room::new();
    let ids = room.suggestion_ids();
    let ann = room.members[0];
    for id in &ids[..3] {
        room.vote(ann, *id, true).unwrap();
    }
    let before = room.state.clone();
    assert_eq!(code(room.vote(ann, ids[3], true)), ErrorCode::LimitReached);
    assert_eq!(room.state.flow.votes, before.flow.votes, "nothing changed");
    room.vote(ann, ids[0], false).unwrap();
    room.vote(ann, ids[3], true).unwrap();
    assert_eq!(room.state.flow.votes.yours(ITEM, ann), ids[1..].to_vec());
}

#[test]
fn dots_go_on_suggestions_in_the_suggest_and_decide_phases_from_members_but_the_presenter() {
    let mut room = Room::new();
    let ids = room.suggestion_ids();
    let ann = room.members[0];
    assert_eq!(code(room.vote(room.bob, ids[0], true)), ErrorCode::Conflict);
    assert_eq!(
        code(room.vote(room.olive, ids[0], true)),
        ErrorCode::Forbidden
    );
    assert_eq!(code(room.vote(ann, 999, true)), ErrorCode::NotFound);
    let stranger = MemberId::random();
    assert_eq!(
        code(room.vote(stranger, ids[0], true)),
        ErrorCode::Forbidden
    );
    let not_a_problem = Request::VoteSuggestion {
        item_id: 1,
        suggestion_id: ids[0],
        vote: true,
    };
    assert_eq!(code(room.act(ann, not_a_problem)), ErrorCode::Conflict);
    // The facilitator votes like any member.
    room.vote(room.fran, ids[0], true).unwrap();
    room.phase(ProblemPhase::Decide);
    room.vote(ann, ids[0], true).unwrap();
    room.phase(ProblemPhase::Clarify);
    assert_eq!(code(room.vote(ann, ids[1], true)), ErrorCode::Conflict);
    assert_eq!(code(room.vote(ann, ids[0], false)), ErrorCode::Conflict);
    assert_eq!(
        room.count(ids[0]),
        2,
        "the dots stay while voting is closed"
    );
}

#[test]
fn a_removed_members_dots_stay_so_that_nothing_tells_where_they_were() {
    let mut room = Room::new();
    let ids = room.suggestion_ids();
    let [ann, cy, dee] = room.members[..] else {
        unreachable!()
    };
    room.vote(dee, ids[0], true).unwrap();
    room.vote(dee, ids[1], true).unwrap();
    room.vote(ann, ids[1], true).unwrap();
    let events = room
        .act(room.fran, Request::RemoveMember { member_id: dee })
        .unwrap();
    // Taking Dee's dots back would send everyone a lower count on exactly her suggestions.
    assert!(
        !events.iter().any(|event| matches!(
            event,
            RoomEvent::Flow {
                event: FlowEvent::SuggestionVotesCounted { .. }
                    | FlowEvent::SuggestionVoteSet { .. }
            }
        )),
        "removing a member sends nothing about votes: {events:?}"
    );
    assert_eq!((room.count(ids[0]), room.count(ids[1])), (1, 2));
    room.vote(cy, ids[1], true).unwrap();
    assert_eq!(room.count(ids[1]), 3);
}

#[test]
fn the_dots_freeze_when_the_meeting_ends() {
    let mut room = Room::new();
    let ids = room.suggestion_ids();
    room.vote(room.members[0], ids[0], true).unwrap();
    room.act(room.fran, Request::EndMeeting).unwrap();
    assert_eq!(
        code(room.vote(room.members[0], ids[0], false)),
        ErrorCode::Conflict
    );
    assert_eq!(
        code(room.vote(room.members[1], ids[0], true)),
        ErrorCode::Conflict
    );
    assert_eq!(room.count(ids[0]), 1);
}

#[test]
fn removing_the_item_or_starting_the_next_meeting_clears_its_votes() {
    let mut room = Room::new();
    let ids = room.suggestion_ids();
    room.vote(room.members[0], ids[0], true).unwrap();
    let mut next = room.state.clone();
    let events = crate::state::decide_next_meeting(&next, room.fran, MeetingId::random()).unwrap();
    next.apply(next.seq + 1, room.now_ms, &events[0]);
    assert!(next.flow.votes.by_item.is_empty());
    room.act(room.fran, Request::RemoveAgendaItem { item_id: ITEM })
        .unwrap();
    assert!(room.state.flow.votes.by_item.is_empty());
}

#[derive(Debug, Clone)]
enum Step {
    Vote(usize, usize, bool),
    Remove(usize),
    Phase(ProblemPhase),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..4usize, 0..4usize, any::<bool>()).prop_map(|(m, s, v)| Step::Vote(m, s, v)),
        1 => (0..4usize).prop_map(Step::Remove),
        1 => prop_oneof![
            Just(ProblemPhase::Clarify),
            Just(ProblemPhase::Suggest),
            Just(ProblemPhase::Decide),
        ]
        .prop_map(Step::Phase),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Whatever members do, counts never go below zero or past members × dots (members ever,
    /// since a removed member's dots stay), every count the wire sent is the room's, and a
    /// removal sends no count at all.
    #[test]
    fn votes_stay_within_the_dots_of_the_members(steps in prop::collection::vec(step(), 1..80)) {
        let mut room = Room::new();
        let ids = room.suggestion_ids();
        let mut voters = room.members.clone();
        voters.push(room.fran);
        let mut sent: std::collections::BTreeMap<SuggestionId, u32> = Default::default();
        for step in steps {
            let result = match step {
                Step::Vote(member, suggestion, vote) => {
                    room.vote(voters[member], ids[suggestion], vote)
                }
                Step::Remove(member) => {
                    let member_id = voters[member];
                    let before: Vec<u32> = ids.iter().map(|id| room.count(*id)).collect();
                    let result = room.act(room.fran, Request::RemoveMember { member_id });
                    let after: Vec<u32> = ids.iter().map(|id| room.count(*id)).collect();
                    prop_assert_eq!(before, after, "a removal leaves the counts as they were");
                    result
                }
                Step::Phase(phase) => {
                    room.phase(phase);
                    Ok(Vec::new())
                }
            };
            for event in result.unwrap_or_default() {
                if let RoomEvent::Flow {
                    event: FlowEvent::SuggestionVotesCounted { suggestion_id, votes, .. },
                } = event
                {
                    sent.insert(suggestion_id, votes);
                }
            }
            room.state.check_invariants().map_err(TestCaseError::fail)?;
            let members = voters.len() as u32;
            let total: u32 = ids.iter().map(|id| room.count(*id)).sum();
            prop_assert!(total <= members * DOTS_PER_PROBLEM);
            for id in &ids {
                prop_assert!(room.count(*id) <= members);
                prop_assert_eq!(sent.get(id).copied().unwrap_or(0), room.count(*id));
            }
        }
    }
}

#[test]
fn once_the_presenter_has_chosen_the_dots_are_kept_as_they_were() {
    let mut room = Room::new();
    let ids = room.suggestion_ids();
    let [ann, cy, _] = room.members[..] else {
        unreachable!()
    };
    room.vote(ann, ids[0], true).unwrap();
    room.phase(ProblemPhase::Decide);
    room.act(
        room.bob,
        Request::ChooseSuggestions {
            item_id: ITEM,
            choices: None,
            suggestion_ids: Some(vec![ids[0]]),
        },
    )
    .unwrap();
    assert_eq!(code(room.vote(cy, ids[1], true)), ErrorCode::Conflict);
    assert_eq!(code(room.vote(ann, ids[0], false)), ErrorCode::Conflict);
    assert_eq!((room.count(ids[0]), room.count(ids[1])), (1, 0));
}
