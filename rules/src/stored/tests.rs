//! Tests of the stored formats beyond the golden files.

use std::collections::BTreeMap;

use roundtable_protocol::{GroupId, MeetingId, MemberId};

use crate::activity::PastBenchmarks;
use crate::secret::hash_secret;
use crate::state::{Group, RoomState};

fn new_room() -> RoomState {
    let group = Group {
        id: GroupId::random(),
        name: "Floats".into(),
        facilitator_secret_hash: hash_secret("facilitator"),
        invite_secret_hash: hash_secret("invite"),
        created_at_ms: 1_764_000_000_000,
    };
    RoomState::new_group(group, MeetingId::random(), 1_764_000_000_000)
}

/// Ratios that JSON's shortest decimal form and a fast float parser disagree on, and the
/// usual suspects.
fn awkward_numbers() -> Vec<f64> {
    let mut numbers = vec![
        1.0 / 3.0,
        2.0 / 3.0,
        0.1 + 0.2,
        1e-7,
        123_456_789.123_456_79,
        999_999_999_999.999_9,
        1e12 / 7.0,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        -0.0,
    ];
    for numerator in 1..200u32 {
        for denominator in [3u32, 7, 9, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 97] {
            numbers.push(f64::from(numerator) / f64::from(denominator));
            numbers.push(f64::from(numerator) * 1_000.0 / f64::from(denominator));
        }
    }
    numbers
}

#[test]
fn awkward_ratios_reload_bit_identical() {
    let numbers = awkward_numbers();
    let values: BTreeMap<String, f64> = numbers
        .iter()
        .enumerate()
        .map(|(index, value)| (format!("r{index:05}"), *value))
        .collect();
    let mut state = new_room();
    state.activity.history.push(PastBenchmarks {
        meeting_number: 1,
        group_median: values.clone(),
        values_by_member: BTreeMap::from([(MemberId::random(), values.clone())]),
    });
    let back = super::decode_snapshot(&super::encode_snapshot(&state)).unwrap();
    let reloaded = &back.activity.history[0].group_median;
    let off: Vec<String> = values
        .iter()
        .filter(|(key, value)| reloaded[*key].to_bits() != value.to_bits())
        .map(|(key, value)| format!("{key}: {value:e} came back as {:e}", reloaded[key]))
        .collect();
    assert!(
        off.is_empty(),
        "{} of {} numbers changed: {off:?}",
        off.len(),
        values.len()
    );
    assert_eq!(back, state);
}
