//! Fencing and log epochs with real processes (issue 22, point 3): two `roundtable` binaries on
//! one `redis-server` that the test starts, real WebSocket clients.
//!
//! - A node that lost its lease without knowing it (its lease key deleted behind its back, or
//!   the whole process paused with SIGSTOP past its lease) while another node took the meeting
//!   over at a higher epoch: its next write is refused by the append script's fence, even when
//!   the seqs alone would have let it through, its clients are told (`room_moved`) and reconnect,
//!   are replayed what the new owner did (it recorded the old room's log epoch with that room's last write), and every client ends with one history; nor can it delete the group.
//! - A room that stops while a pass of lease renewals is under way (the test holds the pass at
//!   the store) neither waits for it nor lets it take the released lease back: the release
//!   raises the lease epoch, which refuses the renewal when it arrives.
//! - A client whose history the store lost (the test rewinds the meeting's log and head in Redis,
//!   and its record of log epochs, as they were at a seq the clients have gone past, as a
//!   failover that lost acknowledged writes would) gets a snapshot, never a replay of other events under the seqs
//!   it saw, and then the same history as everyone else.

mod support;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use roundtable_protocol::{
    CloseReason, Credential, ErrorCode, Event, EventFrame, GroupId, MeetingId, Request, RequestId,
    ResumePoint, ServerMessage,
};
use roundtable_server::store::{RedisStore, Store};
use support::counting::CountingStore;
use support::redis::{TestRedis, raw_connection, start_binary, unique_prefix};
use support::takeover::{TAKEOVER_WAIT, join_when_free_or_closing};
use support::{Closed, TestClient, TestGroup, TestServer, create_group, http_get, http_request};
use tokio::process::Child;

/// Sends `signal` (`STOP`, `CONT`) to the process this test started.
fn signal(child: &Child, signal: &str) {
    let pid = child.id().expect("the server runs");
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

async fn get_u64(raw: &mut redis::aio::MultiplexedConnection, key: &str) -> u64 {
    let value: Option<String> = redis::cmd("GET")
        .arg(key)
        .query_async(raw)
        .await
        .expect("GET");
    value.map_or(0, |value| value.parse().expect("a number"))
}

fn epoch_key(prefix: &str, group_id: GroupId) -> String {
    format!("{prefix}{{g:{group_id}}}:epoch")
}

fn lease_key(prefix: &str, group_id: GroupId) -> String {
    format!("{prefix}{{g:{group_id}}}:lease")
}

fn head_key(prefix: &str, group_id: GroupId, meeting_id: MeetingId) -> String {
    format!("{prefix}{{g:{group_id}}}:m:{meeting_id}:head")
}

fn log_key(prefix: &str, group_id: GroupId, meeting_id: MeetingId) -> String {
    format!("{prefix}{{g:{group_id}}}:m:{meeting_id}:log")
}

fn snapshot_key(prefix: &str, group_id: GroupId) -> String {
    format!("{prefix}{{g:{group_id}}}:snapshot")
}

/// How a request ended: answered, or the connection closed first.
enum Outcome {
    Answered(Result<(), (ErrorCode, String)>),
    Closed(Closed),
}

/// Reads until the answer to request `id`, or until the server closes the connection.
async fn answer_or_close(client: &mut TestClient, id: RequestId) -> Outcome {
    let deadline = Instant::now() + TAKEOVER_WAIT;
    while Instant::now() < deadline {
        match client.try_recv(Duration::from_millis(500)).await {
            Ok(Some(ServerMessage::Ack { id: acked, .. })) if acked == id => {
                return Outcome::Answered(Ok(()));
            }
            Ok(Some(ServerMessage::Error {
                id: Some(failed),
                code,
                message,
            })) if failed == id => return Outcome::Answered(Err((code, message))),
            Ok(_) => {}
            Err(closed) => return Outcome::Closed(closed),
        }
    }
    panic!("no answer and no close within {TAKEOVER_WAIT:?}");
}

/// Reads until the server closes the connection, and checks it said `room_moved`.
async fn closed_as_moved(who: &str, client: &mut TestClient) {
    let closed = client.until_closed().await;
    check_moved(who, client, closed);
}

/// Checks that the connection was closed with `room_moved`, said first in a closing message.
fn check_moved(who: &str, client: &TestClient, closed: Closed) {
    match closed {
        Closed::Frame(code, reason) => {
            assert_eq!(reason, CloseReason::RoomMoved.as_str(), "{who}");
            assert_eq!(code, CloseReason::RoomMoved.close_code(), "{who}");
        }
        Closed::Ended => panic!("{who}: the room closes with a reason"),
    }
    assert!(
        client.received.iter().any(|message| matches!(
            message,
            ServerMessage::Closing {
                reason: CloseReason::RoomMoved,
                ..
            }
        )),
        "{who}: a closing message says why"
    );
}

/// Every event any client saw, by seq; fails if two clients saw different events at one seq.
#[derive(Default)]
struct History(BTreeMap<u64, EventFrame>);

impl History {
    fn record(&mut self, who: &str, frames: &[EventFrame]) {
        for frame in frames {
            match self.0.get(&frame.seq) {
                Some(seen) => assert_eq!(
                    seen, frame,
                    "{who} got another event at seq {} than another client",
                    frame.seq
                ),
                None => {
                    self.0.insert(frame.seq, frame.clone());
                }
            }
        }
    }

    fn has(&self, event: &Event) -> bool {
        self.0.values().any(|frame| &frame.event == event)
    }
}

fn renamed(name: &str) -> Event {
    Event::GroupRenamed { name: name.into() }
}

/// Replays the whole meeting from the store's log (a resume from seq 0 in the room's current
/// log epoch) on `addr`, and records it in `history`; answers the replayed events.
async fn audit_log(
    addr: SocketAddr,
    group: &TestGroup,
    credential: Credential,
    history: &mut History,
) -> Vec<EventFrame> {
    let from_start = ResumePoint {
        meeting_id: group.meeting_id,
        seq: 0,
        log_epoch: None,
    };
    let resume =
        TestClient::in_current_epoch(addr, group.group_id, credential.clone(), from_start).await;
    let mut auditor = TestClient::connect(addr).await;
    let caught_up = auditor
        .join(group.group_id, credential, Some(resume))
        .await
        .expect("the auditor joins");
    assert!(caught_up.is_none(), "the whole log is replayed");
    // The replay ends with a presence frame; everything before it is in.
    auditor
        .presence_where(|presence| presence.change.is_none())
        .await;
    let replayed = auditor.events();
    for (offset, frame) in replayed.iter().enumerate() {
        assert_eq!(frame.seq, offset as u64 + 1, "the log has no gap");
    }
    history.record("the log", &replayed);
    auditor.close().await;
    replayed
}

/// The scenario both fencing tests share: node A runs the meeting (the facilitator and Ann on
/// it) until `lose_lease` makes A lose its lease without knowing; then the facilitator's second
/// connection loads the room on node B, which writes nothing, so that only the fence can tell
/// A's next write from a good one.
async fn stale_owner_is_fenced(lose_lease: LoseLease) {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fence");
    // Long leases: A must not notice the loss by a renewal (every third of the lease) before
    // its write does. The paused variant shortens A's so that it expires during the pause.
    let a_lease = match lose_lease {
        LoseLease::KeyDeleted => "60000",
        LoseLease::Paused => "1000",
    };
    let (mut node_a, a) = start_binary(redis.url(), &prefix, &["--room-lease-ms", a_lease]).await;
    let (mut node_b, b) = start_binary(redis.url(), &prefix, &["--room-lease-ms", "60000"]).await;
    let mut raw = raw_connection(redis.url()).await;
    let group = create_group(a, "Fenced peers").await;
    let (epoch_key, head_key) = (
        epoch_key(&prefix, group.group_id),
        head_key(&prefix, group.group_id, group.meeting_id),
    );

    let mut fran = TestClient::joined_as_facilitator(a, &group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = TestClient::joined_as_member(a, &group, "Ann").await;
    fran.ok(Request::RenameGroup {
        name: "Run by A".into(),
    })
    .await;
    ann.ok(Request::RaiseHand).await;
    fran.event_where(|frame| matches!(frame.event, Event::HandRaised { .. }))
        .await;
    let a_epoch = get_u64(&mut raw, &epoch_key).await;
    assert!(a_epoch >= 1, "A's take raised the epoch");

    // A loses its lease and does not know it.
    match lose_lease {
        LoseLease::KeyDeleted => {
            let _: () = redis::cmd("DEL")
                .arg(lease_key(&prefix, group.group_id))
                .query_async(&mut raw)
                .await
                .expect("DEL lease");
        }
        LoseLease::Paused => {
            signal(&node_a, "STOP");
            // Past A's lease of 1 s, then B may take the room.
        }
    }

    // B takes the meeting over at a higher epoch, writing nothing.
    let head_before = get_u64(&mut raw, &head_key).await;
    // The facilitator's token: a returning member who attends already writes nothing.
    let fran_token = fran.token_credential();
    let mut fran_b = TestClient::connect(b).await;
    let snapshot = join_when_free_or_closing(&mut fran_b, group.group_id, fran_token.clone(), None)
        .await
        .expect("a join without resume gets a snapshot");
    assert_eq!(snapshot.group.name, "Run by A");
    let b_epoch = get_u64(&mut raw, &epoch_key).await;
    assert!(
        b_epoch > a_epoch,
        "B's take raised the epoch ({a_epoch} -> {b_epoch})"
    );
    assert_eq!(
        get_u64(&mut raw, &head_key).await,
        head_before,
        "B wrote nothing: A's next seq is still free"
    );

    if lose_lease == LoseLease::Paused {
        signal(&node_a, "CONT");
    }
    // A's next write would continue the log exactly: only the fence refuses it. (A paused room
    // may notice at its overdue renewal first: then the request finds the room closing, and is
    // answered `shutting_down` or not at all before the close.)
    let stale = "Stale write by A";
    let id = fran.send(Request::RenameGroup { name: stale.into() }).await;
    match answer_or_close(&mut fran, id).await {
        Outcome::Answered(Err((code, message))) => {
            let expected = match lose_lease {
                LoseLease::KeyDeleted => vec![ErrorCode::StorageUnavailable],
                LoseLease::Paused => {
                    vec![ErrorCode::StorageUnavailable, ErrorCode::ShuttingDown]
                }
            };
            assert!(expected.contains(&code), "{code:?}: {message}");
            closed_as_moved("fran", &mut fran).await;
        }
        Outcome::Answered(Ok(())) => panic!("the stale owner's write must be refused"),
        Outcome::Closed(closed) => {
            assert_eq!(
                lose_lease,
                LoseLease::Paused,
                "only a paused room may close before answering"
            );
            check_moved("fran", &fran, closed);
        }
    }
    closed_as_moved("ann", &mut ann).await;
    assert_eq!(
        get_u64(&mut raw, &head_key).await,
        head_before,
        "the stale write stored nothing"
    );

    // B goes on; A's clients reconnect (to B, where the room is) and resume from A's log
    // epoch. B found that epoch in the record with its last write, which holds everything A's
    // clients saw (the fenced write reached none of them, nor was it noted): they are replayed what B did since.
    fran_b
        .ok(Request::RenameGroup {
            name: "Run by B".into(),
        })
        .await;
    let mut history = History::default();
    let mut everyone: Vec<(&str, TestClient, u64)> = vec![("fran on B", fran_b, 0)];
    for (who, old) in [("ann", ann), ("fran", fran)] {
        history.record(who, &old.events());
        let from = old.last_seq;
        let mut client = TestClient::connect(b).await;
        let snapshot = join_when_free_or_closing(
            &mut client,
            group.group_id,
            old.token_credential(),
            Some(old.resume_point()),
        )
        .await;
        assert!(
            snapshot.is_none(),
            "{who}: a resume from A's log epoch, which B recorded, is replayed"
        );
        assert_ne!(
            client.log_epoch, old.log_epoch,
            "{who}: B's room has its own"
        );
        client
            .event_where(|frame| frame.event == renamed("Run by B"))
            .await;
        everyone.push((who, client, from));
    }
    everyone[1].1.ok(Request::LowerHand).await;
    for (who, client, from) in &mut everyone {
        let lowered = |frame: &EventFrame| matches!(frame.event, Event::HandLowered { .. });
        if !client.events().iter().any(lowered) {
            client.event_where(lowered).await;
        }
        let frames: Vec<EventFrame> = client
            .events()
            .into_iter()
            .filter(|frame| frame.seq > *from)
            .collect();
        history.record(who, &frames);
    }
    let log = audit_log(b, &group, fran_token, &mut history).await;
    assert!(history.has(&renamed("Run by A")));
    assert!(history.has(&renamed("Run by B")));
    assert!(
        !history.has(&renamed(stale)),
        "no client and no log holds the fenced write"
    );
    assert_eq!(
        log.last().map(|frame| frame.seq),
        history.0.keys().next_back().copied(),
        "the log holds everything any client saw"
    );

    for (_, client, _) in everyone {
        client.close().await;
    }
    for node in [&mut node_a, &mut node_b] {
        node.start_kill().expect("stop a server");
        node.wait().await.expect("exit");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoseLease {
    /// The lease key is deleted behind A's back (as if it expired unnoticed).
    KeyDeleted,
    /// A is paused with SIGSTOP past its lease, and resumed with SIGCONT after B took over.
    Paused,
}

#[tokio::test]
async fn a_node_whose_lease_was_taken_unknowingly_is_fenced_and_everyone_ends_with_one_history() {
    stale_owner_is_fenced(LoseLease::KeyDeleted).await;
}

#[tokio::test]
async fn a_node_paused_past_its_lease_is_fenced_after_another_took_over() {
    stale_owner_is_fenced(LoseLease::Paused).await;
}

/// The store loses acknowledged writes (a Redis failover to a replica that had not got them):
/// the test rewinds the meeting's log and head. The room still running on the old state
/// conflicts at its next write and closes; a client ahead of the store gets a snapshot; and a
/// client whose seqs the reloaded room has since used for other events gets a snapshot too,
/// never those events as a replay.
#[tokio::test]
async fn a_client_whose_history_the_store_lost_gets_a_snapshot_and_then_one_history() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-lost");
    // No snapshot during the test, so that the rewind of the log is the whole loss.
    let args = [
        "--snapshot-every-events",
        "100000",
        "--snapshot-bytes-min",
        "100000000",
    ];
    let (mut node, addr) = start_binary(redis.url(), &prefix, &args).await;
    let mut raw = raw_connection(redis.url()).await;
    let group = create_group(addr, "Forgetful store").await;
    let (head_key, log_key, snapshot_key) = (
        head_key(&prefix, group.group_id, group.meeting_id),
        log_key(&prefix, group.group_id, group.meeting_id),
        snapshot_key(&prefix, group.group_id),
    );

    let mut fran = TestClient::joined_as_facilitator(addr, &group, "Fran").await;
    fran.start_meeting().await;
    let mut ann = TestClient::joined_as_member(addr, &group, "Ann").await;
    fran.ok(Request::RenameGroup {
        name: "Kept".into(),
    })
    .await;
    let kept = get_u64(&mut raw, &head_key).await;
    // What a replica that stops here holds: the log, its head and the record of log epochs,
    // whose note of the room's last write goes with each write.
    let epochs_key = format!("{prefix}{{g:{}}}:log_epochs", group.group_id);
    let mut kept_keys = Vec::new();
    for key in [&log_key, &head_key, &epochs_key] {
        let dumped: Vec<u8> = redis::cmd("DUMP")
            .arg(key)
            .query_async(&mut raw)
            .await
            .expect("DUMP");
        kept_keys.push((key.clone(), dumped));
    }
    // Writes the store will lose, which Ann sees.
    ann.ok(Request::RaiseHand).await;
    fran.ok(Request::RenameGroup {
        name: "Lost".into(),
    })
    .await;
    ann.event_where(|frame| frame.event == renamed("Lost"))
        .await;
    let ann_seq = ann.last_seq;
    assert!(ann_seq >= kept + 2);
    let ann_resume = ann.resume_point();
    let ann_credential = ann.token_credential();
    let mut history = History::default();
    history.record("ann before the loss", &ann.events());
    ann.close().await;
    let snapshot_seq: String = redis::cmd("HGET")
        .arg(&snapshot_key)
        .arg("seq")
        .query_async(&mut raw)
        .await
        .expect("HGET");
    assert!(
        snapshot_seq.parse::<u64>().unwrap() <= kept,
        "no snapshot holds the writes the store is about to lose"
    );

    // The failover: the log, its head and the record of log epochs go back to `kept`, as if
    // nothing after it was written.
    for (key, dumped) in &kept_keys {
        let _: () = redis::cmd("RESTORE")
            .arg(key)
            .arg(0)
            .arg(dumped.as_slice())
            .arg("REPLACE")
            .query_async(&mut raw)
            .await
            .expect("RESTORE");
    }

    // The room, still at Ann's seq, conflicts at its next write and closes.
    fran.fails(
        Request::RenameGroup {
            name: "Never stored".into(),
        },
        ErrorCode::StorageUnavailable,
    )
    .await;
    closed_as_moved("fran", &mut fran).await;
    history.record("fran before the loss", &fran.events());

    // Fran is ahead of the store: a snapshot, at the store's seq.
    let fran_resume = fran.resume_point();
    let fran_credential = fran.token_credential();
    let mut fran = TestClient::connect(addr).await;
    let snapshot = join_when_free_or_closing(
        &mut fran,
        group.group_id,
        fran_credential,
        Some(fran_resume),
    )
    .await;
    let snapshot = snapshot.expect("a client ahead of the store gets a snapshot");
    assert_eq!(snapshot.seq, kept, "the room reloaded what the store kept");
    assert_eq!(snapshot.group.name, "Kept");
    assert!(snapshot.hands.is_empty(), "the lost raise is gone");

    // The reloaded room uses the lost seqs for other events.
    for round in 0..3 {
        fran.ok(Request::RenameGroup {
            name: format!("After the loss {round}"),
        })
        .await;
    }
    assert!(
        fran.last_seq >= ann_seq,
        "the room is past Ann's seq again, with other events"
    );

    // Ann comes back from a seq the room has reached with other events: a snapshot, not those
    // events as a replay.
    let mut ann = TestClient::connect(addr).await;
    let snapshot = ann
        .join(group.group_id, ann_credential.clone(), Some(ann_resume))
        .await
        .expect("ann rejoins")
        .expect("a resume from the lost history's log epoch gets a snapshot");
    assert_eq!(snapshot.group.name, "After the loss 2");
    assert!(snapshot.hands.is_empty());
    let from = snapshot.seq;
    ann.ok(Request::RaiseHand).await;
    fran.event_where(|frame| matches!(frame.event, Event::HandRaised { .. }))
        .await;

    // From here on everyone has one history: the one the store holds.
    let mut now = History::default();
    now.record("fran", &fran.events());
    let ann_after: Vec<EventFrame> = ann
        .events()
        .into_iter()
        .filter(|frame| frame.seq > from)
        .collect();
    now.record("ann", &ann_after);
    let log = audit_log(addr, &group, ann_credential, &mut now).await;
    assert!(log.iter().all(|frame| frame.event != renamed("Lost")));
    // What Ann saw before the loss and the history now differ at the lost seqs: exactly what
    // she was never replayed.
    assert!(history.has(&renamed("Lost")));
    assert!(!now.has(&renamed("Lost")));

    fran.close().await;
    ann.close().await;
    node.start_kill().expect("stop the server");
    node.wait().await.expect("exit");
}

/// A group's deletion spans keys of several hash slots, so the room checks its fence with an
/// empty batch before it deletes: a stale owner's deletion (decided on a state that may be out
/// of date) is refused and deletes nothing, and the new owner's meeting goes on.
#[tokio::test]
async fn a_stale_owner_cannot_delete_the_group() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-fence-delete");
    let args = ["--room-lease-ms", "60000"];
    let (mut node_a, a) = start_binary(redis.url(), &prefix, &args).await;
    let (mut node_b, b) = start_binary(redis.url(), &prefix, &args).await;
    let mut raw = raw_connection(redis.url()).await;
    let group = create_group(a, "Kept peers").await;
    let mut fran = TestClient::joined_as_facilitator(a, &group, "Fran").await;
    let fran_token = fran.token_credential();

    let _: () = redis::cmd("DEL")
        .arg(lease_key(&prefix, group.group_id))
        .query_async(&mut raw)
        .await
        .expect("DEL lease");
    let mut fran_b = TestClient::connect(b).await;
    join_when_free_or_closing(&mut fran_b, group.group_id, fran_token, None).await;

    fran.fails(
        Request::DeleteGroup {
            confirm_name: "Kept peers".into(),
        },
        ErrorCode::StorageUnavailable,
    )
    .await;
    closed_as_moved("fran", &mut fran).await;
    let exists: u64 = redis::cmd("EXISTS")
        .arg(snapshot_key(&prefix, group.group_id))
        .query_async(&mut raw)
        .await
        .expect("EXISTS");
    assert_eq!(exists, 1, "the group is still stored");
    fran_b
        .ok(Request::RenameGroup {
            name: "Still here".into(),
        })
        .await;

    fran_b.close().await;
    for node in [&mut node_a, &mut node_b] {
        node.start_kill().expect("stop a server");
        node.wait().await.expect("exit");
    }
}

/// A room that stops while a pass of lease renewals is under way neither waits for the pass
/// nor lets it take the released lease back. The test holds every renewal at the store until
/// it lets them go, drains the node while one holds the room's lease, and sees the room hand
/// over with the renewal still held (a stop that waited for it would not close the client
/// until the renewal went on); then the renewal goes on, at the epoch the release moved past,
/// and is refused: the lease stays free for the next owner.
#[tokio::test]
async fn a_renewal_under_way_when_a_room_stops_neither_holds_the_stop_up_nor_takes_the_lease_back()
{
    let redis = TestRedis::start();
    let prefix = unique_prefix("rt-late-renewal");
    let connect = || async {
        RedisStore::connect(redis.url(), support::redis::options(&prefix))
            .await
            .expect("connect to redis")
    };
    let store = Arc::new(CountingStore::over(Arc::new(connect().await)).with_renewals_held());
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start_configured(dir.path(), store.clone(), |config| {
        config.admin_listen = Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    })
    .await;
    let admin = server.admin.expect("an admin listener");
    let group = create_group(server.addr, "Peers whose room stops mid-renewal").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    fran.start_meeting().await;

    let held_since = Instant::now();
    while store.leases_held.load(Ordering::SeqCst) == 0 {
        assert!(
            held_since.elapsed() < Duration::from_secs(5),
            "no renewal of the room's lease reached the store within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drain = tokio::spawn(async move { http_request(admin, "POST", "/admin/drain", "").await });
    match tokio::time::timeout(Duration::from_secs(5), fran.until_closed()).await {
        Ok(Closed::Frame(code, reason)) => {
            assert_eq!((code, reason.as_str()), (1012, "draining"));
        }
        Ok(other) => panic!("closed without the drain's reason: {other:?}"),
        Err(_) => panic!("the room's stop waited for the renewal under way: no close in 5 s"),
    }
    assert_eq!(
        store.leases_held.load(Ordering::SeqCst),
        1,
        "the room's renewal is still held when its client is closed"
    );
    let (status, body) = drain.await.expect("the drain request");
    assert_eq!(status, 200, "{body}");

    let stopped = |metrics: &str| {
        support::metric_value(
            metrics,
            "roundtable_lease_renewals_total{outcome=\"stopped\"}",
        )
    };
    let before = stopped(&http_get(admin, "/metrics", None).await.1);
    store.open_renewals();
    let opened = Instant::now();
    while store.renewals_held.load(Ordering::SeqCst) > 0 {
        assert!(
            opened.elapsed() < Duration::from_secs(5),
            "the renewal let go was not answered within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The renewal has been answered by Redis. No later pass renews the lease: the room left
    // the renewals when it stopped (a moment's wait shows it).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut raw = raw_connection(redis.url()).await;
    let holder: Option<String> = redis::cmd("GET")
        .arg(support::redis::lease_key(&prefix, group.group_id))
        .query_async(&mut raw)
        .await
        .expect("GET the lease");
    assert_eq!(
        holder, None,
        "the renewal carried out after the release did not take the lease back"
    );
    let after = stopped(&http_get(admin, "/metrics", None).await.1);
    assert!(
        after > before,
        "the refused renewal is counted as one of a room that stopped ({before} then {after})"
    );
    let next = connect().await;
    assert!(
        next.take_lease(group.group_id, "another-process", 60_000)
            .await
            .expect("take_lease"),
        "the next owner takes the lease at once"
    );
}
