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

#[cfg(test)]
mod tests {
    use super::*;

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
