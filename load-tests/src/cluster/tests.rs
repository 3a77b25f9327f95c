//! Unit tests of the `cluster` scenario's bookkeeping, on worlds built in memory.

use std::collections::HashMap;

use super::disrupt::probe_seqs;
use super::*;

fn world_of_one_room(size: usize) -> World {
    let plan = client::RoomPlan {
        name: "room-0".into(),
        group: None,
    };
    let (rooms, members) = layout(vec![plan], size, 1, Placement::Spread);
    let world = World {
        clock: members::Clock::new(),
        ports: vec![1],
        rooms,
        members,
        stopping: AtomicBool::new(false),
        balance: super::balancer::Balance::new(super::Balancer::LeastConnections, 1),
    };
    let mut positions = HashMap::new();
    for (position, member) in world.members.iter().enumerate() {
        let id = format!("m{position}");
        member.log().member_id = id.clone();
        member.log().node = Some(0);
        positions.insert(id, position);
    }
    world.rooms[0].positions.set(positions).expect("set once");
    world
}

fn hand(seq: u64, member: usize, raised: bool) -> String {
    let kind = if raised {
        "hand_raised"
    } else {
        "hand_lowered"
    };
    format!(
        "{{\"type\":\"event\",\"seq\":{seq},\"at_ms\":1,\"event\":{{\"kind\":\"{kind}\",\
         \"member_id\":\"m{member}\"}}}}"
    )
}

#[test]
fn integrity_counts_lost_duplicated_reordered_and_divergent_events() {
    let world = world_of_one_room(3);
    let [a, b, c] = [0, 1, 2].map(|i| world.members[i].clone());
    for text in [
        hand(5, 1, true),
        hand(6, 1, false),
        hand(7, 1, true),
        hand(8, 1, false),
    ] {
        world.handle(&a, 0, &text);
    }
    for text in [
        hand(5, 1, true),
        hand(6, 1, false),
        hand(6, 1, false),
        hand(7, 1, true),
        hand(8, 2, true),
    ] {
        world.handle(&b, 0, &text);
    }
    for text in [hand(6, 1, false), hand(5, 1, true)] {
        world.handle(&c, 0, &text);
    }
    let found = integrity(&world);
    assert_eq!(found.hand_events, 4, "{found:?}");
    assert_eq!(found.duplicated, 1, "{found:?}");
    assert_eq!(found.reordered, 1, "{found:?}");
    assert_eq!(found.divergent, 1, "{found:?}");
    assert_eq!(found.lost, 2, "c missed 7 and 8: {found:?}");

    // A resume snapshot at 7 covers what c missed up to it.
    world.handle(&c, 0, "{\"type\":\"snapshot\",\"seq\":7}");
    let found = integrity(&world);
    assert_eq!(found.lost, 1, "only 8 is still missing: {found:?}");
    assert_eq!(found.resumes_by_snapshot, 1);

    // A member without a connection at the end is not back: what it missed is counted
    // apart, with why its last attempt failed.
    {
        let mut log = c.log();
        log.node = None;
        log.reconnect_error = Some("node 0: connection refused".into());
    }
    let found = integrity(&world);
    assert_eq!((found.lost, found.missed_while_away), (0, 1), "{found:?}");
    assert_eq!(found.failed_members, 1);
    assert_eq!(found.not_back_reasons["node 0: connection refused"], 1);
}

#[test]
fn failed_resume_attempts_are_named_without_ids() {
    let refused = "join refused: {\"type\":\"error\",\"id\":1,\"code\":\"room_elsewhere\",\
                   \"message\":\"this meeting is live on another server\"}";
    assert_eq!(
        members::attempt_failure(refused),
        "join refused: room_elsewhere"
    );
    assert_eq!(
        members::attempt_failure("IO error: Connection refused (os error 111)"),
        "connection refused"
    );
    assert_eq!(
        members::attempt_failure("closed by the server: Some(CloseFrame { code: 1012 })"),
        "closed by the server during the join"
    );
    assert_eq!(
        members::attempt_failure(
            "closed by the server: Some(CloseFrame { code: Restart, reason: Utf8Bytes(\"draining\") })"
        ),
        "closed by the server during the join: draining"
    );
    assert_eq!(
        members::attempt_failure(
            "server closed during join: {\"type\":\"closing\",\"reason\":\"room_moved\",\
             \"message\":\"the link to the meeting's server broke; reconnect to resume\"}"
        ),
        "closed by the server during the join: room_moved"
    );
}

/// A member after a disruption is caught up by the probe's event, or by a resume whose
/// snapshot holds it; one that is not is named by why.
/// A probe whose event reached the prober only in a replay (its connection was lost in
/// between, so the action's fate was unknown and no send record was made) is known by the
/// prober's own event after the signal, and a member whose resume snapshot holds it is
/// caught up (before, such a room's members were counted `no_probe_seq_in_room`).
#[test]
fn a_probe_without_a_send_record_is_known_by_the_prober_s_own_event() {
    let world = world_of_one_room(3);
    let prober = world.members[0].clone();
    let member = world.members[2].clone();
    member.log().reconnects.push(members::Reconnect {
        lost_ns: 1,
        last_event_ns: 1,
        rejoined_ns: Some(5),
        snapshot_seq: Some(9),
        node: Some(0),
        replay: false,
        attempts: 1,
        in_place: false,
    });
    assert_eq!(probe_seqs(&world, 0), vec![None]);
    assert_eq!(
        member.log().why_not_back(0, 0, None),
        "no_probe_seq_in_room"
    );
    // The prober's own event comes in a replay, with nothing pending to match it.
    world.handle(&prober, 0, &hand(9, 0, true));
    assert!(world.rooms[0].sends.lock().expect("sends").is_empty());
    let probes = probe_seqs(&world, 0);
    assert_eq!(probes, vec![Some(9)]);
    assert_eq!(member.log().back_after(0, 0, probes[0]), Some(5));
    // An event of another member is no probe.
    let other = world_of_one_room(3);
    other.handle(&other.members[2], 0, &hand(4, 1, true));
    assert_eq!(probe_seqs(&other, 0), vec![None]);
}

#[test]
fn the_connections_lost_since_a_moment_are_the_last_ones_logged() {
    let mut log = member_log::MemberLog::default();
    for lost_ns in [1, 5, 5, 9] {
        log.reconnects.push(members::Reconnect {
            lost_ns,
            last_event_ns: 0,
            rejoined_ns: None,
            snapshot_seq: None,
            node: None,
            replay: false,
            attempts: 0,
            in_place: false,
        });
    }
    let since = |at| -> Vec<u64> { log.reconnects_since(at).iter().map(|r| r.lost_ns).collect() };
    assert_eq!(since(0), [1, 5, 5, 9]);
    assert_eq!(since(5), [5, 5, 9]);
    assert_eq!(since(6), [9]);
    assert_eq!(since(10), Vec::<u64>::new());
}

#[test]
fn a_member_not_caught_up_is_named_by_why() {
    let world = world_of_one_room(2);
    let member = world.members[1].clone();
    let why = |probe: Option<u64>| {
        let log = member.log();
        (log.back_after(0, 0, probe), log.why_not_back(0, 0, probe))
    };
    assert_eq!(why(None), (None, "no_probe_seq_in_room"));
    assert_eq!(why(Some(9)), (None, "no_probe_event_never_disconnected"));
    let lost = members::Reconnect {
        lost_ns: 1,
        last_event_ns: 1,
        rejoined_ns: None,
        snapshot_seq: None,
        node: None,
        replay: false,
        attempts: 1,
        in_place: false,
    };
    member.log().reconnects.push(lost);
    assert_eq!(why(Some(9)), (None, "not_resumed"));
    {
        let mut log = member.log();
        let last = log.reconnects.last_mut().expect("one");
        last.rejoined_ns = Some(5);
        last.replay = true;
    }
    assert_eq!(why(Some(9)), (None, "no_probe_event_after_replay"));
    member
        .log()
        .reconnects
        .last_mut()
        .expect("one")
        .snapshot_seq = Some(8);
    assert_eq!(why(Some(9)), (None, "no_probe_event_snapshot_before_probe"));
    // A snapshot at or past the probe holds it: back when that snapshot came.
    member
        .log()
        .reconnects
        .last_mut()
        .expect("one")
        .snapshot_seq = Some(9);
    assert_eq!(why(Some(9)).0, Some(5));
    member
        .log()
        .reconnects
        .last_mut()
        .expect("one")
        .snapshot_seq = Some(8);
    // The probe's event itself.
    world.handle(&member, 0, &hand(9, 0, true));
    let (back, named) = why(Some(9));
    assert!(back.is_some());
    assert_eq!(named, "back");
    member.log().failed = Some("gave up".into());
    assert_eq!(why(Some(9)).1, "gave_up");
}

#[test]
fn an_action_without_a_connection_is_skipped_and_times_nothing() {
    let world = world_of_one_room(2);
    let sender = world.members[1].clone();
    // Sending needs a connection; stand in for one by recording the action by hand.
    {
        let mut log = sender.log();
        log.node = Some(0);
    }
    // Without a sink nothing is sent, and nothing is pending.
    let sent = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(world.send_action(&sender, 1, 0, false));
    assert!(!sent);
    assert!(world.settled(&sender));
    // An own event with nothing pending times nothing.
    world.handle(&sender, 0, &hand(3, 1, true));
    assert!(world.rooms[0].sends.lock().expect("sends").is_empty());
}

/// A member whose node joins it again in place (its room's node went away): the join's ack
/// comes again unasked, then a snapshot. That is a resume without a new connection: its log
/// epoch is the new one, it counts as back at the snapshot, which covers the events up to its
/// seq.
#[test]
fn a_join_made_again_in_place_is_a_resume_at_its_snapshot() {
    let world = world_of_one_room(2);
    let member = world.members[1].clone();
    world.handle(&member, 1, &hand(3, 0, true));
    world.handle(
        &member,
        1,
        r#"{"type":"ack","id":1,"result":{"kind":"joined","member_id":"m","role":"member","meeting_id":"x","catch_up":"snapshot","log_epoch":"e2"}}"#,
    );
    {
        let log = member.log();
        assert!(log.catching_up, "no action until the snapshot");
        assert_eq!(log.log_epoch.as_deref(), Some("e2"));
        assert_eq!(log.rejoined_in_place, 1);
        let rejoin = log.reconnects.last().expect("a resume");
        assert!(rejoin.in_place && rejoin.rejoined_ns.is_none());
    }
    world.handle(&member, 1, r#"{"type":"snapshot","seq":7,"hands":[]}"#);
    let log = member.log();
    assert_eq!(log.acked_without_event, 0);
    assert!(!log.catching_up);
    let rejoin = log.reconnects.last().expect("a resume");
    assert_eq!(rejoin.snapshot_seq, Some(7));
    assert!(rejoin.rejoined_ns.is_some());
    assert_eq!(log.back_after(0, 0, Some(6)), rejoin.rejoined_ns);
}

/// A join made again in place that resumes the member's point is a replay: back at its ack,
/// the replayed events counted as received, and no action until the `presence` that ends it.
#[test]
fn a_join_made_again_in_place_with_a_replay_is_back_at_its_ack() {
    let world = world_of_one_room(2);
    let member = world.members[1].clone();
    world.handle(&member, 1, &hand(3, 0, true));
    world.handle(
        &member,
        1,
        r#"{"type":"ack","id":1,"result":{"kind":"joined","member_id":"m","role":"member","meeting_id":"x","catch_up":"replay","log_epoch":"e2"}}"#,
    );
    {
        let log = member.log();
        assert!(log.catching_up, "no action until the replay ends");
        assert_eq!(log.log_epoch.as_deref(), Some("e2"));
        assert_eq!((log.rejoined_in_place, log.replays), (1, 1));
        let rejoin = log.reconnects.last().expect("a resume");
        assert!(rejoin.in_place && rejoin.replay && rejoin.rejoined_ns.is_some());
    }
    world.handle(&member, 1, &hand(4, 0, false));
    world.handle(&member, 1, r#"{"type":"presence","online":[]}"#);
    let log = member.log();
    assert!(!log.catching_up);
    assert_eq!((log.duplicates, log.reordered), (0, 0));
    let rejoin = log.reconnects.last().expect("a resume");
    assert_eq!(rejoin.snapshot_seq, None);
    assert!(
        log.back_after(0, 0, Some(4))
            .is_some_and(|back| back >= rejoin.rejoined_ns.unwrap()),
        "back with the replayed probe"
    );
}

/// An action sent before the member's node joined it again in place is decided on the state
/// before the move: after it, it may be a no-op, acknowledged without an event, and that is no
/// fault. Any other action acknowledged without its event still is.
#[test]
fn an_action_from_before_an_in_place_join_may_be_a_no_op_after_it() {
    let world = world_of_one_room(2);
    let member = world.members[1].clone();
    let pending = |id: u64| member_log::Pending {
        id,
        raise: true,
        intended_ns: 0,
        actual_ns: 0,
        node: 1,
        phase: 0,
        probe: false,
        before_move: false,
    };
    member.log().pending.push_back(pending(1000));
    world.handle(
        &member,
        1,
        r#"{"type":"ack","id":1,"result":{"kind":"joined","member_id":"m","role":"member","meeting_id":"x","catch_up":"snapshot","log_epoch":"e2"}}"#,
    );
    world.handle(&member, 1, r#"{"type":"snapshot","seq":7,"hands":[]}"#);
    member.log().pending.push_back(pending(1001));
    world.handle(
        &member,
        1,
        r#"{"type":"ack","id":1000,"result":{"kind":"done"}}"#,
    );
    world.handle(
        &member,
        1,
        r#"{"type":"ack","id":1001,"result":{"kind":"done"}}"#,
    );
    let log = member.log();
    assert_eq!(log.acked_no_op_after_move, 1);
    assert_eq!(log.acked_without_event, 1, "the action sent after the join");
}

/// A drain's visible gap counts from the close for a member whose meeting ran elsewhere until
/// then (a quiet room before it is no gap), and from its last event otherwise (its room was
/// stopped for the handover somewhere in between).
#[test]
fn a_drains_gap_counts_from_the_close_only_when_the_meeting_ran_elsewhere_until_then() {
    let t0 = 1_000;
    let record = |last_event_ns: u64, lost_ns: u64, in_place: bool| members::Reconnect {
        lost_ns,
        last_event_ns,
        rejoined_ns: Some(lost_ns + 50),
        snapshot_seq: None,
        node: Some(1),
        replay: !in_place,
        attempts: 1,
        in_place,
    };
    // Joined again in place: the room stopped after the last event, or the signal.
    assert_eq!(
        disrupt::gap_from(&record(900, 1_400, true), t0, false, false),
        1_000
    );
    assert_eq!(
        disrupt::gap_from(&record(1_200, 1_400, true), t0, false, false),
        1_200
    );
    // Closed by its room's handover (the old way for a drained node's own clients).
    assert_eq!(
        disrupt::gap_from(&record(1_200, 1_400, false), t0, false, false),
        1_200
    );
    // Let go after it was joined again in place, or while its room stayed elsewhere.
    assert_eq!(
        disrupt::gap_from(&record(1_200, 3_000, false), t0, false, true),
        3_000
    );
    assert_eq!(
        disrupt::gap_from(&record(1_200, 3_000, false), t0, true, false),
        3_000
    );
    // Never before the signal.
    assert_eq!(
        disrupt::gap_from(&record(100, 500, false), t0, true, false),
        1_000
    );
}
