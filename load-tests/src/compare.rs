//! `compare`: the same scenarios against several peers, as a Markdown table and JSON, with the
//! ratios of each Roundtable variant to each other peer.

use anyhow::Result;
use serde::Serialize;

use crate::peer::{PeerKind, PeerSetup, RunningPeer};
use crate::reconnect::{self, ReconnectConfig, ReconnectResult};
use crate::scenarios::{
    self, Common, FanoutConfig, FanoutResult, IdleConfig, IdleResult, RampConfig, RampResult,
};

#[derive(Debug, Clone, Serialize)]
pub struct CompareConfig {
    pub peers: Vec<PeerKind>,
    pub idle: IdleConfig,
    pub fanout: FanoutConfig,
    /// The ramp uses the fan-out's rooms; `None` skips it.
    pub ramp: Option<RampConfig>,
    /// Ramps per peer. The first follows the peer's fan-out; the others run in rounds after
    /// every peer's first, one peer after the other in each round, so that a slow spell of the
    /// machine falls on every peer alike. Each peer's rate is the median of its ramps.
    pub ramp_rounds: usize,
    /// Run against the roundtable peers only; `None` skips it.
    pub reconnect: Option<ReconnectConfig>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeerSummary {
    pub peer: PeerKind,
    /// Why the peer was not measured, if it was not.
    pub skipped: Option<String>,
    pub errors: Vec<String>,
    pub idle: Option<IdleResult>,
    pub fanout: Option<FanoutResult>,
    /// Every ramp, in the order they ran.
    pub ramps: Vec<RampResult>,
    pub reconnect: Option<ReconnectResult>,
}

impl PeerSummary {
    fn deliveries_per_s(&self) -> Option<f64> {
        self.fanout.as_ref().map(|f| f.phase.deliveries_per_s)
    }
    fn p50(&self) -> Option<f64> {
        self.fanout.as_ref().map(|f| f.phase.latency.p50_ms)
    }
    fn p99(&self) -> Option<f64> {
        self.fanout.as_ref().map(|f| f.phase.latency.p99_ms)
    }
    fn p999(&self) -> Option<f64> {
        self.fanout.as_ref().map(|f| f.phase.latency.p999_ms)
    }
    fn p99_open_loop(&self) -> Option<f64> {
        self.fanout.as_ref().map(|f| f.phase.from_intended.p99_ms)
    }
    fn rss_per_conn(&self) -> Option<f64> {
        self.idle.as_ref().map(|i| i.rss_per_conn_kib)
    }
    /// The median ramp by the rate it held (a ramp that held no step counts as 0); the lower
    /// of the two middle ones when there is an even number.
    fn median_ramp(&self) -> Option<&RampResult> {
        let mut ramps: Vec<&RampResult> = self.ramps.iter().collect();
        ramps.sort_by(|a, b| held_or_zero(a).total_cmp(&held_or_zero(b)));
        ramps.get(ramps.len().checked_sub(1)? / 2).copied()
    }
    fn ramp_rate(&self) -> Option<f64> {
        self.median_ramp().map(held_or_zero)
    }
    fn ramp_deliveries_per_s(&self) -> Option<f64> {
        self.median_ramp()
            .and_then(|r| r.held.as_ref())
            .map(|held| held.deliveries_per_s)
    }
}

/// `rt`'s median ramp rate over the ramp's first rate, `start`, when `other`'s median ramp
/// held no step (it failed at the first rate) and `rt`'s held one.
fn ratio_above_a_failed_ramp(
    rt: &PeerSummary,
    other: &PeerSummary,
    start: Option<f64>,
) -> Option<f64> {
    let start = start?;
    let held = rt.ramp_rate().filter(|&rate| rate > 0.0)?;
    let failed_first = other.median_ramp()?.highest_rate_held.is_none();
    failed_first.then(|| held / start)
}

fn held_or_zero(ramp: &RampResult) -> f64 {
    ramp.highest_rate_held.unwrap_or(0.0)
}

/// Roundtable variant divided by another peer, metric by metric.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub roundtable: PeerKind,
    pub peer: PeerKind,
    pub deliveries_per_s: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub rss_per_conn_kib: Option<f64>,
    pub ramp_highest_rate: Option<f64>,
    /// When the peer's median ramp held no step, so that there is no ratio: the ratio is
    /// above this, the roundtable variant's median rate over the ramp's first rate (which the
    /// peer did not hold).
    pub ramp_highest_rate_above: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    pub config: CompareConfig,
    pub generator_core: Option<usize>,
    pub server_core: Option<usize>,
    pub peers: Vec<PeerSummary>,
    pub ratios: Vec<Ratio>,
    /// Every fan-out delivered what it should.
    pub passed: bool,
}

pub async fn compare(
    setup: &PeerSetup,
    common: &Common,
    config: &CompareConfig,
    generator_core: Option<usize>,
) -> Result<CompareReport> {
    let mut summaries = Vec::new();
    for &kind in &config.peers {
        let mut summary = PeerSummary {
            peer: kind,
            skipped: None,
            errors: Vec::new(),
            idle: None,
            fanout: None,
            ramps: Vec::new(),
            reconnect: None,
        };
        if let Err(why) = setup.availability(kind) {
            eprintln!("compare: skipping {kind}: {why}");
            summary.skipped = Some(why);
            summaries.push(summary);
            continue;
        }
        eprintln!("compare: {kind}: idle");
        match scenarios::idle(kind, setup, common, &config.idle).await {
            Ok(idle) => summary.idle = Some(idle),
            Err(err) => summary.errors.push(format!("idle: {err:#}")),
        }
        eprintln!("compare: {kind}: fanout");
        if let Err(err) = fanout_and_ramp(kind, setup, common, config, &mut summary).await {
            summary.errors.push(format!("{err:#}"));
        }
        if let Some(storm) = config.reconnect.as_ref().filter(|_| kind.is_roundtable()) {
            eprintln!("compare: {kind}: reconnect-storm");
            match reconnect::reconnect_storm(kind, setup, storm).await {
                Ok(result) => summary.reconnect = Some(result),
                Err(err) => summary.errors.push(format!("reconnect-storm: {err:#}")),
            }
        }
        for error in &summary.errors {
            eprintln!("compare: {kind}: {error}");
        }
        summaries.push(summary);
    }
    if let Some(ramp) = &config.ramp {
        for round in 2..=config.ramp_rounds {
            // Only peers whose first ramp ran: after a failed fan-out there is none.
            for summary in summaries.iter_mut().filter(|s| !s.ramps.is_empty()) {
                let kind = summary.peer;
                eprintln!(
                    "compare: {kind}: ramp, round {round} of {}",
                    config.ramp_rounds
                );
                match scenarios::ramp(kind, setup, common, ramp).await {
                    Ok(result) => summary.ramps.push(result),
                    Err(err) => summary.errors.push(format!("ramp round {round}: {err:#}")),
                }
            }
        }
    }

    let mut ratios = Vec::new();
    let measured = || summaries.iter().filter(|s| s.skipped.is_none());
    for rt in measured().filter(|s| s.peer.is_roundtable()) {
        for other in measured().filter(|s| s.peer != rt.peer) {
            let ratio = |f: fn(&PeerSummary) -> Option<f64>| match (f(rt), f(other)) {
                (Some(a), Some(b)) if b != 0.0 => Some(a / b),
                _ => None,
            };
            ratios.push(Ratio {
                roundtable: rt.peer,
                peer: other.peer,
                deliveries_per_s: ratio(PeerSummary::deliveries_per_s),
                p50_ms: ratio(PeerSummary::p50),
                p99_ms: ratio(PeerSummary::p99),
                p999_ms: ratio(PeerSummary::p999),
                rss_per_conn_kib: ratio(PeerSummary::rss_per_conn),
                ramp_highest_rate: ratio(PeerSummary::ramp_rate),
                ramp_highest_rate_above: ratio_above_a_failed_ramp(
                    rt,
                    other,
                    config.ramp.as_ref().map(|ramp| ramp.start_rate),
                ),
            });
        }
    }
    let passed = summaries.iter().filter(|s| s.skipped.is_none()).all(|s| {
        s.errors.is_empty()
            && s.fanout.as_ref().is_some_and(|f| f.phase.passed)
            && s.reconnect.as_ref().is_none_or(|r| r.passed)
    });
    Ok(CompareReport {
        config: config.clone(),
        generator_core,
        server_core: setup.server_core,
        peers: summaries,
        ratios,
        passed,
    })
}

async fn fanout_and_ramp(
    kind: PeerKind,
    setup: &PeerSetup,
    common: &Common,
    config: &CompareConfig,
    summary: &mut PeerSummary,
) -> Result<()> {
    let peer = RunningPeer::start(kind, setup).await?;
    let outcome = async {
        let mut fleet =
            scenarios::connect_fleet(&peer, common, config.fanout.rooms, config.fanout.room_size)
                .await?;
        let outcome = async {
            let fanout = scenarios::fanout_on(&peer, &mut fleet, &config.fanout).await?;
            let fanout_passed = fanout.phase.passed;
            summary.fanout = Some(fanout);
            if !fanout_passed && config.ramp.is_some() {
                // The server may still be working off the backlog: a ramp now would measure that.
                summary
                    .errors
                    .push("ramp skipped: the fanout run failed".to_owned());
            } else if let Some(ramp) = &config.ramp {
                eprintln!("compare: {kind}: ramp");
                summary
                    .ramps
                    .push(scenarios::ramp_on(&peer, &mut fleet, ramp).await?);
            }
            anyhow::Ok(())
        }
        .await;
        fleet.close().await;
        outcome
    }
    .await;
    peer.stop().await;
    outcome
}

fn cell(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
}

/// The report as Markdown.
pub fn markdown(report: &CompareReport) -> String {
    let c = &report.config;
    let mut out = String::new();
    out.push_str(&format!(
        "fanout: {} rooms x {} members, {} actions/s for {} s; idle: {} clients in rooms of {}; \
         cores: generator {}, server {}\n\n",
        c.fanout.rooms,
        c.fanout.room_size,
        c.fanout.rate,
        c.fanout.duration_s,
        c.idle.clients,
        c.idle.room_size,
        report
            .generator_core
            .map_or("any".into(), |c| c.to_string()),
        report.server_core.map_or("any".into(), |c| c.to_string()),
    ));
    out.push_str(
        "| peer | deliveries/s | p50 ms | p99 ms | p999 ms | open-loop p99 ms | delivered/expected | \
         server CPU % | generator CPU % | RSS/conn KiB | ramp: actions/s held (median) | \
         ramp: each round | ramp: deliveries/s held (median) |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for s in &report.peers {
        if let Some(why) = &s.skipped {
            out.push_str(&format!(
                "| {} | skipped: {} | | | | | | | | | | | |\n",
                s.peer,
                why.replace('|', "/")
            ));
            continue;
        }
        let delivered = s.fanout.as_ref().map_or("–".to_owned(), |f| {
            format!(
                "{}/{}{}",
                f.phase.delivered,
                f.phase.expected,
                if f.phase.passed { "" } else { " FAIL" }
            )
        });
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            s.peer,
            cell(s.deliveries_per_s(), 0),
            cell(s.p50(), 3),
            cell(s.p99(), 3),
            cell(s.p999(), 3),
            cell(s.p99_open_loop(), 3),
            delivered,
            cell(s.fanout.as_ref().and_then(|f| f.phase.server_cpu_pct), 0),
            cell(s.fanout.as_ref().and_then(|f| f.phase.generator_cpu_pct), 0),
            cell(s.rss_per_conn(), 1),
            cell(s.ramp_rate(), 0),
            s.ramps
                .iter()
                .map(|r| cell(r.highest_rate_held, 0))
                .collect::<Vec<_>>()
                .join(", "),
            cell(s.ramp_deliveries_per_s(), 0),
        ));
    }
    if !report.ratios.is_empty() {
        out.push_str("\n| ratio | deliveries/s | p50 | p99 | p999 | RSS/conn | ramp rate |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
        for r in &report.ratios {
            out.push_str(&format!(
                "| {} / {} | {} | {} | {} | {} | {} | {} |\n",
                r.roundtable,
                r.peer,
                cell(r.deliveries_per_s, 2),
                cell(r.p50_ms, 2),
                cell(r.p99_ms, 2),
                cell(r.p999_ms, 2),
                cell(r.rss_per_conn_kib, 2),
                match r.ramp_highest_rate_above {
                    Some(above) => format!("> {above:.2}"),
                    None => cell(r.ramp_highest_rate, 2),
                },
            ));
        }
    }
    for s in &report.peers {
        for (round, ramp) in s.ramps.iter().enumerate() {
            out.push_str(&format!(
                "\nramp {}, round {}: held {} actions/s; stopped: {}\n",
                s.peer,
                round + 1,
                cell(ramp.highest_rate_held, 0),
                ramp.stop_reason
            ));
        }
        if let Some(r) = &s.reconnect {
            out.push_str(&format!(
                "\nreconnect-storm {}: {} clients in rooms of {}: {}/{} resynced in {} s \
                 ({} replayed, {} snapshots, {} events after resume), gaps {}, duplicates {}, \
                 errors {}{}\n",
                s.peer,
                r.clients,
                r.room_size,
                r.resynced,
                r.clients,
                cell(r.resync_s, 3),
                r.replayed,
                r.snapshots,
                r.events_after_resume,
                r.gaps,
                r.duplicates,
                r.errors,
                if r.passed { "" } else { " FAILED" }
            ));
        }
        for error in &s.errors {
            out.push_str(&format!("\n{}: error: {error}\n", s.peer));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(held: Option<f64>) -> RampResult {
        RampResult {
            peer: PeerKind::Roundtable,
            rooms: 1,
            room_size: 2,
            p99_bound_ms: 10.0,
            highest_rate_held: held,
            held: None,
            stop_reason: String::new(),
            steps: Vec::new(),
        }
    }

    fn summary(held: &[Option<f64>]) -> PeerSummary {
        PeerSummary {
            peer: PeerKind::Roundtable,
            skipped: None,
            errors: Vec::new(),
            idle: None,
            fanout: None,
            ramps: held.iter().copied().map(ramp).collect(),
            reconnect: None,
        }
    }

    #[test]
    fn a_peer_s_ramp_rate_is_the_median_of_its_rounds() {
        assert_eq!(summary(&[]).ramp_rate(), None);
        assert_eq!(summary(&[Some(2660.0)]).ramp_rate(), Some(2660.0));
        let rounds = [Some(3059.0), Some(2011.0), Some(2660.0)];
        assert_eq!(summary(&rounds).ramp_rate(), Some(2660.0));
        // A ramp that held nothing counts as 0, and of two middles the lower is taken.
        assert_eq!(summary(&[None, Some(2313.0)]).ramp_rate(), Some(0.0));
        let rounds = [None, Some(2313.0), Some(2660.0), Some(1000.0)];
        assert_eq!(summary(&rounds).ramp_rate(), Some(1000.0));
    }

    #[test]
    fn a_peer_whose_median_ramp_held_nothing_gives_a_ratio_above_a_bound() {
        let roundtable = summary(&[Some(2169.0), Some(2169.0), Some(815.0)]);
        let failed = summary(&[Some(1240.0), None, None]);
        let above = ratio_above_a_failed_ramp(&roundtable, &failed, Some(500.0));
        assert_eq!(above, Some(2169.0 / 500.0));
        // A median that held something has a ratio of its own.
        let held = summary(&[Some(1240.0), Some(1000.0), None]);
        assert_eq!(
            ratio_above_a_failed_ramp(&roundtable, &held, Some(500.0)),
            None
        );
        // Nothing to say when neither held a step, or without a ramp.
        let nothing = summary(&[None]);
        assert_eq!(
            ratio_above_a_failed_ramp(&nothing, &failed, Some(500.0)),
            None
        );
        assert_eq!(ratio_above_a_failed_ramp(&roundtable, &failed, None), None);
    }
}
