//! Reading the nodes' `/metrics` (Prometheus text): histogram buckets summed over label sets,
//! their difference over a phase and quantiles, and a plain metric's value.

use std::collections::BTreeMap;

/// Cumulative bucket counts of every histogram whose name contains `needle`, summed over label
/// sets, keyed by the histogram's name and then its upper bound (`le`, in the metric's unit).
pub type Buckets = BTreeMap<String, Vec<(f64, f64)>>;

/// Read the `_bucket` lines of the histograms whose name contains `needle` from a Prometheus or
/// OpenMetrics text.
pub fn histogram_buckets(text: &str, needle: &str) -> Buckets {
    let mut sums: BTreeMap<String, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Some((name, labels)) = series.split_once('{') else {
            continue;
        };
        let Some(name) = name.strip_suffix("_bucket") else {
            continue;
        };
        if !name.contains(needle) {
            continue;
        }
        let Some(le) = labels
            .split(',')
            .find_map(|pair| pair.trim().strip_prefix("le=\""))
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let bound = if le == "+Inf" {
            f64::INFINITY
        } else {
            match le.parse::<f64>() {
                Ok(bound) => bound,
                Err(_) => continue,
            }
        };
        let Ok(count) = value.trim().parse::<f64>() else {
            continue;
        };
        let entry = sums
            .entry(name.to_owned())
            .or_default()
            .entry(bound.to_bits())
            .or_insert((bound, 0.0));
        entry.1 += count;
    }
    sums.into_iter()
        .map(|(name, by_bound)| {
            let mut buckets: Vec<(f64, f64)> = by_bound.into_values().collect();
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            (name, buckets)
        })
        .collect()
}

/// The value of the series `series` (a metric without labels) in a Prometheus text; `None`
/// when it is not there.
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.split_once(' ')?;
            (name == series).then(|| value.trim().parse().ok())?
        })
}

/// `after - before`, bucket by bucket (a node restarted in between starts from zero: then its
/// counts are taken as they are).
pub fn bucket_difference(
    after: &[(f64, f64)],
    before: Option<&Vec<(f64, f64)>>,
) -> Vec<(f64, f64)> {
    after
        .iter()
        .map(|&(bound, count)| {
            let earlier = before
                .and_then(|before| before.iter().find(|(b, _)| *b == bound))
                .map_or(0.0, |(_, c)| *c);
            (bound, (count - earlier).max(0.0))
        })
        .collect()
}

/// The upper bound of the bucket in which quantile `q` falls, or `None` without observations.
pub fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    buckets
        .iter()
        .find(|(_, cumulative)| *cumulative >= q * total)
        .map(|(bound, _)| *bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE roundtable_forward_hop_seconds histogram\n\
roundtable_forward_hop_seconds_bucket{direction=\"in\",le=\"0.0005\"} 90\n\
roundtable_forward_hop_seconds_bucket{direction=\"in\",le=\"0.001\"} 99\n\
roundtable_forward_hop_seconds_bucket{direction=\"in\",le=\"+Inf\"} 100\n\
roundtable_forward_hop_seconds_bucket{direction=\"out\",le=\"0.0005\"} 0\n\
roundtable_forward_hop_seconds_bucket{direction=\"out\",le=\"0.001\"} 0\n\
roundtable_forward_hop_seconds_bucket{direction=\"out\",le=\"+Inf\"} 100\n\
roundtable_forward_hop_seconds_count{direction=\"in\"} 100\n\
roundtable_store_write_seconds_bucket{le=\"0.001\"} 7\n";

    #[test]
    fn histogram_buckets_are_summed_over_labels_and_read_as_quantiles() {
        let buckets = histogram_buckets(TEXT, "hop");
        assert_eq!(buckets.len(), 1, "{buckets:?}");
        let hop = &buckets["roundtable_forward_hop_seconds"];
        assert_eq!(
            hop,
            &vec![(0.0005, 90.0), (0.001, 99.0), (f64::INFINITY, 200.0)]
        );
        assert_eq!(bucket_quantile(hop, 0.4), Some(0.0005));
        assert_eq!(bucket_quantile(hop, 0.495), Some(0.001));
        assert_eq!(bucket_quantile(hop, 0.99), Some(f64::INFINITY));
        let before = vec![(0.0005, 80.0), (0.001, 80.0), (f64::INFINITY, 180.0)];
        let diff = bucket_difference(hop, Some(&before));
        assert_eq!(
            diff,
            vec![(0.0005, 10.0), (0.001, 19.0), (f64::INFINITY, 20.0)]
        );
        assert_eq!(bucket_quantile(&[(1.0, 0.0)], 0.5), None);
        assert!(histogram_buckets(TEXT, "nothing").is_empty());
    }

    #[test]
    fn a_metric_without_labels_is_read_by_its_whole_name() {
        let text = "# HELP roundtable_rooms_misplaced Rooms\n\
roundtable_rooms_misplaced_more 9\n\
roundtable_rooms_misplaced 3\n";
        assert_eq!(metric_value(text, "roundtable_rooms_misplaced"), Some(3.0));
        assert_eq!(metric_value(text, "roundtable_rooms"), None);
    }
}
