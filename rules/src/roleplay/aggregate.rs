//! The results of a role play, computed from its submissions: pure functions with no I/O.
//!
//! The shuffle of comments takes its randomness as an argument (a seed drawn from the operating
//! system by the room actor), so tests can pin it and the function stays pure.

use roundtable_protocol::{Criterion, CriterionResult};

/// The aggregate of one criterion's scores. `scores` must be within the criterion's scale and
/// not empty (the reveal threshold is at least 2).
pub fn criterion_result(criterion: &Criterion, scores: &[u32]) -> CriterionResult {
    let mut sorted = scores.to_vec();
    sorted.sort_unstable();
    let count = sorted.len();
    let sum: u64 = sorted.iter().map(|&score| u64::from(score)).sum();
    let mean = if count == 0 {
        0.0
    } else {
        sum as f64 / count as f64
    };
    let median = match count {
        0 => 0.0,
        _ if count % 2 == 1 => f64::from(sorted[count / 2]),
        _ => (f64::from(sorted[count / 2 - 1]) + f64::from(sorted[count / 2])) / 2.0,
    };
    let points = (criterion.scale_max - criterion.scale_min + 1) as usize;
    let mut distribution = vec![0u32; points];
    for &score in &sorted {
        if let Some(slot) = score
            .checked_sub(criterion.scale_min)
            .and_then(|offset| distribution.get_mut(offset as usize))
        {
            *slot += 1;
        }
    }
    CriterionResult {
        name: criterion.name.clone(),
        scale_min: criterion.scale_min,
        scale_max: criterion.scale_max,
        weight: criterion.weight,
        mean,
        median,
        min: sorted.first().copied().unwrap_or(0),
        max: sorted.last().copied().unwrap_or(0),
        distribution,
    }
}

/// The weighted overall score, 0 to 100: each criterion's mean placed on its own scale (the
/// lowest value 0, the highest 100), weighted by the criterion's weight. Scales may differ
/// between criteria, which is why each is normalized first.
pub fn overall_percent(results: &[CriterionResult]) -> f64 {
    let total_weight: u64 = results.iter().map(|result| u64::from(result.weight)).sum();
    if total_weight == 0 {
        return 0.0;
    }
    let weighted: f64 = results
        .iter()
        .map(|result| {
            let span = f64::from(result.scale_max - result.scale_min);
            let normalized = if span == 0.0 {
                1.0
            } else {
                (result.mean - f64::from(result.scale_min)) / span
            };
            normalized * f64::from(result.weight)
        })
        .sum();
    weighted / total_weight as f64 * 100.0
}

/// Shuffles `items` (Fisher-Yates) with a generator seeded by `seed`. The same seed gives the
/// same order, which keeps this pure; the actor passes fresh operating-system randomness.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for index in (1..items.len()).rev() {
        let pick = (split_mix_64(&mut state) % (index as u64 + 1)) as usize;
        items.swap(index, pick);
    }
}

/// SplitMix64: a small, well-mixed generator, good enough to permute a few dozen comments.
fn split_mix_64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criterion(name: &str, scale_min: u32, scale_max: u32, weight: u32) -> Criterion {
        Criterion {
            name: name.into(),
            description: String::new(),
            scale_min,
            scale_max,
            weight,
        }
    }

    #[test]
    fn mean_median_min_max_and_distribution_of_known_scores() {
        let result = criterion_result(&criterion("Discovery", 1, 5, 1), &[4, 2, 5, 4]);
        assert_eq!(result.mean, 3.75);
        assert_eq!(
            result.median, 4.0,
            "even count: mean of the middle two (4, 4)"
        );
        assert_eq!((result.min, result.max), (2, 5));
        assert_eq!(result.distribution, vec![0, 1, 0, 2, 1]);

        let odd = criterion_result(&criterion("Close", 1, 10, 1), &[7, 1, 10]);
        assert_eq!(odd.mean, 6.0);
        assert_eq!(odd.median, 7.0);
        assert_eq!(odd.distribution.len(), 10);
        assert_eq!(odd.distribution[0], 1);
        assert_eq!(odd.distribution[6], 1);
        assert_eq!(odd.distribution[9], 1);

        let split = criterion_result(&criterion("Rapport", 1, 5, 1), &[1, 2]);
        assert_eq!(split.median, 1.5);
    }

    #[test]
    fn overall_score_weights_criteria_on_their_own_scales() {
        // Criterion A: 1-5, mean 4 -> 75 %; weight 3.
        // Criterion B: 1-10, mean 5.5 -> 50 %; weight 1.
        // Weighted: (75 * 3 + 50 * 1) / 4 = 68.75.
        let a = criterion_result(&criterion("A", 1, 5, 3), &[4, 4, 4]);
        let b = criterion_result(&criterion("B", 1, 10, 1), &[1, 10]);
        assert_eq!(b.mean, 5.5);
        let overall = overall_percent(&[a.clone(), b.clone()]);
        assert!((overall - 68.75).abs() < 1e-9, "{overall}");

        // Equal weights: the plain mean of the percentages.
        let mut equal_a = a;
        equal_a.weight = 1;
        let overall = overall_percent(&[equal_a, b]);
        assert!((overall - 62.5).abs() < 1e-9, "{overall}");

        // Top and bottom of the scale.
        let top = criterion_result(&criterion("T", 0, 10, 2), &[10, 10]);
        let bottom = criterion_result(&criterion("B", 0, 10, 2), &[0, 0]);
        assert_eq!(overall_percent(std::slice::from_ref(&top)), 100.0);
        assert_eq!(overall_percent(std::slice::from_ref(&bottom)), 0.0);
        assert_eq!(overall_percent(&[top, bottom]), 50.0);
        assert_eq!(overall_percent(&[]), 0.0);
    }

    #[test]
    fn shuffle_is_a_permutation_and_depends_on_the_seed() {
        let original: Vec<u32> = (0..20).collect();
        let mut first = original.clone();
        shuffle(&mut first, 1);
        let mut again = original.clone();
        shuffle(&mut again, 1);
        let mut other = original.clone();
        shuffle(&mut other, 2);
        assert_eq!(first, again, "the same seed gives the same order");
        assert_ne!(first, other, "another seed gives another order");
        assert_ne!(first, original, "the order changes");
        let mut sorted = first.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, original, "nothing is lost or repeated");
    }

    #[test]
    fn every_position_is_reachable_by_the_shuffle() {
        // Over many seeds, the first submitted item lands in every position: order carries no
        // trace of submission order.
        let mut seen = [false; 5];
        for seed in 0..200 {
            let mut items = [0, 1, 2, 3, 4];
            shuffle(&mut items, seed);
            let position = items.iter().position(|&item| item == 0).unwrap();
            seen[position] = true;
        }
        assert_eq!(seen, [true; 5]);
    }
}
