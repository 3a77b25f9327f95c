//! The scenarios about the store (issue 19, points 12 and 13):
//!
//! - `heavy-writer` (roundtable peers): one member writes at its limits, the largest practice
//!   comments as fast as its request rate allows (a new practice after every 100 comments),
//!   while the other members of its room ping every 100 ms. Reports the others' ping latency,
//!   the writer's acknowledgement latency, the text entered and how much the embedded store's
//!   files grew.
//! - `disk-pressure` (every peer): a fan-out phase while another process (`dd`) writes a bounded
//!   amount to a file on the same file system as the server's data directory, as fast as the
//!   disk takes it. For the roundtable peers, pingers in a room of their own measure ping latency
//!   meanwhile. The file is removed at the end, and `dd` is stopped by its PID if still running.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use roundtable_protocol::{ClientFrame, PracticeOutcome, Request};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, JoinAs, RoomPlan, Ws};
use crate::peer::{PeerKind, PeerSetup, Protocol, RunningPeer};
use crate::scenarios::{self, Common, FanoutConfig, FanoutResult};
use crate::stats::{Latency, new_histogram, record_ns};

/// Longest wait for one answer before the request counts as unanswered.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest practice comment the rules take.
const COMMENT_CHARS: usize = 1000;

/// Comments one practice takes.
const COMMENTS_PER_PRACTICE: usize = 100;

/// Reads frames until the acknowledgement (or error) of request `id`; `true` for an ack.
async fn answer(ws: &mut Ws, id: u64) -> Result<(bool, serde_json::Value)> {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, ws.next())
            .await
            .with_context(|| format!("no answer to request {id} in {ANSWER_TIMEOUT:?}"))?;
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => bail!("closed by the server: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(error.into()),
            None => bail!("connection ended"),
        };
        let frame: serde_json::Value = serde_json::from_str(&text)?;
        let is = |ty: &str| frame.get("type").and_then(|t| t.as_str()) == Some(ty);
        if frame.get("id").and_then(|v| v.as_u64()) == Some(id) && (is("ack") || is("error")) {
            return Ok((is("ack"), frame));
        }
        if is("closing") {
            bail!("the server is closing the connection: {}", text.as_str());
        }
    }
}

async fn join(port: u16, plan: &RoomPlan, name: String) -> Result<(Ws, Option<u32>)> {
    let mut ws = client::connect(port).await?;
    let (identity, _) = client::join(
        Protocol::Roundtable,
        &mut ws,
        plan,
        &JoinAs::Invite { display_name: name },
    )
    .await?;
    Ok((ws, identity.requests_per_second))
}

/// What the pingers measured.
#[derive(Debug, Clone, Serialize)]
pub struct PingResult {
    pub pingers: usize,
    pub pings: u64,
    /// Pings with no answer within 10 s, and connections that failed.
    pub unanswered: u64,
    pub latency: Latency,
}

/// `count` members of `plan`'s room that ping every `interval` until `stop` is set.
fn start_pingers(
    port: u16,
    plan: &RoomPlan,
    count: usize,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> JoinSet<Result<(Histogram<u64>, u64)>> {
    let mut pingers = JoinSet::new();
    for index in 0..count {
        let (plan, stop) = (plan.clone(), Arc::clone(&stop));
        pingers.spawn(async move {
            let (mut ws, _) = join(port, &plan, format!("pinger-{index}")).await?;
            let mut histogram = new_histogram();
            let mut unanswered = 0u64;
            // Spread the pingers over the interval.
            tokio::time::sleep(interval.mul_f64(index as f64 / count as f64)).await;
            let mut next = tokio::time::Instant::now();
            let mut id = 10u64;
            while !stop.load(Ordering::Relaxed) {
                id += 1;
                let frame = ClientFrame::new(id, Request::Ping { client_time_ms: 0 }).to_json();
                let sent = Instant::now();
                ws.send(Message::text(frame)).await?;
                match answer(&mut ws, id).await {
                    Ok((true, _)) => record_ns(&mut histogram, sent.elapsed().as_nanos() as u64),
                    Ok((false, _)) | Err(_) => unanswered += 1,
                }
                next += interval;
                tokio::time::sleep_until(next).await;
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), ws.close(None)).await;
            anyhow::Ok((histogram, unanswered))
        });
    }
    pingers
}

async fn finish_pingers(
    mut pingers: JoinSet<Result<(Histogram<u64>, u64)>>,
    count: usize,
) -> PingResult {
    let mut all = new_histogram();
    let mut unanswered = 0;
    while let Some(done) = pingers.join_next().await {
        match done {
            Ok(Ok((histogram, lost))) => {
                let _ = all.add(&histogram);
                unanswered += lost;
            }
            Ok(Err(error)) => {
                eprintln!("a pinger failed: {error:#}");
                unanswered += 1;
            }
            Err(error) => {
                eprintln!("a pinger task failed: {error}");
                unanswered += 1;
            }
        }
    }
    PingResult {
        pingers: count,
        pings: all.len(),
        unanswered,
        latency: Latency::of(&all),
    }
}

// ---------------------------------------------------------------------------------------------
// heavy-writer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct HeavyWriterConfig {
    /// Members that write, each at its limit.
    pub writers: usize,
    /// Members of the writers' room that ping.
    pub pingers: usize,
    pub ping_interval_ms: u64,
    pub duration_s: f64,
    /// The writer's share of its per-connection request limit.
    pub rate_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeavyWriterResult {
    pub peer: PeerKind,
    pub duration_s: f64,
    pub writers: usize,
    /// Requests per second each writer aimed at.
    pub writer_rate: f64,
    pub writes_acked: u64,
    pub writes_refused: u64,
    pub writer_ack: Latency,
    /// Characters of text (titles, descriptions, comments) in acknowledged writes.
    pub text_bytes: u64,
    /// The embedded store's files (roundtable peer only), before the writer began and after
    /// it stopped, while the server still runs.
    pub data_bytes_before: Option<u64>,
    pub data_bytes_after: Option<u64>,
    /// (after − before) / text: how much the store's files grew per byte of text entered.
    pub disk_growth_per_text: Option<f64>,
    pub ping: PingResult,
    /// The server's CPU over the run, in % of one core.
    pub server_cpu_pct: Option<f64>,
}

/// A comment of [`COMMENT_CHARS`] that differs from the others, so no layer can compress them.
fn comment(number: u64) -> String {
    let head = format!("Comment {number}: ");
    let filler: String = (0..COMMENT_CHARS - head.len())
        .map(|i| char::from(b'a' + ((i as u64 * 7 + number * 13) % 26) as u8))
        .collect();
    head + &filler
}

/// What one writer got through.
struct WriterTally {
    acked: u64,
    refused: u64,
    text_bytes: u64,
    acks: Histogram<u64>,
}

/// Writes the largest comments (and a practice after every 100) at `rate` requests per second,
/// each after the answer to the one before, for `duration`. `index` makes its texts its own.
async fn write_at_rate(
    mut writer: Ws,
    index: u64,
    rate: f64,
    duration: Duration,
) -> Result<WriterTally> {
    let started = Instant::now();
    let pace = Duration::from_secs_f64(1.0 / rate);
    let mut next = tokio::time::Instant::now();
    let (mut acked, mut refused, mut text_bytes) = (0u64, 0u64, 0u64);
    let mut acks = new_histogram();
    let mut practice: Option<(u64, usize)> = None;
    let mut id = 10u64;
    while started.elapsed() < duration {
        id += 1;
        let (request, text) = match practice {
            Some((practice_id, comments)) if comments < COMMENTS_PER_PRACTICE => {
                let text = comment(id * 1000 + index);
                let request = Request::CommentOnPractice {
                    practice_id: u32::try_from(practice_id)?,
                    text: text.clone(),
                };
                (request, text.len())
            }
            _ => {
                let title = format!("Practice {id}");
                let description = comment(id * 1000 + index);
                let len = title.len() + description.len();
                let request = Request::PostPractice {
                    title,
                    description,
                    tags: Vec::new(),
                    outcome: PracticeOutcome::Worked,
                };
                (request, len)
            }
        };
        let posting = matches!(request, Request::PostPractice { .. });
        let sent = Instant::now();
        writer
            .send(Message::text(ClientFrame::new(id, request).to_json()))
            .await?;
        let (ok, frame) = answer(&mut writer, id).await?;
        if ok {
            record_ns(&mut acks, sent.elapsed().as_nanos() as u64);
            acked += 1;
            text_bytes += text as u64;
            practice = if posting {
                let practice_id = frame["result"]["id"]
                    .as_u64()
                    .context("a created practice without id")?;
                Some((practice_id, 0))
            } else {
                practice.map(|(practice_id, comments)| (practice_id, comments + 1))
            };
        } else {
            refused += 1;
        }
        next += pace;
        tokio::time::sleep_until(next).await;
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), writer.close(None)).await;
    Ok(WriterTally {
        acked,
        refused,
        text_bytes,
        acks,
    })
}

pub async fn heavy_writer(
    kind: PeerKind,
    setup: &PeerSetup,
    config: &HeavyWriterConfig,
) -> Result<HeavyWriterResult> {
    if !kind.is_roundtable() {
        bail!("heavy-writer needs practices: run it against roundtable or roundtable-redis");
    }
    let peer = RunningPeer::start(kind, setup).await?;
    let result = heavy_writer_on(&peer, config).await;
    peer.stop().await;
    result
}

async fn heavy_writer_on(
    peer: &RunningPeer,
    config: &HeavyWriterConfig,
) -> Result<HeavyWriterResult> {
    let plan = client::create_rooms(Protocol::Roundtable, peer.port, 1)
        .await?
        .remove(0);
    let mut writers = Vec::new();
    let mut limit = None;
    for index in 0..config.writers.max(1) {
        let (writer, hello_limit) = join(peer.port, &plan, format!("writer-{index}")).await?;
        writers.push(writer);
        limit = hello_limit;
    }
    let limit = f64::from(limit.context("the hello gave no request limit")?);
    let writer_rate = limit * config.rate_share.clamp(0.01, 1.0);
    let stop = Arc::new(AtomicBool::new(false));
    let interval = Duration::from_millis(config.ping_interval_ms.clamp(10, 10_000));
    let pingers = start_pingers(
        peer.port,
        &plan,
        config.pingers,
        interval,
        Arc::clone(&stop),
    );
    // Let the pingers join before the writer starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let data_bytes_before = peer.data_dir_bytes();
    let cpu_before = peer.cpu_seconds();

    let started = Instant::now();
    let duration = Duration::from_secs_f64(config.duration_s.clamp(1.0, 3600.0));
    let mut writing = JoinSet::new();
    for (index, writer) in (0u64..).zip(writers) {
        writing.spawn(write_at_rate(writer, index, writer_rate, duration));
    }
    let (mut acked, mut refused, mut text_bytes) = (0u64, 0u64, 0u64);
    let mut acks = new_histogram();
    while let Some(done) = writing.join_next().await {
        let tally = done.context("writer task")??;
        acked += tally.acked;
        refused += tally.refused;
        text_bytes += tally.text_bytes;
        let _ = acks.add(&tally.acks);
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let ping = finish_pingers(pingers, config.pingers).await;
    let data_bytes_after = peer.data_dir_bytes();
    let server_cpu_pct = match (cpu_before, peer.cpu_seconds()) {
        (Some(before), Some(after)) => Some((after - before) / elapsed * 100.0),
        _ => None,
    };
    let disk_growth_per_text = match (data_bytes_before, data_bytes_after) {
        (Some(before), Some(after)) if text_bytes > 0 => {
            Some((after as f64 - before as f64) / text_bytes as f64)
        }
        _ => None,
    };
    Ok(HeavyWriterResult {
        peer: peer.kind,
        duration_s: elapsed,
        writers: config.writers.max(1),
        writer_rate,
        writes_acked: acked,
        writes_refused: refused,
        writer_ack: Latency::of(&acks),
        text_bytes,
        data_bytes_before,
        data_bytes_after,
        disk_growth_per_text,
        ping,
        server_cpu_pct,
    })
}

// ---------------------------------------------------------------------------------------------
// disk-pressure
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct DiskPressureConfig {
    pub fanout: FanoutConfig,
    /// MiB the other process writes at most (it is stopped when the phase ends, if sooner).
    pub pressure_mib: u64,
    /// Pingers in a room of their own (roundtable peers only).
    pub pingers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiskPressureResult {
    #[serde(flatten)]
    pub fanout: FanoutResult,
    /// MiB the other process had written when the phase ended, and whether it was done.
    pub pressure_written_mib: u64,
    pub pressure_finished: bool,
    pub ping: Option<PingResult>,
}

pub async fn disk_pressure(
    kind: PeerKind,
    setup: &PeerSetup,
    common: &Common,
    config: &DiskPressureConfig,
) -> Result<DiskPressureResult> {
    let peer = RunningPeer::start(kind, setup).await?;
    let result = async {
        let mut fleet =
            scenarios::connect_fleet(&peer, common, config.fanout.rooms, config.fanout.room_size)
                .await?;
        let result = disk_pressure_on(&peer, &mut fleet, config).await;
        fleet.close().await;
        result
    }
    .await;
    peer.stop().await;
    result
}

async fn disk_pressure_on(
    peer: &RunningPeer,
    fleet: &mut crate::fleet::Fleet,
    config: &DiskPressureConfig,
) -> Result<DiskPressureResult> {
    let stop = Arc::new(AtomicBool::new(false));
    let pingers = if peer.kind.is_roundtable() && config.pingers > 0 {
        let plan = client::create_rooms(Protocol::Roundtable, peer.port, 1)
            .await?
            .remove(0);
        let pingers = start_pingers(
            peer.port,
            &plan,
            config.pingers,
            Duration::from_millis(100),
            Arc::clone(&stop),
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        Some(pingers)
    } else {
        None
    };
    // The other process: dd, writing 4 MiB blocks through the page cache, as a backup or a
    // log rotation would.
    let path = peer.scratch_dir().join("disk-pressure.bin");
    let blocks = config.pressure_mib.div_ceil(4).max(1);
    let mut dd = tokio::process::Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", path.display()))
        .args(["bs=4M", &format!("count={blocks}"), "status=none"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting dd")?;
    let phase = scenarios::fanout_on(peer, fleet, &config.fanout).await;
    let pressure_finished = matches!(dd.try_wait(), Ok(Some(_)));
    if !pressure_finished {
        // By its PID, through the handle that started it.
        let _ = dd.start_kill();
    }
    let _ = dd.wait().await;
    let pressure_written_mib = std::fs::metadata(&path)
        .map(|meta| meta.len() / (1024 * 1024))
        .unwrap_or(0);
    let _ = std::fs::remove_file(&path);
    stop.store(true, Ordering::Relaxed);
    let ping = match pingers {
        Some(pingers) => Some(finish_pingers(pingers, config.pingers).await),
        None => None,
    };
    Ok(DiskPressureResult {
        fanout: phase?,
        pressure_written_mib,
        pressure_finished,
        ping,
    })
}
