//! Sales activity: members submit their weekly numbers (calls, meetings, deals...) and see
//! where they stand against their peers (the protocol calls this view "benchmarks").
//!
//! Numbers are kept on the server with each member's choice of named or anonymous sharing.
//! Named numbers are kept under the member's id. Anonymous numbers are kept under a [`Place`]
//! instead, derived from the member's pseudonym key (from the token their connection joined
//! with, held only in memory, [`crate::secret::PseudonymKey`]) and the meeting's id: nothing
//! stored links a place to a member, or one meeting's place to another's, and only the
//! member's own connection finds their places again ([`Me`]). What the group sees is a [`BenchmarkView`], computed here: values of members who
//! share by name, and medians and quartiles once enough members submitted. An anonymous
//! member's numbers never leave the server with their identity; they appear only inside
//! aggregates, and only as their [`bracket`]:
//!
//! - Everything computed here that depends on an anonymous number (quartiles, ratio medians, a
//!   member's percentile, past medians in trends, and so minutes and CSV) depends on it only
//!   through its bracket, a range of at least two whole numbers. Another number in the same
//!   bracket changes nothing anyone receives, at any time, whatever else changes meanwhile
//!   (who submitted last, a member removed, the viewer trying every value of their own), so
//!   nobody can work out an anonymous number exactly, only at most its bracket.
//! - Aggregates over values of which some are anonymous are shown only when at least
//!   [`AGGREGATE_ANONYMOUS_MIN`] of them are, so that in one view the brackets are not tied to
//!   a member either (a viewer who shares anonymously knows their own value).
//!
//! `anonymity_tests.rs` beside this file checks this by brute force over small groups.

use std::collections::BTreeMap;

use crate::command::ActivityCommand;
use crate::secret::PseudonymKey;
use roundtable_protocol::{
    BenchmarkView, ErrorCode, MeetingId, MemberId, Metric, MetricView, MyBenchmarks, MySubmission,
    NamedValue, Quartiles, RatioView, Role, Sharing, TrendPoint,
};

use crate::error::RoomError;
use crate::event::RoomEvent;
use crate::roster::require_facilitator;
use crate::text;

mod decide;
pub use decide::{decide, decide_set_metrics, decide_submit};

/// Submissions needed before aggregates are shown.
pub const AGGREGATE_SUBMISSIONS_MIN: usize = 3;
/// Anonymous submissions needed before aggregates over them are shown (none is fine too).
pub const AGGREGATE_ANONYMOUS_MIN: usize = 3;
/// Below this, brackets are two units wide ([0, 2), [2, 4), ...); from it on, they keep two
/// significant digits ([100, 110), [1000, 1100), ...).
const BRACKET_TWO_DIGITS_FROM: f64 = 100.0;
/// Metrics a group may define.
pub const METRICS_MAX: usize = 12;
/// Longest metric key, name and unit, in characters.
pub const METRIC_KEY_CHARS_MAX: usize = 32;
pub const METRIC_NAME_CHARS_MAX: usize = 40;
pub const METRIC_UNIT_CHARS_MAX: usize = 16;
/// The largest number accepted for a metric.
pub const METRIC_VALUE_MAX: f64 = 1e12;
/// Past meetings whose benchmarks a group keeps for trends.
pub const HISTORY_MEETINGS_MAX: usize = 104;

/// Ratios shown when the group has both metrics: (numerator, denominator).
const RATIOS: [(&str, &str); 3] = [
    ("meetings", "calls"),
    ("proposals", "meetings"),
    ("deals_closed", "proposals"),
];

pub use crate::secret::Place;

/// Who asks, as the activity rules see them: the member, and the pseudonym key of the
/// connection they asked on (none where no connection is present, such as a member removed by
/// a facilitator). The key is never stored: it only finds the member's places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Me {
    pub member_id: MemberId,
    pub key: Option<PseudonymKey>,
}

impl Me {
    /// The places where this member's anonymous numbers of meeting `meeting_id` can be: where
    /// their key puts them, and where a record from before places put them.
    fn places(&self, meeting_id: MeetingId) -> impl Iterator<Item = Place> + '_ {
        self.key
            .as_ref()
            .map(|key| Place::of(key, meeting_id))
            .into_iter()
            .chain(std::iter::once(Place::legacy(meeting_id, self.member_id)))
    }
}

/// One member's numbers for one meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub values: BTreeMap<String, f64>,
    pub sharing: Sharing,
}

/// A past meeting's benchmarks, kept for trends.
#[derive(Debug, Clone, PartialEq)]
pub struct PastBenchmarks {
    pub meeting_number: u32,
    /// The meeting's id, from which its places were derived; unknown for meetings closed
    /// before places existed.
    pub meeting_id: Option<MeetingId>,
    /// Medians of the metrics whose aggregates were shown.
    pub group_median: BTreeMap<String, f64>,
    /// Named numbers by member, shown in the trend of that member only.
    pub values_by_member: BTreeMap<MemberId, BTreeMap<String, f64>>,
    /// Anonymous numbers by place, shown in the trend of the member whose key finds them.
    pub values_by_place: BTreeMap<Place, BTreeMap<String, f64>>,
}

/// The group's metrics, this meeting's submissions and past meetings' results.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub metrics: Vec<Metric>,
    /// This meeting's named submissions, by member (each one's `sharing` is named).
    pub current: BTreeMap<MemberId, Submission>,
    /// This meeting's anonymous submissions, by place.
    pub anonymous: BTreeMap<Place, BTreeMap<String, f64>>,
    pub history: Vec<PastBenchmarks>,
}

/// Whose one submission of this meeting is: a member's named one or the anonymous one at a
/// place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitter {
    Member(MemberId),
    Place(Place),
}

impl Default for Activity {
    fn default() -> Self {
        let metric = |key: &str, name: &str, unit: &str| Metric {
            key: key.into(),
            name: name.into(),
            unit: unit.into(),
        };
        Activity {
            metrics: vec![
                metric("calls", "Calls", "calls"),
                metric("meetings", "Meetings", "meetings"),
                metric("proposals", "Proposals", "proposals"),
                metric("deals_closed", "Deals closed", "deals"),
                metric("revenue", "Revenue", "USD"),
            ],
            current: BTreeMap::new(),
            anonymous: BTreeMap::new(),
            history: Vec::new(),
        }
    }
}

/// Quartiles by linear interpolation between the closest ranks; `values` must be sorted.
pub fn quartiles(values: &[f64]) -> Option<Quartiles> {
    if values.is_empty() {
        return None;
    }
    let at = |fraction: f64| {
        let position = fraction * (values.len() - 1) as f64;
        let below = position.floor() as usize;
        let above = position.ceil() as usize;
        values[below] + (values[above] - values[below]) * (position - below as f64)
    };
    Some(Quartiles {
        q1: at(0.25),
        median: at(0.5),
        q3: at(0.75),
    })
}

/// The number an anonymous value counts as in every aggregate: the middle of its bracket, a
/// range of at least two whole numbers that holds it. Below 100 the brackets are [0, 2),
/// [2, 4), ... (42 and 43 both count as 43); from 100 on they keep two significant digits
/// ([420, 430) counts as 425, [4200, 4300) as 4250). Values are from 0 to [`METRIC_VALUE_MAX`],
/// which counts in the bracket below it ([9.9e11, 1e12]), so that it is not alone in its own.
pub fn bracket(value: f64) -> f64 {
    let value = value.min(METRIC_VALUE_MAX - 1.0);
    let width = if value < BRACKET_TWO_DIGITS_FROM {
        2.0
    } else {
        // A power of ten, exact in an f64: 10 for [100, 1000), 100 for [1000, 10000), ...
        let mut width = 10.0;
        while value >= width * 100.0 {
            width *= 10.0;
        }
        width
    };
    (value / width).floor() * width + width / 2.0
}

/// The number a submitted value counts as in aggregates: itself when shared by name, its
/// [`bracket`] when anonymous.
fn counted(sharing: Sharing, value: f64) -> f64 {
    match sharing {
        Sharing::Named => value,
        Sharing::Anonymous => bracket(value),
    }
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// Whether aggregates over submissions with these sharings may be shown: enough of them, and
/// either none anonymous or at least [`AGGREGATE_ANONYMOUS_MIN`] (with one or two, the named
/// values and the aggregates would give the anonymous brackets away with their members).
fn may_aggregate(sharings: impl Iterator<Item = Sharing>) -> bool {
    let (mut count, mut anonymous) = (0, 0);
    for sharing in sharings {
        count += 1;
        if sharing == Sharing::Anonymous {
            anonymous += 1;
        }
    }
    count >= AGGREGATE_SUBMISSIONS_MIN && (anonymous == 0 || anonymous >= AGGREGATE_ANONYMOUS_MIN)
}

impl Activity {
    /// Every submission of this meeting, named and anonymous, with whose it is.
    fn entries(&self) -> impl Iterator<Item = (Submitter, Sharing, &BTreeMap<String, f64>)> {
        let named = self.current.iter().map(|(member_id, submission)| {
            (
                Submitter::Member(*member_id),
                Sharing::Named,
                &submission.values,
            )
        });
        let anonymous = self
            .anonymous
            .iter()
            .map(|(place, values)| (Submitter::Place(*place), Sharing::Anonymous, values));
        named.chain(anonymous)
    }

    /// How many submissions this meeting has.
    pub fn submitted_count(&self) -> usize {
        self.current.len() + self.anonymous.len()
    }

    /// What everyone sees.
    pub fn view(&self) -> BenchmarkView {
        let per_metric = self
            .metrics
            .iter()
            .map(|metric| {
                let with_value: Vec<(Submitter, Sharing, f64)> = self
                    .entries()
                    .filter_map(|(submitter, sharing, values)| {
                        values
                            .get(&metric.key)
                            .map(|value| (submitter, sharing, *value))
                    })
                    .collect();
                let quartiles = if may_aggregate(with_value.iter().map(|(_, s, _)| *s)) {
                    quartiles(&sorted(
                        with_value.iter().map(|(_, s, v)| counted(*s, *v)).collect(),
                    ))
                } else {
                    None
                };
                MetricView {
                    key: metric.key.clone(),
                    count: with_value.len() as u32,
                    quartiles,
                    named: with_value
                        .iter()
                        .filter_map(|(submitter, _, value)| match submitter {
                            Submitter::Member(member_id) => Some(NamedValue {
                                member_id: *member_id,
                                value: *value,
                            }),
                            Submitter::Place(_) => None,
                        })
                        .collect(),
                }
            })
            .collect();
        let ratios = RATIOS
            .iter()
            .filter(|(numerator, denominator)| {
                self.has_metric(numerator) && self.has_metric(denominator)
            })
            .map(|(numerator, denominator)| {
                let both: Vec<(Sharing, f64)> = self
                    .entries()
                    .filter_map(|(_, sharing, values)| {
                        let top = counted(sharing, *values.get(*numerator)?);
                        let bottom = counted(sharing, *values.get(*denominator)?);
                        // An anonymous bracket is never 0: whether a member counts depends on
                        // which numbers they entered, not on their values.
                        (bottom > 0.0).then_some((sharing, top / bottom))
                    })
                    .collect();
                let median = if may_aggregate(both.iter().map(|(s, _)| *s)) {
                    quartiles(&sorted(both.iter().map(|(_, ratio)| *ratio).collect()))
                        .map(|q| q.median)
                } else {
                    None
                };
                RatioView {
                    numerator: (*numerator).into(),
                    denominator: (*denominator).into(),
                    count: both.len() as u32,
                    median,
                }
            })
            .collect();
        BenchmarkView {
            metrics: self.metrics.clone(),
            submitted_count: self.submitted_count() as u32,
            aggregates_shown: may_aggregate(self.entries().map(|(_, sharing, _)| sharing)),
            per_metric,
            ratios,
        }
    }

    fn has_metric(&self, key: &str) -> bool {
        self.metrics.iter().any(|metric| metric.key == key)
    }

    /// This meeting's submission of `me`, if any, and whose it is: their named one, or the
    /// anonymous one their key (or a record from before places) finds.
    pub fn my_submission(&self, me: &Me, meeting_id: MeetingId) -> Option<(Submitter, Submission)> {
        if let Some(named) = self.current.get(&me.member_id) {
            return Some((Submitter::Member(me.member_id), named.clone()));
        }
        me.places(meeting_id).find_map(|place| {
            self.anonymous.get(&place).map(|values| {
                (
                    Submitter::Place(place),
                    Submission {
                        values: values.clone(),
                        sharing: Sharing::Anonymous,
                    },
                )
            })
        })
    }

    /// A member's own numbers, position and trend: for that member only, found by their id
    /// (named numbers) and their key (anonymous ones), in the meeting `meeting_id` and each
    /// past meeting.
    pub fn mine(&self, me: &Me, meeting_id: MeetingId) -> MyBenchmarks {
        let submission = self.my_submission(me, meeting_id);
        let current = submission.as_ref().map(|(_, submission)| MySubmission {
            values: submission.values.clone(),
            sharing: submission.sharing,
        });
        let mut percentile_by_metric = BTreeMap::new();
        if let Some((mine_at, mine)) = &submission {
            for metric in &self.metrics {
                let Some(my_value) = mine.values.get(&metric.key) else {
                    continue;
                };
                let with_value = self
                    .entries()
                    .filter(|(_, _, values)| values.contains_key(&metric.key))
                    .map(|(_, sharing, _)| sharing);
                if !may_aggregate(with_value) {
                    continue;
                }
                // The others' values as the aggregates count them (anonymous ones by bracket),
                // against this member's own exact value.
                let others: Vec<f64> = self
                    .entries()
                    .filter(|(submitter, _, _)| submitter != mine_at)
                    .filter_map(|(_, sharing, values)| {
                        values.get(&metric.key).map(|v| counted(sharing, *v))
                    })
                    .collect();
                let below = others.iter().filter(|value| *value < my_value).count();
                let equal = others.iter().filter(|value| *value == my_value).count();
                // Mid-rank percentile: ties count half.
                let percentile =
                    (below as f64 + equal as f64 / 2.0) * 100.0 / (others.len() as f64).max(1.0);
                percentile_by_metric.insert(metric.key.clone(), percentile.clamp(0.0, 100.0));
            }
        }
        let trend = self
            .history
            .iter()
            .map(|past| TrendPoint {
                meeting_number: past.meeting_number,
                mine: past.values_of(me).cloned().unwrap_or_default(),
                group_median: past.group_median.clone(),
            })
            .collect();
        MyBenchmarks {
            current,
            percentile_by_metric,
            trend,
        }
    }

    /// Closes this meeting's benchmarks (of meeting `meeting_id`) into the history and starts
    /// empty for the next.
    pub fn close_meeting(&mut self, meeting_number: u32, meeting_id: MeetingId) {
        let view = self.view();
        let group_median = view
            .per_metric
            .iter()
            .filter_map(|metric| {
                metric
                    .quartiles
                    .as_ref()
                    .map(|quartiles| (metric.key.clone(), quartiles.median))
            })
            .collect();
        let values_by_member = std::mem::take(&mut self.current)
            .into_iter()
            .map(|(member_id, submission)| (member_id, submission.values))
            .collect();
        self.history.push(PastBenchmarks {
            meeting_number,
            meeting_id: Some(meeting_id),
            group_median,
            values_by_member,
            values_by_place: std::mem::take(&mut self.anonymous),
        });
        if self.history.len() > HISTORY_MEETINGS_MAX {
            self.history.remove(0);
        }
    }

    /// Applies a named submission (validated by [`decide_submit`]).
    pub fn submit(&mut self, member_id: MemberId, submission: Submission) {
        self.current.insert(member_id, submission);
    }

    /// Applies an anonymous submission (validated by [`decide_submit`]).
    pub fn submit_anonymous(&mut self, place: Place, values: BTreeMap<String, f64>) {
        self.anonymous.insert(place, values);
    }

    /// Takes out this meeting's anonymous submission at `place`.
    pub fn withdraw_anonymous(&mut self, place: Place) {
        self.anonymous.remove(&place);
    }

    /// Replaces the metrics; submitted values of removed metrics are dropped.
    pub fn set_metrics(&mut self, metrics: Vec<Metric>) {
        let keys: Vec<String> = metrics.iter().map(|metric| metric.key.clone()).collect();
        for submission in self.current.values_mut() {
            submission.values.retain(|key, _| keys.contains(key));
        }
        self.current
            .retain(|_, submission| !submission.values.is_empty());
        for values in self.anonymous.values_mut() {
            values.retain(|key, _| keys.contains(key));
        }
        self.anonymous.retain(|_, values| !values.is_empty());
        self.metrics = metrics;
    }

    /// Takes out a member's named numbers of this meeting. Their anonymous numbers are not
    /// theirs to the store: they stay, in the aggregates others have seen, tied to nobody.
    pub fn remove_member(&mut self, member_id: MemberId) {
        self.current.remove(&member_id);
    }

    /// Takes out what a member who left shared by name: this meeting's numbers if they were
    /// named (anonymous ones stay: they are in aggregates others have seen), and their own
    /// past named numbers, which only they ever saw (the past medians are kept as they were).
    /// Their past anonymous numbers go with [`Activity::remove_past_places`], found by their
    /// key.
    pub fn remove_named(&mut self, member_id: MemberId) {
        self.current.remove(&member_id);
        for past in &mut self.history {
            past.values_by_member.remove(&member_id);
        }
    }

    /// Takes out past meetings' anonymous numbers at these places.
    pub fn remove_past_places(&mut self, places: &[Place]) {
        for past in &mut self.history {
            past.values_by_place
                .retain(|place, _| !places.contains(place));
        }
    }

    /// The places in past meetings where the key of `me` finds anonymous numbers.
    pub fn my_past_places(&self, me: &Me) -> Vec<Place> {
        self.history
            .iter()
            .filter_map(|past| {
                let meeting_id = past.meeting_id?;
                me.places(meeting_id)
                    .find(|place| past.values_by_place.contains_key(place))
            })
            .collect()
    }
}

impl PastBenchmarks {
    /// The numbers `me` submitted in this meeting: named ones by id, anonymous ones by the
    /// places of their key.
    fn values_of(&self, me: &Me) -> Option<&BTreeMap<String, f64>> {
        self.values_by_member.get(&me.member_id).or_else(|| {
            let meeting_id = self.meeting_id?;
            me.places(meeting_id)
                .find_map(|place| self.values_by_place.get(&place))
        })
    }
}

/// The benchmarks while the meeting is upcoming (prep, [`crate::prep`]): the metrics without
/// this meeting's numbers, so no number or aggregate of a member's prep shows before the start.
impl Activity {
    pub fn view_before_start(&self) -> BenchmarkView {
        Self::view_of_metrics(self.metrics.clone())
    }

    /// The view of `metrics` with nothing submitted.
    pub fn view_of_metrics(metrics: Vec<Metric>) -> BenchmarkView {
        Activity {
            metrics,
            current: BTreeMap::new(),
            anonymous: BTreeMap::new(),
            history: Vec::new(),
        }
        .view()
    }
}

#[cfg(test)]
mod anonymity_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn member(n: u128) -> MemberId {
        MemberId(uuid::Uuid::from_u128(n))
    }

    fn meeting() -> MeetingId {
        MeetingId(uuid::Uuid::from_u128(77))
    }

    fn me(n: u128) -> Me {
        Me {
            member_id: member(n),
            key: Some(PseudonymKey::of_token(&format!("token {n}"))),
        }
    }

    /// Submits as the rules apply it: named under the id, anonymous at the member's place.
    fn put(benchmarks: &mut Activity, n: u128, submission: Submission) {
        match submission.sharing {
            Sharing::Named => benchmarks.submit(member(n), submission),
            Sharing::Anonymous => benchmarks
                .submit_anonymous(Place::of(&me(n).key.unwrap(), meeting()), submission.values),
        }
    }

    fn submission(calls: f64, meetings: f64, sharing: Sharing) -> Submission {
        Submission {
            values: BTreeMap::from([
                ("calls".to_string(), calls),
                ("meetings".to_string(), meetings),
            ]),
            sharing,
        }
    }

    #[test]
    fn quartiles_interpolate_between_ranks() {
        let q = quartiles(&[10.0, 20.0, 30.0, 40.0]).unwrap();
        assert_eq!((q.q1, q.median, q.q3), (17.5, 25.0, 32.5));
        let q = quartiles(&[5.0]).unwrap();
        assert_eq!((q.q1, q.median, q.q3), (5.0, 5.0, 5.0));
        let q = quartiles(&[1.0, 2.0, 3.0, 4.0, 100.0]).unwrap();
        assert_eq!((q.q1, q.median, q.q3), (2.0, 3.0, 4.0));
        assert!(quartiles(&[]).is_none());
    }

    #[test]
    fn aggregates_appear_at_three_and_wait_for_three_anonymous_values() {
        let mut benchmarks = Activity::default();
        put(&mut benchmarks, 1, submission(40.0, 4.0, Sharing::Named));
        put(&mut benchmarks, 2, submission(60.0, 3.0, Sharing::Named));
        let view = benchmarks.view();
        assert!(!view.aggregates_shown);
        assert_eq!(view.per_metric[0].quartiles, None, "hidden below three");
        assert_eq!(
            view.per_metric[0].named.len(),
            2,
            "named values show at once"
        );

        for (n, calls, meetings) in [(3, 80.0, 8.0), (4, 20.0, 1.0)] {
            put(
                &mut benchmarks,
                n,
                submission(calls, meetings, Sharing::Anonymous),
            );
            let view = benchmarks.view();
            assert!(
                !view.aggregates_shown,
                "one or two anonymous values among named ones would be exposed"
            );
            assert!(
                view.per_metric
                    .iter()
                    .all(|metric| metric.quartiles.is_none())
            );
            assert!(view.ratios.iter().all(|ratio| ratio.median.is_none()));
            assert!(
                benchmarks
                    .mine(&me(1), meeting())
                    .percentile_by_metric
                    .is_empty()
            );
        }

        put(
            &mut benchmarks,
            5,
            submission(30.0, 2.0, Sharing::Anonymous),
        );
        let view = benchmarks.view();
        assert!(view.aggregates_shown);
        let calls = view.per_metric.iter().find(|m| m.key == "calls").unwrap();
        assert_eq!(calls.count, 5);
        // Named 40 and 60; anonymous 80, 20 and 30 count as their brackets' 81, 21 and 31.
        assert_eq!(
            calls.quartiles,
            Some(Quartiles {
                q1: 31.0,
                median: 40.0,
                q3: 60.0
            })
        );
        assert_eq!(calls.named.len(), 2);
        assert!(
            view.per_metric
                .iter()
                .all(|metric| metric.named.iter().all(|named| named.member_id < member(3)))
        );
        // Meetings per call: named 0.1 and 0.05; anonymous 9/81, 1/21 and 3/31.
        let ratio = view
            .ratios
            .iter()
            .find(|r| r.numerator == "meetings")
            .unwrap();
        assert_eq!(ratio.count, 5);
        assert_eq!(ratio.median, Some(3.0 / 31.0));
        // Member 1's 40 calls: above 21 and 31, below 60 and 81.
        assert_eq!(
            benchmarks.mine(&me(1), meeting()).percentile_by_metric["calls"],
            50.0
        );
    }

    #[test]
    fn a_member_sees_their_position_and_trend() {
        let mut benchmarks = Activity::default();
        for (n, calls) in [(1, 10.0), (2, 20.0), (3, 30.0), (4, 40.0), (5, 50.0)] {
            put(&mut benchmarks, n, submission(calls, 1.0, Sharing::Named));
        }
        let mine = benchmarks.mine(&me(4), meeting());
        assert_eq!(mine.percentile_by_metric["calls"], 75.0);
        assert_eq!(
            mine.percentile_by_metric["meetings"], 50.0,
            "all equal: the middle"
        );
        benchmarks.close_meeting(1, meeting());
        assert!(benchmarks.current.is_empty());
        let mine = benchmarks.mine(&me(4), meeting());
        assert_eq!(mine.current, None);
        assert_eq!(mine.trend.len(), 1);
        assert_eq!(mine.trend[0].mine["calls"], 40.0);
        assert_eq!(mine.trend[0].group_median["calls"], 30.0);
    }
}
