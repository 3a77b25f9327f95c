//! The servers' own measure of a kill's or a drain's gap, beside the members' (see
//! `disrupt`), from two histograms:
//!
//! - `roundtable_handover_seconds` (`handover`): for each room a node handed over, from the
//!   room no longer taking requests to its clients closed (the final snapshot written and the
//!   lease released between);
//! - `roundtable_edge_reattach_seconds`: for each client a node joined again over its
//!   connection, from its room going away (its node closed the client's stream, or handed the
//!   room over: `handed_over`; the link to its node broke: `link_lost`) to the answer where
//!   the room runs now.
//!
//! A client joined again after a handover had no room for the sum of the two. Beside them,
//! `roundtable_handover_hold_seconds` (`hold_followed`, `hold_ran_out`): how long each room a
//! node handed over in its drain then held its place among the drain's handovers, until its
//! clients there were answered where it went (`followed`) or its time ran out. Each node's
//! histograms are read before the signal and then every [`READ_EVERY`] until the members are
//! back: a drained node's last read before it exits holds its own rooms' handovers and its own
//! clients' gaps.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Fleet;
use super::metrics_text::{self, Buckets};
use super::nodes::metrics_at;
use super::report::{HopMetric, quantiles};

/// The histograms (see the module's doc) from a node's metrics.
fn read(text: &str) -> Buckets {
    let mut buckets = metrics_text::histogram_buckets_by(text, "edge_reattach_seconds", "cause");
    buckets.extend(metrics_text::histogram_buckets(text, "handover_seconds"));
    buckets.extend(metrics_text::histogram_buckets_by(
        text,
        "handover_hold_seconds",
        "outcome",
    ));
    buckets
}

/// How often the nodes are read from the signal until the members are back: often enough
/// that a drained node is read after its handover and before it exits, seldom enough to cost
/// its core nothing to speak of.
const READ_EVERY: Duration = Duration::from_millis(500);

/// The histograms of every node as they stood before the signal, and a task that reads them
/// again every [`READ_EVERY`] until [`Reads::counted`] (the tool waits for a killed or drained
/// node to exit meanwhile, so the reads go on by themselves).
pub(super) struct Reads {
    before: Vec<Buckets>,
    last: Arc<Mutex<Vec<Buckets>>>,
    stop: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Reads {
    /// Reads every node before the signal (a node that cannot be read counts from nothing),
    /// and starts reading them again.
    pub(super) async fn start(fleet: &Fleet) -> Reads {
        let ports: Vec<u16> = fleet.nodes.iter().map(|node| node.admin_port).collect();
        let mut before = Vec::with_capacity(ports.len());
        for &port in &ports {
            before.push(
                metrics_at(port)
                    .await
                    .map_or_else(|_| Buckets::new(), |t| read(&t)),
            );
        }
        let last = Arc::new(Mutex::new(before.clone()));
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(read_until(ports, Arc::clone(&last), Arc::clone(&stop)));
        Reads {
            before,
            last,
            stop,
            task,
        }
    }

    /// Reads the nodes a last time and answers what they counted since the signal, summed
    /// over the nodes; a node that could not be read since (killed, or exited after its drain)
    /// counts what its last read held.
    pub(super) async fn counted(mut self) -> Buckets {
        self.stop.notify_one();
        let _ = (&mut self.task).await;
        let last = self.last.lock().expect("reads").clone();
        metrics_text::summed_difference(&self.before, &last)
    }
}

/// Reads given up on (the disruption failed) stop reading.
impl Drop for Reads {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the nodes at `ports` into `last` every [`READ_EVERY`], and once more when `stop`
/// comes; a node that cannot be read keeps its last read.
async fn read_until(ports: Vec<u16>, last: Arc<Mutex<Vec<Buckets>>>, stop: Arc<Notify>) {
    loop {
        let stopping = tokio::select! {
            () = stop.notified() => true,
            () = tokio::time::sleep(READ_EVERY) => false,
        };
        for (index, &port) in ports.iter().enumerate() {
            if let Ok(text) = metrics_at(port).await {
                last.lock().expect("reads")[index] = read(&text);
            }
        }
        if stopping {
            return;
        }
    }
}

/// `buckets`' histograms that counted something, with their quantiles, named `handover`,
/// then by cause, then the holds by outcome.
pub(super) fn named(buckets: &Buckets) -> Vec<HopMetric> {
    let label = |name: &str, key: &str| {
        let (_, rest) = name.split_once(key)?;
        Some(rest.split('"').next().unwrap_or(rest).to_owned())
    };
    let mut named: Vec<HopMetric> = quantiles(buckets)
        .into_iter()
        .filter(|metric| metric.observations > 0.0)
        .map(|metric| HopMetric {
            // `roundtable_edge_reattach_seconds{cause="handed_over"}` as `handed_over`,
            // `roundtable_handover_hold_seconds{outcome="followed"}` as `hold_followed`.
            name: label(&metric.name, "cause=\"")
                .or_else(|| label(&metric.name, "outcome=\"").map(|o| format!("hold_{o}")))
                .unwrap_or_else(|| "handover".to_owned()),
            ..metric
        })
        .collect();
    named.sort_by_key(|metric| metric.name != "handover");
    named
}

/// `gaps` for a line of the report: each cause's count and the bucket bounds its p50 and p99
/// fall in; empty when there is none.
pub(super) fn note(gaps: &[HopMetric]) -> String {
    gaps.iter()
        .map(|gap| {
            let ms = |bound: Option<f64>| bound.map_or("?".to_owned(), |ms| format!("{ms:.0}"));
            format!(
                "{} {:.0} (p50 <= {} ms, p99 <= {} ms)",
                gap.name,
                gap.observations,
                ms(gap.p50_le_ms),
                ms(gap.p99_le_ms)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A bound on the p99 of the gap of a member joined again after a handover, from the servers'
/// measure `gaps`: the upper bounds of the buckets the p99s of the handovers and of the joins
/// made again (`handed_over`) fall in, added. A client forwarded through another node has both
/// parts; a drained node's own client is counted from its room's stop, so has both in the
/// second. `None` when either counted nothing.
pub(super) fn handover_bound(gaps: &[HopMetric]) -> Option<f64> {
    let p99 = |name: &str| {
        gaps.iter()
            .find(|gap| gap.name == name && gap.observations > 0.0)?
            .p99_le_ms
    };
    Some(p99("handover")? + p99("handed_over")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gaps_are_named_by_cause_with_their_quantiles() {
        let text = "roundtable_handover_seconds_bucket{le=\"0.01\"} 2\n\
roundtable_handover_seconds_bucket{le=\"0.1\"} 3\n\
roundtable_handover_seconds_bucket{le=\"+Inf\"} 3\n\
roundtable_handover_takes_total{outcome=\"loaded\"} 3\n\
roundtable_edge_reattach_seconds_bucket{cause=\"handed_over\",le=\"0.1\"} 50\n\
roundtable_edge_reattach_seconds_bucket{cause=\"handed_over\",le=\"0.5\"} 99\n\
roundtable_edge_reattach_seconds_bucket{cause=\"handed_over\",le=\"+Inf\"} 100\n\
roundtable_edge_reattach_seconds_bucket{cause=\"link_lost\",le=\"0.1\"} 0\n\
roundtable_edge_reattach_seconds_bucket{cause=\"link_lost\",le=\"0.5\"} 0\n\
roundtable_edge_reattach_seconds_bucket{cause=\"link_lost\",le=\"+Inf\"} 0\n\
roundtable_handover_hold_seconds_bucket{outcome=\"followed\",le=\"0.1\"} 3\n\
roundtable_handover_hold_seconds_bucket{outcome=\"followed\",le=\"+Inf\"} 3\n";
        let gaps = named(&read(text));
        let names: Vec<&str> = gaps.iter().map(|gap| gap.name.as_str()).collect();
        assert_eq!(
            names,
            ["handover", "handed_over", "hold_followed"],
            "a cause with nothing counted is left out"
        );
        assert_eq!(gaps[1].observations, 100.0);
        assert_eq!(gaps[1].p50_le_ms, Some(100.0));
        assert_eq!(gaps[1].p99_le_ms, Some(500.0));
        assert_eq!(
            note(&gaps[..2]),
            "handover 3 (p50 <= 10 ms, p99 <= 100 ms), handed_over 100 (p50 <= 100 ms, p99 <= \
             500 ms)"
        );
        assert_eq!(gaps[2].p99_le_ms, Some(100.0));
        assert_eq!(
            handover_bound(&gaps),
            Some(600.0),
            "100 ms and 500 ms, added"
        );
        assert_eq!(handover_bound(&gaps[1..]), None, "no handover counted");
        assert_eq!(
            handover_bound(&gaps[..1]),
            None,
            "no join made again counted"
        );
    }
}
