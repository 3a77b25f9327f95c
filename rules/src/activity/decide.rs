//! Decisions on the group's activity numbers: a member's submission (named, or anonymous at
//! their [`Place`]) and the facilitator's metrics, each checked and turned into events that
//! carry the view everyone receives.

use super::*;

/// Decides a change to the group's activity numbers.
pub fn decide(
    activity: &Activity,
    meeting_id: MeetingId,
    me: &Me,
    role: Role,
    command: &ActivityCommand,
) -> Result<Vec<RoomEvent>, RoomError> {
    match command {
        ActivityCommand::SetMetrics { metrics } => {
            require_facilitator(role)?;
            decide_set_metrics(activity, metrics)
        }
        ActivityCommand::SubmitNumbers { values, sharing } => {
            decide_submit(activity, meeting_id, me, role, values, *sharing)
        }
    }
}

/// Decides a member's submission of their numbers in meeting `meeting_id`.
///
/// A named submission is recorded under the member's id; an anonymous one at the place of the
/// member's key, in an event that names nobody. A member who switches takes their numbers out
/// of the other side first, in an event of its own (never one record naming the member beside
/// a place). Every event carries the view after the whole submission, so clients never see an
/// in-between state.
pub fn decide_submit(
    activity: &Activity,
    meeting_id: MeetingId,
    me: &Me,
    role: Role,
    values: &BTreeMap<String, f64>,
    sharing: Sharing,
) -> Result<Vec<RoomEvent>, RoomError> {
    if role == Role::Observer {
        return Err(RoomError::new(
            ErrorCode::Forbidden,
            "observers do not submit numbers",
        ));
    }
    if values.is_empty() {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            "submit at least one number",
        ));
    }
    for (key, value) in values {
        if !activity.has_metric(key) {
            return Err(RoomError::new(
                ErrorCode::Invalid,
                format!("the group has no metric {key:?}"),
            ));
        }
        if !value.is_finite() || *value < 0.0 || *value > METRIC_VALUE_MAX {
            return Err(RoomError::new(
                ErrorCode::Invalid,
                format!("{key} must be a number from 0 to {METRIC_VALUE_MAX}"),
            ));
        }
    }
    let submission = Submission {
        values: values.clone(),
        sharing,
    };
    let previous = activity.my_submission(me, meeting_id);
    // Where the new numbers go: under the id, or at the place of the member's key.
    let to = match sharing {
        Sharing::Named => Submitter::Member(me.member_id),
        Sharing::Anonymous => match &me.key {
            Some(key) => Submitter::Place(Place::of(key, meeting_id)),
            None => {
                return Err(RoomError::new(
                    ErrorCode::Invalid,
                    "anonymous numbers are submitted from a joined connection",
                ));
            }
        },
    };
    if previous
        .as_ref()
        .is_some_and(|(at, before)| *at == to && *before == submission)
    {
        return Ok(Vec::new());
    }
    let mut next = activity.clone();
    let mut withdrawals = Vec::new();
    match previous {
        Some((Submitter::Member(member_id), _)) if to != Submitter::Member(member_id) => {
            next.remove_member(member_id);
            withdrawals.push(Submitter::Member(member_id));
        }
        Some((Submitter::Place(place), _)) if to != Submitter::Place(place) => {
            next.withdraw_anonymous(place);
            withdrawals.push(Submitter::Place(place));
        }
        _ => {}
    }
    match to {
        Submitter::Member(member_id) => next.submit(member_id, submission.clone()),
        Submitter::Place(place) => next.submit_anonymous(place, submission.values.clone()),
    }
    let view = next.view();
    let mut events: Vec<RoomEvent> = withdrawals
        .into_iter()
        .map(|from| match from {
            Submitter::Member(member_id) => RoomEvent::NumbersWithdrawn {
                member_id,
                view: view.clone(),
            },
            Submitter::Place(place) => RoomEvent::AnonymousNumbersWithdrawn {
                place,
                view: view.clone(),
            },
        })
        .collect();
    events.push(match to {
        Submitter::Member(member_id) => RoomEvent::NumbersSubmitted {
            member_id,
            values: submission.values,
            sharing: Sharing::Named,
            view,
        },
        Submitter::Place(place) => RoomEvent::AnonymousNumbersSubmitted {
            place,
            values: submission.values,
            view,
        },
    });
    Ok(events)
}

/// Decides a facilitator's new set of metrics.
pub fn decide_set_metrics(
    activity: &Activity,
    metrics: &[Metric],
) -> Result<Vec<RoomEvent>, RoomError> {
    if metrics.is_empty() || metrics.len() > METRICS_MAX {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!("a group compares 1 to {METRICS_MAX} metrics"),
        ));
    }
    let mut checked = Vec::with_capacity(metrics.len());
    for metric in metrics {
        let key = metric.key.trim();
        let key_ok = !key.is_empty()
            && key.chars().count() <= METRIC_KEY_CHARS_MAX
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(RoomError::new(
                ErrorCode::Invalid,
                format!(
                    "metric key {key:?} must be 1 to {METRIC_KEY_CHARS_MAX} lowercase letters, digits or underscores"
                ),
            ));
        }
        if checked.iter().any(|other: &Metric| other.key == key) {
            return Err(RoomError::new(
                ErrorCode::Invalid,
                format!("metric key {key:?} appears twice"),
            ));
        }
        checked.push(Metric {
            key: key.to_string(),
            name: text::line("metric name", &metric.name, METRIC_NAME_CHARS_MAX)?,
            unit: text::line("metric unit", &metric.unit, METRIC_UNIT_CHARS_MAX)?,
        });
    }
    if checked == activity.metrics {
        return Ok(Vec::new());
    }
    let mut next = activity.clone();
    next.set_metrics(checked.clone());
    Ok(vec![RoomEvent::MetricsSet {
        metrics: checked,
        view: next.view(),
    }])
}
