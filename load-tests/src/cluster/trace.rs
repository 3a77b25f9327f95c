//! `cluster --trace PATH`: where each member's time went after a kill or drain, one JSON line
//! per disruption, for finding what holds the slowest members back. The report's histograms
//! say how long members took; the trace says which step took it: the member's own
//! reconnection (how many attempts, refused how), its room's probe (sent only once the room's
//! prober is back), or the probe's way to the member.
//!
//! Times are milliseconds from the signal. Per member, an array:
//! `[room, class, back, probe_received, [[lost, rejoined, attempts, node, in_place, replay], ..],
//! {failure kind: count}]`, where `class` is 0 for a member whose room's owner was the
//! victim, 1 for one connected to the victim (its room's owner lived), 2 for one untouched and 3
//! where the owner was not known; a missing time is `null`. Per room: `[prober_on_victim,
//! probe_sent, prober_rejoined]`. And the CPU the fleet (Redis and the nodes that lived) and
//! the tool used while the members came back, as `[end, fleet %, tool %]` per 20 ms or so; and
//! the rooms the other nodes moved meanwhile, and held where placement does not put them once
//! every member was back (`rooms_moved`, `rooms_misplaced`).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::disrupt::probe_seqs;
use super::members::World;

/// What the trace needs from before the signal: each member's failed attempts so far, so
/// that a disruption's own can be told apart.
pub(super) struct Before {
    failures: Vec<BTreeMap<String, u64>>,
}

impl Before {
    pub(super) fn take(world: &World) -> Before {
        Before {
            failures: world
                .members
                .iter()
                .map(|m| m.log().attempt_failures.clone())
                .collect(),
        }
    }
}

/// Where the trace goes: a file of JSON lines, appended to disruption by disruption.
pub(super) struct Trace {
    out: BufWriter<File>,
}

/// One disruption as the trace sees it.
pub(super) struct Disruption<'a> {
    pub kind: &'static str,
    pub round: usize,
    pub victim: usize,
    pub t0: u64,
    /// The signal's wall-clock time, ms since 1970 (to find it in the nodes' logs).
    pub t0_unix_ms: u64,
    pub owners: &'a [Option<usize>],
    pub on_node: &'a [bool],
    pub cpu: &'a [CpuSample],
    pub placement: Placement,
}

/// What the other nodes did with the rooms meanwhile (`None` where a node's metrics could not
/// be read).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Placement {
    /// Rooms they moved to where placement puts them, from the signal until every member was
    /// back.
    pub moved: Option<u64>,
    /// Rooms they still held where placement does not put them then.
    pub misplaced: Option<u64>,
}

/// CPU seconds used so far, read at `at_ns` (the run's clock).
pub(super) struct CpuSample {
    pub at_ns: u64,
    /// Redis and the nodes that lived.
    pub fleet_s: Option<f64>,
    /// The load tool itself.
    pub tool_s: Option<f64>,
}

fn ms(ns: u64, t0: u64) -> Value {
    json!(((ns as f64 - t0 as f64) / 1e4).round() / 100.0)
}

fn ms_or_null(ns: Option<u64>, t0: u64) -> Value {
    ns.map_or(Value::Null, |ns| ms(ns, t0))
}

impl Trace {
    /// Start the run's trace afresh (a file from an earlier run is emptied).
    pub(super) fn start(path: &Path) -> Result<()> {
        File::create(path).with_context(|| format!("creating the trace {}", path.display()))?;
        Ok(())
    }

    /// The run's trace, to add a phase's disruptions to.
    pub(super) fn append(path: &Path) -> Result<Trace> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("opening the trace {}", path.display()))?;
        Ok(Trace {
            out: BufWriter::new(file),
        })
    }

    pub(super) fn write(&mut self, world: &World, at: &Disruption, before: &Before) -> Result<()> {
        let t0 = at.t0;
        let probes = probe_seqs(world, t0);
        let rooms: Vec<Value> = world
            .rooms
            .iter()
            .zip(&probes)
            .map(|(room, probe)| {
                let prober = room.members[0];
                let sent = probe.and_then(|seq| {
                    let sends = room.sends.lock().expect("sends");
                    sends.get(&seq).map(|send| send.actual_ns)
                });
                let log = world.members[prober].log();
                let rejoined = log
                    .reconnects_since(t0)
                    .iter()
                    .filter_map(|r| r.rejoined_ns)
                    .max();
                json!([
                    at.on_node[prober],
                    ms_or_null(sent, t0),
                    ms_or_null(rejoined, t0)
                ])
            })
            .collect();
        let members: Vec<Value> = world
            .members
            .iter()
            .enumerate()
            .map(|(index, member)| {
                let log = member.log();
                let class = match at.owners[member.room] {
                    Some(owner) if owner == at.victim => 0,
                    Some(_) if at.on_node[index] => 1,
                    Some(_) => 2,
                    None => 3,
                };
                let reconnects: Vec<Value> = log
                    .reconnects_since(t0)
                    .iter()
                    .map(|r| {
                        json!([
                            ms(r.lost_ns, t0),
                            ms_or_null(r.rejoined_ns, t0),
                            r.attempts,
                            r.node,
                            u8::from(r.in_place),
                            u8::from(r.replay)
                        ])
                    })
                    .collect();
                let failures: BTreeMap<&str, u64> = log
                    .attempt_failures
                    .iter()
                    .filter_map(|(kind, count)| {
                        let was = before.failures[index].get(kind).copied().unwrap_or(0);
                        (*count > was).then_some((kind.as_str(), count - was))
                    })
                    .collect();
                json!([
                    member.room,
                    class,
                    ms_or_null(log.back_after(0, t0, probes[member.room]), t0),
                    ms_or_null(log.first_from_after(0, t0), t0),
                    reconnects,
                    failures
                ])
            })
            .collect();
        // Per stretch between samples: its end, and the share of a core the fleet and the tool
        // used over it (the counts move in steps of 10 ms of CPU).
        let cpu: Vec<Value> = at
            .cpu
            .windows(2)
            .filter(|pair| pair[1].at_ns > pair[0].at_ns)
            .map(|pair| {
                let wall = (pair[1].at_ns - pair[0].at_ns) as f64 / 1e9;
                let share = |a: Option<f64>, b: Option<f64>| {
                    a.zip(b).map_or(Value::Null, |(a, b)| {
                        json!(((b - a) / wall * 100.0).round())
                    })
                };
                json!([
                    ms(pair[1].at_ns, t0),
                    share(pair[0].fleet_s, pair[1].fleet_s),
                    share(pair[0].tool_s, pair[1].tool_s)
                ])
            })
            .collect();
        let line = json!({
            "kind": at.kind,
            "cpu_pct": cpu,
            "rooms_moved": at.placement.moved,
            "rooms_misplaced": at.placement.misplaced,
            "round": at.round,
            "t0_unix_ms": at.t0_unix_ms,
            "victim": at.victim,
            "rooms": rooms,
            "members": members,
        });
        serde_json::to_writer(&mut self.out, &line)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(())
    }
}
