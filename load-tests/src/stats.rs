//! Latency histograms and their summaries.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies are recorded in microseconds, from 1 µs to 60 s, at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Record a latency given in nanoseconds (clamped into the histogram's range).
pub fn record_ns(histogram: &mut Histogram<u64>, nanos: u64) {
    let micros = (nanos / 1_000).clamp(1, 60_000_000);
    histogram.saturating_record(micros);
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        if histogram.is_empty() {
            return Latency::default();
        }
        let ms = |micros: u64| micros as f64 / 1_000.0;
        Latency {
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// Deliveries later than this (from the action's intended send time) count as late in
/// [`LateSpell`]s: the ramp's default p99 bound.
pub const LATE_NS: u64 = 10_000_000;

/// The span of intended send time [`LateTimeline`] sums deliveries over.
pub const SPAN_NS: u64 = 100_000_000;

/// The most late spells a phase reports (the ones with the most late deliveries).
pub const LATE_SPELLS_MAX: usize = 20;

/// Deliveries per 100 ms of intended send time, counted from the phase's start: how many,
/// how many late, and the worst latency. Bounded by the phase's length.
#[derive(Debug, Default)]
pub struct LateTimeline {
    spans: Vec<Span>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Span {
    late: u64,
    worst_ns: u64,
}

impl LateTimeline {
    /// The longest phase it follows (spans beyond are counted in the last one).
    const SPANS_MAX: usize = 36_000; // an hour

    pub fn record(&mut self, since_start_ns: u64, latency_ns: u64) {
        let index = ((since_start_ns / SPAN_NS) as usize).min(Self::SPANS_MAX - 1);
        if self.spans.len() <= index {
            self.spans.resize(index + 1, Span::default());
        }
        let span = &mut self.spans[index];
        span.late += u64::from(latency_ns > LATE_NS);
        span.worst_ns = span.worst_ns.max(latency_ns);
    }

    pub fn clear(&mut self) {
        self.spans.clear();
    }

    /// Runs of consecutive spans with late deliveries, as spells: at most
    /// [`LATE_SPELLS_MAX`], those with the most late deliveries, in the order they began.
    pub fn spells(&self) -> Vec<LateSpell> {
        let mut spells: Vec<LateSpell> = Vec::new();
        let mut previous_late = false;
        for (index, span) in self.spans.iter().enumerate() {
            let late = span.late > 0;
            if late {
                let worst_ms = span.worst_ns as f64 / 1e6;
                match spells.last_mut() {
                    Some(spell) if previous_late => {
                        spell.duration_s += SPAN_NS as f64 / 1e9;
                        spell.late += span.late;
                        spell.worst_ms = spell.worst_ms.max(worst_ms);
                    }
                    _ => spells.push(LateSpell {
                        start_s: (index as u64 * SPAN_NS) as f64 / 1e9,
                        duration_s: SPAN_NS as f64 / 1e9,
                        late: span.late,
                        worst_ms,
                    }),
                }
            }
            previous_late = late;
        }
        if spells.len() > LATE_SPELLS_MAX {
            spells.sort_by_key(|spell| std::cmp::Reverse(spell.late));
            spells.truncate(LATE_SPELLS_MAX);
            spells.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        }
        spells
    }
}

/// A stretch of a phase whose actions reached some members more than 10 ms after they were
/// due: where a p99 over the bound comes from (a steady overload, or short stalls).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LateSpell {
    /// Intended send time of its first actions, from the phase's start.
    pub start_s: f64,
    pub duration_s: f64,
    /// Deliveries later than 10 ms.
    pub late: u64,
    pub worst_ms: f64,
}

/// A time of day in UTC, `HH:MM:SS.mmm`, from milliseconds since the Unix epoch (as the
/// server's log writes its times).
pub fn utc_time_of_day(unix_ms: u64) -> String {
    let ms_of_day = unix_ms % 86_400_000;
    let (h, m, ms) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day % 60_000,
    );
    format!("{h:02}:{m:02}:{:02}.{:03}", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_are_utc_like_the_server_log_s() {
        // 2026-11-27T09:05:03.042Z
        assert_eq!(utc_time_of_day(1_795_770_303_042), "09:05:03.042");
        assert_eq!(utc_time_of_day(0), "00:00:00.000");
    }

    #[test]
    fn late_deliveries_in_consecutive_spans_make_one_spell() {
        let ms = 1_000_000;
        let mut timeline = LateTimeline::default();
        // On time at 0.05 s; late at 0.25 s and 0.35 s (one spell); on time at 0.45 s; late
        // again at 0.95 s.
        timeline.record(50 * ms, 2 * ms);
        timeline.record(250 * ms, 12 * ms);
        timeline.record(260 * ms, 30 * ms);
        timeline.record(350 * ms, 11 * ms);
        timeline.record(450 * ms, 9 * ms);
        timeline.record(950 * ms, 15 * ms);
        let spells = timeline.spells();
        assert_eq!(spells.len(), 2, "{spells:?}");
        assert!((spells[0].start_s - 0.2).abs() < 1e-9, "{spells:?}");
        assert!((spells[0].duration_s - 0.2).abs() < 1e-9, "{spells:?}");
        assert_eq!(spells[0].late, 3);
        assert!((spells[0].worst_ms - 30.0).abs() < 1e-9);
        assert!((spells[1].start_s - 0.9).abs() < 1e-9, "{spells:?}");
        assert_eq!(spells[1].late, 1);
        timeline.clear();
        assert!(timeline.spells().is_empty());
    }

    #[test]
    fn only_the_spells_with_most_late_deliveries_are_kept_in_time_order() {
        let ms = 1_000_000;
        let mut timeline = LateTimeline::default();
        // 30 separate spells, every other span; spell k has k + 1 late deliveries.
        for k in 0..30u64 {
            for _ in 0..=k {
                timeline.record(k * 200 * ms, 20 * ms);
            }
        }
        let spells = timeline.spells();
        assert_eq!(spells.len(), LATE_SPELLS_MAX);
        assert_eq!(spells[0].late, 11, "the 10 smallest are dropped");
        assert!(
            spells
                .windows(2)
                .all(|pair| pair[0].start_s < pair[1].start_s)
        );
    }

    #[test]
    fn percentiles_in_milliseconds() {
        let mut histogram = new_histogram();
        for micros in 1..=1000u64 {
            record_ns(&mut histogram, micros * 1_000);
        }
        let latency = Latency::of(&histogram);
        assert!((latency.p50_ms - 0.5).abs() < 0.01, "{latency:?}");
        assert!((latency.p99_ms - 0.99).abs() < 0.01, "{latency:?}");
        assert!((latency.max_ms - 1.0).abs() < 0.01, "{latency:?}");
        assert_eq!(Latency::of(&new_histogram()), Latency::default());
    }
}
