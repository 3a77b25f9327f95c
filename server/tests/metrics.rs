//! Observability over real sockets: `/metrics` and `/healthz` on the admin listener of a real
//! server on 127.0.0.1, scraped and parsed strictly after real actions over real WebSockets;
//! readiness failing within 5 s when the Redis the server writes to is stopped, and coming back
//! with it.
//!
//! The metrics are the process's, and the tests of this file run at once: every check is on how
//! much a series moved, never on its absolute value.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use roundtable_protocol::{ErrorCode, LogEpoch, Request, ResumePoint, ServerMessage};
use roundtable_server::Limits;
use roundtable_server::store::{EmbeddedOptions, RedisStore, Store, fixtures};
use support::redis::{Persistence, TestRedis, options, unique_prefix};
use support::{Closed, TestClient, TestServer, create_group, http_get};

/// A test asks the server for an admin listener on a free loopback port.
fn admin_on_loopback() -> Option<SocketAddr> {
    Some("127.0.0.1:0".parse().expect("an address"))
}

// --- A strict parser of the OpenMetrics text format, as prometheus-client writes it ----------

/// One sample line: its name, the family it belongs to, its labels and value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A sample's labels, by name.
type LabelSet = BTreeMap<String, String>;

/// A histogram series (its family and labels but `le`) and its buckets as (`le`, count).
type Buckets = BTreeMap<(String, LabelSet), Vec<(f64, f64)>>;

/// A series expected to move: its name, its labels, and by how much at least.
type Expected<'a> = (&'a str, Vec<(&'a str, &'a str)>, f64);

/// A whole scrape: each family's type, and every sample.
#[derive(Debug)]
struct Exposition {
    types: HashMap<String, String>,
    samples: Vec<Sample>,
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_' || first == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(text: &str, line: &str) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => text
            .parse()
            .unwrap_or_else(|_| panic!("bad value {text:?} in {line:?}")),
    }
}

/// Parses `{name="value",...}` at the start of `text`; returns the labels and the rest.
fn parse_labels<'a>(text: &'a str, line: &str) -> (BTreeMap<String, String>, &'a str) {
    let mut labels = BTreeMap::new();
    let mut rest = text
        .strip_prefix('{')
        .unwrap_or_else(|| panic!("no labels in {line:?}"));
    if let Some(after) = rest.strip_prefix('}') {
        return (labels, after);
    }
    loop {
        let (name, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("a label without =\" in {line:?}"));
        assert!(is_label_name(name), "bad label name {name:?} in {line:?}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                Some((index, '"')) => break index,
                Some((_, c)) => value.push(c),
                None => panic!("an unterminated label value in {line:?}"),
            }
        };
        assert!(
            labels.insert(name.to_string(), value).is_none(),
            "label {name} twice in {line:?}"
        );
        let after = &after[end + 1..];
        if let Some(after) = after.strip_prefix(',') {
            rest = after;
        } else if let Some(after) = after.strip_prefix('}') {
            return (labels, after);
        } else {
            panic!("a label is followed by neither , nor }} in {line:?}");
        }
    }
}

/// The family a sample named `name` belongs to, by the declared types: a counter's samples
/// are `<family>_total` (and `_created`), a gauge's `<family>`, a histogram's `<family>_bucket`,
/// `_sum` and `_count` (and `_created`).
fn family_of(name: &str, types: &HashMap<String, String>) -> Option<String> {
    let suffixed = |suffixes: &[&str], kind: &str| {
        suffixes.iter().find_map(|suffix| {
            let family = name.strip_suffix(suffix)?;
            (types.get(family).map(String::as_str) == Some(kind)).then(|| family.to_string())
        })
    };
    if types.get(name).map(String::as_str) == Some("gauge") {
        return Some(name.to_string());
    }
    suffixed(&["_total", "_created"], "counter")
        .or_else(|| suffixed(&["_bucket", "_sum", "_count", "_created"], "histogram"))
}

/// Parses a scrape, failing on anything the format does not allow: an unknown line, a sample
/// of no declared family, a type other than counter, gauge or histogram (no summaries), a
/// missing `# EOF`, histogram buckets that do not add up.
fn parse_exposition(text: &str) -> Exposition {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "the scrape ends with # EOF");
    let mut types = HashMap::new();
    let mut samples = Vec::new();
    for line in &lines[..lines.len() - 1] {
        if let Some(comment) = line.strip_prefix("# ") {
            let (keyword, rest) = comment
                .split_once(' ')
                .unwrap_or_else(|| panic!("bad comment line {line:?}"));
            let (name, detail) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(is_metric_name(name), "bad family name in {line:?}");
            match keyword {
                "HELP" => assert!(!detail.is_empty(), "an empty help in {line:?}"),
                "UNIT" => {}
                "TYPE" => {
                    assert!(
                        ["counter", "gauge", "histogram"].contains(&detail),
                        "type {detail:?} in {line:?}: only counters, gauges and histograms"
                    );
                    assert!(
                        types.insert(name.to_string(), detail.to_string()).is_none(),
                        "family {name} declared twice"
                    );
                }
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("a sample without a value: {line:?}"));
        let name = &line[..name_end];
        assert!(is_metric_name(name), "bad sample name in {line:?}");
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..], line)
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let value = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no space before the value in {line:?}"));
        assert!(
            !value.contains(' '),
            "a timestamp or junk after the value: {line:?}"
        );
        let family = family_of(name, &types)
            .unwrap_or_else(|| panic!("sample {name} belongs to no declared family"));
        if name.ends_with("_bucket") && types.get(&family).map(String::as_str) == Some("histogram")
        {
            assert!(labels.contains_key("le"), "a bucket without le: {line:?}");
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value: parse_value(value, line),
        });
    }
    let exposition = Exposition { types, samples };
    exposition.check_histograms();
    exposition
}

impl Exposition {
    /// The sample `name` with exactly `labels`, 0 when absent (a series appears on first use).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|sample| sample.name == name && sample.labels == wanted)
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} appears twice");
        found.first().map_or(0.0, |sample| sample.value)
    }

    /// Each histogram series' buckets rise with `le`, never fall, and end at `+Inf` with the
    /// series' count.
    fn check_histograms(&self) {
        let mut series: Buckets = BTreeMap::new();
        for sample in &self.samples {
            let Some(family) = sample.name.strip_suffix("_bucket") else {
                continue;
            };
            if self.types.get(family).map(String::as_str) != Some("histogram") {
                continue;
            }
            let mut labels = sample.labels.clone();
            let le = labels.remove("le").expect("le");
            series
                .entry((family.to_string(), labels))
                .or_default()
                .push((parse_value(&le, &le), sample.value));
        }
        for ((family, labels), buckets) in series {
            for pair in buckets.windows(2) {
                assert!(pair[0].0 < pair[1].0, "{family} {labels:?}: le not rising");
                assert!(pair[0].1 <= pair[1].1, "{family} {labels:?}: buckets fall");
            }
            let last = buckets.last().expect("a bucket");
            assert_eq!(last.0, f64::INFINITY, "{family} {labels:?}: no +Inf bucket");
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            assert_eq!(
                last.1,
                self.value(&format!("{family}_count"), &pairs),
                "{family} {labels:?}: +Inf bucket and count differ"
            );
        }
    }

    /// Every label value (bucket bounds aside) is a word of lower-case letters and
    /// underscores: a request kind, a reason, an outcome, a store. Never an id.
    fn assert_no_ids_in_labels(&self) {
        for sample in &self.samples {
            for (name, value) in &sample.labels {
                if name == "le" {
                    continue;
                }
                assert!(
                    !looks_like_uuid(value),
                    "{} has an id in label {name}: {value}",
                    sample.name
                );
                assert!(
                    !value.is_empty() && value.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{} label {name}={value:?} is not from a fixed set of words",
                    sample.name
                );
            }
        }
    }
}

/// A UUID, hyphenated or not, anywhere in `text`.
fn looks_like_uuid(text: &str) -> bool {
    let hex: Vec<bool> = text.chars().map(|c| c.is_ascii_hexdigit()).collect();
    let simple = hex.windows(32).any(|window| window.iter().all(|&h| h));
    let hyphenated = text.as_bytes().windows(36).any(|window| {
        window.iter().enumerate().all(|(index, &byte)| match index {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
    });
    simple || hyphenated
}

async fn scrape(admin: SocketAddr) -> Exposition {
    let (status, body) = http_get(admin, "/metrics", None).await;
    assert_eq!(status, 200, "/metrics answers: {body}");
    parse_exposition(&body)
}

async fn healthz(admin: SocketAddr) -> (u16, serde_json::Value) {
    let (status, body) = http_get(admin, "/healthz", None).await;
    let report = serde_json::from_str(&body)
        .unwrap_or_else(|error| panic!("/healthz is not JSON ({error}): {body}"));
    (status, report)
}

/// Polls `/healthz` until it answers `status`, at most `within`; returns how long it took and
/// the report.
async fn healthz_until(
    admin: SocketAddr,
    status: u16,
    within: Duration,
) -> (Duration, serde_json::Value) {
    let started = Instant::now();
    loop {
        let (now, report) = healthz(admin).await;
        if now == status {
            return (started.elapsed(), report);
        }
        assert!(
            started.elapsed() < within,
            "/healthz did not answer {status} within {within:?}; last: {now} {report}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The series that did not move as the actions of
/// `metrics_move_with_real_actions_and_name_no_one` should have moved them.
fn unmoved_series(before: &Exposition, after: &Exposition) -> Vec<String> {
    let mut expected: Vec<Expected<'_>> = ["join", "rename_group", "raise_hand", "ping"]
        .into_iter()
        .map(|kind| {
            (
                "roundtable_request_duration_seconds_count",
                vec![("kind", kind)],
                1.0,
            )
        })
        .collect();
    expected.extend([
        ("roundtable_fanout_duration_seconds_count", vec![], 14.0),
        (
            "roundtable_disconnects_total",
            vec![("reason", "join_timeout")],
            1.0,
        ),
        (
            "roundtable_disconnects_total",
            vec![("reason", "client_closed")],
            2.0,
        ),
        ("roundtable_resumes_total", vec![("outcome", "replay")], 1.0),
        (
            "roundtable_resumes_total",
            vec![("outcome", "snapshot")],
            1.0,
        ),
        (
            "roundtable_resumes_total",
            vec![("outcome", "snapshot_other_epoch")],
            1.0,
        ),
        ("roundtable_resume_replay_events_count", vec![], 1.0),
        ("roundtable_resume_replay_events_sum", vec![], 1.0),
        (
            "roundtable_rate_limited_frames_total",
            vec![("limit", "requests_per_second")],
            1.0,
        ),
        (
            "roundtable_store_write_duration_seconds_count",
            vec![("store", "embedded"), ("write", "append")],
            14.0,
        ),
        (
            "roundtable_lease_takes_total",
            vec![("outcome", "taken")],
            1.0,
        ),
        (
            "roundtable_store_canary_writes_total",
            vec![("outcome", "ok")],
            1.0,
        ),
    ]);
    expected
        .into_iter()
        .filter_map(|(name, labels, at_least)| {
            let moved = after.value(name, &labels) - before.value(name, &labels);
            (moved < at_least).then(|| format!("{name} {labels:?} moved {moved}, not {at_least}"))
        })
        .collect()
}

#[test]
fn the_parser_refuses_what_the_format_does_not_allow() {
    let good = "# TYPE a counter\na_total 1\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n\
                h_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n# EOF\n";
    let parsed = parse_exposition(good);
    assert_eq!(parsed.value("a_total", &[]), 1.0);
    for bad in [
        // No # EOF.
        "# TYPE a counter\na_total 1\n",
        // A sample of no declared family.
        "# TYPE a counter\nb_total 1\n# EOF\n",
        // A summary.
        "# TYPE s summary\ns{quantile=\"0.5\"} 1\n# EOF\n",
        // Buckets that fall, and a count that differs.
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n# EOF\n",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n# EOF\n",
        // An unterminated label value, junk after the value.
        "# TYPE a counter\na_total{x=\"y} 1\n# EOF\n",
        "# TYPE a counter\na_total 1 2 3\n# EOF\n",
    ] {
        let outcome = std::panic::catch_unwind(|| parse_exposition(bad));
        assert!(outcome.is_err(), "accepted: {bad:?}");
    }
    assert!(looks_like_uuid("x-67e55044-10b1-426f-9247-bb680e5fe0c8"));
    assert!(looks_like_uuid("67e5504410b1426f9247bb680e5fe0c8"));
    assert!(!looks_like_uuid("request_duration_seconds"));
}

#[tokio::test]
async fn metrics_move_with_real_actions_and_name_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixtures::open_embedded(dir.path(), EmbeddedOptions::default()).await;
    let limits = Limits {
        join_timeout_seconds: 1,
        recent_events_max: 4,
        replay_events_max: 6,
        ..Limits::default()
    };
    // A burst of twice the rate passes; this many do not.
    let burst = limits.requests_per_second * 3 + 10;
    let server = TestServer::start_configured(dir.path(), Arc::new(store), |config| {
        config.limits = limits;
        config.admin_listen = admin_on_loopback();
    })
    .await;
    let admin = server.admin.expect("an admin listener");
    let before = scrape(admin).await;

    // Neither route is on the public listener, and the admin listener serves nothing else.
    assert_eq!(http_get(server.addr, "/metrics", None).await.0, 404);
    assert_eq!(http_get(admin, "/", None).await.0, 404);
    assert_eq!(http_get(admin, "/api/groups", None).await.0, 404);

    // Joins, and requests of three kinds.
    let group = create_group(server.addr, "Peers").await;
    let mut facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    // Hands need a live meeting.
    facilitator.start_meeting().await;
    facilitator
        .ok(Request::RenameGroup {
            name: "Peers, renamed".into(),
        })
        .await;
    facilitator.ok(Request::RaiseHand).await;
    let ping = facilitator.send(Request::Ping { client_time_ms: 1 }).await;
    facilitator.answer(ping).await.expect("pong");
    let during = scrape(admin).await;
    assert!(
        during.value("roundtable_connections", &[("state", "joined")]) >= 2.0,
        "two joined connections"
    );
    assert!(during.value("roundtable_live_rooms", &[]) >= 1.0);

    // Ann leaves and resumes by replay; then leaves again, misses more than the replay limit,
    // and resumes by snapshot.
    let resume = ann.resume_point();
    let credential = ann.token_credential();
    ann.close().await;
    facilitator.ok(Request::LowerHand).await;
    let mut ann = TestClient::connect(server.addr).await;
    let caught_up = ann
        .join(group.group_id, credential.clone(), Some(resume))
        .await
        .expect("resume");
    assert!(caught_up.is_none(), "a short gap is replayed");
    let _ = ann.event_where(|_| true).await;
    let resume = ann.resume_point();
    ann.close().await;
    for _ in 0..5 {
        facilitator.ok(Request::RaiseHand).await;
        facilitator.ok(Request::LowerHand).await;
    }
    let mut ann = TestClient::connect(server.addr).await;
    let caught_up = ann
        .join(group.group_id, credential.clone(), Some(resume))
        .await
        .expect("resume");
    assert!(caught_up.is_some(), "a long gap gets a snapshot");
    // A resume from another log epoch (a room loaded anew since) gets a snapshot, counted apart.
    let other_epoch = ResumePoint {
        log_epoch: Some(LogEpoch::random()),
        ..ann.resume_point()
    };
    let mut from_elsewhere = TestClient::connect(server.addr).await;
    let caught_up = from_elsewhere
        .join(group.group_id, credential, Some(other_epoch))
        .await
        .expect("resume");
    assert!(
        caught_up.is_some(),
        "a resume from another log epoch gets a snapshot"
    );

    // A connection that never joins is closed for it.
    let mut idle = TestClient::connect(server.addr).await;
    match idle.until_closed().await {
        Closed::Frame(_, reason) => assert_eq!(reason, "join_timeout"),
        Closed::Ended => panic!("closed without a reason"),
    }

    // A burst past the rate limit.
    let mut eager = TestClient::connect(server.addr).await;
    for _ in 0..burst {
        eager.send(Request::Ping { client_time_ms: 1 }).await;
    }
    let mut limited = false;
    while !limited {
        if let ServerMessage::Error { code, .. } = eager.recv().await {
            limited = code == ErrorCode::RateLimited;
        }
    }

    // A connection's end is counted as its task finishes, which may be a moment after the
    // client saw it: the scrape is retried until every series has moved, for at most 5 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let after = scrape(admin).await;
        let unmoved = unmoved_series(&before, &after);
        if unmoved.is_empty() {
            break after;
        }
        assert!(
            Instant::now() < deadline,
            "these did not move: {unmoved:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    after.assert_no_ids_in_labels();

    // A frame that is not JSON is rejected, and counted by its code.
    let mut clumsy = TestClient::connect(server.addr).await;
    clumsy.send_text("{not json").await;
    let _ = clumsy.recv().await;
    let last = scrape(admin).await;
    assert!(
        last.value("roundtable_rejected_frames_total", &[("code", "invalid")])
            > after.value("roundtable_rejected_frames_total", &[("code", "invalid")])
    );
    last.assert_no_ids_in_labels();

    // The embedded store takes the canary: ready.
    let (_, report) = healthz_until(admin, 200, Duration::from_secs(5)).await;
    assert_eq!(report["ready"], true, "{report}");
    assert_eq!(report["store"]["kind"], "embedded", "{report}");
    assert!(
        report["store"]["last_canary_ok_ms_ago"].as_u64().is_some(),
        "{report}"
    );
    server.stop().await;
}

#[tokio::test]
async fn healthz_fails_within_five_seconds_when_redis_stops_and_recovers_with_it() {
    let mut redis = TestRedis::start_own(Persistence::None);
    let store = RedisStore::connect(redis.url(), options(&unique_prefix("health")))
        .await
        .expect("connect to redis");
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_configured(dir.path(), Arc::new(store), |config| {
        config.admin_listen = admin_on_loopback();
    })
    .await;
    let admin = server.admin.expect("an admin listener");
    let (_, report) = healthz_until(admin, 200, Duration::from_secs(5)).await;
    assert_eq!(report["store"]["kind"], "redis", "{report}");
    assert_eq!(report["failed"], serde_json::json!([]), "{report}");

    // The Redis this test started (and only it) stops.
    redis.stop();
    let (took, report) = healthz_until(admin, 503, Duration::from_secs(5)).await;
    assert!(took <= Duration::from_secs(5), "noticed after {took:?}");
    assert_eq!(report["ready"], false, "{report}");
    assert_eq!(report["failed"], serde_json::json!(["store"]), "{report}");
    assert!(
        report["store"]["error"]
            .as_str()
            .is_some_and(|error| !error.is_empty()),
        "says what failed: {report}"
    );
    let scraped = scrape(admin).await;
    assert!(
        scraped.value(
            "roundtable_store_canary_writes_total",
            &[("outcome", "failed")]
        ) + scraped.value(
            "roundtable_store_canary_writes_total",
            &[("outcome", "timed_out")]
        ) >= 1.0
    );

    // Back with it.
    redis.restart();
    let (_, report) = healthz_until(admin, 200, Duration::from_secs(10)).await;
    assert_eq!(report["ready"], true, "{report}");
    assert!(report["store"]["error"].is_null(), "{report}");
    server.stop().await;
}

#[tokio::test]
async fn a_takeover_of_a_room_another_process_let_expire_is_timed() {
    let redis = TestRedis::start();
    let prefix = unique_prefix("takeover");
    let store = RedisStore::connect(redis.url(), options(&prefix))
        .await
        .expect("connect to redis");
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_configured(dir.path(), Arc::new(store), |config| {
        config.admin_listen = admin_on_loopback();
    })
    .await;
    let admin = server.admin.expect("an admin listener");
    let group = create_group(server.addr, "Peers").await;

    // Another process ran the room and was killed: its short lease is never renewed.
    let other = RedisStore::connect(redis.url(), options(&prefix))
        .await
        .expect("connect to redis");
    assert!(
        other
            .take_lease(group.group_id, "a-killed-process", 200)
            .await
            .expect("take_lease")
    );
    let before = scrape(admin).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let _facilitator = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let after = scrape(admin).await;
    let count = "roundtable_lease_takeover_delay_seconds_count";
    let sum = "roundtable_lease_takeover_delay_seconds_sum";
    assert!(
        after.value(count, &[]) - before.value(count, &[]) >= 1.0,
        "a takeover is counted"
    );
    let delay = after.value(sum, &[]) - before.value(sum, &[]);
    assert!(
        delay >= 0.3,
        "the lease expired about 0.4 s before the join: {delay} s"
    );
    after.assert_no_ids_in_labels();
    server.stop().await;
}
