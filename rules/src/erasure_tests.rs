//! A member's leaving with the erasure of their data, and a facilitator's deletion of the
//! group, as the rules decide them.

use roundtable_protocol::{
    CommitmentStatus, Credential, ErasureChoice, ErrorCode, GroupId, MeetingId, MemberId, Request,
};
use serde_json::json;

use crate::activity::Place;
use crate::command::Erasure;
use crate::command::test_support::decide;
use crate::limits::RoomLimits;
use crate::membership::{decide_delete_group, decide_leave};
use crate::secret::{hash_secret, new_secret};
use crate::state::test_key;
use crate::state::{
    FreshMember, Group, RoomEvent, RoomState, decide_attendance, decide_join, decide_next_meeting,
};
use crate::stored;

const FACILITATOR_SECRET: &str = "facilitator-secret";
const INVITE_SECRET: &str = "invite-secret";
/// A name that appears nowhere else in a room's bytes.
const ANN: &str = "Annabelle Quist";

struct Room {
    state: RoomState,
    now_ms: u64,
}

impl Room {
    fn new() -> Room {
        let group = Group {
            id: GroupId::random(),
            name: "Friday Peers".into(),
            facilitator_secret_hash: hash_secret(FACILITATOR_SECRET),
            invite_secret_hash: hash_secret(INVITE_SECRET),
            created_at_ms: 1_000,
            time_zone: None,
            call_url: None,
        };
        Room {
            state: RoomState::new_group(group, MeetingId::random(), 1_000).live(),
            now_ms: 1_000,
        }
    }

    fn apply(&mut self, events: &[RoomEvent]) {
        for event in events {
            let seq = self.state.seq + 1;
            self.state.apply(seq, self.now_ms, event);
        }
        assert_eq!(self.state.check_invariants(), Ok(()));
    }

    /// Joins with `credential` and comes online; answers the member and their token.
    fn join(&mut self, credential: Credential) -> (MemberId, String) {
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
        (decision.member_id, decision.issued_token.unwrap())
    }

    fn act(&mut self, by: MemberId, request: serde_json::Value) {
        self.now_ms += 1_000;
        let request: Request = serde_json::from_value(request).unwrap();
        let events = decide(
            &self.state,
            by,
            &request,
            &RoomLimits::default(),
            self.now_ms,
        )
        .unwrap_or_else(|error| panic!("{request:?} refused: {error}"));
        self.apply(&events);
    }

    fn next_meeting(&mut self, by: MemberId) {
        self.now_ms += 1_000;
        let events = decide_next_meeting(&self.state, by, MeetingId::random()).unwrap();
        self.apply(&events);
    }

    fn leave(&mut self, member_id: MemberId, erasure: Erasure) {
        self.now_ms += 1_000;
        let events = decide_leave(
            &self.state,
            member_id,
            crate::state::test_key(member_id),
            erasure,
            self.now_ms,
        )
        .unwrap();
        assert!(matches!(
            events.last(),
            Some(RoomEvent::MemberErased { .. })
        ));
        self.apply(&events);
    }
}

fn erasure(choice: ErasureChoice) -> Erasure {
    Erasure {
        commitments: choice,
        numbers: choice,
        practices: choice,
    }
}

/// Fran (facilitator), Ann and Bob; in meeting 1 Ann makes a commitment, shares her numbers by
/// name, posts a practice, comments on Bob's and upvotes it; Bob shares anonymously, as does
/// Cy. Then meeting 2 starts, where Ann does it all again.
fn story() -> (Room, MemberId, MemberId, String) {
    let mut room = Room::new();
    let (fran, _) = room.join(Credential::Facilitator {
        secret: FACILITATOR_SECRET.into(),
        display_name: "Fran".into(),
        member_token: None,
    });
    let invite = |name: &str| Credential::Invite {
        secret: INVITE_SECRET.into(),
        display_name: name.into(),
        observer: false,
    };
    let (ann, ann_token) = room.join(invite(ANN));
    let (bob, _) = room.join(invite("Bob"));
    let (cy, _) = room.join(invite("Cy"));
    room.act(
        fran,
        json!({"type": "set_metrics", "metrics": [{"key": "calls", "name": "Calls", "unit": "count"}]}),
    );
    for _ in 0..2 {
        room.act(
            ann,
            json!({"type": "add_commitment", "text": "Call the tundra account"}),
        );
        room.act(
            ann,
            json!({"type": "submit_numbers", "values": {"calls": 41.0}, "sharing": "named"}),
        );
        room.act(
            bob,
            json!({"type": "submit_numbers", "values": {"calls": 17.0}, "sharing": "anonymous"}),
        );
        room.act(
            cy,
            json!({"type": "submit_numbers", "values": {"calls": 29.0}, "sharing": "anonymous"}),
        );
        room.act(
            bob,
            json!({"type": "post_practice", "title": "Open with a question", "description": "Works", "outcome": "worked"}),
        );
        let bobs = room.state.practices.practices.last().unwrap().practice_id;
        room.act(
            ann,
            json!({"type": "comment_on_practice", "practice_id": bobs, "text": "Tried the walrus opener"}),
        );
        room.act(
            ann,
            json!({"type": "upvote_practice", "practice_id": bobs, "up": true}),
        );
        room.act(
            ann,
            json!({"type": "post_practice", "title": "Walrus opener", "description": "Ask about ice", "outcome": "worked"}),
        );
        if room.state.meeting.number == 1 {
            room.next_meeting(fran);
        }
    }
    assert!(!room.state.past_meetings.is_empty());
    (room, fran, ann, ann_token)
}

fn member_named(room: &Room, name: &str) -> MemberId {
    room.state
        .members
        .iter()
        .find(|member| member.display_name == name)
        .unwrap()
        .id
}

fn snapshot_text(state: &RoomState) -> String {
    String::from_utf8(stored::encode_snapshot(state)).unwrap()
}

#[test]
fn a_member_who_leaves_and_removes_everything_leaves_no_name_and_nothing_of_theirs() {
    let (mut room, _fran, ann, ann_token) = story();
    assert!(snapshot_text(&room.state).contains(ANN));
    let view_before = room.state.activity.view();
    room.leave(ann, erasure(ErasureChoice::Remove));

    let state = &room.state;
    assert!(state.member(ann).is_none() && !state.online.contains(&ann));
    assert!(state.former_members.contains(&ann));
    let text = snapshot_text(state);
    assert!(
        !text.contains(ANN),
        "the name is nowhere in the stored snapshot"
    );
    for gone in ["tundra", "walrus", "Walrus"] {
        assert!(
            !text.contains(gone),
            "{gone:?}, of a removed contribution, is gone"
        );
    }
    assert!(state.commitments.commitments.iter().all(|c| c.owner != ann));
    assert!(state.practices.practices.iter().all(|p| p.author != ann
        && !p.upvoters.contains(&ann)
        && p.comments.iter().all(|c| c.author != ann)));
    for past in &state.past_meetings {
        let attendee = past.attendees.iter().find(|a| a.member_id == ann).unwrap();
        assert_eq!(attendee.display_name, "a former member");
        assert!(past.commitments_made.iter().all(|c| c.owner != ann));
        assert!(past.practices.iter().all(|p| p.author != ann));
        assert!(
            past.benchmarks
                .per_metric
                .iter()
                .all(|m| m.named.iter().all(|n| n.member_id != ann))
        );
    }
    assert!(
        state
            .activity
            .history
            .iter()
            .all(|past| !past.values_by_member.contains_key(&ann))
    );
    // Her named numbers leave this meeting's view; the anonymous ones are as they were.
    assert!(!state.activity.current.contains_key(&ann));
    let view = state.activity.view();
    assert_eq!(view.submitted_count, view_before.submitted_count - 1);
    // Her token is refused.
    let (token, token_hash) = new_secret();
    let refused = decide_join(
        state,
        &Credential::MemberToken { token: ann_token },
        FreshMember {
            member_id: MemberId::random(),
            token,
            token_hash,
        },
        &RoomLimits::default(),
    )
    .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Unauthorized);
    // What is stored reads back to the same room.
    let back = stored::decode_snapshot(&stored::encode_snapshot(state)).unwrap();
    assert_eq!(back, state.as_loaded());
}

#[test]
fn a_member_who_leaves_and_anonymizes_keeps_their_contributions_under_no_name() {
    let (mut room, fran, ann, _) = story();
    let commitments = room.state.commitments.commitments.clone();
    let practices = room.state.practices.practices.clone();
    let view_before = room.state.activity.view();
    room.leave(ann, erasure(ErasureChoice::Anonymize));

    let state = &room.state;
    assert!(state.member(ann).is_none());
    assert!(!snapshot_text(state).contains(ANN), "the name is nowhere");
    assert_eq!(
        state.commitments.commitments, commitments,
        "kept, under her id"
    );
    assert_eq!(state.practices.practices, practices);
    assert_eq!(
        state.activity.view(),
        view_before,
        "the group's view is as it was"
    );
    for past in &state.past_meetings {
        assert!(past.attendees.iter().all(|a| a.display_name != ANN));
        assert!(past.commitments_made.iter().any(|c| c.owner == ann));
    }
    // A facilitator may still resolve a former member's commitment.
    let id = commitments
        .iter()
        .find(|c| c.owner == ann)
        .unwrap()
        .commitment_id;
    room.act(
        fran,
        json!({"type": "update_commitment", "commitment_id": id, "status": "done"}),
    );
    assert_eq!(
        room.state.commitments.get(id).unwrap().status,
        CommitmentStatus::Done
    );
    let back = stored::decode_snapshot(&stored::encode_snapshot(&room.state)).unwrap();
    assert_eq!(back, room.state.as_loaded());
}

#[test]
fn anonymous_numbers_stay_whatever_the_member_chooses() {
    let (mut room, _fran, ann, _) = story();
    room.act(
        ann,
        json!({"type": "submit_numbers", "values": {"calls": 55.0}, "sharing": "anonymous"}),
    );
    let place = Place::of(&test_key(ann).unwrap(), room.state.meeting.id);
    let values = std::collections::BTreeMap::from([("calls".to_string(), 55.0)]);
    assert_eq!(room.state.activity.anonymous.get(&place), Some(&values));
    assert!(!room.state.activity.current.contains_key(&ann));
    let view_before = room.state.activity.view();
    room.leave(ann, erasure(ErasureChoice::Remove));
    assert_eq!(
        room.state.activity.anonymous.get(&place),
        Some(&values),
        "taking it out would change aggregates others saw"
    );
    assert_eq!(room.state.activity.view(), view_before);
}

/// Bob's anonymous numbers of the first meeting, in the history, at the place of his key.
fn bobs_past_place(room: &Room, bob: MemberId) -> Place {
    let past = &room.state.activity.history[0];
    let place = Place::of(&test_key(bob).unwrap(), past.meeting_id.unwrap());
    assert_eq!(past.values_by_place[&place]["calls"], 17.0);
    assert!(!past.values_by_member.contains_key(&bob));
    place
}

#[test]
fn a_member_who_removes_their_numbers_takes_their_past_anonymous_ones_out_by_their_key() {
    let (mut room, _fran, _ann, _) = story();
    let bob = member_named(&room, "Bob");
    let place = bobs_past_place(&room, bob);
    let medians = room.state.activity.history[0].group_median.clone();
    let events = decide_leave(
        &room.state,
        bob,
        test_key(bob),
        erasure(ErasureChoice::Remove),
        room.now_ms,
    )
    .unwrap();
    let removal = events
        .iter()
        .find(|event| matches!(event, RoomEvent::PastAnonymousNumbersRemoved { .. }))
        .expect("the past places are removed");
    // The removal names nobody, in memory and as stored.
    let stored = stored::encode_event(&crate::state::StoredEvent {
        at_ms: 0,
        event: removal.clone(),
    });
    assert!(
        !String::from_utf8(stored)
            .unwrap()
            .contains(&bob.to_string())
    );
    room.apply(&events);
    let past = &room.state.activity.history[0];
    assert!(!past.values_by_place.contains_key(&place));
    assert_eq!(past.values_by_place.len(), 1, "Cy's stay");
    assert_eq!(past.group_median, medians, "the medians others saw stay");
}

#[test]
fn anonymized_past_numbers_stay_and_a_removed_member_has_no_key_to_find_them() {
    for leaves in [true, false] {
        let (mut room, fran, _ann, _) = story();
        let bob = member_named(&room, "Bob");
        let place = bobs_past_place(&room, bob);
        if leaves {
            room.leave(bob, erasure(ErasureChoice::Anonymize));
        } else {
            room.act(fran, json!({"type": "remove_member", "member_id": bob}));
        }
        assert!(
            room.state.activity.history[0]
                .values_by_place
                .contains_key(&place)
        );
        room.state.check_invariants().unwrap();
    }
}

#[test]
fn each_kind_follows_its_own_choice() {
    let (mut room, _fran, ann, _) = story();
    room.leave(
        ann,
        Erasure {
            commitments: ErasureChoice::Anonymize,
            numbers: ErasureChoice::Remove,
            practices: ErasureChoice::Remove,
        },
    );
    let state = &room.state;
    assert!(state.commitments.commitments.iter().any(|c| c.owner == ann));
    assert!(!state.activity.current.contains_key(&ann));
    assert!(state.practices.practices.iter().all(|p| p.author != ann));
}

#[test]
fn the_last_facilitator_cannot_leave_but_a_second_one_can() {
    let (mut room, fran, ann, _) = story();
    let refused = decide_leave(
        &room.state,
        fran,
        None,
        erasure(ErasureChoice::Remove),
        9_000,
    )
    .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Conflict);
    room.act(
        fran,
        json!({"type": "set_role", "member_id": ann, "role": "facilitator"}),
    );
    room.leave(fran, erasure(ErasureChoice::Remove));
    assert!(room.state.member(fran).is_none());
    // Someone who is not a member cannot leave.
    let stranger = decide_leave(
        &room.state,
        fran,
        None,
        erasure(ErasureChoice::Remove),
        9_000,
    )
    .unwrap_err();
    assert_eq!(stranger.code, ErrorCode::Forbidden);
}

#[test]
fn a_member_with_the_floor_who_leaves_ends_their_turn_and_goes_offline() {
    let (mut room, fran, ann, _) = story();
    room.act(ann, json!({"type": "raise_hand"}));
    room.act(fran, json!({"type": "call_next_speaker", "member_id": ann}));
    assert_eq!(
        room.state.flow.floor.map(|floor| floor.member_id),
        Some(ann)
    );
    room.leave(ann, erasure(ErasureChoice::Remove));
    assert_eq!(room.state.flow.floor, None);
    assert!(!room.state.online.contains(&ann) && !room.state.hands.contains(&ann));
}

#[test]
fn deleting_the_group_takes_a_facilitator_who_types_its_name() {
    let (room, fran, ann, _) = story();
    let state = &room.state;
    assert_eq!(decide_delete_group(state, fran, "Friday Peers"), Ok(()));
    assert_eq!(decide_delete_group(state, fran, "  Friday Peers "), Ok(()));
    let wrong = decide_delete_group(state, fran, "friday peers").unwrap_err();
    assert_eq!(wrong.code, ErrorCode::Invalid);
    assert!(wrong.message.contains("confirm_name"));
    let member = decide_delete_group(state, ann, "Friday Peers").unwrap_err();
    assert_eq!(member.code, ErrorCode::Forbidden);
    let stranger = decide_delete_group(state, MemberId::random(), "Friday Peers").unwrap_err();
    assert_ne!(stranger.code, ErrorCode::Invalid);
}
