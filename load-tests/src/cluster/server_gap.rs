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
//! A client joined again after a handover had no room for the sum of the two. Each node's
//! histograms are read before the signal and, while the members come back, every
//! [`READ_EVERY`]: a drained node's last read before it exits holds its own rooms' handovers
//! and its own clients' gaps.

use std::time::{Duration, Instant};

use super::Fleet;
use super::metrics_text::{self, Buckets};
use super::report::{HopMetric, quantiles};

/// The two histograms (see the module's doc) from a node's metrics.
fn read(text: &str) -> Buckets {
    let mut buckets = metrics_text::histogram_buckets_by(text, "edge_reattach_seconds", "cause");
    buckets.extend(metrics_text::histogram_buckets(text, "handover_seconds"));
    buckets
}

/// How often the nodes are read while the members come back: often enough that a drained
/// node is read after its handover, seldom enough to cost its core nothing to speak of.
const READ_EVERY: Duration = Duration::from_millis(500);

/// The histograms by cause as each node stood before the signal, and as last read since.
pub(super) struct Reads {
    before: Vec<Buckets>,
    last: Vec<Buckets>,
    read_at: Instant,
}

impl Reads {
    /// Reads every node before the signal (a node that cannot be read counts from nothing).
    pub(super) async fn before(fleet: &Fleet) -> Reads {
        let mut before = Vec::with_capacity(fleet.nodes.len());
        for node in &fleet.nodes {
            before.push(match node.metrics().await {
                Ok(text) => read(&text),
                Err(_) => Buckets::new(),
            });
        }
        Reads {
            last: before.clone(),
            before,
            read_at: Instant::now(),
        }
    }

    /// Reads the nodes again if the last read is [`READ_EVERY`] old, or with `now`; a node
    /// that cannot be read (killed, or exited after its drain) keeps its last read.
    pub(super) async fn refresh(&mut self, fleet: &Fleet, now: bool) {
        if !now && self.read_at.elapsed() < READ_EVERY {
            return;
        }
        self.read_at = Instant::now();
        for (node, last) in fleet.nodes.iter().zip(&mut self.last) {
            if let Ok(text) = node.metrics().await {
                *last = read(&text);
            }
        }
    }

    /// What the nodes counted between the two reads, summed over the nodes.
    pub(super) fn counted(&self) -> Buckets {
        metrics_text::summed_difference(&self.before, &self.last)
    }
}

/// `buckets`' histograms that counted something, with their quantiles, named `handover`,
/// then by cause.
pub(super) fn named(buckets: &Buckets) -> Vec<HopMetric> {
    let mut named: Vec<HopMetric> = quantiles(buckets)
        .into_iter()
        .filter(|metric| metric.observations > 0.0)
        .map(|metric| HopMetric {
            // `roundtable_edge_reattach_seconds{cause="handed_over"}` as `handed_over`.
            name: match metric.name.split_once("cause=\"") {
                Some((_, rest)) => rest.split('"').next().unwrap_or(rest).to_owned(),
                None => "handover".to_owned(),
            },
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
roundtable_edge_reattach_seconds_bucket{cause=\"link_lost\",le=\"+Inf\"} 0\n";
        let gaps = named(&read(text));
        let names: Vec<&str> = gaps.iter().map(|gap| gap.name.as_str()).collect();
        assert_eq!(
            names,
            ["handover", "handed_over"],
            "a cause with nothing counted is left out"
        );
        assert_eq!(gaps[1].observations, 100.0);
        assert_eq!(gaps[1].p50_le_ms, Some(100.0));
        assert_eq!(gaps[1].p99_le_ms, Some(500.0));
        assert_eq!(
            note(&gaps),
            "handover 3 (p50 <= 10 ms, p99 <= 100 ms), handed_over 100 (p50 <= 100 ms, p99 <= \
             500 ms)"
        );
    }
}
