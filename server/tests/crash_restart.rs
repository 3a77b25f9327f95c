//! The real `roundtable` binary killed with SIGKILL mid-meeting loses nothing it acknowledged.
//!
//! The embedded store commits to its redb file without an fsync and keeps every acknowledged
//! write in its journal until a checkpoint (every 30 s). These tests kill the server well inside
//! that interval, so what they find after the restart comes back through the journal's replay.

mod support;

use std::path::Path;
use std::time::Instant;

use roundtable_protocol::{Event, EventFrame, Request};
use roundtable_server::store::embedded::CHECKPOINT_INTERVAL;
use support::{TestClient, TestGroup, create_group};
use tokio::process::Child;

async fn start_binary(data_dir: &Path) -> (Child, std::net::SocketAddr) {
    support::start_binary(&["--data-dir".as_ref(), data_dir.as_os_str()]).await
}

#[tokio::test]
async fn sigkill_mid_meeting_loses_no_acknowledged_action() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, addr) = start_binary(dir.path()).await;
    let group = create_group(addr, "Crash-proof peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(addr, &group, "Fran").await;
    facilitator.start_meeting().await;
    let mut ann = TestClient::joined_as_member(addr, &group, "Ann").await;
    let ann_resume_early = ann.resume_point();
    let ann_credential = ann.token_credential();
    let facilitator_credential = facilitator.token_credential();
    let (ann_id, facilitator_id) = (ann.member_id.unwrap(), facilitator.member_id.unwrap());

    // Acknowledged actions, then an immediate SIGKILL: no chance to write a final snapshot.
    facilitator
        .ok(Request::RenameGroup {
            name: "Renamed before the crash".into(),
        })
        .await;
    ann.ok(Request::RaiseHand).await;
    facilitator.ok(Request::RaiseHand).await;
    let acknowledged_seq = facilitator.last_seq;
    first.start_kill().expect("send SIGKILL");
    first.wait().await.expect("the killed server exits");

    let (mut second, addr) = start_binary(dir.path()).await;
    // Ann resumes from before the last actions and gets each acknowledged event, in order.
    // The restarted room is a new log epoch: a resume from before the crash gets a snapshot
    // (holding every acknowledged action), never a replay.
    let mut from_before = TestClient::connect(addr).await;
    let snapshot = from_before
        .join(
            group.group_id,
            ann_credential.clone(),
            Some(ann_resume_early),
        )
        .await
        .expect("rejoin after a crash")
        .expect("a resume from the log epoch before the crash gets a snapshot");
    assert!(snapshot.seq >= acknowledged_seq);
    assert_ne!(from_before.log_epoch, ann_resume_early.log_epoch);
    from_before.close().await;
    // The same point in the new epoch is replayed from the log, which is what this checks.
    let ann_resume_early = TestClient::in_current_epoch(
        addr,
        group.group_id,
        ann_credential.clone(),
        ann_resume_early,
    )
    .await;
    let mut ann = TestClient::connect(addr).await;
    let catch_up = ann
        .join(group.group_id, ann_credential, Some(ann_resume_early))
        .await;
    assert!(
        catch_up.expect("rejoin after a crash").is_none(),
        "the gap is replayed from the log"
    );
    let renamed = ann
        .event_where(|frame| matches!(&frame.event, Event::GroupRenamed { .. }))
        .await;
    assert_eq!(
        renamed.event,
        Event::GroupRenamed {
            name: "Renamed before the crash".into()
        }
    );
    let last_before_crash = ann.event_where(|frame| frame.seq == acknowledged_seq).await;
    assert!(matches!(last_before_crash.event, Event::HandRaised { .. }));

    let mut facilitator = TestClient::connect(addr).await;
    let snapshot = facilitator
        .join(group.group_id, facilitator_credential, None)
        .await
        .expect("the facilitator's token survives the crash")
        .expect("a join without resume point gets a snapshot");
    assert_eq!(snapshot.group.name, "Renamed before the crash");
    assert_eq!(snapshot.hands, vec![ann_id, facilitator_id]);
    assert_eq!(snapshot.members.len(), 2);
    assert_eq!(
        snapshot.seq, acknowledged_seq,
        "nothing is logged after the restart: presence is not stored, and both attended already"
    );
    assert!(
        snapshot.members.iter().all(|member| member.online),
        "both are back online"
    );
    second.start_kill().expect("stop the second server");
    second.wait().await.expect("exit");
}

/// Renames the group `count` times, each acknowledged, and returns the events the facilitator
/// saw from its join on.
async fn rename_burst(facilitator: &mut TestClient, room: usize, count: usize) -> Vec<EventFrame> {
    for index in 1..=count {
        facilitator
            .ok(Request::RenameGroup {
                name: format!("Room {room}, name {index}"),
            })
            .await;
    }
    let acknowledged_seq = facilitator.last_seq;
    facilitator
        .events()
        .into_iter()
        .filter(|frame| frame.seq <= acknowledged_seq)
        .collect()
}

#[tokio::test]
async fn sigkill_right_after_a_burst_keeps_every_acknowledged_action_of_every_room() {
    const ROOMS: usize = 3;
    const RENAMES: usize = 30;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (mut first, addr) = start_binary(dir.path()).await;
    let mut rooms: Vec<(TestGroup, TestClient)> = Vec::new();
    for room in 0..ROOMS {
        let group = create_group(addr, &format!("Burst room {room}")).await;
        let facilitator = TestClient::joined_as_facilitator(addr, &group, "Fran").await;
        rooms.push((group, facilitator));
    }
    let resume_points: Vec<_> = rooms
        .iter()
        .map(|(_, client)| client.resume_point())
        .collect();

    // The rooms write at the same time, so their writes share group commits.
    let seen: Vec<Vec<EventFrame>> = futures_util::future::join_all(
        rooms
            .iter_mut()
            .enumerate()
            .map(|(room, (_, facilitator))| rename_burst(facilitator, room, RENAMES)),
    )
    .await;
    let journal = std::fs::metadata(dir.path().join("roundtable.journal"))
        .expect("the journal exists")
        .len();
    assert!(
        journal > 0,
        "the acknowledged writes are not checkpointed yet"
    );
    first.start_kill().expect("send SIGKILL");
    first.wait().await.expect("the killed server exits");
    assert!(
        started.elapsed() < CHECKPOINT_INTERVAL,
        "killed within the checkpoint interval"
    );

    let (mut second, addr) = start_binary(dir.path()).await;
    for (room, ((group, before), resume)) in rooms.iter().zip(&resume_points).enumerate() {
        // In the restarted room's log epoch (see the test above).
        let resume =
            TestClient::in_current_epoch(addr, group.group_id, before.token_credential(), *resume)
                .await;
        let mut facilitator = TestClient::connect(addr).await;
        let catch_up = facilitator
            .join(group.group_id, before.token_credential(), Some(resume))
            .await;
        assert!(
            catch_up.expect("rejoin after a crash").is_none(),
            "the burst is replayed from the log"
        );
        let acknowledged_seq = seen[room].last().expect("events were seen").seq;
        facilitator
            .event_where(|frame| frame.seq == acknowledged_seq)
            .await;
        let replayed: Vec<EventFrame> = facilitator
            .events()
            .into_iter()
            .filter(|frame| frame.seq > resume.seq && frame.seq <= acknowledged_seq)
            .collect();
        let before_crash: Vec<&EventFrame> = seen[room]
            .iter()
            .filter(|frame| frame.seq > resume.seq)
            .collect();
        let renames = replayed
            .iter()
            .filter(|frame| matches!(frame.event, Event::GroupRenamed { .. }))
            .count();
        assert_eq!(renames, RENAMES, "room {room}: every rename is back");
        assert_eq!(
            replayed.iter().collect::<Vec<_>>(),
            before_crash,
            "room {room}: the same events, in order"
        );

        let mut fresh = TestClient::connect(addr).await;
        let snapshot = fresh
            .join(group.group_id, before.token_credential(), None)
            .await
            .expect("the token survives the crash")
            .expect("a join without resume point gets a snapshot");
        assert_eq!(snapshot.group.name, format!("Room {room}, name {RENAMES}"));
    }
    // A graceful stop checkpoints: the journal is empty afterwards.
    let pid = second.id().expect("the server runs").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(status.success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(15), second.wait())
        .await
        .expect("the server stops within 15 s")
        .expect("exit status");
    assert!(exit.success(), "a graceful stop exits cleanly: {exit}");
    let journal = std::fs::metadata(dir.path().join("roundtable.journal"))
        .expect("the journal exists")
        .len();
    assert_eq!(journal, 0, "a graceful stop empties the journal");
}
