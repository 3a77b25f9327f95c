//! The real `roundtable` binary killed with SIGKILL mid-meeting loses nothing it acknowledged.

mod support;

use std::path::Path;

use roundtable_protocol::{Event, Request};
use support::{TestClient, create_group};
use tokio::process::Child;

async fn start_binary(data_dir: &Path) -> (Child, std::net::SocketAddr) {
    support::start_binary(&["--data-dir".as_ref(), data_dir.as_os_str()]).await
}

#[tokio::test]
async fn sigkill_mid_meeting_loses_no_acknowledged_action() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, addr) = start_binary(dir.path()).await;
    let group = create_group(addr, "Crash-proof peers").await;
    let mut facilitator = TestClient::connect(addr).await;
    facilitator.join_as_facilitator(&group, "Fran").await;
    let mut ann = TestClient::connect(addr).await;
    ann.join_as_member(&group, "Ann").await;
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
    assert!(
        snapshot.seq > acknowledged_seq,
        "presence events follow the restart"
    );
    second.start_kill().expect("stop the second server");
    second.wait().await.expect("exit");
}
