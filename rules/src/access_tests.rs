//! Rotating links and revoking sessions, with fixed times: the attacks of issue 19 (a removed
//! co-facilitator comes back with the old facilitator link, a removed member with the invite
//! link, a lost laptop keeps its token) fail once a facilitator acts.

use roundtable_protocol::{
    Credential, ErrorCode, GroupId, LinkKind, MeetingId, MemberId, Request, Role,
};

use super::*;
use crate::command::test_support::decide;
use crate::limits::RoomLimits;
use crate::secret::{hash_secret, new_secret};
use crate::state::{FreshMember, Group, JoinDecision, RoomState, decide_join};

const FACILITATOR_SECRET: &str = "facilitator-secret";
const INVITE_SECRET: &str = "invite-secret";

fn new_room() -> RoomState {
    RoomState::new_group(
        Group {
            id: GroupId::random(),
            name: "Peers".into(),
            facilitator_secret_hash: hash_secret(FACILITATOR_SECRET),
            invite_secret_hash: hash_secret(INVITE_SECRET),
            created_at_ms: 1_000,
            time_zone: None,
            call_url: None,
        },
        MeetingId::random(),
        1_000,
    )
}

fn apply_all(state: &mut RoomState, events: &[RoomEvent], at_ms: u64) {
    for event in events {
        let seq = state.seq + 1;
        state.apply(seq, at_ms, event);
    }
    state.check_invariants().unwrap();
}

fn join(state: &mut RoomState, credential: Credential) -> Result<JoinDecision, RoomError> {
    let (token, token_hash) = new_secret();
    let fresh = FreshMember {
        member_id: MemberId::random(),
        token,
        token_hash,
    };
    let decision = decide_join(state, &credential, fresh, &RoomLimits::default())?;
    apply_all(state, &decision.events, 2_000);
    Ok(decision)
}

fn invite(secret: &str, name: &str) -> Credential {
    Credential::Invite {
        secret: secret.into(),
        display_name: name.into(),
        observer: false,
    }
}

fn facilitator(secret: &str, name: &str) -> Credential {
    Credential::Facilitator {
        secret: secret.into(),
        display_name: name.into(),
        member_token: None,
    }
}

fn token(decision: &JoinDecision) -> Credential {
    Credential::MemberToken {
        token: decision.issued_token.clone().expect("a token was issued"),
    }
}

/// Makes `link` anew on behalf of `by`; returns the new secret.
fn rotate(state: &mut RoomState, by: MemberId, link: LinkKind) -> Result<String, RoomError> {
    let (secret, hash) = new_secret();
    let role = state.role_of(by).unwrap();
    let events = decide_rotate_link(&state.access, role, link, hash)?;
    apply_all(state, &events, 3_000);
    Ok(secret)
}

fn revoke(
    state: &mut RoomState,
    by: &JoinDecision,
    member_id: MemberId,
    session_id: u32,
) -> Result<(), RoomError> {
    let role = state.role_of(by.member_id).unwrap();
    let events = decide_revoke_session(
        &state.access,
        state.roster(),
        role,
        by.session_id,
        member_id,
        session_id,
    )?;
    apply_all(state, &events, 4_000);
    Ok(())
}

fn refusal(result: Result<JoinDecision, RoomError>) -> ErrorCode {
    result.expect_err("refused").code
}

#[test]
fn a_removed_co_facilitator_cannot_come_back_with_the_old_facilitator_link_once_it_is_made_anew() {
    let mut state = new_room();
    let owner = join(&mut state, facilitator(FACILITATOR_SECRET, "Fran")).unwrap();
    let co = join(&mut state, facilitator(FACILITATOR_SECRET, "Gus")).unwrap();
    let ann = join(&mut state, invite(INVITE_SECRET, "Ann")).unwrap();
    let removed = decide(
        &state,
        owner.member_id,
        &Request::RemoveMember {
            member_id: co.member_id,
        },
        &RoomLimits::default(),
        3_000,
    )
    .unwrap();
    apply_all(&mut state, &removed, 3_000);
    // Without a new link Gus is back at once, as a facilitator: the attack of the issue.
    let mut before = state.clone();
    assert!(join(&mut before, facilitator(FACILITATOR_SECRET, "Gus")).is_ok());

    let new_secret = rotate(&mut state, owner.member_id, LinkKind::Facilitator).unwrap();
    assert_eq!(state.access.links.facilitator, 1);
    assert_eq!(state.access.links.invite, 0);
    assert_eq!(
        refusal(join(
            &mut state.clone(),
            facilitator(FACILITATOR_SECRET, "Gus")
        )),
        ErrorCode::Unauthorized
    );
    // Also with a member token in the credential: the secret is checked first.
    assert_eq!(
        refusal(join(
            &mut state.clone(),
            Credential::Facilitator {
                secret: FACILITATOR_SECRET.into(),
                display_name: "Gus".into(),
                member_token: ann.issued_token.clone(),
            }
        )),
        ErrorCode::Unauthorized
    );
    // The new link works; members who joined keep their own tokens.
    assert!(join(&mut state.clone(), facilitator(&new_secret, "Hal")).is_ok());
    assert_eq!(
        join(&mut state, token(&ann)).unwrap().member_id,
        ann.member_id
    );
    assert_eq!(
        join(&mut state, token(&owner)).unwrap().member_id,
        owner.member_id
    );
}

#[test]
fn a_removed_member_cannot_come_back_with_the_old_invite_link_once_it_is_made_anew() {
    let mut state = new_room();
    let owner = join(&mut state, facilitator(FACILITATOR_SECRET, "Fran")).unwrap();
    let bob = join(&mut state, invite(INVITE_SECRET, "Bob")).unwrap();
    let removed = decide(
        &state,
        owner.member_id,
        &Request::RemoveMember {
            member_id: bob.member_id,
        },
        &RoomLimits::default(),
        3_000,
    )
    .unwrap();
    apply_all(&mut state, &removed, 3_000);
    let new_secret = rotate(&mut state, owner.member_id, LinkKind::Invite).unwrap();
    assert_eq!(
        refusal(join(&mut state.clone(), invite(INVITE_SECRET, "Bob"))),
        ErrorCode::Unauthorized
    );
    assert_eq!(
        refusal(join(&mut state.clone(), token(&bob))),
        ErrorCode::Unauthorized
    );
    // Each rotation replaces the one before: only the newest secret admits.
    let newest = rotate(&mut state, owner.member_id, LinkKind::Invite).unwrap();
    assert_eq!(state.access.links.invite, 2);
    assert_eq!(
        refusal(join(&mut state.clone(), invite(&new_secret, "Cy"))),
        ErrorCode::Unauthorized
    );
    assert!(join(&mut state, invite(&newest, "Cy")).is_ok());
}

#[test]
fn only_facilitators_rotate_links_list_and_revoke_sessions() {
    let mut state = new_room();
    let owner = join(&mut state, facilitator(FACILITATOR_SECRET, "Fran")).unwrap();
    let ann = join(&mut state, invite(INVITE_SECRET, "Ann")).unwrap();
    let olive = join(
        &mut state,
        Credential::Invite {
            secret: INVITE_SECRET.into(),
            display_name: "Olive".into(),
            observer: true,
        },
    )
    .unwrap();
    for by in [&ann, &olive] {
        let before = state.clone();
        for link in [LinkKind::Invite, LinkKind::Facilitator] {
            assert_eq!(
                rotate(&mut state, by.member_id, link).unwrap_err().code,
                ErrorCode::Forbidden
            );
        }
        assert_eq!(
            revoke(&mut state, by, owner.member_id, owner.session_id)
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
        let role = state.role_of(by.member_id).unwrap();
        assert_eq!(
            sessions_view(&state.access, role, |_, _| 0, 9_000)
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
        assert_eq!(state, before, "a refusal changes nothing");
    }
    let view = sessions_view(&state.access, Role::Facilitator, |_, _| 0, 9_000).unwrap();
    assert_eq!(view.len(), 3);
}

#[test]
fn a_revoked_session_token_is_refused_and_the_member_stays_with_their_data() {
    let mut state = new_room();
    let owner = join(&mut state, facilitator(FACILITATOR_SECRET, "Fran")).unwrap();
    let ann = join(&mut state, invite(INVITE_SECRET, "Ann")).unwrap();
    revoke(&mut state, &owner, ann.member_id, ann.session_id).unwrap();
    assert_eq!(
        refusal(join(&mut state.clone(), token(&ann))),
        ErrorCode::Unauthorized
    );
    let member = state.member(ann.member_id).expect("Ann is still a member");
    assert_eq!(member.display_name, "Ann");
    assert!(!state.access.has_session(ann.member_id));
    // Revoking it again finds nothing; nor does a session that never was.
    assert_eq!(
        revoke(&mut state, &owner, ann.member_id, ann.session_id)
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert_eq!(
        revoke(&mut state, &owner, owner.member_id, owner.session_id ^ 1)
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    // Ann comes back through the invite link under her name: the same member, a new session
    // with a number of its own, and a new token; the old one stays refused.
    let back = join(&mut state, invite(INVITE_SECRET, "ann")).unwrap();
    assert_eq!(back.member_id, ann.member_id);
    assert_ne!(back.session_id, ann.session_id);
    assert_eq!(state.access.sessions.len(), 2);
    assert_ne!(back.issued_token, ann.issued_token);
    assert_eq!(state.members.len(), 2);
    assert_eq!(
        refusal(join(&mut state.clone(), token(&ann))),
        ErrorCode::Unauthorized
    );
    // While she has a session, nobody else takes her name.
    assert_eq!(
        refusal(join(&mut state.clone(), invite(INVITE_SECRET, "Ann"))),
        ErrorCode::Conflict
    );
}

#[test]
fn a_facilitator_cannot_revoke_the_session_they_use_and_comes_back_only_through_their_link() {
    let mut state = new_room();
    let owner = join(&mut state, facilitator(FACILITATOR_SECRET, "Fran")).unwrap();
    let co = join(&mut state, facilitator(FACILITATOR_SECRET, "Gus")).unwrap();
    assert_eq!(
        revoke(&mut state, &owner, owner.member_id, owner.session_id)
            .unwrap_err()
            .code,
        ErrorCode::Conflict
    );
    revoke(&mut state, &owner, co.member_id, co.session_id).unwrap();
    // Gus's laptop may hold the invite link: it does not make him a facilitator again.
    assert_eq!(
        refusal(join(&mut state.clone(), invite(INVITE_SECRET, "Gus"))),
        ErrorCode::Forbidden
    );
    let back = join(&mut state, facilitator(FACILITATOR_SECRET, "Gus")).unwrap();
    assert_eq!(back.member_id, co.member_id);
    assert_eq!(state.role_of(co.member_id), Some(Role::Facilitator));
}

#[test]
fn members_never_receive_a_secret_or_its_hash() {
    let mut state = new_room();
    let owner = join(&mut state, facilitator(FACILITATOR_SECRET, "Fran")).unwrap();
    let ann = join(&mut state, invite(INVITE_SECRET, "Ann")).unwrap();
    let (secret, hash) = new_secret();
    let role = state.role_of(owner.member_id).unwrap();
    let events = decide_rotate_link(&state.access, role, LinkKind::Invite, hash).unwrap();
    apply_all(&mut state, &events, 3_000);
    let hex: String = hash.0.iter().map(|byte| format!("{byte:02x}")).collect();
    let wire = serde_json::to_string(&events[0].to_wire(3_000)).unwrap();
    assert_eq!(
        wire,
        r#"{"kind":"link_rotated","link":"invite","version":1}"#
    );
    for viewer in [owner.member_id, ann.member_id] {
        let snapshot = serde_json::to_string(&state.to_wire_snapshot_for(viewer)).unwrap();
        assert!(snapshot.contains(r#""links":{"invite":1,"facilitator":0}"#));
        for leak in [&secret, &hex, &INVITE_SECRET.to_string()] {
            assert!(!snapshot.contains(leak.as_str()));
            assert!(!wire.contains(leak.as_str()));
        }
    }
    // The stored event keeps only the hash, and reads back as it was.
    let stored = crate::stored::encode_event(&crate::state::StoredEvent {
        at_ms: 3_000,
        event: events[0].clone(),
    });
    let text = String::from_utf8(stored.clone()).unwrap();
    let format = format!(r#""format":{}"#, crate::stored::FORMAT);
    assert!(text.contains(&format) && text.contains(r#""kind":"link_rotated""#));
    assert!(!text.contains(&secret));
    assert_eq!(
        crate::stored::decode_event(&stored).unwrap().event,
        events[0]
    );
}

#[test]
fn sessions_show_when_they_were_last_seen_and_survive_a_snapshot() {
    let mut state = new_room();
    let owner = join(&mut state, facilitator(FACILITATOR_SECRET, "Fran")).unwrap();
    let ann = join(&mut state, invite(INVITE_SECRET, "Ann")).unwrap();
    state.session_seen(ann.member_id, ann.session_id, 7_000);
    // An older time never moves it back.
    state.session_seen(ann.member_id, ann.session_id, 6_000);
    let view = sessions_view(
        &state.access,
        Role::Facilitator,
        |member_id, _| u32::from(member_id == owner.member_id),
        9_000,
    )
    .unwrap();
    let of = |member_id| view.iter().find(|s| s.member_id == member_id).unwrap();
    assert_eq!(
        (
            of(ann.member_id).last_seen_ms,
            of(ann.member_id).connections
        ),
        (7_000, 0)
    );
    assert_eq!(of(ann.member_id).started_at_ms, 2_000);
    assert_eq!(
        (
            of(owner.member_id).last_seen_ms,
            of(owner.member_id).connections
        ),
        (9_000, 1),
        "a session with a connection open is seen now"
    );
    let again = crate::stored::decode_snapshot(&crate::stored::encode_snapshot(&state)).unwrap();
    assert_eq!(again, state);
}
