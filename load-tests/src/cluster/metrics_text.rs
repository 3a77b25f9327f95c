//! Reading the nodes' `/metrics` (Prometheus text): histogram buckets summed over label sets
//! (or over all but one label), their difference over a phase, summed over nodes, and
//! quantiles, and a plain metric's value.

use std::collections::BTreeMap;

/// Cumulative bucket counts of every histogram whose name contains `needle`, summed over label
/// sets, keyed by the histogram's name and then its upper bound (`le`, in the metric's unit).
pub type Buckets = BTreeMap<String, Vec<(f64, f64)>>;

/// Read the `_bucket` lines of the histograms whose name contains `needle` from a Prometheus or
/// OpenMetrics text.
pub fn histogram_buckets(text: &str, needle: &str) -> Buckets {
    buckets_by(text, needle, None)
}

/// As [`histogram_buckets`], but one histogram per value of the label `by`, keyed
/// `name{by="value"}` (summed over the other labels; a series without `by` keyed by its name).
pub fn histogram_buckets_by(text: &str, needle: &str, by: &str) -> Buckets {
    buckets_by(text, needle, Some(by))
}

fn buckets_by(text: &str, needle: &str, by: Option<&str>) -> Buckets {
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
        let label = |key: &str| {
            labels
                .split(',')
                .find_map(|pair| pair.trim().strip_prefix(key)?.strip_prefix("=\""))
                .and_then(|rest| rest.split('"').next())
        };
        let Some(le) = label("le") else {
            continue;
        };
        let key = match by.and_then(|by| Some((by, label(by)?))) {
            Some((by, value)) => format!("{name}{{{by}=\"{value}\"}}"),
            None => name.to_owned(),
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
            .entry(key)
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

/// The value of the series `series` (its name, and its labels as the text writes them) in a
/// Prometheus text; `None` when it is not there.
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.split_once(' ')?;
            (name == series).then(|| value.trim().parse().ok())?
        })
}

/// Adds the histograms of `more` into `into`, bucket by bucket.
pub fn add_buckets(into: &mut Buckets, more: Buckets) {
    for (name, counts) in more {
        let entry = into.entry(name).or_default();
        for (bound, count) in counts {
            match entry.iter_mut().find(|(b, _)| *b == bound) {
                Some(slot) => slot.1 += count,
                None => entry.push((bound, count)),
            }
        }
        entry.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
}

/// What each node's histograms counted from `before` to `after` (one entry per node, in the
/// same order; a node missing from `before` counted from nothing), summed over the nodes.
pub fn summed_difference(before: &[Buckets], after: &[Buckets]) -> Buckets {
    let mut summed = Buckets::new();
    for (node, buckets) in after.iter().enumerate() {
        let counted = buckets
            .iter()
            .map(|(name, counts)| {
                let earlier = before.get(node).and_then(|before| before.get(name));
                (name.clone(), bucket_difference(counts, earlier))
            })
            .collect();
        add_buckets(&mut summed, counted);
    }
    summed
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
    fn histograms_are_kept_apart_by_one_label_and_summed_over_nodes() {
        let by = histogram_buckets_by(TEXT, "hop", "direction");
        assert_eq!(by.len(), 2, "{by:?}");
        let name_in = "roundtable_forward_hop_seconds{direction=\"in\"}";
        assert_eq!(
            by[name_in],
            vec![(0.0005, 90.0), (0.001, 99.0), (f64::INFINITY, 100.0)]
        );
        // Two nodes: the first counted 10 more in each bucket of `in` since `before`, the
        // second (restarted, or not read before) counts as it stands.
        let mut earlier = by.clone();
        for count in earlier.get_mut(name_in).expect("in") {
            count.1 -= 10.0;
        }
        let summed = summed_difference(&[earlier], &[by.clone(), by.clone()]);
        assert_eq!(
            summed[name_in],
            vec![(0.0005, 100.0), (0.001, 109.0), (f64::INFINITY, 110.0)]
        );
        let name_out = "roundtable_forward_hop_seconds{direction=\"out\"}";
        assert_eq!(
            summed[name_out],
            vec![(0.0005, 0.0), (0.001, 0.0), (f64::INFINITY, 100.0)]
        );
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
