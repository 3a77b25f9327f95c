use roundtable_protocol::{ErrorCode, Joined, MemberId, Role};

use super::*;

fn joined(token: Option<&str>) -> ServerMessage {
    ServerMessage::Ack {
        id: 1,
        result: Reply::Joined(Joined {
            member_id: MemberId::random(),
            role: Role::Member,
            meeting_id: MeetingId::random(),
            member_token: token.map(str::to_string),
            catch_up: CatchUp::Snapshot,
            log_epoch: LogEpoch::random(),
        }),
    }
}

/// A join's credential that creates a member: only the ack names the member's token.
fn invite() -> Credential {
    Credential::Invite {
        secret: "invite-secret".into(),
        display_name: "Ana".into(),
        observer: false,
    }
}

fn token(token: &str) -> Credential {
    Credential::MemberToken {
        token: token.into(),
    }
}

fn encode(message: &ServerMessage) -> String {
    serde_json::to_string(message).unwrap()
}

#[test]
fn the_servers_acks_and_errors_name_their_request_where_the_link_looks() {
    let ack = encode(&joined(None));
    assert_eq!(answered_id(&ack), Some((1, false)));
    let error = encode(&ServerMessage::Error {
        id: Some(77),
        code: ErrorCode::Forbidden,
        message: "no".into(),
    });
    assert_eq!(answered_id(&error), Some((77, true)));
    let unnamed = encode(&ServerMessage::Error {
        id: None,
        code: ErrorCode::Invalid,
        message: "no".into(),
    });
    assert_eq!(answered_id(&unnamed), None);
    assert_eq!(answered_id(r#"{"type":"event","seq":3}"#), None);
}

#[test]
fn a_join_made_again_uses_the_token_the_first_ack_issued_and_answers_what_was_under_way() {
    let attachment = Attachment::new(GroupId::random(), 1, &invite(), None);
    attachment.sent(r#"{"v":1,"id":1,"type":"join"}"#);
    assert_eq!(attachment.rejoin(), None, "not joined before the ack");
    assert_eq!(attachment.seen(&encode(&joined(Some("tok")))), Seen::Pass);
    attachment.sent(r#"{"v":1,"id":2,"type":"raise_hand"}"#);
    attachment.sent(r#"{"v":1,"id":3,"type":"lower_hand"}"#);
    attachment.seen(r#"{"type":"ack","id":2,"result":{"kind":"done"}}"#);
    let again = attachment.rejoin().expect("a token");
    assert_eq!(again.token, "tok");
    assert_eq!(again.unanswered, vec![3]);
    // The join made again is refused: the client is closed instead.
    let refused = encode(&ServerMessage::Error {
        id: Some(1),
        code: ErrorCode::Unauthorized,
        message: "removed".into(),
    });
    assert_eq!(attachment.seen(&refused), Seen::RejoinRefused);
    // A later error under the join's id (none is awaited) passes.
    assert_eq!(attachment.seen(&refused), Seen::Pass);
}

#[test]
fn the_clients_own_token_is_kept_and_its_first_joins_refusal_reaches_it() {
    let attachment = Attachment::new(GroupId::random(), 4, &token("own"), None);
    let refused = encode(&ServerMessage::Error {
        id: Some(4),
        code: ErrorCode::RoomElsewhere,
        message: "elsewhere".into(),
    });
    assert_eq!(attachment.seen(&refused), Seen::Pass);
    assert_eq!(
        attachment.rejoin(),
        None,
        "a client never joined is not joined again"
    );
    let retried = Attachment::new(GroupId::random(), 4, &token("own"), None);
    let mut joined = joined(None);
    if let ServerMessage::Ack { id, .. } = &mut joined {
        *id = 4;
    }
    assert_eq!(retried.seen(&encode(&joined)), Seen::Pass);
    assert_eq!(
        retried.rejoin().map(|again| again.token).as_deref(),
        Some("own")
    );
    assert!(
        !format!("{retried:?}").contains("own"),
        "the token is never printed"
    );
}

#[test]
fn a_token_join_still_unanswered_when_its_room_goes_is_sent_again_from_its_own_point() {
    let meeting = MeetingId::random();
    let asked = point(meeting, 10, LogEpoch::random());
    let resuming = Attachment::new(GroupId::random(), 3, &token("own"), asked);
    resuming.sent(r#"{"v":1,"id":3,"type":"join"}"#);
    resuming.sent(r#"{"v":1,"id":4,"type":"ping","client_time_ms":1}"#);
    let again = resuming.rejoin().expect("sent again");
    assert_eq!(again.token, "own");
    assert_eq!(again.resume, asked, "from the point the client asked for");
    assert_eq!(
        again.unanswered,
        vec![4],
        "the join itself is answered by its resend"
    );
    // Its answer is the client's; a refusal of it closes the client, as a join made again.
    let refused = encode(&ServerMessage::Error {
        id: Some(3),
        code: ErrorCode::RoomElsewhere,
        message: "elsewhere".into(),
    });
    assert_eq!(resuming.seen(&refused), Seen::RejoinRefused);
    assert_eq!(resuming.rejoin(), None, "refused: never joined");
    // Sent again twice before an answer: still from the client's own point.
    let twice = Attachment::new(GroupId::random(), 3, &token("own"), asked);
    twice.rejoin().expect("sent again");
    assert_eq!(twice.rejoin().expect("sent again").resume, asked);
    // Acknowledged with a replay: it stands where the replay takes it, as any client.
    let epoch = LogEpoch::random();
    assert_eq!(
        twice.seen(&ack(3, CatchUp::Replay, meeting, epoch)),
        Seen::Pass
    );
    twice.seen(&event(11));
    assert_eq!(twice.rejoin().unwrap().resume, point(meeting, 11, epoch));

    // A join with an invite or the facilitator secret may create or change a member:
    // unanswered, it is not sent again (the client is closed and reconnects).
    assert_eq!(
        Attachment::new(GroupId::random(), 1, &invite(), None).rejoin(),
        None
    );
    let facilitator = Credential::Facilitator {
        secret: "facilitator-secret".into(),
        display_name: "Bo".into(),
        member_token: Some("own".into()),
    };
    assert_eq!(
        Attachment::new(GroupId::random(), 1, &facilitator, None).rejoin(),
        None
    );
}

#[test]
fn a_client_following_its_room_keeps_the_rooms_close_until_its_join_is_answered() {
    let keep: Keep = std::sync::Arc::new(());
    let kept = |keep: &Keep| std::sync::Arc::strong_count(keep) - 1;
    let following = Attachment::joined(
        GroupId::random(),
        1,
        "tok".into(),
        Some(std::sync::Arc::clone(&keep)),
    );
    following.rejoin().expect("joined again");
    following.seen(r#"{"type":"ack","id":2,"result":{"kind":"done"}}"#);
    following.seen(r#"{"type":"event","seq":9}"#);
    assert_eq!(kept(&keep), 1, "kept until the join's own answer");
    assert_eq!(following.seen(&encode(&joined(None))), Seen::Pass);
    assert_eq!(kept(&keep), 0, "let go at the answer");
    // Answered where the room now runs (on this node): let go too.
    let here = Attachment::joined(
        GroupId::random(),
        1,
        "tok".into(),
        Some(std::sync::Arc::clone(&keep)),
    );
    here.rejoin().expect("joined again");
    here.rejoined_here();
    assert_eq!(kept(&keep), 0);
}

#[test]
fn at_most_the_bound_of_requests_is_remembered() {
    let attachment = Attachment::new(GroupId::random(), 1, &token("t"), None);
    attachment.seen(&encode(&joined(None)));
    for id in 2..(2 + IN_FLIGHT_MAX as u64 + 10) {
        attachment.sent(&format!(
            r#"{{"v":1,"id":{id},"type":"ping","client_time_ms":1}}"#
        ));
    }
    let unanswered = attachment.rejoin().unwrap().unanswered;
    assert_eq!(unanswered.len(), IN_FLIGHT_MAX);
    assert_eq!(unanswered[0], 12, "the oldest are forgotten");
}

fn ack(id: RequestId, catch_up: CatchUp, meeting_id: MeetingId, log_epoch: LogEpoch) -> String {
    encode(&ServerMessage::Ack {
        id,
        result: Reply::Joined(Joined {
            member_id: MemberId::random(),
            role: Role::Member,
            meeting_id,
            member_token: Some("tok".into()),
            catch_up,
            log_epoch,
        }),
    })
}

fn event(seq: Seq) -> String {
    encode(&ServerMessage::Event(roundtable_protocol::EventFrame {
        seq,
        at_ms: 5,
        event: roundtable_protocol::Event::HandRaised {
            member_id: MemberId::random(),
        },
    }))
}

fn point(meeting_id: MeetingId, seq: Seq, log_epoch: LogEpoch) -> Option<ResumePoint> {
    Some(ResumePoint {
        meeting_id,
        seq,
        log_epoch: Some(log_epoch),
    })
}

#[test]
fn the_edge_knows_where_its_client_stands_from_the_frames_it_passes() {
    let meeting = MeetingId::random();
    let (first, second, third) = (LogEpoch::random(), LogEpoch::random(), LogEpoch::random());
    // The client's own join resumes from seq 10 and is replayed: it stands where each
    // replayed event takes it, in the room's epoch.
    let asked = point(meeting, 10, first);
    let resumed = Attachment::new(GroupId::random(), 1, &token("t"), asked);
    resumed.seen(&ack(1, CatchUp::Replay, meeting, second));
    resumed.seen(&event(11));
    resumed.seen(r#"{"type":"presence","online":[]}"#);
    resumed.seen(&event(12));
    let again = resumed.rejoin().expect("joined");
    assert_eq!(again.resume, point(meeting, 12, second));
    // The join made again with that point is replayed too, in the new room's epoch.
    resumed.seen(&ack(1, CatchUp::Replay, meeting, third));
    resumed.seen(&event(13));
    assert_eq!(resumed.rejoin().unwrap().resume, point(meeting, 13, third));

    // A join with a snapshot catch-up: placed by the snapshot's seq.
    let fresh = Attachment::new(GroupId::random(), 1, &invite(), None);
    fresh.seen(&ack(1, CatchUp::Snapshot, meeting, first));
    fresh.seen(r#"{"type":"snapshot","seq":20,"group":{}}"#);
    fresh.seen(&event(21));
    assert_eq!(fresh.rejoin().unwrap().resume, point(meeting, 21, first));
    // Its join made again answered with a snapshot whose frame never came: not known.
    fresh.seen(&ack(1, CatchUp::Snapshot, meeting, second));
    assert_eq!(fresh.rejoin().unwrap().resume, None);
    // Nor after a snapshot that follows no join.
    fresh.seen(&ack(1, CatchUp::Snapshot, meeting, second));
    fresh.seen(r#"{"type":"snapshot","seq":30}"#);
    fresh.seen(r#"{"type":"snapshot","seq":31}"#);
    assert_eq!(fresh.rejoin().unwrap().resume, None);
    // Nor when a replay answers a join that sent no point.
    let pointless = Attachment::new(GroupId::random(), 1, &invite(), None);
    pointless.seen(&ack(1, CatchUp::Replay, meeting, first));
    pointless.seen(&event(5));
    assert_eq!(pointless.rejoin().unwrap().resume, None);
}

#[test]
fn the_servers_events_and_snapshots_begin_with_their_seq() {
    // A whole snapshot, the one PROTOCOL.md shows, as the server's serializer writes it.
    let example = include_str!("../../../../../PROTOCOL.md")
        .lines()
        .find(|line| line.starts_with(r#"{"type": "snapshot""#))
        .expect("PROTOCOL.md shows a snapshot");
    let snapshot: ServerMessage = serde_json::from_str(example).expect("the example parses");
    assert_eq!(seq_after(&encode(&snapshot), SNAPSHOT_PREFIX), Some(42));
    assert_eq!(seq_after(&event(42), EVENT_PREFIX), Some(42));
    assert_eq!(seq_after(&event(42), SNAPSHOT_PREFIX), None);
    assert_eq!(
        seq_after(
            &ack(1, CatchUp::Replay, MeetingId::random(), LogEpoch::random()),
            EVENT_PREFIX
        ),
        None
    );
    assert_eq!(
        seq_after(
            r#"{"type":"snapshot","seq":18446744073709551615,"#,
            SNAPSHOT_PREFIX
        ),
        Some(u64::MAX)
    );
    assert_eq!(seq_after(r#"{"type":"event","seq":,"#, EVENT_PREFIX), None);
}
