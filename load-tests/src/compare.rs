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
    pub ramp: Option<RampResult>,
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
    fn ramp_rate(&self) -> Option<f64> {
        self.ramp.as_ref().and_then(|r| r.highest_rate_held)
    }
    fn ramp_deliveries_per_s(&self) -> Option<f64> {
        self.ramp
            .as_ref()
            .and_then(|r| r.held.as_ref())
            .map(|held| held.deliveries_per_s)
    }
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
            ramp: None,
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
                summary.ramp = Some(scenarios::ramp_on(&peer, &mut fleet, ramp).await?);
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
         server CPU % | generator CPU % | RSS/conn KiB | ramp: highest rate held | \
         ramp: deliveries/s held |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for s in &report.peers {
        if let Some(why) = &s.skipped {
            out.push_str(&format!(
                "| {} | skipped: {} | | | | | | | | | | |\n",
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
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
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
                cell(r.ramp_highest_rate, 2),
            ));
        }
    }
    for s in &report.peers {
        if let Some(ramp) = &s.ramp {
            out.push_str(&format!(
                "\nramp {}: stopped: {}\n",
                s.peer, ramp.stop_reason
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
