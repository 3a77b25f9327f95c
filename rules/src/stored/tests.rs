//! Tests of the stored formats beyond the golden files.

use std::collections::BTreeMap;

use roundtable_protocol::{GroupId, MeetingId, MemberId};

use super::{FormatError, v1};
use crate::activity::PastBenchmarks;
use crate::secret::hash_secret;
use crate::state::{Group, RoomEvent, RoomState, StoredEvent};

fn new_room() -> RoomState {
    let group = Group {
        id: GroupId::random(),
        name: "Floats".into(),
        facilitator_secret_hash: hash_secret("facilitator"),
        invite_secret_hash: hash_secret("invite"),
        created_at_ms: 1_764_000_000_000,
        time_zone: None,
        call_url: None,
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
        meeting_id: None,
        values_by_member: BTreeMap::from([(MemberId::random(), values.clone())]),
        values_by_place: BTreeMap::new(),
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

/// A record with its `format` field taken out, as the code before stored formats wrote it.
fn without_format(bytes: &[u8]) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    assert_eq!(value["format"], serde_json::json!(super::FORMAT));
    value.as_object_mut().unwrap().remove("format");
    with_presence_before_format_4(&mut value);
    serde_json::to_vec(&value).unwrap()
}

/// A record with another `format` number.
fn with_format(bytes: &[u8], format: u64) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    value["format"] = serde_json::json!(format);
    if format < 4 {
        with_presence_before_format_4(&mut value);
    }
    serde_json::to_vec(&value).unwrap()
}

/// A snapshot of formats 1-3 says who was online (format 4 no longer does): nobody, here.
fn with_presence_before_format_4(record: &mut serde_json::Value) {
    if record.get("group").is_some() && record.get("online").is_none() {
        record["online"] = serde_json::json!([]);
    }
}

fn an_event() -> StoredEvent {
    StoredEvent {
        at_ms: 1_764_000_001_000,
        event: RoomEvent::GroupRenamed {
            name: "Renamed".into(),
        },
    }
}

#[test]
fn records_are_written_with_their_format_first() {
    let snapshot = super::encode_snapshot(&new_room());
    assert!(snapshot.starts_with(b"{\"format\":5,\"group\":{"));
    let event = super::encode_event(&an_event());
    assert_eq!(
        String::from_utf8(event).unwrap(),
        r#"{"format":5,"at_ms":1764000001000,"event":{"kind":"group_renamed","name":"Renamed"}}"#
    );
}

/// A room as formats 1 to 3 knew them: its current meeting running (live), since meetings had
/// no upcoming phase before format 4.
fn running_room() -> RoomState {
    let mut state = new_room();
    state.meeting.phase = roundtable_protocol::MeetingPhase::Live;
    state
}

#[test]
fn a_record_without_a_format_is_read_as_format_1() {
    let state = running_room();
    let v0 = without_format(&super::encode_snapshot(&state));
    assert_eq!(super::decode_snapshot(&v0).unwrap(), state);
    let v0 = without_format(&super::encode_event(&an_event()));
    assert_eq!(super::decode_event(&v0).unwrap().event, an_event().event);
}

#[test]
fn a_record_in_format_1_is_read() {
    let state = running_room();
    let format_1 = with_format(&super::encode_snapshot(&state), 1);
    assert_eq!(super::decode_snapshot(&format_1).unwrap(), state);
    let format_1 = with_format(&super::encode_event(&an_event()), 1);
    let event = super::decode_event(&format_1).unwrap();
    assert_eq!(
        (event.at_ms, event.event),
        (an_event().at_ms, an_event().event)
    );
}

/// Format 4 keeps a meeting's phase; a format 3 snapshot, which has none, reads forward with
/// its current meeting live, since it was running.
#[test]
fn the_meeting_phase_is_kept_and_a_format_3_meeting_reads_as_live() {
    use roundtable_protocol::MeetingPhase;
    let upcoming = new_room();
    assert_eq!(upcoming.meeting.phase, MeetingPhase::Upcoming);
    let bytes = super::encode_snapshot(&upcoming);
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["meeting"]["phase"], "upcoming");
    assert_eq!(super::decode_snapshot(&bytes).unwrap(), upcoming);

    let mut format_3: serde_json::Value = value.clone();
    format_3["format"] = serde_json::json!(3);
    format_3["meeting"].as_object_mut().unwrap().remove("phase");
    // Format 3 stored who was online (format 4 does not).
    format_3["online"] = serde_json::json!([]);
    let read = super::decode_snapshot(&serde_json::to_vec(&format_3).unwrap()).unwrap();
    assert_eq!(read.meeting.phase, MeetingPhase::Live);
    assert_eq!(read.meeting.started_at_ms, upcoming.meeting.started_at_ms);
    assert_eq!(read, running_room_like(&upcoming));

    // A format 4 snapshot without a phase is not a valid record.
    let mut broken = value;
    broken["meeting"].as_object_mut().unwrap().remove("phase");
    assert!(super::decode_snapshot(&serde_json::to_vec(&broken).unwrap()).is_err());
}

fn running_room_like(state: &RoomState) -> RoomState {
    let mut state = state.clone();
    state.meeting.phase = roundtable_protocol::MeetingPhase::Live;
    state
}

/// The two events of a meeting's life (format 4's) are written in today's format and read back.
#[test]
fn the_meeting_life_events_are_written_and_read_back() {
    for (event, json) in [
        (RoomEvent::MeetingStarted, r#"{"kind":"meeting_started"}"#),
        (
            RoomEvent::NextMeetingOpened {
                meeting_id: MeetingId(uuid::Uuid::from_u128(7)),
                number: 3,
            },
            r#"{"kind":"next_meeting_opened","meeting_id":"00000000-0000-0000-0000-000000000007","number":3}"#,
        ),
    ] {
        let stored = StoredEvent {
            at_ms: 5,
            event: event.clone(),
        };
        let bytes = super::encode_event(&stored);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            format!(r#"{{"format":5,"at_ms":5,"event":{json}}}"#)
        );
        assert_eq!(super::decode_event(&bytes).unwrap().event, event);
        // Format 4 wrote them so.
        assert_eq!(
            super::decode_event(&with_format(&bytes, 4)).unwrap().event,
            event
        );
        // Format 3 never had them.
        assert!(super::decode_event(&with_format(&bytes, 3)).is_err());
    }
}

#[test]
fn a_record_from_a_newer_roundtable_is_refused_by_its_number() {
    let newer = with_format(&super::encode_snapshot(&new_room()), 6);
    let error = super::decode_snapshot(&newer).unwrap_err();
    assert_eq!(
        error,
        FormatError::Newer {
            record: "room snapshot",
            format: 6
        }
    );
    assert_eq!(
        error.to_string(),
        "room snapshot is in stored format 6, written by a newer Roundtable; this version reads \
         stored formats up to 5"
    );
    let newer = with_format(&super::encode_event(&an_event()), 7_000_000_000);
    let error = super::decode_event(&newer).unwrap_err();
    assert_eq!(
        error,
        FormatError::Newer {
            record: "log entry",
            format: 7_000_000_000
        }
    );
    assert!(
        error
            .to_string()
            .contains("stored format 7000000000, written by a newer Roundtable")
    );
}

#[test]
fn a_format_never_written_and_bad_records_are_refused() {
    let zero = with_format(&super::encode_snapshot(&new_room()), 0);
    assert_eq!(
        super::decode_snapshot(&zero).unwrap_err(),
        FormatError::Unknown {
            record: "room snapshot",
            format: 0
        }
    );
    for bytes in [
        &b"not json"[..],
        b"[1]",
        b"{\"format\": \"one\"}",
        b"{\"format\": 1}",
    ] {
        assert!(
            matches!(
                super::decode_event(bytes),
                Err(FormatError::Parse {
                    record: "log entry",
                    ..
                })
            ),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn secret_hashes_are_stored_as_hex() {
    let mut known = [0u8; 32];
    known[..4].copy_from_slice(&[0x00, 0x0f, 0xa5, 0xff]);
    let json = serde_json::to_string(&v1::SecretHash(known)).unwrap();
    assert_eq!(json, format!("\"000fa5ff{}\"", "0".repeat(56)));
    let back: v1::SecretHash = serde_json::from_str(&json).unwrap();
    assert_eq!(back, v1::SecretHash(known));
    assert_eq!(format!("{back:?}"), "SecretHash(..)");
    for bad in ["\"00\"", &format!("\"{}\"", "g".repeat(64))] {
        assert!(
            serde_json::from_str::<v1::SecretHash>(bad).is_err(),
            "{bad}"
        );
    }
}

/// A format 1 snapshot from before benchmarks, practices, role play and the meeting flow, with
/// none of their fields.
const SNAPSHOT_BEFORE_THE_FEATURES: &str = r#"{
    "format": 1,
    "group": {
        "id": "0193a1b2-0000-7000-8000-000000000001",
        "name": "Early",
        "facilitator_secret_hash": "0000000000000000000000000000000000000000000000000000000000000001",
        "invite_secret_hash": "0000000000000000000000000000000000000000000000000000000000000002",
        "created_at_ms": 1700000000000
    },
    "meeting": {
        "id": "0193a1b2-0000-7000-8000-000000000002",
        "number": 1,
        "started_at_ms": 1700000000000
    },
    "members": [],
    "online": [],
    "hands": [],
    "seq": 0
}"#;

#[test]
fn a_snapshot_lacking_a_features_fields_reads_as_the_frozen_defaults() {
    let state = super::decode_snapshot(SNAPSHOT_BEFORE_THE_FEATURES.as_bytes())
        .expect("an early snapshot reads");
    let metrics: Vec<&str> = state
        .activity
        .metrics
        .iter()
        .map(|m| m.key.as_str())
        .collect();
    assert_eq!(
        metrics,
        ["calls", "meetings", "proposals", "deals_closed", "revenue"]
    );
    assert!(state.activity.current.is_empty() && state.activity.history.is_empty());
    let template: Vec<&str> = state
        .flow
        .template
        .iter()
        .map(|item| item.title.as_str())
        .collect();
    assert_eq!(
        template,
        [
            "Check-in round",
            "Report back",
            "Bring a problem",
            "Role play",
            "Benchmarks",
            "Best practices",
            "New commitments"
        ]
    );
    let agenda: Vec<(u32, &str)> = state
        .flow
        .agenda
        .iter()
        .map(|item| (item.item_id, item.title.as_str()))
        .collect();
    assert_eq!(agenda, (1..).zip(template).collect::<Vec<_>>());
    assert_eq!(
        (
            state.flow.next_item_id,
            state.flow.next_proposal_id,
            state.flow.next_suggestion_id
        ),
        (8, 1, 1)
    );
    assert!(state.commitments.commitments.is_empty() && state.practices.practices.is_empty());
    assert!(state.role_play.current.is_none() && state.past_meetings.is_empty());
}

/// Format 2 keeps who put a dot on which suggestion, and reads format 1's flow as having none.
#[test]
fn dot_votes_are_kept_in_format_2_and_format_1_has_none() {
    use roundtable_protocol::MemberId;
    let mut state = new_room();
    let (ann, bob) = (MemberId::random(), MemberId::random());
    let votes = &mut state.flow.votes.by_item;
    votes.entry(3).or_default().insert(1, [ann, bob].into());
    votes.entry(3).or_default().insert(2, [bob].into());
    votes.entry(5).or_default().insert(9, [ann].into());
    let bytes = super::encode_snapshot(&state);
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["flow"]["votes"].as_array().unwrap().len(), 3);
    assert_eq!(super::decode_snapshot(&bytes).unwrap(), state);
    let mut format_1: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    format_1["format"] = serde_json::json!(1);
    format_1["online"] = serde_json::json!([]);
    format_1["flow"].as_object_mut().unwrap().remove("votes");
    let read = super::decode_snapshot(&serde_json::to_vec(&format_1).unwrap()).unwrap();
    assert!(read.flow.votes.by_item.is_empty());
    assert_eq!(read.flow.agenda, state.flow.agenda);
}

/// Presence is not stored since format 4 (issue 19): a format 3 snapshot's `online` is left
/// behind (a room read from it has nobody online), today's snapshots have none, and a format 3
/// log's `presence_changed` is still read, as the obsolete event it is.
#[test]
fn presence_is_not_stored_and_old_presence_is_still_read() {
    let mut state = new_room();
    let ann = MemberId::random();
    state.online.insert(ann);
    let bytes = super::encode_snapshot(&state);
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(value.get("online").is_none(), "no presence in format 4");
    assert!(super::decode_snapshot(&bytes).unwrap().online.is_empty());

    let mut format_3 = value.clone();
    format_3["format"] = serde_json::json!(3);
    format_3["online"] = serde_json::json!([ann]);
    let read = super::decode_snapshot(&serde_json::to_vec(&format_3).unwrap()).unwrap();
    assert!(read.online.is_empty() && read.logged_online.is_empty());

    let old_event = serde_json::json!({"format": 3, "at_ms": 5, "event": {
        "kind": "presence_changed", "member_id": ann, "online": true, "reason": "joined"}});
    let read = super::decode_event(&serde_json::to_vec(&old_event).unwrap()).unwrap();
    assert_eq!(
        read.event,
        RoomEvent::PresenceChanged {
            member_id: ann,
            online: true,
            reason: roundtable_protocol::PresenceReason::Joined,
        }
    );
    let attended = StoredEvent {
        at_ms: 6,
        event: RoomEvent::MemberAttended { member_id: ann },
    };
    let bytes = super::encode_event(&attended);
    assert_eq!(
        String::from_utf8(bytes.clone()).unwrap(),
        format!(
            r#"{{"format":5,"at_ms":6,"event":{{"kind":"member_attended","member_id":"{ann}"}}}}"#
        )
    );
    assert_eq!(super::decode_event(&bytes).unwrap().event, attended.event);
}

/// Format 5: a member's held report backs are kept in their prep, by commitment id, and the
/// event that holds, revises or drops one is written and read back; format 4 never had it.
#[test]
fn held_report_backs_are_stored_in_format_5() {
    use roundtable_protocol::{CommitmentStatus, ReportBack};
    let ann = MemberId(uuid::Uuid::from_u128(0xa));
    let held = ReportBack {
        status: CommitmentStatus::Done,
        note: "Signed".into(),
    };
    for (report_back, json) in [
        (Some(held.clone()), r#"{"status":"done","note":"Signed"}"#),
        (None, "null"),
    ] {
        let event = StoredEvent {
            at_ms: 7,
            event: RoomEvent::ReportBackHeld {
                member_id: ann,
                commitment_id: 3,
                report_back,
            },
        };
        let bytes = super::encode_event(&event);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            format!(
                r#"{{"format":5,"at_ms":7,"event":{{"kind":"report_back_held","member_id":"{ann}","commitment_id":3,"report_back":{json}}}}}"#
            )
        );
        assert_eq!(super::decode_event(&bytes).unwrap().event, event.event);
        assert!(super::decode_event(&with_format(&bytes, 4)).is_err());
    }
    // In a snapshot: under the member's prep, by commitment id.
    let mut state = new_room();
    state.prep.save_report_back(ann, 3, &Some(held.clone()));
    let bytes = super::encode_snapshot(&state);
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        value["prep"]["by_member"][ann.to_string()],
        serde_json::json!({"report_backs": {"3": {"status": "done", "note": "Signed"}}})
    );
    assert_eq!(super::decode_snapshot(&bytes).unwrap().prep, state.prep);
    // A format 4 room reads forward with none held.
    let mut without = state.clone();
    without.prep = crate::prep::PrepState::default();
    let format_4 = with_format(&super::encode_snapshot(&without), 4);
    assert_eq!(
        super::decode_snapshot(&format_4).unwrap(),
        without.as_loaded()
    );
}
