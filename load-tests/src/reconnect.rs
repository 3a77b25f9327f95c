//! `reconnect-storm`: every client drops at once, the room moves on, every client resumes.
//! Roundtable only: it needs numbered events and resume.
//!
//! Layout: `clients` members in rooms of `room_size`, plus one actor per room that stays
//! connected. After a warm-up action, all clients drop their TCP connection without a close
//! frame; each actor then raises and lowers its hand `outage_actions` times; then every client
//! reconnects (at most `handshake_concurrency` handshakes at a time) with its member token and
//! the last seq it saw. A client is resynced once it has seen the room's last hand event (by
//! replay or by a snapshot at or past it). Gaps: replayed clients missing a hand event the actor
//! saw after their resume point. Duplicates: an event seq a client received twice, or one at or
//! below its resume point or snapshot. Both must be 0.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::client::{self, Incoming, JoinAs, RoomPlan, WsSink, WsSource};
use crate::fleet::FleetSpec;
use crate::peer::{PeerKind, PeerSetup, Protocol, RunningPeer};

#[derive(Debug, Clone, Serialize)]
pub struct ReconnectConfig {
    pub clients: usize,
    pub room_size: usize,
    /// Hand actions each room's actor makes while the clients are away.
    pub outage_actions: u64,
    /// Longest wait for every client to resync.
    pub timeout_s: f64,
    pub handshake_concurrency: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReconnectResult {
    pub peer: PeerKind,
    pub clients: usize,
    pub rooms: usize,
    pub room_size: usize,
    /// From the first reconnect attempt until the last client resynced.
    pub resync_s: Option<f64>,
    pub resynced: usize,
    pub replayed: usize,
    pub snapshots: usize,
    /// Events the clients received after resuming, all told (replayed and new).
    pub events_after_resume: u64,
    pub gaps: u64,
    pub duplicates: u64,
    pub errors: u64,
    pub failed_reconnects: usize,
    pub passed: bool,
}

/// What one connection (client or actor) has seen, across its reconnects.
#[derive(Debug, Default)]
struct Log {
    seen: HashSet<u64>,
    hand_seqs: Vec<u64>,
    /// Events received, all told.
    events: u64,
    last_seq: u64,
    duplicates: u64,
    errors: u64,
    /// Resync target and when it was reached.
    target: Option<u64>,
    resynced_at: Option<Instant>,
}

impl Log {
    fn handle(&mut self, text: &str) {
        match client::parse_incoming(Protocol::Roundtable, text) {
            Ok(Incoming::Hand { seq, .. }) => {
                self.event(seq);
                self.hand_seqs.push(seq);
            }
            Ok(Incoming::OtherEvent { seq }) => self.event(seq),
            Ok(Incoming::Snapshot { seq }) => {
                self.last_seq = self.last_seq.max(seq);
                self.check_target();
            }
            Ok(Incoming::Error) | Err(_) => self.errors += 1,
            Ok(Incoming::Ack | Incoming::Other | Incoming::Relay { .. }) => {}
        }
    }

    fn event(&mut self, seq: u64) {
        self.events += 1;
        if !self.seen.insert(seq) || seq <= self.last_seq {
            self.duplicates += 1;
        }
        self.last_seq = self.last_seq.max(seq);
        self.check_target();
    }

    fn check_target(&mut self) {
        if let Some(target) = self.target
            && self.resynced_at.is_none()
            && self.last_seq >= target
        {
            self.resynced_at = Some(Instant::now());
        }
    }
}

type SharedLog = Arc<Mutex<Log>>;

fn lock(log: &SharedLog) -> std::sync::MutexGuard<'_, Log> {
    log.lock().expect("log lock")
}

async fn read_into(log: SharedLog, mut source: WsSource, pending: Vec<Utf8Bytes>) {
    for text in pending {
        lock(&log).handle(&text);
    }
    while let Some(message) = source.next().await {
        match message {
            Ok(Message::Text(text)) => lock(&log).handle(&text),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

struct Member {
    room: usize,
    identity: client::Identity,
    log: SharedLog,
    sink: Option<WsSink>,
    reader: Option<JoinHandle<()>>,
    resume_seq: u64,
    /// Events received before the drop.
    events_before_drop: u64,
}

async fn join_member(
    port: u16,
    plan: &RoomPlan,
    how: &JoinAs,
    log: SharedLog,
) -> Result<(client::Identity, WsSink, JoinHandle<()>)> {
    let mut ws = client::connect(port).await?;
    let (identity, pending) = client::join(Protocol::Roundtable, &mut ws, plan, how).await?;
    if let Some(seq) = identity.snapshot_seq {
        let mut log = lock(&log);
        log.last_seq = log.last_seq.max(seq);
        log.check_target();
    }
    let (sink, source) = ws.split();
    let reader = tokio::spawn(read_into(log, source, pending));
    Ok((identity, sink, reader))
}

/// Wait (bounded) until `done` holds.
async fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    done()
}

/// Actor of `room` makes `count` hand actions starting at its action `k`; waits until it saw
/// them all. Returns the actor's next `k`.
async fn act(
    actor: &mut Member,
    actor_index: usize,
    mut k: u64,
    count: u64,
    timeout: Duration,
) -> Result<u64> {
    let sink = actor.sink.as_mut().context("actor disconnected")?;
    let before = lock(&actor.log).hand_seqs.len();
    for _ in 0..count {
        sink.send(client::action_frame(
            Protocol::Roundtable,
            actor_index,
            k,
            0,
        ))
        .await?;
        k += 1;
    }
    let log = actor.log.clone();
    if !wait_until(timeout, || {
        lock(&log).hand_seqs.len() >= before + count as usize
    })
    .await
    {
        bail!(
            "the actor of room {} did not see its own {count} hand events",
            actor.room
        );
    }
    Ok(k)
}

pub async fn reconnect_storm(
    kind: PeerKind,
    setup: &PeerSetup,
    config: &ReconnectConfig,
) -> Result<ReconnectResult> {
    if !kind.is_roundtable() {
        bail!(
            "reconnect-storm needs seq and resume: run it against roundtable or roundtable-redis"
        );
    }
    let peer = RunningPeer::start(kind, setup).await?;
    let result = storm_on(&peer, config).await;
    peer.stop().await;
    result
}

async fn storm_on(peer: &RunningPeer, config: &ReconnectConfig) -> Result<ReconnectResult> {
    let step = Duration::from_secs(15);
    let sizes = FleetSpec::clients_in_rooms(config.clients, config.room_size);
    let plans = client::create_rooms(Protocol::Roundtable, peer.port, sizes.len()).await?;

    // One actor per room, then the clients (handshakes capped).
    let mut actors = Vec::new();
    for (room, plan) in plans.iter().enumerate() {
        let log = SharedLog::default();
        let how = JoinAs::Invite {
            display_name: format!("actor-{room}"),
        };
        let (identity, sink, reader) = join_member(peer.port, plan, &how, log.clone()).await?;
        actors.push(Member {
            room,
            identity,
            log,
            sink: Some(sink),
            reader: Some(reader),
            resume_seq: 0,
            events_before_drop: 0,
        });
    }
    let permits = Arc::new(Semaphore::new(config.handshake_concurrency.max(1)));
    let mut joins = JoinSet::new();
    let mut index = 0usize;
    for (room, &size) in sizes.iter().enumerate() {
        for _ in 0..size {
            let (permits, plan, port) = (permits.clone(), plans[room].clone(), peer.port);
            let log = SharedLog::default();
            let member_index = index;
            index += 1;
            joins.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("semaphore open");
                let how = JoinAs::Invite {
                    display_name: format!("load-{member_index}"),
                };
                let (identity, sink, reader) = join_member(port, &plan, &how, log.clone()).await?;
                anyhow::Ok((member_index, room, identity, sink, reader, log))
            });
        }
    }
    let mut members: Vec<Option<Member>> = (0..config.clients).map(|_| None).collect();
    while let Some(joined) = joins.join_next().await {
        let (member_index, room, identity, sink, reader, log) = joined.context("join task")??;
        members[member_index] = Some(Member {
            room,
            identity,
            log,
            sink: Some(sink),
            reader: Some(reader),
            resume_seq: 0,
            events_before_drop: 0,
        });
    }
    let mut members: Vec<Member> = members.into_iter().map(|m| m.expect("joined")).collect();

    // Warm-up: one raise and one lower per room, seen by everyone.
    let mut actor_k = vec![0u64; actors.len()];
    for (room, actor) in actors.iter_mut().enumerate() {
        actor_k[room] = act(actor, room, actor_k[room], 2, step).await?;
    }
    let targets: Vec<u64> = actors.iter().map(|a| lock(&a.log).last_seq).collect();
    let all_seen = wait_until(step, || {
        members.iter().all(|m| {
            lock(&m.log)
                .hand_seqs
                .iter()
                .filter(|&&s| s <= targets[m.room])
                .count()
                >= 2
        })
    })
    .await;
    if !all_seen {
        bail!("not every client saw the warm-up events");
    }

    // Everyone drops at once: no close frame, the TCP connection just goes away.
    for member in &mut members {
        if let Some(reader) = member.reader.take() {
            reader.abort();
        }
        member.sink = None;
        let log = lock(&member.log);
        member.resume_seq = log.last_seq;
        member.events_before_drop = log.events;
    }

    // The room moves on while they are away.
    let outage_started: Vec<usize> = actors
        .iter()
        .map(|a| lock(&a.log).hand_seqs.len())
        .collect();
    for (room, actor) in actors.iter_mut().enumerate() {
        actor_k[room] = act(actor, room, actor_k[room], config.outage_actions, step).await?;
    }
    let targets: Vec<u64> = actors
        .iter()
        .map(|a| {
            a.log
                .lock()
                .expect("log")
                .hand_seqs
                .last()
                .copied()
                .unwrap_or(0)
        })
        .collect();
    for member in &members {
        let mut log = lock(&member.log);
        log.target = Some(targets[member.room]);
        log.resynced_at = None;
    }

    // The storm.
    let storm_started = Instant::now();
    let mut joins = JoinSet::new();
    for (member_index, member) in members.iter().enumerate() {
        let token = member
            .identity
            .member_token
            .clone()
            .context("the join gave no member token")?;
        let meeting_id = member
            .identity
            .meeting_id
            .clone()
            .context("the join gave no meeting id")?;
        let how = JoinAs::Resume {
            token,
            meeting_id,
            seq: member.resume_seq,
            log_epoch: member.identity.log_epoch.clone(),
        };
        let (permits, plan, port, log) = (
            permits.clone(),
            plans[member.room].clone(),
            peer.port,
            member.log.clone(),
        );
        joins.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            let joined = join_member(port, &plan, &how, log).await;
            (member_index, joined)
        });
    }
    let mut failed_reconnects = 0;
    let mut replayed = 0;
    let mut snapshots = 0;
    while let Some(joined) = joins.join_next().await {
        let (member_index, joined) = joined.context("reconnect task")?;
        match joined {
            Ok((identity, sink, reader)) => {
                if identity.replay {
                    replayed += 1;
                } else {
                    snapshots += 1;
                }
                let member = &mut members[member_index];
                member.identity.replay = identity.replay;
                member.sink = Some(sink);
                member.reader = Some(reader);
            }
            Err(err) => {
                failed_reconnects += 1;
                eprintln!("reconnect of client {member_index} failed: {err:#}");
            }
        }
    }
    let timeout = Duration::from_secs_f64(config.timeout_s.clamp(1.0, 600.0));
    wait_until(timeout.saturating_sub(storm_started.elapsed()), || {
        members.iter().all(|m| lock(&m.log).resynced_at.is_some())
    })
    .await;

    // Tally.
    let mut resynced = 0;
    let mut last_resync: Option<Instant> = None;
    let (mut gaps, mut duplicates, mut errors) = (0u64, 0u64, 0u64);
    let mut events_after_resume = 0u64;
    for member in &members {
        let log = lock(&member.log);
        if let Some(at) = log.resynced_at {
            resynced += 1;
            last_resync = Some(last_resync.map_or(at, |last| last.max(at)));
        }
        duplicates += log.duplicates;
        events_after_resume += log.events - member.events_before_drop;
        errors += log.errors;
        if member.identity.replay {
            let actor_log = lock(&actors[member.room].log);
            gaps += actor_log.hand_seqs[outage_started[member.room]..]
                .iter()
                .filter(|&&seq| seq > member.resume_seq && !log.seen.contains(&seq))
                .count() as u64;
        }
    }
    for member in actors.iter_mut().chain(members.iter_mut()) {
        if let Some(reader) = member.reader.take() {
            reader.abort();
        }
        if let Some(mut sink) = member.sink.take() {
            let _ = tokio::time::timeout(Duration::from_millis(100), sink.close()).await;
        }
    }
    let resync_s = if resynced == config.clients {
        last_resync.map(|at| at.duration_since(storm_started).as_secs_f64())
    } else {
        None
    };
    Ok(ReconnectResult {
        peer: peer.kind,
        clients: config.clients,
        rooms: sizes.len(),
        room_size: config.room_size,
        resync_s,
        resynced,
        replayed,
        snapshots,
        events_after_resume,
        gaps,
        duplicates,
        errors,
        failed_reconnects,
        passed: resynced == config.clients
            && gaps == 0
            && duplicates == 0
            && errors == 0
            && failed_reconnects == 0,
    })
}
