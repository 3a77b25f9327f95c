//! Anonymous benchmark numbers at rest, over real WebSockets, on both stores: members submit
//! anonymous numbers in two meetings, the server stops, and every stored byte is read back raw
//! (every file of the embedded store's data directory, every Redis key of the group's prefix).
//! No stored record ties an anonymous number to its member; after a restart the member, back
//! with the same token, still sees their own numbers and trend, and the aggregates are as
//! they were.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use roundtable_protocol::{BenchmarkView, Event, MemberId, MyBenchmarks, Reply, Request, Sharing};
use roundtable_server::Limits;
use roundtable_server::store::{EmbeddedOptions, fixtures};
use serde_json::Value;
use support::redis::{
    TestRedis, elements_of, raw_connection, scan_keys, start_server, unique_prefix,
};
use support::{TestClient, TestGroup, TestServer, create_group, every_file};

/// Where the data lives, and how to read every byte of it back.
enum Backend {
    Embedded(tempfile::TempDir),
    Redis { redis: TestRedis, prefix: String },
}

impl Backend {
    async fn start(&self) -> TestServer {
        match self {
            Backend::Embedded(dir) => {
                let store = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
                TestServer::start_with_store(dir.path(), Limits::default(), Arc::new(store)).await
            }
            Backend::Redis { redis, prefix } => {
                start_server(redis.url(), prefix, Limits::default()).await
            }
        }
    }

    /// Every stored byte, by where it was: each file of the data directory read raw (the redb
    /// file and the journal), or each Redis key of the prefix with its value.
    async fn every_byte(&self) -> Vec<(String, Vec<u8>)> {
        match self {
            Backend::Embedded(dir) => every_file(dir.path()),
            Backend::Redis { redis, prefix } => every_redis_key(redis.url(), prefix).await,
        }
    }
}

async fn every_redis_key(url: &str, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut raw = raw_connection(url).await;
    let mut found = Vec::new();
    for key in scan_keys(&mut raw, &format!("{prefix}*")).await {
        // Each element of a value on its own, so that records are read whole.
        for value in elements_of(&mut raw, &key).await {
            found.push((key.clone(), value));
        }
    }
    found
}

/// Every stored record found in `bytes`: each JSON object that starts with the stored format's
/// `{"format":`, read up to its end.
fn records_in(bytes: &[u8]) -> Vec<Value> {
    let start = b"{\"format\":";
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(offset) = bytes[at..]
        .windows(start.len())
        .position(|window| window == start)
    {
        let from = at + offset;
        let mut stream = serde_json::Deserializer::from_slice(&bytes[from..]).into_iter::<Value>();
        if let Some(Ok(record)) = stream.next() {
            records.push(record);
        }
        at = from + start.len();
    }
    records
}

/// Whether `number` sits in `json` where `member` names it: under a key that is the member's
/// id, or inside an object one of whose fields is the member's id.
fn tied_to(json: &Value, member: &str, number: f64, linked: bool) -> bool {
    match json {
        Value::Number(n) => linked && n.as_f64() == Some(number),
        Value::Array(items) => items
            .iter()
            .any(|item| tied_to(item, member, number, linked)),
        Value::Object(fields) => {
            let names = linked || fields.values().any(|field| field.as_str() == Some(member));
            fields
                .iter()
                .any(|(key, field)| tied_to(field, member, number, names || key == member))
        }
        _ => false,
    }
}

/// Whether `number` is anywhere in `json`.
fn holds_number(json: &Value, number: f64) -> bool {
    tied_to(json, "", number, true)
}

fn calls(value: f64, sharing: Sharing) -> Request {
    Request::SubmitNumbers {
        values: BTreeMap::from([("calls".to_string(), value)]),
        sharing,
    }
}

async fn my_benchmarks(client: &mut TestClient) -> MyBenchmarks {
    let id = client.send(Request::GetMyBenchmarks).await;
    match client.answer(id).await {
        Ok(Reply::MyBenchmarks(mine)) => mine,
        other => panic!("my benchmarks: {other:?}"),
    }
}

/// The benchmarks a fresh join of the facilitator sees.
async fn view_after_join(
    server: &TestServer,
    group: &TestGroup,
    fran: &TestClient,
) -> BenchmarkView {
    let mut again = TestClient::connect(server.addr).await;
    let snapshot = again
        .join(group.group_id, fran.token_credential(), None)
        .await
        .expect("the facilitator rejoins")
        .expect("a snapshot");
    snapshot.benchmarks
}

async fn anonymous_numbers_are_stored_under_no_member(backend: Backend) {
    let server = backend.start().await;
    let group = create_group(server.addr, "Anonymous at rest").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let mut people = Vec::new();
    for name in ["Ann", "Bob", "Cy"] {
        let client = TestClient::joined_as_member(server.addr, &group, name).await;
        people.push(client);
    }
    fran.start_meeting().await;
    // Distinctive numbers, each submitted anonymously by one member and named by nobody.
    let first: [f64; 3] = [7777.25, 8888.25, 9999.25];
    let second: [f64; 3] = [6666.75, 5555.75, 4444.75];
    fran.ok(calls(10.0, Sharing::Named)).await;
    for (client, value) in people.iter_mut().zip(first) {
        client.ok(calls(value, Sharing::Anonymous)).await;
    }
    fran.ok(Request::StartNextMeeting).await;
    fran.start_meeting().await;
    fran.ok(calls(12.0, Sharing::Named)).await;
    // Ann first shares by name, then switches to anonymous: her named numbers leave.
    people[0].ok(calls(3333.5, Sharing::Named)).await;
    for (client, value) in people.iter_mut().zip(second) {
        client.ok(calls(value, Sharing::Anonymous)).await;
    }
    fran.event_where(|frame| {
        matches!(&frame.event, Event::BenchmarksChanged { view }
            if view.submitted_count == 4 && view.per_metric[0].named.len() == 1)
    })
    .await;
    let view_before = view_after_join(&server, &group, &fran).await;
    assert!(
        view_before.aggregates_shown,
        "three anonymous and one named"
    );
    let ann_before = my_benchmarks(&mut people[0]).await;
    assert_eq!(
        ann_before
            .current
            .as_ref()
            .map(|mine| (mine.values["calls"], mine.sharing)),
        Some((second[0], Sharing::Anonymous)),
        "Ann sees her own anonymous numbers"
    );
    assert_eq!(ann_before.trend.len(), 1);
    assert_eq!(ann_before.trend[0].mine["calls"], first[0], "and her trend");
    let ids: Vec<MemberId> = people
        .iter()
        .map(|client| client.member_id.unwrap())
        .collect();
    let tokens: Vec<_> = people.iter().map(TestClient::token_credential).collect();
    for client in people {
        client.close().await;
    }
    server.stop().await;

    // Every stored byte: no record ties an anonymous number to its member.
    let stored = backend.every_byte().await;
    let mut records_with_numbers = 0;
    for (place, bytes) in &stored {
        for record in records_in(bytes) {
            for (index, member) in ids.iter().enumerate() {
                for value in [first[index], second[index]] {
                    if holds_number(&record, value) {
                        records_with_numbers += 1;
                    }
                    assert!(
                        !tied_to(&record, &member.to_string(), value, false),
                        "{value}, anonymous, is stored with its member in {place}: {record}"
                    );
                }
            }
        }
    }
    assert!(
        records_with_numbers >= 6,
        "the scan reads the stored records that hold the numbers ({records_with_numbers} found)"
    );

    // After a restart, Ann (back with her token) finds her own numbers and trend again, and
    // the aggregates are as they were.
    let server = backend.start().await;
    let mut ann = TestClient::connect(server.addr).await;
    ann.join(group.group_id, tokens[0].clone(), None)
        .await
        .expect("Ann's token still admits her");
    assert_eq!(my_benchmarks(&mut ann).await, ann_before);
    assert_eq!(view_after_join(&server, &group, &fran).await, view_before);
    // Bob, back with his, finds his and not Ann's.
    let mut bob = TestClient::connect(server.addr).await;
    bob.join(group.group_id, tokens[1].clone(), None)
        .await
        .expect("Bob's token still admits him");
    let bobs = my_benchmarks(&mut bob).await;
    assert_eq!(bobs.current.unwrap().values["calls"], second[1]);
    assert_eq!(bobs.trend[0].mine["calls"], first[1]);
    server.stop().await;
}

#[tokio::test]
async fn anonymous_numbers_are_stored_under_no_member_in_the_embedded_store() {
    anonymous_numbers_are_stored_under_no_member(Backend::Embedded(
        tempfile::tempdir().expect("temp dir"),
    ))
    .await;
}

#[tokio::test]
async fn anonymous_numbers_are_stored_under_no_member_in_redis() {
    anonymous_numbers_are_stored_under_no_member(Backend::Redis {
        redis: TestRedis::start(),
        prefix: unique_prefix("anonymous-at-rest"),
    })
    .await;
}

/// A refused anonymous submission leaves no log line naming its member (the line would say who
/// tried to share anonymously, and when); a refused named one is logged as every refusal is.
#[tokio::test]
async fn a_refused_anonymous_submission_is_logged_with_no_member() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roundtable"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the roundtable binary");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut stderr = child.stderr.take().expect("piped stderr");
    // Read standard error as it comes, so the server never blocks on a full pipe.
    let logs = tokio::spawn(async move {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all).await;
        all
    });
    let mut line = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stdout.read_line(&mut line),
    )
    .await
    .expect("the server prints its address within 10 s")
    .expect("read stdout");
    let addr: std::net::SocketAddr = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("a URL")
        .trim_start_matches("http://")
        .trim_end_matches(['/', '.'])
        .parse()
        .expect("an address");
    let group = create_group(addr, "Quiet refusals").await;
    let mut ann = TestClient::joined_as_member(addr, &group, "Ann").await;
    let ann_id = ann.member_id.unwrap().to_string();
    for sharing in [Sharing::Anonymous, Sharing::Named] {
        ann.fails(
            calls(-1.0, sharing),
            roundtable_protocol::ErrorCode::Invalid,
        )
        .await;
    }
    ann.close().await;
    let pid = child.id().expect("running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("the server stops within 10 s")
        .expect("wait");
    let logs = logs.await.expect("the log reader");
    let refusals: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("request refused") && line.contains(&ann_id))
        .collect();
    assert_eq!(
        refusals.len(),
        1,
        "only the named refusal is logged with Ann: {refusals:#?}"
    );
}
