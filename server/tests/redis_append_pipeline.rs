//! The Redis store sends the appends of rooms waiting at the same moment together, as one
//! pipeline of script calls (see `store/redis/pipeline.rs`), against a real redis-server of the
//! test's own: each room still gets its own answer, a conflict stays one room's, a Redis that
//! forgot its scripts is taught them again, and a full queue makes rooms wait, not fail.

mod support;

use std::time::Duration;

use roundtable_protocol::{GroupId, MeetingId};
use roundtable_server::store::fixtures::{self, entries};
use roundtable_server::store::{RedisOptions, RedisStore, StoreError};
use support::redis::{Persistence, TestRedis, unique_prefix};

async fn store_on(redis: &TestRedis, options: RedisOptions) -> RedisStore {
    RedisStore::connect(redis.url(), options)
        .await
        .expect("connect to redis")
}

fn options() -> RedisOptions {
    support::redis::options(&unique_prefix("rt-pipeline"))
}

/// `count` groups, each with entries 1 and 2 logged.
async fn groups_with_two_entries(store: &RedisStore, count: usize) -> Vec<(GroupId, MeetingId)> {
    let mut groups = Vec::new();
    for _ in 0..count {
        let (group_id, meeting_id) = fixtures::create_group(store, "start").await;
        fixtures::append(store, group_id, meeting_id, &entries(1..=2), None)
            .await
            .expect("the first entries");
        groups.push((group_id, meeting_id));
    }
    groups
}

/// A command on a connection of its own, beside the store's.
async fn raw(redis: &TestRedis, command: &mut redis::Cmd) {
    let client = redis::Client::open(redis.url()).expect("client");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connection");
    let () = command.query_async(&mut connection).await.expect("command");
}

/// The pipelines the process has sent and the appends in them, from `/metrics`' histogram.
fn pipelines_and_appends() -> (u64, f64) {
    let text = roundtable_server::metrics::metrics().encode();
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{name} in the metrics"))
    };
    (
        value("roundtable_redis_append_pipeline_appends_count") as u64,
        value("roundtable_redis_append_pipeline_appends_sum"),
    )
}

#[tokio::test]
async fn appends_waiting_together_go_in_one_round_trip_each_with_its_own_answer() {
    // Its own Redis: the test pauses its writes.
    let redis = TestRedis::start_own(Persistence::None);
    let store = store_on(&redis, options()).await;
    let groups = groups_with_two_entries(&store, 48).await;
    let (pipelines_before, appends_before) = pipelines_and_appends();

    // Redis holds every write for 400 ms: the appends made meanwhile all wait together.
    raw(
        &redis,
        redis::cmd("CLIENT").arg("PAUSE").arg(400).arg("WRITE"),
    )
    .await;
    let mut writes = tokio::task::JoinSet::new();
    for (index, &(group_id, meeting_id)) in groups.iter().enumerate() {
        let store = store.clone();
        // Every sixth room writes seq 5 where 3 is due: a conflict of its own.
        let seqs = if index % 6 == 0 { 5..=5 } else { 3..=4 };
        writes.spawn(async move {
            let written =
                fixtures::append(&store, group_id, meeting_id, &entries(seqs), None).await;
            (index, written)
        });
    }
    let mut answers = writes.join_all().await;
    answers.sort_by_key(|(index, _)| *index);

    for (index, written) in &answers {
        if index % 6 == 0 {
            assert!(
                matches!(written, Err(StoreError::Conflict(_))),
                "room {index}: {written:?}"
            );
        } else {
            assert_eq!(written, &Ok(()), "room {index}");
        }
    }
    for (index, &(group_id, _)) in groups.iter().enumerate() {
        let expected = if index % 6 == 0 {
            vec![1, 2]
        } else {
            vec![1, 2, 3, 4]
        };
        assert_eq!(
            fixtures::tail_seqs(&store, group_id).await,
            expected,
            "room {index}'s log holds its own appends only"
        );
    }
    let (pipelines_after, appends_after) = pipelines_and_appends();
    let pipelines = pipelines_after - pipelines_before;
    assert!(
        appends_after - appends_before >= 48.0,
        "every append went in a pipeline"
    );
    assert!(
        pipelines <= 12,
        "48 appends waiting together took {pipelines} round trips"
    );
}

#[tokio::test]
async fn appends_go_on_when_redis_has_forgotten_the_script() {
    let redis = TestRedis::start_own(Persistence::None);
    let store = store_on(&redis, options()).await;
    let groups = groups_with_two_entries(&store, 6).await;
    raw(&redis, redis::cmd("SCRIPT").arg("FLUSH")).await;
    let mut writes = tokio::task::JoinSet::new();
    for &(group_id, meeting_id) in &groups {
        let store = store.clone();
        writes.spawn(async move {
            fixtures::append(&store, group_id, meeting_id, &entries(3..=3), None).await
        });
    }
    for written in writes.join_all().await {
        assert_eq!(written, Ok(()));
    }
    for &(group_id, _) in &groups {
        assert_eq!(fixtures::tail_seqs(&store, group_id).await, vec![1, 2, 3]);
    }
}

#[tokio::test]
async fn a_full_queue_makes_rooms_wait_not_fail() {
    let redis = TestRedis::start_own(Persistence::None);
    let store = store_on(
        &redis,
        RedisOptions {
            append_batch_max: 2,
            append_queue_max: 1,
            ..options()
        },
    )
    .await;
    let groups = groups_with_two_entries(&store, 24).await;
    let mut writes = tokio::task::JoinSet::new();
    for &(group_id, meeting_id) in &groups {
        let store = store.clone();
        writes.spawn(async move {
            for seq in 3..=5 {
                fixtures::append(&store, group_id, meeting_id, &entries(seq..=seq), None).await?;
            }
            Ok::<(), StoreError>(())
        });
    }
    let written = tokio::time::timeout(Duration::from_secs(20), writes.join_all())
        .await
        .expect("every room's appends finish");
    assert!(written.iter().all(Result::is_ok), "{written:?}");
    for &(group_id, _) in &groups {
        assert_eq!(
            fixtures::tail_seqs(&store, group_id).await,
            vec![1, 2, 3, 4, 5]
        );
    }
}

/// How many times Redis has run a script (`EVALSHA`) since it started, from `INFO`.
async fn scripts_run(connection: &mut redis::aio::MultiplexedConnection) -> u64 {
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(connection)
        .await
        .expect("INFO commandstats");
    stats
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

/// A room's append does not wait behind a process's batch of lease renewals: while Redis runs
/// 20,000 renewals sent as one pipeline, an append sent once the batch has begun is answered
/// before the batch is. (On one connection shared with the renewals, its answer would come
/// after all 20,000 of theirs: the delivery tail of a node renewing 1,000 leases at once, see
/// BENCHMARKS.md, "The 1,000-room tail, investigated".)
#[tokio::test]
async fn an_append_is_answered_while_a_batch_of_lease_renewals_is_under_way() {
    // A server of its own: the test counts every script Redis runs.
    let redis = TestRedis::start_own(Persistence::None);
    // Time enough for 20,000 renewals in a debug build on a busy machine.
    let options = RedisOptions {
        timeout: Duration::from_secs(30),
        ..options()
    };
    let prefix = options.key_prefix.clone();
    let store = std::sync::Arc::new(store_on(&redis, options).await);
    let (group_id, meeting_id) = groups_with_two_entries(&store, 1).await[0];
    // Leases of groups nobody holds, at the epoch a group without a take has, whose record
    // names us as their last taker: each renewal is granted, and writes, as a live room's.
    let leases: Vec<(GroupId, u64)> = (0..20_000).map(|_| (GroupId::random(), 0)).collect();
    let client = redis::Client::open(redis.url()).expect("client");
    let mut watcher = client
        .get_multiplexed_async_connection()
        .await
        .expect("connection");
    let mut records = redis::pipe();
    for (group, _) in &leases {
        records
            .cmd("SET")
            .arg(format!("{prefix}{{g:{group}}}:lease_record"))
            .arg("us 0")
            .ignore();
    }
    let () = records
        .query_async(&mut watcher)
        .await
        .expect("the leases' records");
    // Redis learns the renewal script first: a batch that finds it unknown fails at once and
    // is sent again, which would begin the batch twice.
    {
        use roundtable_server::store::Store;
        store
            .renew_leases(&leases[..1], "us", 60_000)
            .await
            .expect("one renewal");
    }
    let before = scripts_run(&mut watcher).await;
    let renewals = tokio::spawn({
        let store = std::sync::Arc::clone(&store);
        async move {
            use roundtable_server::store::Store;
            store.renew_leases(&leases, "us", 60_000).await
        }
    });
    // The batch has begun once Redis has run some of its scripts.
    let begun = tokio::time::timeout(Duration::from_secs(10), async {
        while scripts_run(&mut watcher).await == before {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(begun.is_ok(), "Redis began the renewal batch within 10 s");
    fixtures::append(store.as_ref(), group_id, meeting_id, &entries(3..=3), None)
        .await
        .expect("the append succeeds");
    assert!(
        !renewals.is_finished(),
        "the append was answered before the renewal batch that began before it"
    );
    let renewed = renewals.await.expect("the renewals' task");
    assert!(
        renewed.is_ok_and(|held| held.len() == 20_000),
        "the batch is answered for every lease"
    );
}
