//! The server's metrics, exposed in the Prometheus text format at `/metrics` on the admin
//! listener (`--admin-listen`; see README's Configuration and SECURITY.md).
//!
//! One registry per process ([`metrics`]): a process runs one server. Every label has a small
//! fixed set of values (a request's kind, a close reason, an error code, a store's kind, an
//! outcome): never a group, member, meeting, session or connection id, so that the series stay
//! few and nothing links a number to a person. What a frame costs is a few atomic additions and
//! a histogram's observation (prometheus-client's families take a read lock to find a series).
//!
//! The fleet's forwarding metrics are kept by [`forwarding`] and registered here.

pub mod forwarding;

use std::sync::LazyLock;
use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// One label: its name and a value from a fixed set.
type Label = [(&'static str, &'static str); 1];
/// Two labels, each from a fixed set.
type Labels2 = [(&'static str, &'static str); 2];
/// A request's kind, as the client sent it (`type`); only kinds the server parsed get here.
type KindLabel = [(&'static str, String); 1];

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections, `state` = `joined` or `not_joined`.
    pub connections: Family<Label, Gauge>,
    /// Rooms live in memory.
    pub live_rooms: Gauge,
    /// From a frame's arrival to its answer being queued, by request kind.
    pub request_seconds: HistogramFamily<KindLabel>,
    /// From recording a step's events to the last of them being queued for every connection.
    pub fanout_seconds: Histogram,
    /// Connections ended, by why.
    pub disconnects: Family<Label, Counter>,
    /// Resumes, by how the client caught up: `replay` or `snapshot`.
    pub resumes: Family<Label, Counter>,
    /// Events replayed to a resuming client.
    pub replay_events: Histogram,
    /// One write of a room to the store, by store kind and write (`append`, `snapshot`).
    pub store_write_seconds: HistogramFamily<Labels2>,
    /// Store writes that failed, by store kind and write.
    pub store_write_failures: Family<Labels2, Counter>,
    /// Attempts to take a room's lease before loading it, by outcome.
    pub lease_takes: Family<Label, Counter>,
    /// Renewals of a live room's lease, by outcome.
    pub lease_renewals: Family<Label, Counter>,
    /// Rooms that stopped because this process no longer owned them.
    pub lease_losses: Counter,
    /// Rooms loaded here on a lease another process let expire, by the time since it expired.
    pub takeover_delay_seconds: Histogram,
    /// Frames answered `rate_limited`, by the limit they hit.
    pub rate_limited_frames: Family<Label, Counter>,
    /// Frames the connection answered with an error (bad frames, refused joins), by code.
    pub rejected_frames: Family<Label, Counter>,
    /// HTTP requests and WebSockets refused by an admission limit, by limit.
    pub admission_refusals: Family<Label, Counter>,
    /// Canary writes to the store, by outcome.
    pub canary_writes: Family<Label, Counter>,
    /// Appends the Redis store sent in one pipeline (one round trip), per pipeline.
    pub redis_append_pipeline_appends: Histogram,
}

fn latency_histogram() -> Histogram {
    // 50 µs to about 3.3 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 17))
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("roundtable");
        let connections = Family::<Label, Gauge>::default();
        registry.register(
            "connections",
            "Open WebSocket connections, joined to a room or not yet",
            connections.clone(),
        );
        let live_rooms = Gauge::default();
        registry.register("live_rooms", "Rooms live in memory", live_rooms.clone());
        let request_seconds: HistogramFamily<KindLabel> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "request_duration_seconds",
            "From a request frame's arrival to its answer being queued, by request kind",
            request_seconds.clone(),
        );
        let fanout_seconds = latency_histogram();
        registry.register(
            "fanout_duration_seconds",
            "From recording events to queueing the last of them for every connection",
            fanout_seconds.clone(),
        );
        let disconnects = Family::<Label, Counter>::default();
        registry.register(
            "disconnects",
            "WebSocket connections ended, by close reason",
            disconnects.clone(),
        );
        let resumes = Family::<Label, Counter>::default();
        registry.register(
            "resumes",
            "Joins that resumed, by how the client caught up (replay; replay_earlier_epoch: a replay from an earlier log epoch of the same log; snapshot; or snapshot_other_epoch: a snapshot because the resume came from a log epoch the room does not hold)",
            resumes.clone(),
        );
        let replay_events =
            Histogram::new(std::iter::once(0.0).chain(exponential_buckets(1.0, 2.0, 12)));
        registry.register(
            "resume_replay_events",
            "Events replayed to a client resuming by replay",
            replay_events.clone(),
        );
        let store_write_seconds: HistogramFamily<Labels2> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "store_write_duration_seconds",
            "One room write to the store, by store kind and write (append, snapshot)",
            store_write_seconds.clone(),
        );
        let store_write_failures = Family::<Labels2, Counter>::default();
        registry.register(
            "store_write_failures",
            "Room writes the store refused or could not do, by store kind and write",
            store_write_failures.clone(),
        );
        let lease_takes = Family::<Label, Counter>::default();
        registry.register(
            "lease_takes",
            "Attempts to take a room's lease before loading it, by outcome",
            lease_takes.clone(),
        );
        let lease_renewals = Family::<Label, Counter>::default();
        registry.register(
            "lease_renewals",
            "Renewals of live rooms' leases, by outcome",
            lease_renewals.clone(),
        );
        let lease_losses = Counter::default();
        registry.register(
            "lease_losses",
            "Rooms closed because this process no longer owned them",
            lease_losses.clone(),
        );
        // 10 ms to about 160 s.
        let takeover_delay_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 15));
        registry.register(
            "lease_takeover_delay_seconds",
            "Takeovers of a room whose lease another process let expire: time since the expiry",
            takeover_delay_seconds.clone(),
        );
        let rate_limited_frames = Family::<Label, Counter>::default();
        registry.register(
            "rate_limited_frames",
            "Frames answered rate_limited, by the limit they hit",
            rate_limited_frames.clone(),
        );
        let rejected_frames = Family::<Label, Counter>::default();
        registry.register(
            "rejected_frames",
            "Frames the connection answered with an error (bad frames, refused joins), by code",
            rejected_frames.clone(),
        );
        let admission_refusals = Family::<Label, Counter>::default();
        registry.register(
            "admission_refusals",
            "HTTP requests and WebSockets refused by an admission limit, by limit",
            admission_refusals.clone(),
        );
        let canary_writes = Family::<Label, Counter>::default();
        registry.register(
            "store_canary_writes",
            "The health check's canary writes to the store, by outcome",
            canary_writes.clone(),
        );
        forwarding::register(&mut registry);
        let redis_append_pipeline_appends = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        registry.register(
            "redis_append_pipeline_appends",
            "Appends the Redis store sent to Redis in one pipeline (one round trip), per pipeline",
            redis_append_pipeline_appends.clone(),
        );
        Metrics {
            registry,
            connections,
            live_rooms,
            request_seconds,
            fanout_seconds,
            disconnects,
            resumes,
            replay_events,
            store_write_seconds,
            store_write_failures,
            lease_takes,
            lease_renewals,
            lease_losses,
            takeover_delay_seconds,
            rate_limited_frames,
            rejected_frames,
            admission_refusals,
            canary_writes,
            redis_append_pipeline_appends,
        }
    }

    /// Every metric in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

fn count(family: &Family<Label, Counter>, name: &'static str, value: &'static str) {
    family.get_or_create(&[(name, value)]).inc();
}

/// A connection opened (not joined yet).
pub fn connection_opened() {
    metrics()
        .connections
        .get_or_create(&[("state", "not_joined")])
        .inc();
}

/// A connection joined a room.
pub fn connection_joined() {
    let connections = &metrics().connections;
    connections.get_or_create(&[("state", "not_joined")]).dec();
    connections.get_or_create(&[("state", "joined")]).inc();
}

/// A connection joined to a room left it without closing (its room was handed to another
/// node in a drain, and the connection joins its client again there).
pub fn connection_left_room() {
    let connections = &metrics().connections;
    connections.get_or_create(&[("state", "joined")]).dec();
    connections.get_or_create(&[("state", "not_joined")]).inc();
}

/// A connection ended, `joined` to a room or not, for `reason`.
pub fn connection_closed(joined: bool, reason: &'static str) {
    let state = if joined { "joined" } else { "not_joined" };
    metrics()
        .connections
        .get_or_create(&[("state", state)])
        .dec();
    count(&metrics().disconnects, "reason", reason);
}

/// A frame answered `rate_limited` by `limit`.
pub fn rate_limited(limit: &'static str) {
    count(&metrics().rate_limited_frames, "limit", limit);
}

/// A frame refused with error `code`.
pub fn rejected(code: &'static str) {
    count(&metrics().rejected_frames, "code", code);
}

/// A request refused by the admission limit `limit`.
pub fn admission_refused(limit: &'static str) {
    count(&metrics().admission_refusals, "limit", limit);
}

/// How a resume caught up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    /// By replaying this many events.
    Replay(usize),
    /// By replaying this many events, from an earlier log epoch of the same log (the room was
    /// loaded again since the client's join: a restart, a takeover, a move).
    ReplayEarlierEpoch(usize),
    /// By a snapshot: the gap was too old, in another meeting, or not in the log.
    Snapshot,
    /// By a snapshot because the resume came from a log epoch the room does not hold (or past
    /// what it stored), or none.
    OtherEpoch,
}

/// A resume caught up as `resumed` says.
pub fn resumed(resumed: Resumed) {
    let m = metrics();
    match resumed {
        Resumed::Replay(events) => {
            count(&m.resumes, "outcome", "replay");
            m.replay_events.observe(events as f64);
        }
        Resumed::ReplayEarlierEpoch(events) => {
            count(&m.resumes, "outcome", "replay_earlier_epoch");
            m.replay_events.observe(events as f64);
        }
        Resumed::Snapshot => count(&m.resumes, "outcome", "snapshot"),
        Resumed::OtherEpoch => count(&m.resumes, "outcome", "snapshot_other_epoch"),
    }
}

/// The outcome of taking a lease before loading a room.
pub fn lease_take(outcome: &'static str) {
    count(&metrics().lease_takes, "outcome", outcome);
}

/// This process took over a room whose lease another process let expire `after_ms` ago.
pub fn takeover(after_ms: u64) {
    metrics()
        .takeover_delay_seconds
        .observe(after_ms as f64 / 1000.0);
}

/// The outcome of renewing a live room's lease.
pub fn lease_renewal(outcome: &'static str) {
    count(&metrics().lease_renewals, "outcome", outcome);
}

/// The outcome of a canary write.
pub fn canary_write(outcome: &'static str) {
    count(&metrics().canary_writes, "outcome", outcome);
}

/// Times one room write to the store `store` (`embedded`, `redis`); `snapshot` when a
/// snapshot goes with it.
pub fn store_write<T, E>(
    store: &'static str,
    snapshot: bool,
    started: Instant,
    result: &Result<T, E>,
) {
    let write = if snapshot { "snapshot" } else { "append" };
    let labels = [("store", store), ("write", write)];
    let m = metrics();
    match result {
        Ok(_) => m
            .store_write_seconds
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64()),
        Err(_) => {
            m.store_write_failures.get_or_create(&labels).inc();
        }
    }
}

/// The Redis store sends `appends` appends in one pipeline.
pub fn redis_append_pipeline(appends: usize) {
    metrics()
        .redis_append_pipeline_appends
        .observe(appends as f64);
}

/// The kind of a parsed request frame, its `type`, for the latency's label.
pub fn request_kind(text: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    serde_json::from_str::<Kind<'_>>(text)
        .map(|kind| kind.kind.into_owned())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// A request on its way to a room, timed from its frame's arrival until the room has queued
/// its answer ([`RequestTimer::done`]).
#[derive(Debug)]
pub struct RequestTimer {
    histogram: Histogram,
    arrived: Instant,
}

impl RequestTimer {
    /// Starts timing a request of `kind` that arrived at `arrived`.
    pub fn start(kind: String, arrived: Instant) -> RequestTimer {
        let histogram = metrics()
            .request_seconds
            .get_or_create_owned(&[("kind", kind)]);
        RequestTimer { histogram, arrived }
    }

    /// The answer is queued.
    pub fn done(self) {
        self.histogram.observe(self.arrived.elapsed().as_secs_f64());
    }
}

/// A value with the timer of the request it is for (a room's command: boxed with it, so that
/// the room's queue slots stay small).
#[derive(Debug)]
pub struct Timed<T> {
    pub value: T,
    pub timer: RequestTimer,
}

impl<T> Timed<T> {
    /// `value`, for a request of `kind` timed from now.
    pub fn now(value: T, kind: &str) -> Timed<T> {
        Timed {
            value,
            timer: RequestTimer::start(kind.to_string(), Instant::now()),
        }
    }
}

/// Records a request of `kind` answered in the connection itself (a ping, a join).
pub fn request_answered(kind: String, arrived: Instant) {
    metrics()
        .request_seconds
        .get_or_create(&[("kind", kind)])
        .observe(arrived.elapsed().as_secs_f64());
}
