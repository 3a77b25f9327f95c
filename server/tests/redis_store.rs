//! The Redis store against a real redis-server: the conformance suite, the documented key
//! layout, the log cap, and behaviour when Redis is unreachable or goes away and comes back.
//!
//! Uses `ROUNDTABLE_TEST_REDIS_URL` when set, else starts its own `redis-server` (see
//! `support/redis.rs`); the outage and stall tests always start their own, since they stop or
//! pause it.

mod support;

use std::time::{Duration, Instant};

use roundtable_protocol::{GroupId, LogEpoch, MeetingId};
use roundtable_server::store::fixtures::{self, entries};
use roundtable_server::store::{
    AppendBatch, Fence, LogEntry, RedisOptions, RedisStore, Store, StoreError, conformance,
};
use support::redis::{Persistence, TestRedis, every_name_and_value};

/// How much later than its timeout a call may return, for a loaded machine's scheduling.
const SLACK: Duration = Duration::from_secs(1);

/// Options with a key prefix of the test's own, so that tests can share one Redis.
fn options() -> RedisOptions {
    support::redis::options(&support::redis::unique_prefix("rt-test"))
}

/// Appends `entries` without a snapshot.
async fn append(
    store: &RedisStore,
    group_id: GroupId,
    meeting_id: MeetingId,
    entries: &[LogEntry],
) -> Result<(), StoreError> {
    fixtures::append(store, group_id, meeting_id, entries, None).await
}

#[tokio::test]
async fn redis_store_passes_the_conformance_suite() {
    let redis = TestRedis::start();
    let store = RedisStore::connect(redis.url(), options())
        .await
        .expect("connect to redis");
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn redis_store_lays_out_keys_as_documented() {
    let redis = TestRedis::start();
    let options = options();
    let prefix = options.key_prefix.clone();
    let store = RedisStore::connect(redis.url(), options)
        .await
        .expect("connect");
    let (group_id, meeting_id) = fixtures::create_group(&store, "start").await;
    append(&store, group_id, meeting_id, &entries(1..=2))
        .await
        .expect("append");
    let take = store
        .take_lease_reporting(group_id, "owner-x", 60_000)
        .await
        .expect("take the lease");
    assert_eq!(
        take.epoch, 1,
        "the first take of a group's lease is epoch 1"
    );
    // Two rooms' log epochs: the first loaded the log up to seq 2 and wrote 3 and 4; then a
    // write that is no epoch's, 5; the second loaded the log up to 5.
    let first_epoch = LogEpoch::random();
    let fence = |epoch| Fence {
        owner: "owner-x",
        epoch,
    };
    store
        .begin_log_epoch(group_id, fence(1), first_epoch, meeting_id, 2)
        .await
        .expect("begin the first log epoch");
    store
        .append(AppendBatch {
            group_id,
            meeting_id,
            entries: &entries(3..=4),
            snapshot: None,
            fence: Some(fence(1)),
            log_epoch: Some(first_epoch),
        })
        .await
        .expect("the first epoch's append");
    append(&store, group_id, meeting_id, &entries(5..=5))
        .await
        .expect("an append of no epoch's");
    let take = store
        .take_lease_reporting(group_id, "owner-x", 60_000)
        .await
        .expect("take the lease again");
    let second_epoch = LogEpoch::random();
    store
        .begin_log_epoch(group_id, fence(take.epoch), second_epoch, meeting_id, 5)
        .await
        .expect("begin the second log epoch");

    let client = redis::Client::open(redis.url()).expect("client");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut raw)
        .await
        .expect("KEYS");
    keys.sort();
    let tag = format!("{prefix}{{g:{group_id}}}");
    let mut expected = vec![
        format!("{tag}:snapshot"),
        format!("{tag}:meetings"),
        format!("{tag}:m:{meeting_id}:log"),
        format!("{tag}:m:{meeting_id}:head"),
        format!("{prefix}meeting:{meeting_id}"),
        format!("{tag}:lease"),
        format!("{tag}:lease_record"),
        format!("{tag}:epoch"),
        format!("{tag}:log_epochs"),
    ];
    expected.sort();
    assert_eq!(keys, expected);
    let get = |key: String| {
        let mut raw = raw.clone();
        async move {
            redis::cmd("GET")
                .arg(key)
                .query_async::<String>(&mut raw)
                .await
                .expect("GET")
        }
    };
    assert_eq!(
        get(format!("{tag}:lease")).await,
        "owner-x",
        "the lease holds the bare owner id"
    );
    assert_eq!(get(format!("{tag}:epoch")).await, "2");
    let mut record: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(format!("{tag}:log_epochs"))
        .query_async(&mut raw)
        .await
        .expect("HGETALL");
    record.sort();
    assert_eq!(
        record,
        [
            ("current".to_string(), second_epoch.to_string()),
            ("current_through".to_string(), format!("{meeting_id} 5")),
            (
                "earlier".to_string(),
                format!("{first_epoch}:{meeting_id}:4")
            ),
            ("format".to_string(), "1".to_string()),
        ],
        "format 1: the current log epoch with its last write (the log it loaded), each earlier \
         one with its own (4: the write at 5 was no epoch's)"
    );

    let stream_ids: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE")
        .arg(format!("{tag}:m:{meeting_id}:log"))
        .arg("-")
        .arg("+")
        .query_async(&mut raw)
        .await
        .expect("XRANGE");
    let ids: Vec<&str> = stream_ids.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["1-0", "2-0", "3-0", "4-0", "5-0"],
        "stream ids are <seq>-0"
    );
    let head: String = redis::cmd("GET")
        .arg(format!("{tag}:m:{meeting_id}:head"))
        .query_async(&mut raw)
        .await
        .expect("GET head");
    assert_eq!(head, "5");
    let index: String = redis::cmd("GET")
        .arg(format!("{prefix}meeting:{meeting_id}"))
        .query_async(&mut raw)
        .await
        .expect("GET index");
    assert_eq!(index, group_id.to_string());
}

#[tokio::test]
async fn redis_store_deletes_every_key_of_a_group() {
    let redis = TestRedis::start();
    let options = options();
    let prefix = options.key_prefix.clone();
    let store = RedisStore::connect(redis.url(), options)
        .await
        .expect("connect");
    let deleted = conformance::delete_a_marked_group(&store).await;

    // Every key of the test's prefix, and every byte each holds.
    let stored = every_name_and_value(redis.url(), &format!("{prefix}*")).await;
    let names: Vec<&str> = stored.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names
            .iter()
            .any(|name| name.starts_with("the name") && name.ends_with(":snapshot")),
        "the kept group is still there, so the scan reads keys: {names:?}"
    );
    deleted.assert_absent(&stored);
}

#[tokio::test]
async fn a_group_stored_before_its_set_of_meetings_is_deleted_whole_too() {
    let redis = TestRedis::start();
    let options = options();
    let prefix = options.key_prefix.clone();
    let store = RedisStore::connect(redis.url(), options)
        .await
        .expect("connect");
    let (group_id, first) = fixtures::create_group(&store, "start").await;
    append(&store, group_id, first, &entries(1..=2))
        .await
        .expect("append");
    let second = MeetingId::random();
    fixtures::append(
        &store,
        group_id,
        second,
        &entries(1..=1),
        Some(&fixtures::snapshot(second, 1, "second")),
    )
    .await
    .expect("the second meeting");
    let client = redis::Client::open(redis.url()).expect("client");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    // As a store from before the set wrote it: no set of meetings.
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{prefix}{{g:{group_id}}}:meetings"))
        .query_async(&mut raw)
        .await
        .expect("DEL");
    assert!(store.delete_group(group_id).await.expect("delete"));
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut raw)
        .await
        .expect("KEYS");
    assert!(
        keys.is_empty(),
        "both meetings were found by their keys: {keys:?}"
    );
}

#[tokio::test]
async fn redis_store_caps_a_log_approximately() {
    let redis = TestRedis::start();
    let store = RedisStore::connect(
        redis.url(),
        RedisOptions {
            log_entries_max: 100,
            ..options()
        },
    )
    .await
    .expect("connect");
    let (group_id, meeting_id) = fixtures::create_group(&store, "start").await;
    for start in (1..=1000).step_by(50) {
        append(&store, group_id, meeting_id, &entries(start..=start + 49))
            .await
            .expect("append");
    }
    let left = store.read_log(meeting_id, 0, 10_000).await.expect("read");
    assert!(
        (100..1000).contains(&left.len()),
        "the capped log keeps at least the cap and drops old entries, kept {}",
        left.len()
    );
    assert_eq!(left.last().map(|entry| entry.seq), Some(1000));
    let first = left[0].seq;
    assert_eq!(
        left,
        entries(first..=1000),
        "what is kept is the newest, in order"
    );
    // The log goes on after the cap dropped entries.
    append(&store, group_id, meeting_id, &entries(1001..=1001))
        .await
        .expect("append after capping");
}

#[tokio::test]
async fn connecting_to_an_unreachable_redis_is_unavailable_within_the_timeout() {
    // A port nobody listens on: bind one, learn its number, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let timeout = Duration::from_millis(500);
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        RedisStore::connect(
            &format!("redis://127.0.0.1:{port}/"),
            RedisOptions {
                timeout,
                ..options()
            },
        ),
    )
    .await
    .expect("connect must not hang");
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "got {result:?}"
    );
    assert!(elapsed <= timeout + SLACK, "took {elapsed:?}");
}

#[tokio::test]
async fn redis_store_is_unavailable_during_an_outage_and_recovers_with_its_data() {
    let mut redis = TestRedis::start_own(Persistence::AppendOnly);
    let timeout = Duration::from_secs(1);
    let store = RedisStore::connect(
        redis.url(),
        RedisOptions {
            timeout,
            ..options()
        },
    )
    .await
    .expect("connect");
    let (group_id, meeting_id) = fixtures::create_group(&store, "start").await;
    append(&store, group_id, meeting_id, &entries(1..=3))
        .await
        .expect("append before the outage");

    redis.stop();
    let started = Instant::now();
    let during = tokio::time::timeout(
        Duration::from_secs(10),
        append(&store, group_id, meeting_id, &entries(4..=4)),
    )
    .await
    .expect("append during the outage must not hang");
    let elapsed = started.elapsed();
    assert!(
        matches!(during, Err(StoreError::Unavailable(_))),
        "append during the outage must be unavailable, got {during:?}"
    );
    assert!(
        elapsed <= timeout + SLACK,
        "append during the outage took {elapsed:?}, more than the {timeout:?} timeout"
    );
    let load = tokio::time::timeout(Duration::from_secs(10), store.load_room(group_id))
        .await
        .expect("load during the outage must not hang");
    assert!(
        matches!(load, Err(StoreError::Unavailable(_))),
        "load during the outage must be unavailable, got {load:?}"
    );

    redis.restart();
    // The same store, not a new one, must work again once Redis is back.
    let recovering = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match append(&store, group_id, meeting_id, &entries(4..=4)).await {
            Ok(()) => break,
            Err(StoreError::Unavailable(reason)) => {
                assert!(
                    recovering.elapsed() < Duration::from_secs(10),
                    "the store did not recover within 10 s of redis restarting: {reason}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(other) => panic!("append after the restart failed: {other:?}"),
        }
    }
    println!(
        "recovered after {attempts} attempt(s), {:?}",
        recovering.elapsed()
    );

    let loaded = store
        .load_room(group_id)
        .await
        .expect("load after the restart")
        .expect("the group survived the restart");
    assert_eq!(loaded.snapshot, fixtures::snapshot(meeting_id, 0, "start"));
    assert_eq!(
        loaded.tail,
        entries(1..=4),
        "acknowledged writes survived the restart"
    );
    let log = store
        .read_log(meeting_id, 0, 100)
        .await
        .expect("read_log after the restart");
    assert_eq!(log, entries(1..=4));
}

#[tokio::test]
async fn a_stalled_redis_is_unavailable_within_the_timeout_then_works_again() {
    // Its own server: pausing a shared one would stall the other tests too.
    let redis = TestRedis::start_own(Persistence::None);
    let timeout = Duration::from_millis(500);
    let store = RedisStore::connect(
        redis.url(),
        RedisOptions {
            timeout,
            ..options()
        },
    )
    .await
    .expect("connect");
    let (group_id, meeting_id) = fixtures::create_group(&store, "start").await;
    append(&store, group_id, meeting_id, &entries(1..=1))
        .await
        .expect("append 1");

    // The server stays up and keeps the connection but answers nobody for 2 s.
    let pause = Duration::from_millis(2000);
    let client = redis::Client::open(redis.url()).expect("client");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let paused_at = Instant::now();
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(pause.as_millis() as u64)
        .arg("ALL")
        .query_async(&mut raw)
        .await
        .expect("CLIENT PAUSE");

    let started = Instant::now();
    let stalled = tokio::time::timeout(
        Duration::from_secs(10),
        append(&store, group_id, meeting_id, &entries(2..=2)),
    )
    .await
    .expect("append to a stalled redis must not hang");
    let elapsed = started.elapsed();
    assert!(
        matches!(stalled, Err(StoreError::Unavailable(_))),
        "append to a stalled redis must be unavailable, got {stalled:?}"
    );
    assert!(
        elapsed >= timeout - Duration::from_millis(50) && elapsed <= timeout + SLACK,
        "append to a stalled redis took {elapsed:?}, not about the {timeout:?} timeout"
    );

    tokio::time::sleep((pause + Duration::from_millis(200)).saturating_sub(paused_at.elapsed()))
        .await;
    // The timed-out command had been sent: whether Redis ran it after the pause depends on
    // whether the connection was dropped first. So a timed-out write may or may not be stored,
    // and retrying it either succeeds or conflicts; the log is whole either way.
    let mut retry = Err(StoreError::Unavailable("not tried".into()));
    for _ in 0..20 {
        retry = append(&store, group_id, meeting_id, &entries(2..=2)).await;
        if !matches!(retry, Err(StoreError::Unavailable(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        matches!(retry, Ok(()) | Err(StoreError::Conflict(_))),
        "after the pause the same store answers again, got {retry:?}"
    );
    let loaded = store
        .load_room(group_id)
        .await
        .expect("load after the pause")
        .expect("group");
    assert_eq!(loaded.tail, entries(1..=2));
}

#[tokio::test]
async fn two_stores_racing_on_one_meeting_never_both_win() {
    let redis = TestRedis::start();
    let options = options();
    let first = RedisStore::connect(redis.url(), options.clone())
        .await
        .expect("connect first");
    let second = RedisStore::connect(redis.url(), options)
        .await
        .expect("connect second");
    let (group_id, meeting_id) = fixtures::create_group(&first, "start").await;
    let mut winners = Vec::new();
    for seq in 1..=50 {
        let from_first = vec![LogEntry {
            seq,
            bytes: format!("first {seq}").into_bytes(),
        }];
        let from_second = vec![LogEntry {
            seq,
            bytes: format!("second {seq}").into_bytes(),
        }];
        let (a, b) = tokio::join!(
            append(&first, group_id, meeting_id, &from_first),
            append(&second, group_id, meeting_id, &from_second),
        );
        match (a, b) {
            (Ok(()), Err(StoreError::Conflict(_))) => winners.push(from_first[0].clone()),
            (Err(StoreError::Conflict(_)), Ok(())) => winners.push(from_second[0].clone()),
            other => panic!("seq {seq}: exactly one writer must win, got {other:?}"),
        }
    }
    let log = second.read_log(meeting_id, 0, 100).await.expect("read_log");
    assert_eq!(log, winners, "the log holds exactly the winners' entries");
}

#[tokio::test]
async fn a_key_prefix_with_braces_is_refused() {
    let redis = TestRedis::start();
    let result = RedisStore::connect(
        redis.url(),
        RedisOptions {
            key_prefix: "rt:{x}:".into(),
            ..RedisOptions::default()
        },
    )
    .await;
    assert!(result.is_err(), "a prefix with braces must be refused");
}

#[tokio::test]
async fn a_take_of_a_lease_another_owner_let_expire_is_reported_as_a_takeover() {
    let redis = TestRedis::start();
    let options = options();
    let prefix = options.key_prefix.clone();
    let store = RedisStore::connect(redis.url(), options)
        .await
        .expect("connect");
    let group_id = GroupId::random();
    let take = |owner: &'static str, duration_ms: u64| {
        let store = &store;
        async move {
            store
                .take_lease_reporting(group_id, owner, duration_ms)
                .await
                .expect("take_lease_reporting")
        }
    };

    // A free lease, a renewal, and a take after a release are no takeovers.
    let first = take("a", 60_000).await;
    assert!(first.held);
    assert_eq!(first.took_over_after_ms, None, "a free lease");
    let again = take("a", 60_000).await;
    assert_eq!(again.took_over_after_ms, None, "a take by the holder");
    assert!(!take("b", 60_000).await.held, "held by a");
    store
        .release_lease(group_id, "a", again.epoch)
        .await
        .expect("release");
    let after_release = take("b", 60_000).await;
    assert!(after_release.held);
    assert_eq!(after_release.took_over_after_ms, None, "a lease given up");

    // The record names the holder and when its lease runs out, on the group's hash tag.
    let client = redis::Client::open(redis.url()).expect("client");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let record: String = redis::cmd("GET")
        .arg(format!("{prefix}{{g:{group_id}}}:lease_record"))
        .query_async(&mut raw)
        .await
        .expect("GET lease_record");
    let (owner, until_ms) = record.split_once(' ').expect("owner and time");
    assert_eq!(owner, "b");
    assert!(until_ms.parse::<u64>().is_ok(), "{record}");

    // b dies holding a short lease; a takes the room over after it expired.
    take("b", 200).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let takeover = take("a", 60_000).await;
    assert!(takeover.held);
    let after_ms = takeover.took_over_after_ms.expect("a takeover");
    assert!(
        (300..60_000).contains(&after_ms),
        "expired about 400 ms before the take, reported {after_ms} ms"
    );
    // Its own lease lapsing and taken again by the same owner is no takeover.
    take("a", 100).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(take("a", 60_000).await.took_over_after_ms, None);
}

/// A failover that lost a take of a group's lease lets another owner's take on the promoted
/// replica answer the same epoch number. Once that owner's lease runs out, the first owner's
/// fence names the group's epoch and nobody holds the lease, but the lease's record names the
/// other owner as the last taker: the first owner's renewal, append and log epoch are refused.
/// The other owner, whose take the record names, goes on.
#[tokio::test]
async fn a_fence_whose_epoch_number_a_lost_take_gave_another_owner_too_is_refused() {
    let redis = TestRedis::start();
    let options = options();
    let prefix = options.key_prefix.clone();
    let store = RedisStore::connect(redis.url(), options)
        .await
        .expect("connect");
    let (group_id, meeting_id) = fixtures::create_group(&store, "start").await;
    let tag = format!("{prefix}{{g:{group_id}}}");
    let mut raw = support::redis::raw_connection(redis.url()).await;
    let first = store
        .take_lease_reporting(group_id, "first", 60_000)
        .await
        .expect("the first take");
    assert!(first.held);
    // The failover: the promoted replica never got the first take (the epoch before it, no
    // lease, no record of it).
    let _: () = redis::cmd("SET")
        .arg(format!("{tag}:epoch"))
        .arg(first.epoch - 1)
        .query_async(&mut raw)
        .await
        .expect("SET epoch");
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{tag}:lease"))
        .arg(format!("{tag}:lease_record"))
        .query_async(&mut raw)
        .await
        .expect("DEL lease");
    let other = store
        .take_lease_reporting(group_id, "other", 60_000)
        .await
        .expect("the other take");
    assert_eq!(other.epoch, first.epoch, "the same epoch number, twice");
    // The other owner's lease runs out; nobody takes it.
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{tag}:lease"))
        .query_async(&mut raw)
        .await
        .expect("DEL lease");
    let fence = |owner| Fence {
        owner,
        epoch: first.epoch,
    };
    let batch = |owner, entries| AppendBatch {
        group_id,
        meeting_id,
        entries,
        snapshot: None,
        fence: Some(fence(owner)),
        log_epoch: None,
    };
    let renewed = store
        .renew_lease(group_id, "first", 60_000, first.epoch)
        .await
        .expect("renew_lease");
    assert!(!renewed.held, "the first owner's renewal is refused");
    let entries = entries(1..=1);
    let appended = store.append(batch("first", &entries)).await;
    assert!(
        matches!(appended, Err(StoreError::Fenced(_))),
        "the first owner's append is refused: {appended:?}"
    );
    let begun = store
        .begin_log_epoch(group_id, fence("first"), LogEpoch::random(), meeting_id, 0)
        .await;
    assert!(
        matches!(begun, Err(StoreError::Fenced(_))),
        "the first owner's log epoch is refused: {begun:?}"
    );
    store
        .append(batch("other", &entries))
        .await
        .expect("the other owner, whose take the record names, appends");
    assert!(
        store
            .renew_lease(group_id, "other", 60_000, other.epoch)
            .await
            .expect("renew_lease")
            .held,
        "and renews"
    );
}
