//! The scenarios that need no resume: idle memory, fan-out latency, and the rate ramp.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::client;
use crate::fleet::{Fleet, FleetSpec, PhaseResult};
use crate::peer::{PeerKind, PeerSetup, RunningPeer};

/// Knobs every scenario shares.
#[derive(Debug, Clone)]
pub struct Common {
    pub handshake_concurrency: usize,
    pub payload_bytes: usize,
}

// ---------------------------------------------------------------------------------------------
// idle
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct IdleConfig {
    pub clients: usize,
    pub room_size: usize,
    /// How long the joined clients sit idle before the memory is read.
    pub settle_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdleResult {
    pub peer: PeerKind,
    pub clients: usize,
    pub room_size: usize,
    pub rooms: usize,
    pub connect_s: f64,
    /// Server RSS after the rooms were created, before any client connected.
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub rss_per_conn_kib: f64,
    /// Connections the server ended while idle (should be 0).
    pub closed: u64,
}

/// Start `kind`, join `clients` idle clients and report the server's memory per connection.
pub async fn idle(
    kind: PeerKind,
    setup: &PeerSetup,
    common: &Common,
    config: &IdleConfig,
) -> Result<IdleResult> {
    let peer = RunningPeer::start(kind, setup).await?;
    let result = idle_on(&peer, common, config).await;
    peer.stop().await;
    result
}

async fn idle_on(peer: &RunningPeer, common: &Common, config: &IdleConfig) -> Result<IdleResult> {
    if config.clients == 0 {
        bail!("idle needs at least one client");
    }
    let sizes = FleetSpec::clients_in_rooms(config.clients, config.room_size);
    let plans = client::create_rooms(peer.kind.protocol(), peer.port, sizes.len()).await?;
    // Let the freshly started server settle before the reference reading.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = peer.rss_kib().context("reading the server's VmRSS")?;
    let spec = FleetSpec {
        room_sizes: sizes.clone(),
        handshake_concurrency: common.handshake_concurrency,
        payload_bytes: common.payload_bytes,
    };
    let fleet = Fleet::connect(peer, &plans, &spec).await?;
    tokio::time::sleep(Duration::from_secs_f64(config.settle_s.clamp(0.0, 600.0))).await;
    let rss_after = peer.rss_kib().context("reading the server's VmRSS")?;
    let closed = fleet.closed();
    let connect_s = fleet.connect_secs;
    fleet.close().await;
    Ok(IdleResult {
        peer: peer.kind,
        clients: config.clients,
        room_size: config.room_size,
        rooms: sizes.len(),
        connect_s,
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        rss_per_conn_kib: (rss_after as f64 - rss_before as f64) / config.clients as f64,
        closed,
    })
}

// ---------------------------------------------------------------------------------------------
// fanout
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct FanoutConfig {
    pub rooms: usize,
    pub room_size: usize,
    /// Actions per second over all rooms.
    pub rate: f64,
    pub duration_s: f64,
    /// Longest wait for outstanding deliveries after the last send.
    pub drain_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FanoutResult {
    pub peer: PeerKind,
    pub room_size: usize,
    #[serde(flatten)]
    pub phase: PhaseResult,
}

/// Start `kind`, run one fan-out phase, stop it.
pub async fn fanout(
    kind: PeerKind,
    setup: &PeerSetup,
    common: &Common,
    config: &FanoutConfig,
) -> Result<FanoutResult> {
    let peer = RunningPeer::start(kind, setup).await?;
    let result = async {
        let mut fleet = connect_fleet(&peer, common, config.rooms, config.room_size).await?;
        let result = fanout_on(&peer, &mut fleet, config).await;
        fleet.close().await;
        result
    }
    .await;
    peer.stop().await;
    result
}

/// Join `rooms` x `room_size` members on a running peer.
pub async fn connect_fleet(
    peer: &RunningPeer,
    common: &Common,
    rooms: usize,
    room_size: usize,
) -> Result<Fleet> {
    if rooms == 0 || room_size == 0 {
        bail!("need at least one room of at least one member");
    }
    let plans = client::create_rooms(peer.kind.protocol(), peer.port, rooms).await?;
    let spec = FleetSpec {
        room_sizes: vec![room_size; rooms],
        handshake_concurrency: common.handshake_concurrency,
        payload_bytes: common.payload_bytes,
    };
    Fleet::connect(peer, &plans, &spec).await
}

/// Refuse a rate that the server's per-connection request limit would reject.
fn check_rate_limit(fleet: &Fleet, rate: f64) -> Result<()> {
    if let Some(limit) = fleet.requests_per_second() {
        let per_member = fleet.per_member_rate(rate);
        if per_member > 0.8 * f64::from(limit) {
            bail!(
                "{rate} actions/s means {per_member:.1} requests/s per connection, over 80% of the \
                 server's limit of {limit}/s; use more rooms or bigger rooms"
            );
        }
    }
    Ok(())
}

pub async fn fanout_on(
    peer: &RunningPeer,
    fleet: &mut Fleet,
    config: &FanoutConfig,
) -> Result<FanoutResult> {
    check_rate_limit(fleet, config.rate)?;
    let phase = fleet
        .run_phase(
            peer,
            config.rate,
            Duration::from_secs_f64(config.duration_s.clamp(0.1, 3600.0)),
            Duration::from_secs_f64(config.drain_s.clamp(0.1, 600.0)),
        )
        .await?;
    Ok(FanoutResult {
        peer: peer.kind,
        room_size: config.room_size,
        phase,
    })
}

// ---------------------------------------------------------------------------------------------
// ramp
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct RampConfig {
    pub rooms: usize,
    pub room_size: usize,
    pub start_rate: f64,
    /// Each step multiplies the rate by this.
    pub factor: f64,
    pub step_s: f64,
    pub drain_s: f64,
    /// A step holds when every delivery arrived and the open-loop p99 (from the intended send
    /// time) stayed at or below this.
    pub p99_bound_ms: f64,
    pub max_steps: usize,
    pub max_rate: f64,
    /// Stop ramping after this much wall time in total.
    pub time_budget_s: f64,
    /// After the first step that fails, run one more at the geometric middle between it and
    /// the last step held, so that the rate held is known to within half a step.
    pub refine: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RampResult {
    pub peer: PeerKind,
    pub rooms: usize,
    pub room_size: usize,
    pub p99_bound_ms: f64,
    /// The highest rate (actions/s) at which a step held, and that step's numbers.
    pub highest_rate_held: Option<f64>,
    pub held: Option<PhaseResult>,
    pub stop_reason: String,
    pub steps: Vec<PhaseResult>,
}

pub async fn ramp(
    kind: PeerKind,
    setup: &PeerSetup,
    common: &Common,
    config: &RampConfig,
) -> Result<RampResult> {
    let peer = RunningPeer::start(kind, setup).await?;
    let result = async {
        let mut fleet = connect_fleet(&peer, common, config.rooms, config.room_size).await?;
        let result = ramp_on(&peer, &mut fleet, config).await;
        fleet.close().await;
        result
    }
    .await;
    peer.stop().await;
    result
}

/// The rate of a ramp's refining step: the geometric middle between the last rate held and
/// the first that failed, when there are both.
fn refining_rate(held: Option<f64>, failed: Option<f64>) -> Option<f64> {
    Some((held? * failed?).sqrt())
}

/// Why a ramp step did not hold, or `None` when it held.
fn why_not_held(step: &PhaseResult, p99_bound_ms: f64) -> Option<String> {
    let rate = step.rate;
    if !step.passed {
        Some(format!(
            "at {rate:.0}/s: delivered {} of {} (errors {}, anomalies {}, closed {}, unsent {})",
            step.delivered, step.expected, step.errors, step.anomalies, step.closed, step.unsent
        ))
    } else if step.from_intended.p99_ms > p99_bound_ms {
        Some(format!(
            "at {rate:.0}/s: open-loop p99 {:.3} ms > bound {p99_bound_ms} ms",
            step.from_intended.p99_ms
        ))
    } else {
        None
    }
}

/// Runs one ramp step at `rate` and prints how it went.
async fn ramp_step(
    peer: &RunningPeer,
    fleet: &mut Fleet,
    config: &RampConfig,
    rate: f64,
) -> Result<PhaseResult> {
    let step = fleet
        .run_phase(
            peer,
            rate,
            Duration::from_secs_f64(config.step_s.clamp(0.1, 3600.0)),
            Duration::from_secs_f64(config.drain_s.clamp(0.1, 600.0)),
        )
        .await?;
    print_step(peer.kind, rate, &step);
    Ok(step)
}

fn print_step(kind: PeerKind, rate: f64, step: &PhaseResult) {
    eprintln!(
        "  ramp {}: {:>9.0} actions/s -> {:>10.0} deliveries/s, p99 {:.3} ms \
         (open-loop {:.3} ms), CPU server {:.0}% generator {:.0}%, delivered {}/{}, \
         late in {} spells{}",
        kind,
        rate,
        step.deliveries_per_s,
        step.latency.p99_ms,
        step.from_intended.p99_ms,
        step.server_cpu_pct.unwrap_or(f64::NAN),
        step.generator_cpu_pct.unwrap_or(f64::NAN),
        step.delivered,
        step.expected,
        step.late_spells.len(),
        if step.passed { "" } else { " (FAILED)" }
    );
}

pub async fn ramp_on(
    peer: &RunningPeer,
    fleet: &mut Fleet,
    config: &RampConfig,
) -> Result<RampResult> {
    if config.factor <= 1.0 || config.start_rate <= 0.0 {
        bail!("ramp needs --factor > 1 and a positive --start-rate");
    }
    let began = Instant::now();
    let mut steps: Vec<PhaseResult> = Vec::new();
    let mut held: Option<PhaseResult> = None;
    let mut rate = config.start_rate;
    let mut stop_reason = format!("reached --max-steps {}", config.max_steps);
    let mut failed_at = None;
    for _ in 0..config.max_steps {
        if rate > config.max_rate {
            stop_reason = format!("reached --max-rate {}", config.max_rate);
            break;
        }
        if began.elapsed().as_secs_f64() + config.step_s > config.time_budget_s {
            stop_reason = format!("time budget of {} s used", config.time_budget_s);
            break;
        }
        if let Err(err) = check_rate_limit(fleet, rate) {
            stop_reason = format!("{err:#}");
            break;
        }
        let step = ramp_step(peer, fleet, config, rate).await?;
        let reason = why_not_held(&step, config.p99_bound_ms);
        steps.push(step.clone());
        match reason {
            Some(reason) => {
                stop_reason = reason;
                failed_at = Some(rate);
                break;
            }
            None => held = Some(step),
        }
        // A lost connection spoils every later step.
        if fleet.closed() > 0 {
            stop_reason = "connections were lost".to_owned();
            break;
        }
        rate *= config.factor;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let middle = refining_rate(held.as_ref().map(|step| step.rate), failed_at)
        .filter(|_| config.refine && fleet.closed() == 0);
    if let Some(middle) = middle {
        if began.elapsed().as_secs_f64() + config.step_s > config.time_budget_s {
            stop_reason.push_str("; no time left to refine");
        } else if check_rate_limit(fleet, middle).is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let step = ramp_step(peer, fleet, config, middle).await?;
            match why_not_held(&step, config.p99_bound_ms) {
                Some(reason) => stop_reason.push_str(&format!("; refined: {reason}")),
                None => {
                    stop_reason.push_str(&format!("; refined: held {middle:.0}/s"));
                    held = Some(step.clone());
                }
            }
            steps.push(step);
        }
    }
    Ok(RampResult {
        peer: peer.kind,
        rooms: config.rooms,
        room_size: config.room_size,
        p99_bound_ms: config.p99_bound_ms,
        highest_rate_held: held.as_ref().map(|step| step.rate),
        held,
        stop_reason,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refining_step_lies_half_a_step_between_held_and_failed() {
        let middle = refining_rate(Some(2000.0), Some(2300.0)).expect("both known");
        assert!((middle - 2144.76).abs() < 0.01, "{middle}");
        assert!((middle / 2000.0 - 2300.0 / middle).abs() < 1e-9);
        assert_eq!(refining_rate(None, Some(1000.0)), None, "nothing held");
        assert_eq!(refining_rate(Some(1000.0), None), None, "nothing failed");
    }
}
