//! A fleet of joined client connections, and open-loop send phases over it.
//!
//! Every member has its own reader task. Senders run one task per room that writes on behalf of
//! the room's members in turn, at fixed intended times (open loop). The intended and the actual
//! send time of every action are kept in-process; a reader that receives the action looks them
//! up and records two latencies on the same monotonic clock: `now - actual` (send to receive)
//! and `now - intended` (open-loop: also counts time the action waited in the generator, e.g.
//! behind a full socket or a late timer tick, so a struggling server cannot hide by slowing the
//! sender down).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::client::{self, Incoming, JoinAs, RoomPlan, WsSink, WsSource};
use crate::peer::{Protocol, RunningPeer};
use crate::stats::{self, LateSpell, LateTimeline, Latency};
use crate::sys;

/// How the fleet is laid out.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    /// Members per room (rooms may differ in size, e.g. a last partial room).
    pub room_sizes: Vec<usize>,
    /// Most WebSocket handshakes + joins in flight at once.
    pub handshake_concurrency: usize,
    /// Size of a relay action frame, to match the size of a Roundtable event frame.
    pub payload_bytes: usize,
}

impl FleetSpec {
    /// `clients` members in rooms of `room_size` (the last room takes the remainder).
    pub fn clients_in_rooms(clients: usize, room_size: usize) -> Vec<usize> {
        let room_size = room_size.max(1);
        let mut sizes = vec![room_size; clients / room_size];
        if !clients.is_multiple_of(room_size) {
            sizes.push(clients % room_size);
        }
        sizes
    }
}

/// State shared by the readers, the senders and the fleet.
#[derive(Debug)]
struct Shared {
    start: Instant,
    protocol: Protocol,
    /// Per member: its k-th action's intended and actual send time (ns since `start`), and the
    /// phase it was sent in.
    send_times: Vec<Mutex<Vec<Sent>>>,
    /// The phase now running; deliveries of earlier phases' actions do not count in it.
    phase: AtomicU64,
    /// Deliveries of an earlier phase's action that arrived during a later phase.
    stale: AtomicU64,
    /// Roundtable: member id -> member index.
    member_index: OnceLock<HashMap<String, usize>>,
    histogram: Mutex<Histogram<u64>>,
    /// Latency from the intended send time, and when it passed 10 ms (one lock per delivery).
    from_intended: Mutex<FromIntended>,
    /// When the running phase's first action was due.
    phase_start_ns: AtomicU64,
    delivered: AtomicU64,
    last_delivery_ns: AtomicU64,
    /// Error or closing frames from the server.
    errors: AtomicU64,
    /// Deliveries that were out of order, duplicated, or of an unknown action.
    anomalies: AtomicU64,
    /// Connections that ended while the fleet was live.
    closed: AtomicU64,
    stopping: AtomicBool,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn record(&self, sender: usize, k: u64) {
        let now = self.now_ns();
        let sent = self
            .send_times
            .get(sender)
            .and_then(|times| times.lock().expect("send times").get(k as usize).copied());
        let Some(Sent {
            intended,
            actual,
            phase,
        }) = sent
        else {
            self.anomalies.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if phase != self.phase.load(Ordering::Relaxed) {
            self.stale.fetch_add(1, Ordering::Relaxed);
            return;
        }
        stats::record_ns(
            &mut self.histogram.lock().expect("histogram"),
            now.saturating_sub(actual),
        );
        let mut from_intended = self.from_intended.lock().expect("histogram");
        stats::record_ns(&mut from_intended.histogram, now.saturating_sub(intended));
        from_intended.late.record(
            intended.saturating_sub(self.phase_start_ns.load(Ordering::Relaxed)),
            now.saturating_sub(intended),
        );
        drop(from_intended);
        self.delivered.fetch_add(1, Ordering::Relaxed);
        self.last_delivery_ns.fetch_max(now, Ordering::Relaxed);
    }
}

/// Latency from the intended send time: its histogram, and its late spells.
#[derive(Debug)]
struct FromIntended {
    histogram: Histogram<u64>,
    late: LateTimeline,
}

/// When and in which phase an action was sent.
#[derive(Debug, Clone, Copy)]
struct Sent {
    intended: u64,
    actual: u64,
    phase: u64,
}

/// The outcome of one send phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseResult {
    /// Target actions per second over the whole fleet.
    pub rate: f64,
    pub duration_s: f64,
    /// When its first action was due, in milliseconds since the Unix epoch: to set its late
    /// spells beside the server's log.
    pub started_unix_ms: u64,
    pub rooms: usize,
    pub members: usize,
    /// Actions written.
    pub sent: u64,
    /// Actions the generator could not write before its deadline.
    pub unsent: u64,
    /// Deliveries expected: every action reaches every member of its room, sender included.
    pub expected: u64,
    pub delivered: u64,
    /// Deliveries per second, from the phase start to the last delivery.
    pub deliveries_per_s: f64,
    /// Send-to-receive latency, from the moment the action was written.
    #[serde(flatten)]
    pub latency: Latency,
    /// Latency from the action's intended send time (open loop, includes generator lag).
    pub from_intended: Latency,
    /// When deliveries came more than 10 ms after their action was due (open loop).
    pub late_spells: Vec<LateSpell>,
    pub errors: u64,
    pub anomalies: u64,
    pub closed: u64,
    /// Deliveries of an earlier phase's actions that arrived during this one (the server was
    /// still catching up; this phase's latencies are then pessimistic).
    pub stale: u64,
    /// CPU use of the server and of the generator during the phase, % of one core.
    pub server_cpu_pct: Option<f64>,
    pub generator_cpu_pct: Option<f64>,
    /// Delivered == expected, and no errors, anomalies or closed connections.
    pub passed: bool,
}

/// Joined connections, ready for send phases.
#[derive(Debug)]
pub struct Fleet {
    pub protocol: Protocol,
    /// Member indices per room.
    pub rooms: Vec<Vec<usize>>,
    pub identities: Vec<client::Identity>,
    pub payload_bytes: usize,
    /// Seconds from the first handshake to the last completed join.
    pub connect_secs: f64,
    sinks: Vec<Option<WsSink>>,
    readers: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl Fleet {
    /// Connect and join every member, at most `handshake_concurrency` at a time.
    pub async fn connect(
        peer: &RunningPeer,
        plans: &[RoomPlan],
        spec: &FleetSpec,
    ) -> Result<Fleet> {
        let protocol = peer.kind.protocol();
        if plans.len() != spec.room_sizes.len() {
            bail!(
                "{} room plans for {} rooms",
                plans.len(),
                spec.room_sizes.len()
            );
        }
        let mut rooms = Vec::new();
        let mut room_of = Vec::new();
        for (room, &size) in spec.room_sizes.iter().enumerate() {
            rooms.push((room_of.len()..room_of.len() + size).collect::<Vec<_>>());
            room_of.extend(std::iter::repeat_n(room, size));
        }
        let members = room_of.len();
        let shared = Arc::new(Shared {
            start: Instant::now(),
            protocol,
            send_times: (0..members).map(|_| Mutex::new(Vec::new())).collect(),
            phase: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            member_index: OnceLock::new(),
            histogram: Mutex::new(stats::new_histogram()),
            from_intended: Mutex::new(FromIntended {
                histogram: stats::new_histogram(),
                late: LateTimeline::default(),
            }),
            phase_start_ns: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            last_delivery_ns: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            anomalies: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        });

        let started = Instant::now();
        let permits = Arc::new(Semaphore::new(spec.handshake_concurrency.max(1)));
        let mut joins = JoinSet::new();
        for (index, &room) in room_of.iter().enumerate() {
            let permits = permits.clone();
            let plan = plans[room].clone();
            let port = peer.port;
            joins.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("semaphore open");
                let mut ws = client::connect(port).await?;
                let how = JoinAs::Invite {
                    display_name: format!("load-{index}"),
                };
                let (identity, pending) = client::join(protocol, &mut ws, &plan, &how).await?;
                anyhow::Ok((index, ws, identity, pending))
            });
        }
        let mut sinks: Vec<Option<WsSink>> = (0..members).map(|_| None).collect();
        let mut identities = vec![client::Identity::default(); members];
        let mut readers = Vec::with_capacity(members);
        // Every join task ends within its own timeouts, so this loop is bounded.
        while let Some(joined) = joins.join_next().await {
            let (index, ws, identity, pending) = match joined.context("join task")? {
                Ok(joined) => joined,
                Err(err) => {
                    joins.abort_all();
                    for reader in &readers {
                        JoinHandle::abort(reader);
                    }
                    return Err(err.context(format!("connecting member of {}", peer.kind)));
                }
            };
            let (sink, source) = ws.split();
            sinks[index] = Some(sink);
            identities[index] = identity;
            readers.push(tokio::spawn(read_loop(shared.clone(), source, pending)));
        }
        let connect_secs = started.elapsed().as_secs_f64();

        if protocol == Protocol::Roundtable {
            let mut index = HashMap::new();
            for (member, identity) in identities.iter().enumerate() {
                let id = identity
                    .member_id
                    .clone()
                    .context("join gave no member id")?;
                index.insert(id, member);
            }
            let _ = shared.member_index.set(index);
        }

        Ok(Fleet {
            protocol,
            rooms,
            identities,
            payload_bytes: spec.payload_bytes,
            connect_secs,
            sinks,
            readers,
            shared,
        })
    }

    pub fn members(&self) -> usize {
        self.sinks.len()
    }

    /// Connections that ended on their own so far.
    pub fn closed(&self) -> u64 {
        self.shared.closed.load(Ordering::Relaxed)
    }

    /// The smallest per-connection request limit announced by the server, if any.
    pub fn requests_per_second(&self) -> Option<u32> {
        self.identities
            .iter()
            .filter_map(|identity| identity.requests_per_second)
            .min()
    }

    /// The highest per-member action rate a fleet-wide `rate` implies.
    pub fn per_member_rate(&self, rate: f64) -> f64 {
        let smallest_room = self.rooms.iter().map(Vec::len).min().unwrap_or(1).max(1);
        rate / self.rooms.len().max(1) as f64 / smallest_room as f64
    }

    /// Send `rate` actions per second over the fleet for `duration` (open loop, round-robin
    /// over rooms and over each room's members), then wait up to `drain` for every delivery.
    pub async fn run_phase(
        &mut self,
        peer: &RunningPeer,
        rate: f64,
        duration: Duration,
        drain: Duration,
    ) -> Result<PhaseResult> {
        if rate.is_nan() || rate <= 0.0 || duration.is_zero() {
            bail!("a phase needs a positive rate and duration");
        }
        let room_count = self.rooms.len();
        let total = ((rate * duration.as_secs_f64()).round() as u64).max(room_count as u64);
        let shared = self.shared.clone();

        // Reset the per-phase counters. Actions of an earlier phase still in flight are
        // counted as stale, not as deliveries of this one.
        let phase = shared.phase.fetch_add(1, Ordering::Relaxed) + 1;
        let stale_before = shared.stale.load(Ordering::Relaxed);
        shared.histogram.lock().expect("histogram").reset();
        {
            let mut from_intended = shared.from_intended.lock().expect("histogram");
            from_intended.histogram.reset();
            from_intended.late.clear();
        }
        shared.delivered.store(0, Ordering::Relaxed);
        let errors_before = shared.errors.load(Ordering::Relaxed);
        let anomalies_before = shared.anomalies.load(Ordering::Relaxed);
        let closed_before = shared.closed.load(Ordering::Relaxed);
        let server_cpu_before = peer.cpu_seconds();
        let generator_cpu_before = sys::cpu_seconds(None);

        // 20 ms to spawn the senders.
        let lead = Duration::from_millis(20);
        let phase_start_ns = shared.now_ns() + lead.as_nanos() as u64;
        let started_unix_ms = (std::time::SystemTime::now() + lead)
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64);
        shared
            .phase_start_ns
            .store(phase_start_ns, Ordering::Relaxed);
        shared
            .last_delivery_ns
            .store(phase_start_ns, Ordering::Relaxed);
        let interval_ns = 1e9 / rate;
        // The generator gives up writing this long after the phase should have ended.
        let deadline_ns = phase_start_ns + duration.as_nanos() as u64 + 10_000_000_000;

        let mut senders = Vec::with_capacity(room_count);
        for (room, members) in self.rooms.iter().enumerate() {
            let room_sinks: Vec<(usize, WsSink)> = members
                .iter()
                .map(|&member| (member, self.sinks[member].take().expect("sink present")))
                .collect();
            // Global action i goes to room i % rooms, intended at i * interval.
            let count =
                total / room_count as u64 + u64::from((room as u64) < total % room_count as u64);
            let task = RoomSender {
                shared: shared.clone(),
                sinks: room_sinks,
                count,
                first_index: room as u64,
                stride: room_count as u64,
                phase_start_ns,
                interval_ns,
                deadline_ns,
                phase,
                payload_bytes: self.payload_bytes,
            };
            senders.push(tokio::spawn(task.run()));
        }
        let mut sent = 0u64;
        let mut expected = 0u64;
        let mut unsent = 0u64;
        for (room, sender) in senders.into_iter().enumerate() {
            let outcome = sender.await.context("sender task")?;
            sent += outcome.sent;
            unsent += outcome.unsent;
            expected += outcome.sent * self.rooms[room].len() as u64;
            for (member, sink) in outcome.sinks {
                self.sinks[member] = Some(sink);
            }
        }

        // Drain: bounded by `drain`.
        let drain_deadline = Instant::now() + drain;
        while shared.delivered.load(Ordering::Relaxed) < expected && Instant::now() < drain_deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A little longer, to catch deliveries beyond the expected count.
        tokio::time::sleep(Duration::from_millis(20)).await;

        let delivered = shared.delivered.load(Ordering::Relaxed);
        let window_ns = shared
            .last_delivery_ns
            .load(Ordering::Relaxed)
            .saturating_sub(phase_start_ns)
            .max(1);
        let wall = window_ns as f64 / 1e9;
        let latency = Latency::of(&shared.histogram.lock().expect("histogram"));
        let (from_intended, late_spells) = {
            let from_intended = shared.from_intended.lock().expect("histogram");
            (
                Latency::of(&from_intended.histogram),
                from_intended.late.spells(),
            )
        };
        let errors = shared.errors.load(Ordering::Relaxed) - errors_before;
        let anomalies = shared.anomalies.load(Ordering::Relaxed) - anomalies_before;
        let closed = shared.closed.load(Ordering::Relaxed) - closed_before;
        let stale = shared.stale.load(Ordering::Relaxed) - stale_before;
        let pct = |before: Option<f64>, after: Option<f64>| match (before, after) {
            (Some(before), Some(after)) => Some(100.0 * (after - before) / wall),
            _ => None,
        };
        Ok(PhaseResult {
            rate,
            duration_s: duration.as_secs_f64(),
            started_unix_ms,
            rooms: room_count,
            members: self.members(),
            sent,
            unsent,
            expected,
            delivered,
            deliveries_per_s: delivered as f64 / wall,
            latency,
            from_intended,
            late_spells,
            errors,
            anomalies,
            closed,
            stale,
            server_cpu_pct: pct(server_cpu_before, peer.cpu_seconds()),
            generator_cpu_pct: pct(generator_cpu_before, sys::cpu_seconds(None)),
            passed: delivered == expected
                && unsent == 0
                && errors == 0
                && anomalies == 0
                && closed == 0,
        })
    }

    /// Close every connection.
    pub async fn close(mut self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        for sink in self.sinks.iter_mut().filter_map(Option::as_mut) {
            let _ = tokio::time::timeout(Duration::from_millis(100), sink.close()).await;
        }
        for reader in &self.readers {
            reader.abort();
        }
    }
}

struct RoomSender {
    shared: Arc<Shared>,
    sinks: Vec<(usize, WsSink)>,
    count: u64,
    first_index: u64,
    stride: u64,
    phase_start_ns: u64,
    interval_ns: f64,
    deadline_ns: u64,
    phase: u64,
    payload_bytes: usize,
}

struct SenderOutcome {
    sent: u64,
    unsent: u64,
    sinks: Vec<(usize, WsSink)>,
}

impl RoomSender {
    async fn run(mut self) -> SenderOutcome {
        let protocol = self.shared.protocol;
        let mut sent = 0u64;
        let mut dirty = vec![false; self.sinks.len()];
        let mut failed = false;
        // Bounded by `count` and by `deadline_ns`.
        while sent < self.count && !failed {
            let now = self.shared.now_ns();
            if now > self.deadline_ns {
                break;
            }
            let due_ns = |j: u64| {
                self.phase_start_ns
                    + ((self.first_index + j * self.stride) as f64 * self.interval_ns) as u64
            };
            let next_due = due_ns(sent);
            if next_due > now {
                tokio::time::sleep(Duration::from_nanos(next_due - now)).await;
                continue;
            }
            // Write everything that is due, then flush once per connection.
            while sent < self.count && due_ns(sent) <= self.shared.now_ns() {
                let slot = (sent % self.sinks.len() as u64) as usize;
                let (member, sink) = &mut self.sinks[slot];
                let k = {
                    let mut times = self.shared.send_times[*member].lock().expect("send times");
                    times.push(Sent {
                        intended: due_ns(sent),
                        actual: self.shared.now_ns(),
                        phase: self.phase,
                    });
                    times.len() as u64 - 1
                };
                let frame = client::action_frame(protocol, *member, k, self.payload_bytes);
                if sink.feed(frame).await.is_err() {
                    failed = true;
                    break;
                }
                dirty[slot] = true;
                sent += 1;
            }
            for (slot, (_, sink)) in self.sinks.iter_mut().enumerate() {
                if std::mem::take(&mut dirty[slot]) && sink.flush().await.is_err() {
                    failed = true;
                }
            }
        }
        SenderOutcome {
            sent,
            unsent: self.count - sent,
            sinks: self.sinks,
        }
    }
}

async fn read_loop(shared: Arc<Shared>, mut source: WsSource, pending: Vec<Utf8Bytes>) {
    let mut reader = Reader::default();
    for text in pending {
        reader.handle(&shared, &text);
    }
    // Ends when the connection does, or when the fleet aborts the task.
    while let Some(message) = source.next().await {
        match message {
            Ok(Message::Text(text)) => reader.handle(&shared, &text),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if !shared.stopping.load(Ordering::Relaxed) {
        shared.closed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Per-connection bookkeeping of a reader.
#[derive(Default)]
struct Reader {
    /// Per sender: the next action index expected (relay) or seen so far (roundtable).
    next_k: HashMap<usize, u64>,
    last_seq: u64,
}

impl Reader {
    fn handle(&mut self, shared: &Shared, text: &str) {
        let Ok(incoming) = client::parse_incoming(shared.protocol, text) else {
            shared.anomalies.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match incoming {
            Incoming::Relay { sender, k } => {
                let next = self.next_k.entry(sender).or_insert(0);
                if k != *next {
                    shared.anomalies.fetch_add(1, Ordering::Relaxed);
                }
                *next = k + 1;
                shared.record(sender, k);
            }
            Incoming::Hand {
                seq,
                member_id,
                raised,
            } => {
                self.check_seq(shared, seq);
                let Some(&sender) = shared
                    .member_index
                    .get()
                    .and_then(|index| index.get(member_id))
                else {
                    shared.anomalies.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                let next = self.next_k.entry(sender).or_insert(0);
                let k = *next;
                *next += 1;
                // Even actions raise, odd ones lower.
                if raised != k.is_multiple_of(2) {
                    shared.anomalies.fetch_add(1, Ordering::Relaxed);
                }
                shared.record(sender, k);
            }
            Incoming::OtherEvent { seq } => self.check_seq(shared, seq),
            Incoming::Snapshot { seq } => self.last_seq = self.last_seq.max(seq),
            Incoming::Error => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
            }
            Incoming::Ack | Incoming::Other => {}
        }
    }

    fn check_seq(&mut self, shared: &Shared, seq: u64) {
        if seq <= self.last_seq {
            shared.anomalies.fetch_add(1, Ordering::Relaxed);
        }
        self.last_seq = seq;
    }
}
