//! The members of the `cluster` scenario: each a connection to one node that it re-establishes
//! (with its member token and last seq, on the next node that answers) when the node dies or
//! closes it, and a log of everything it received (`member_log.rs`), to time deliveries and
//! to count lost, duplicated and reordered events afterwards.
//!
//! Sends are open loop (see `fleet.rs`): each room's sender writes its members' actions at fixed
//! intended times. An action's event is matched to its send time by its sender, who receives
//! its own event first in line after its earlier actions' (a member's actions take effect in the
//! order it sent them); the receivers log `(seq, time)` and are joined with the sends by seq
//! afterwards, so no receiver depends on the sender having seen the event first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::member_log::Pending;
pub use super::member_log::{Clock, MemberLog, Receipt, Reconnect, RoomShared, SendRecord};
use crate::client::{self, JoinAs, RoomPlan, WsSink, WsSource};
use crate::peer::Protocol;

/// Request ids of actions start here (the join is 1).
const FIRST_ACTION_ID: u64 = 1000;
/// Most deliveries one member logs; more are counted, not kept.
pub const RECEIPTS_MAX: usize = 2_000_000;
/// Longest a single send may wait for the connection.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest one reconnect attempt (connect and resume join) may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait between two reconnect attempts.
const BACKOFF_MAX_MS: u64 = 250;

/// One member.
#[derive(Debug)]
pub struct Member {
    pub room: usize,
    pub position: usize,
    pub home: usize,
    pub log: Mutex<MemberLog>,
    sink: tokio::sync::Mutex<Option<WsSink>>,
}

impl Member {
    pub fn log(&self) -> std::sync::MutexGuard<'_, MemberLog> {
        self.log.lock().expect("member log")
    }
}

/// Everything the members and senders share.
#[derive(Debug)]
pub struct World {
    pub clock: Clock,
    pub ports: Vec<u16>,
    pub rooms: Vec<RoomShared>,
    pub members: Vec<Arc<Member>>,
    pub stopping: AtomicBool,
    /// Where a member that lost its connection reconnects.
    pub balance: super::balancer::Balance,
}

/// The frame fields the members look at.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    ty: &'a str,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default, borrow)]
    event: Option<FrameEvent<'a>>,
    #[serde(default, borrow)]
    code: Option<&'a str>,
    #[serde(default, borrow)]
    reason: Option<&'a str>,
    #[serde(default)]
    hands: Option<Vec<serde_json::Value>>,
    /// An ack's result: its kind, and a join's log epoch.
    #[serde(default, borrow)]
    result: Option<FrameResult<'a>>,
    /// Present on a `presence` message about one member; absent on the one ending a replay.
    #[serde(default)]
    change: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct FrameResult<'a> {
    #[serde(borrow)]
    kind: &'a str,
    #[serde(default)]
    log_epoch: Option<String>,
    /// A join's catch-up: `snapshot` or `replay`.
    #[serde(default, borrow)]
    catch_up: Option<&'a str>,
}

#[derive(Deserialize)]
struct FrameEvent<'a> {
    #[serde(borrow)]
    kind: &'a str,
    #[serde(default, borrow)]
    member_id: Option<&'a str>,
}

impl World {
    pub(super) fn handle(&self, member: &Member, node: usize, text: &str) {
        let now = self.clock.now_ns();
        let mut log = member.log();
        let Ok(frame) = serde_json::from_str::<Frame<'_>>(text) else {
            *log.errors.entry("unparsable_frame".into()).or_default() += 1;
            return;
        };
        match frame.ty {
            "event" => {
                let Some(seq) = frame.seq else {
                    *log.errors.entry("event_without_seq".into()).or_default() += 1;
                    return;
                };
                if log.seen.contains(&seq) {
                    log.duplicates += 1;
                    return;
                }
                if seq < log.last_seq {
                    log.reordered += 1;
                }
                log.seen.insert(seq);
                log.last_seq = log.last_seq.max(seq);
                log.last_event_ns = now;
                let Some(event) = frame.event else { return };
                let raised = match event.kind {
                    "hand_raised" => true,
                    "hand_lowered" => false,
                    _ => return,
                };
                let room = &self.rooms[member.room];
                let Some(sender) = event
                    .member_id
                    .and_then(|id| room.positions.get()?.get(id).copied())
                else {
                    return;
                };
                if log.receipts.len() < RECEIPTS_MAX {
                    log.receipts.push(Receipt {
                        seq,
                        recv_ns: now,
                        node,
                        sender,
                        raised,
                    });
                } else {
                    log.receipts_dropped += 1;
                }
                if sender == member.position {
                    log.own_raised = raised;
                    if let Some(sent) = log.pending.pop_front() {
                        if sent.raise != raised {
                            log.mismatched += 1;
                        }
                        if sent.probe {
                            room.probes
                                .lock()
                                .expect("probes")
                                .push((seq, sent.intended_ns));
                        }
                        room.sends.lock().expect("sends").insert(
                            seq,
                            SendRecord {
                                intended_ns: sent.intended_ns,
                                actual_ns: sent.actual_ns,
                                sender_node: sent.node,
                                phase: sent.phase,
                                probe: sent.probe,
                            },
                        );
                    }
                }
            }
            "snapshot" => {
                if let Some(seq) = frame.seq {
                    log.last_seq = log.last_seq.max(seq);
                    log.resume_snapshots.push(seq);
                }
                if let Some(rejoined) = log
                    .reconnects
                    .last_mut()
                    .filter(|r| r.in_place && r.rejoined_ns.is_none())
                {
                    rejoined.rejoined_ns = Some(now);
                    rejoined.snapshot_seq = frame.seq;
                }
                if let Some(hands) = frame.hands {
                    let id = log.member_id.clone();
                    log.own_raised = hands.iter().any(|hand| hand.to_string().contains(&id));
                }
                log.catching_up = false;
            }
            "presence" if frame.change.is_none() => log.catching_up = false,
            "ack" if frame.result.as_ref().is_some_and(|r| r.kind == "joined") => {
                let result = frame.result.expect("a joined ack");
                let replay = result.catch_up == Some("replay");
                log.joined_in_place(now, node, result.log_epoch, replay);
            }
            "ack" => {
                if let Some(id) = frame.id.filter(|&id| id >= FIRST_ACTION_ID) {
                    log.acked += 1;
                    if let Some(at) = log.pending.iter().position(|p| p.id == id) {
                        let pending = log.pending.remove(at);
                        if pending.is_some_and(|p| p.before_move) {
                            log.acked_no_op_after_move += 1;
                        } else {
                            log.acked_without_event += 1;
                        }
                    }
                }
            }
            "error" => {
                if let Some(id) = frame.id
                    && let Some(at) = log.pending.iter().position(|p| p.id == id)
                {
                    log.pending.remove(at);
                }
                let code = frame.code.unwrap_or("unknown");
                *log.errors.entry(code.to_owned()).or_default() += 1;
            }
            "closing" => {
                let reason = frame.reason.or(frame.code).unwrap_or("unknown");
                *log.errors.entry(format!("closing:{reason}")).or_default() += 1;
            }
            _ => {}
        }
    }

    /// Send one hand action of `member` (raise if its hand is down, else lower), unless it has
    /// no live connection. Returns whether it was written.
    pub async fn send_action(
        &self,
        member: &Member,
        phase: u64,
        intended_ns: u64,
        probe: bool,
    ) -> bool {
        let mut sink = member.sink.lock().await;
        let Some(open) = sink.as_mut() else {
            return false;
        };
        let (id, raise) = {
            let mut log = member.log();
            let Some(node) = log.node else { return false };
            if log.catching_up {
                return false;
            }
            let raise = match log.pending.back() {
                Some(last) => !last.raise,
                None => !log.own_raised,
            };
            let id = FIRST_ACTION_ID + log.next_action;
            log.next_action += 1;
            log.pending.push_back(Pending {
                id,
                raise,
                intended_ns,
                actual_ns: self.clock.now_ns(),
                node,
                phase,
                probe,
                before_move: false,
            });
            (id, raise)
        };
        let kind = if raise { "raise_hand" } else { "lower_hand" };
        let frame = Message::text(format!("{{\"v\":1,\"id\":{id},\"type\":\"{kind}\"}}"));
        match tokio::time::timeout(SEND_TIMEOUT, open.send(frame)).await {
            Ok(Ok(())) => true,
            _ => {
                *sink = None;
                let mut log = member.log();
                if let Some(at) = log.pending.iter().position(|p| p.id == id) {
                    log.pending.remove(at);
                }
                false
            }
        }
    }

    /// Whether `member`'s last own action has had its event (or was refused).
    pub fn settled(&self, member: &Member) -> bool {
        member.log().pending.is_empty()
    }
}

/// Join every member on its home node (at most `concurrency` handshakes at once) and start
/// each member's connection task.
pub async fn connect_all(
    world: &Arc<World>,
    concurrency: usize,
    tasks: &mut JoinSet<()>,
) -> Result<()> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut joins = JoinSet::new();
    for (index, member) in world.members.iter().enumerate() {
        let (world, member, permits) = (world.clone(), member.clone(), permits.clone());
        joins.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            let plan = &world.rooms[member.room].plan;
            let node = member.home;
            let how = JoinAs::Invite {
                display_name: format!("load-{index}"),
            };
            let joined = async {
                let mut ws = client::connect(world.ports[node]).await?;
                client::join(Protocol::Roundtable, &mut ws, plan, &how)
                    .await
                    .map(|j| (ws, j))
            }
            .await;
            (index, node, joined)
        });
    }
    while let Some(joined) = joins.join_next().await {
        let (index, node, joined) = joined.context("join task")?;
        let (ws, (identity, pending)) = match joined {
            Ok(joined) => joined,
            Err(err) => {
                joins.abort_all();
                let text = format!("{err:#}");
                if text.contains("room_elsewhere") {
                    bail!(
                        "node {node} refused a member's join with room_elsewhere: the room is live \
                         on another node and this server build does not forward to it (issue 22 \
                         point 1, \"any node serves any client\"). The cluster scenario needs \
                         forwarding; run it with --nodes 1 to measure a single node.\n({text})"
                    );
                }
                bail!("joining member {index} on node {node}: {text}");
            }
        };
        let member = world.members[index].clone();
        {
            let mut log = member.log();
            log.member_id = identity
                .member_id
                .clone()
                .context("join gave no member id")?;
            log.token = identity
                .member_token
                .clone()
                .context("join gave no token")?;
            log.meeting_id = identity
                .meeting_id
                .clone()
                .context("join gave no meeting id")?;
            log.first_seq = identity.snapshot_seq.unwrap_or(0);
            log.log_epoch.clone_from(&identity.log_epoch);
            log.last_seq = log.first_seq;
            log.node = Some(node);
        }
        world.balance.joined(node);
        let (sink, source) = ws.split();
        *member.sink.lock().await = Some(sink);
        tasks.spawn(run_member(world.clone(), member, node, source, pending));
    }
    for room in &world.rooms {
        let positions = room
            .members
            .iter()
            .enumerate()
            .map(|(position, &index)| (world.members[index].log().member_id.clone(), position))
            .collect();
        let _ = room.positions.set(positions);
    }
    Ok(())
}

/// Which node each member connects to first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Member `p` of room `r` on node `(r + p) % nodes`: every room has members on every node,
    /// whoever owns it (needs a server that forwards to the owner).
    Spread,
    /// Every member of room `r` on node `r % nodes`, where the room is created and started:
    /// sticky routing by group. The nodes are started without `--internal-listen` (no
    /// forwarding), so this also measures servers that cannot forward. Members that lose
    /// their node move to the next one together.
    Sticky,
}

/// Build the members of `rooms`, `room_size` each, at home as `placement` says.
pub fn layout(
    room_plans: Vec<RoomPlan>,
    room_size: usize,
    nodes: usize,
    placement: Placement,
) -> (Vec<RoomShared>, Vec<Arc<Member>>) {
    let mut rooms = Vec::with_capacity(room_plans.len());
    let mut members = Vec::new();
    for (room, plan) in room_plans.into_iter().enumerate() {
        let mut indexes = Vec::with_capacity(room_size);
        for position in 0..room_size {
            indexes.push(members.len());
            members.push(Arc::new(Member {
                room,
                position,
                home: match placement {
                    Placement::Spread => (room + position) % nodes.max(1),
                    Placement::Sticky => room % nodes.max(1),
                },
                log: Mutex::new(MemberLog::default()),
                sink: tokio::sync::Mutex::new(None),
            }));
        }
        rooms.push(RoomShared {
            plan,
            positions: OnceLock::new(),
            members: indexes,
            sends: Mutex::new(HashMap::new()),
            probes: Mutex::new(Vec::new()),
        });
    }
    (rooms, members)
}

/// A member's connection task: read until the connection ends, then get back (bounded by
/// [`World::reconnect_timeout`]) and read again, until the run stops.
async fn run_member(
    world: Arc<World>,
    member: Arc<Member>,
    mut node: usize,
    mut source: WsSource,
    mut pending: Vec<Utf8Bytes>,
) {
    loop {
        for text in pending.drain(..) {
            world.handle(&member, node, &text);
        }
        // Ends when the connection does (a killed node's socket is closed by its kernel).
        while let Some(message) = source.next().await {
            match message {
                Ok(Message::Text(text)) => world.handle(&member, node, &text),
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        if world.stopping.load(Ordering::Relaxed) {
            return;
        }
        // Both halves go before the member reconnects: the socket is closed only once neither
        // half holds it, and a member holding its old socket while it tries new ones needs two
        // descriptors (12,000 members reconnecting at once ran the tool out of them: EMFILE).
        *member.sink.lock().await = None;
        drop(source);
        world.balance.left(node);
        let lost_ns = world.clock.now_ns();
        let (token, meeting_id) = {
            let mut log = member.log();
            log.node = None;
            // Their fate is unknown: an applied one comes back in the catch-up, untimed.
            log.pending.clear();
            log.catching_up = true;
            let last_event_ns = log.last_event_ns;
            log.reconnects.push(Reconnect {
                lost_ns,
                last_event_ns,
                rejoined_ns: None,
                snapshot_seq: None,
                node: None,
                replay: false,
                attempts: 0,
                in_place: false,
            });
            (log.token.clone(), log.meeting_id.clone())
        };
        match reconnect(&world, &member, &token, &meeting_id).await {
            Some((new_node, new_source, frames)) => {
                node = new_node;
                source = new_source;
                pending = frames;
            }
            None => return,
        }
    }
}

/// Try the nodes as the balancer picks them (see `balancer.rs`), with a short growing backoff,
/// until a resume join succeeds or the time is up.
async fn reconnect(
    world: &World,
    member: &Member,
    token: &str,
    meeting_id: &str,
) -> Option<(usize, WsSource, Vec<Utf8Bytes>)> {
    let plan = &world.rooms[member.room].plan;
    let mut tried = vec![false; world.ports.len()];
    // Like a browser, the member keeps trying until the run stops (the phases time it; one
    // attempt may take up to ATTEMPT_TIMEOUT, the whole loop at most this many attempts).
    for attempt in 0u32..100_000 {
        if world.stopping.load(Ordering::Relaxed) {
            return None;
        }
        let left = ATTEMPT_TIMEOUT;
        let node = world.balance.pick(member.home, attempt, &mut tried);
        let (seq, log_epoch) = {
            let log = member.log();
            (log.last_seq, log.log_epoch.clone())
        };
        let how = JoinAs::Resume {
            token: token.to_owned(),
            meeting_id: meeting_id.to_owned(),
            seq,
            log_epoch,
        };
        let joined = tokio::time::timeout(left, async {
            let mut ws = client::connect(world.ports[node]).await?;
            let joined = client::join(Protocol::Roundtable, &mut ws, plan, &how).await?;
            anyhow::Ok((ws, joined))
        })
        .await;
        match joined {
            Ok(Ok((ws, (identity, frames)))) => {
                let now = world.clock.now_ns();
                {
                    let mut log = member.log();
                    log.log_epoch.clone_from(&identity.log_epoch);
                    if identity.replay {
                        log.replays += 1;
                    }
                    log.node = Some(node);
                    log.reconnect_error = None;
                    if let Some(last) = log.reconnects.last_mut() {
                        last.rejoined_ns = Some(now);
                        last.snapshot_seq = identity.snapshot_seq;
                        last.node = Some(node);
                        last.replay = identity.replay;
                        last.attempts = attempt + 1;
                    }
                }
                // The snapshot's seq and hands, before the member may act again.
                if let Some(snapshot) = &identity.snapshot {
                    world.handle(member, node, snapshot);
                }
                let (sink, source) = ws.split();
                *member.sink.lock().await = Some(sink);
                return Some((node, source, frames));
            }
            Ok(Err(err)) => {
                let text = format!("{err:#}");
                world
                    .balance
                    .failed(node, text.contains("Connection refused"));
                let mut log = member.log();
                *log.attempt_failures
                    .entry(attempt_failure(&text))
                    .or_default() += 1;
                log.reconnect_error =
                    Some(format!("node {node}: {text}").chars().take(200).collect());
            }
            Err(_) => {
                world.balance.left(node);
                let mut log = member.log();
                *log.attempt_failures
                    .entry(format!("no answer within {ATTEMPT_TIMEOUT:?}"))
                    .or_default() += 1;
                log.reconnect_error =
                    Some(format!("node {node}: no resume within {ATTEMPT_TIMEOUT:?}"));
            }
        }
        // The next node at once after the first failure, then a growing wait with jitter.
        if attempt > 0 {
            let base = (25u64 << attempt.min(4)).min(BACKOFF_MAX_MS);
            let jitter = (world.clock.now_ns() / 1000) % 25;
            tokio::time::sleep(Duration::from_millis(base + jitter)).await;
        }
    }
    let mut log = member.log();
    log.failed = Some(format!(
        "gave up after 100000 attempts: {}",
        log.reconnect_error.clone().unwrap_or_default()
    ));
    None
}

/// A failed resume attempt's kind, without ids: the error code of a refused join, or what
/// happened to the connection (with the server's reason, when it closed it).
pub(super) fn attempt_failure(text: &str) -> String {
    if let Some(rest) = text.split("\"code\":\"").nth(1) {
        let code: String = rest.chars().take_while(|c| *c != '"').take(40).collect();
        return format!("join refused: {code}");
    }
    if text.contains("closed by the server") || text.contains("server closed during join") {
        return match close_reason(text) {
            Some(reason) => format!("closed by the server during the join: {reason}"),
            None => "closed by the server during the join".to_owned(),
        };
    }
    for (needle, kind) in [
        ("Connection refused", "connection refused"),
        ("Connection reset", "connection reset"),
        ("connection ended", "connection ended during the join"),
        ("timed out", "a step timed out"),
    ] {
        if text.contains(needle) {
            return kind.to_owned();
        }
    }
    text.chars().take(60).collect()
}

/// The reason a server's close names in a failed attempt's text: a `closing` frame's
/// `reason`, or the close frame's reason text (a wire name such as `room_moved`).
fn close_reason(text: &str) -> Option<String> {
    let quoted = match text.split("\"reason\":\"").nth(1) {
        Some(rest) => rest,
        None => text.split("reason: ").nth(1)?.split('"').nth(1)?,
    };
    let reason: String = quoted
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
        .take(40)
        .collect();
    (!reason.is_empty()).then_some(reason)
}

/// Close every connection (the run is over).
pub async fn close_all(world: &World) {
    world.stopping.store(true, Ordering::Relaxed);
    for member in &world.members {
        if let Some(mut sink) = member.sink.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_millis(100), sink.close()).await;
        }
    }
}

/// Open-loop load: action `i` of the whole run goes to room `i % rooms` at `i * interval`, sent
/// by the room's members 1..size in turn (member 0 is the room's prober). Runs until
/// `stop` or `until_ns` (clock time), whichever comes first. Returns (sent, skipped).
pub async fn load(
    world: Arc<World>,
    phase: u64,
    rate: f64,
    start_ns: u64,
    until_ns: u64,
    stop: Arc<AtomicBool>,
) -> (u64, u64) {
    let room_count = world.rooms.len();
    let interval_ns = 1e9 / rate.max(1e-3);
    let mut senders = JoinSet::new();
    for room in 0..room_count {
        let (world, stop) = (world.clone(), stop.clone());
        senders.spawn(async move {
            let (mut sent, mut skipped) = (0u64, 0u64);
            let size = world.rooms[room].members.len();
            if size < 2 {
                return (0, 0);
            }
            for j in 0u64.. {
                let due =
                    start_ns + ((room as u64 + j * room_count as u64) as f64 * interval_ns) as u64;
                if due >= until_ns || stop.load(Ordering::Relaxed) {
                    break;
                }
                // Sleep until due, waking at least every 100 ms to notice `stop`.
                loop {
                    let now = world.clock.now_ns();
                    if due <= now || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let wait = Duration::from_nanos(due - now).min(Duration::from_millis(100));
                    tokio::time::sleep(wait).await;
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let position = 1 + (j as usize % (size - 1));
                let member = world.members[world.rooms[room].members[position]].clone();
                if world.send_action(&member, phase, due, false).await {
                    sent += 1;
                } else {
                    skipped += 1;
                }
            }
            (sent, skipped)
        });
    }
    let (mut sent, mut skipped) = (0, 0);
    while let Some(done) = senders.join_next().await {
        if let Ok((s, k)) = done {
            sent += s;
            skipped += k;
        }
    }
    (sent, skipped)
}
