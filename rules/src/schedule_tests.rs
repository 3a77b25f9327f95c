//! Tests of the schedule: its calendar arithmetic against jiff's, the next meeting in real
//! zones across daylight-saving changes with a clock the test sets, its checks and who may
//! change it, and the members' calendar feeds.

use jiff::Timestamp;
use jiff::civil;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use roundtable_protocol::{
    Credential, ErrorCode, Event, GroupId, MeetingId, MemberId, Request, ScheduleDraft,
};

use super::*;
use crate::command::test_support::decide;
use crate::limits::RoomLimits;
use crate::secret::{hash_secret, new_secret};
use crate::state::{FreshMember, Group, RoomState, decide_join};

/// A zone of jiff's database, as the server's is.
struct Real(TimeZone);

impl Real {
    fn named(name: &str) -> Real {
        Real(TimeZone::get(name).unwrap())
    }
}

impl Offsets for Real {
    fn offset_seconds(&self, ms: UnixMs) -> i32 {
        self.0
            .to_offset(Timestamp::from_millisecond(ms as i64).unwrap())
            .seconds()
    }
}

/// The instant of a local moment in a zone, by jiff.
fn jiff_ms(zone: &str, local: &str) -> UnixMs {
    let datetime: civil::DateTime = local.parse().unwrap();
    datetime
        .to_zoned(TimeZone::get(zone).unwrap())
        .unwrap()
        .timestamp()
        .as_millisecond() as u64
}

fn utc_ms(text: &str) -> UnixMs {
    text.parse::<Timestamp>().unwrap().as_millisecond() as u64
}

fn jiff_weekday(weekday: jiff::civil::Weekday) -> Weekday {
    WEEKDAYS[weekday.to_monday_zero_offset() as usize]
}

fn draft(cadence: Cadence, starts_on: &str, start_time: &str, zone: &str) -> ScheduleDraft {
    ScheduleDraft {
        cadence,
        starts_on: starts_on.into(),
        start_time: start_time.into(),
        duration_minutes: 90,
        time_zone: zone.into(),
    }
}

fn schedule_of(draft: &ScheduleDraft) -> Schedule {
    Schedule {
        cadence: draft.cadence,
        starts_on: draft.starts_on.clone(),
        start_time: draft.start_time.clone(),
        duration_minutes: draft.duration_minutes,
        time_zone: draft.time_zone.clone(),
        moves: Vec::new(),
    }
}

fn weekday_strategy() -> impl Strategy<Value = Weekday> {
    (0usize..7).prop_map(|index| WEEKDAYS[index])
}

fn cadence_strategy() -> impl Strategy<Value = Cadence> {
    prop_oneof![
        weekday_strategy().prop_map(|weekday| Cadence::Week { weekday }),
        weekday_strategy().prop_map(|weekday| Cadence::TwoWeeks { weekday }),
        (prop_oneof![Just(-1i8), 1i8..=4], weekday_strategy())
            .prop_map(|(week, weekday)| Cadence::MonthWeekday { week, weekday }),
        (1u8..=28).prop_map(|day| Cadence::MonthDay { day }),
    ]
}

proptest! {
    #[test]
    fn days_and_weekdays_agree_with_jiff(days in -30_000i64..120_000) {
        let date = Date::from_days(days);
        prop_assert_eq!(date.days(), days);
        let theirs = civil::Date::new(date.year as i16, date.month as i8, date.day as i8).unwrap();
        prop_assert_eq!(
            theirs.since(civil::date(1970, 1, 1)).unwrap().get_days() as i64,
            days
        );
        prop_assert_eq!(date.weekday(), jiff_weekday(theirs.weekday()));
        if (YEAR_MIN..=YEAR_MAX).contains(&date.year) {
            prop_assert_eq!(Date::parse("a day", &date.to_string()).unwrap(), date);
        }
    }

    #[test]
    fn every_meeting_fits_the_cadence_as_jiff_counts_it(
        cadence in cadence_strategy(),
        start in 10_957i64..40_000,
    ) {
        let starts_on = Date::from_days(start);
        let plan = Plan::of(&schedule_of(&draft(cadence, &starts_on.to_string(), "09:00", "UTC"))).unwrap();
        let meetings = plan.occurrences_from(starts_on, 30);
        prop_assert_eq!(meetings.len(), 30);
        prop_assert!(meetings[0].regular >= starts_on);
        // Nothing fits between the first day and the first meeting.
        let mut day = starts_on;
        while day < meetings[0].regular {
            prop_assert!(!plan.is_regular(day));
            day = day.plus_days(1);
        }
        for (index, meeting) in meetings.iter().enumerate() {
            let date = meeting.regular;
            prop_assert!(plan.is_regular(date));
            let theirs = civil::Date::new(date.year as i16, date.month as i8, date.day as i8).unwrap();
            match cadence {
                Cadence::Week { weekday } | Cadence::TwoWeeks { weekday } => {
                    prop_assert_eq!(jiff_weekday(theirs.weekday()), weekday);
                    if index > 0 {
                        let step = if matches!(cadence, Cadence::Week { .. }) { 7 } else { 14 };
                        prop_assert_eq!(date.days() - meetings[index - 1].regular.days(), step);
                    }
                }
                Cadence::MonthWeekday { week, weekday } => {
                    let jiff_day = match weekday {
                        Weekday::Monday => civil::Weekday::Monday,
                        Weekday::Tuesday => civil::Weekday::Tuesday,
                        Weekday::Wednesday => civil::Weekday::Wednesday,
                        Weekday::Thursday => civil::Weekday::Thursday,
                        Weekday::Friday => civil::Weekday::Friday,
                        Weekday::Saturday => civil::Weekday::Saturday,
                        Weekday::Sunday => civil::Weekday::Sunday,
                    };
                    prop_assert_eq!(theirs.nth_weekday_of_month(week, jiff_day).unwrap(), theirs);
                }
                Cadence::MonthDay { day } => prop_assert_eq!(date.day, day),
            }
            if index > 0 && matches!(cadence, Cadence::MonthWeekday { .. } | Cadence::MonthDay { .. }) {
                let previous = meetings[index - 1].regular;
                let months = (date.year - previous.year) * 12 + i32::from(date.month) - i32::from(previous.month);
                prop_assert_eq!(months, 1, "one meeting a month, every month");
            }
        }
    }

    #[test]
    fn local_moments_become_the_instants_jiff_gives(
        days in 10_957i64..30_000,
        minute_of_day in 0u32..1_440,
        zone in prop::sample::select(vec!["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]),
    ) {
        let moment = LocalMoment {
            date: Date::from_days(days),
            hour: (minute_of_day / 60) as u8,
            minute: (minute_of_day % 60) as u8,
        };
        let ours = moment.instant_ms(&Real::named(zone));
        // jiff's default: the earlier of a repeated time, a skipped time read with the offset
        // before the change; as RFC 5545 reads it.
        prop_assert_eq!(ours, jiff_ms(zone, &format!("{moment}:00")), "{} in {}", moment, zone);
    }
}

#[test]
fn weekly_meetings_keep_their_local_time_across_daylight_saving_changes() {
    let berlin = Real::named("Europe/Berlin");
    let plan = Plan::of(&schedule_of(&draft(
        Cadence::Week {
            weekday: Weekday::Monday,
        },
        "2026-03-01",
        "09:00",
        "Europe/Berlin",
    )))
    .unwrap();
    // Before the change (29 March 2026), 09:00 in Berlin is 08:00 UTC; after it, 07:00 UTC.
    let before = plan
        .next_after(&berlin, utc_ms("2026-03-17T12:00:00Z"))
        .unwrap();
    assert_eq!(before.start.to_string(), "2026-03-23T09:00");
    assert_eq!(
        before.start.instant_ms(&berlin),
        utc_ms("2026-03-23T08:00:00Z")
    );
    let after = plan
        .next_after(&berlin, utc_ms("2026-03-23T08:00:00Z"))
        .unwrap();
    assert_eq!(after.start.to_string(), "2026-03-30T09:00");
    assert_eq!(
        after.start.instant_ms(&berlin),
        utc_ms("2026-03-30T07:00:00Z")
    );
    // A meeting that starts exactly now is not the next one; one a minute later is.
    assert_eq!(
        plan.next_after(&berlin, utc_ms("2026-03-30T06:59:00Z"))
            .unwrap()
            .regular,
        after.regular
    );
    // Before the first day, the first meeting.
    assert_eq!(
        plan.next_after(&berlin, utc_ms("2020-01-01T00:00:00Z"))
            .unwrap()
            .start
            .to_string(),
        "2026-03-02T09:00"
    );
}

#[test]
fn the_next_meeting_is_after_the_current_meetings_planned_end() {
    let berlin = Real::named("Europe/Berlin");
    let schedule = schedule_of(&draft(
        Cadence::Week {
            weekday: Weekday::Tuesday,
        },
        "2026-01-01",
        "09:00",
        "Europe/Berlin",
    ));
    // The meeting of Tuesday 13 January started early, at 08:55 Berlin (07:55 UTC); at 09:10
    // the next meeting is the week after, not the one under way.
    let started = utc_ms("2026-01-13T07:55:00Z");
    let now = utc_ms("2026-01-13T08:10:00Z");
    let after = current_meeting_ends_ms(Some(&schedule), started, now);
    assert_eq!(after, started + 90 * 60_000);
    let next = next_meeting(Some(&schedule), &berlin, after).unwrap();
    assert_eq!(next.local_start, "2026-01-20T09:00");
    assert_eq!(next.occurrence, "2026-01-20");
    assert_eq!(next.starts_at_ms, utc_ms("2026-01-20T08:00:00Z"));
    assert_eq!(next.ends_at_ms, utc_ms("2026-01-20T09:30:00Z"));
    assert!(!next.moved);
    // Long after the last meeting ended, now counts.
    let later = current_meeting_ends_ms(Some(&schedule), started, utc_ms("2026-02-04T12:00:00Z"));
    assert_eq!(
        next_meeting(Some(&schedule), &berlin, later)
            .unwrap()
            .local_start,
        "2026-02-10T09:00"
    );
    assert_eq!(next_meeting(None, &berlin, later), None);
}

#[test]
fn an_upcoming_meeting_stands_for_the_scheduled_meeting_until_it_is_over() {
    let berlin = Real::named("Europe/Berlin");
    let schedule = schedule_of(&draft(
        Cadence::Week {
            weekday: Weekday::Tuesday,
        },
        "2026-01-01",
        "09:00",
        "Europe/Berlin",
    ));
    let mut meeting = crate::roster::Meeting {
        id: roundtable_protocol::MeetingId::random(),
        number: 2,
        // The meeting before ended on 6 January; this one has been upcoming since.
        started_at_ms: utc_ms("2026-01-06T09:30:00Z"),
        attended: Vec::new(),
        phase: roundtable_protocol::MeetingPhase::Upcoming,
    };
    // At 09:05 Berlin on the 13th the facilitator has not started yet: the lobby still shows
    // the meeting of 09:00 today, not next week's.
    let late = utc_ms("2026-01-13T08:05:00Z");
    let next = |meeting: &crate::roster::Meeting, now| {
        next_meeting(
            Some(&schedule),
            &berlin,
            next_meeting_after_ms(Some(&schedule), meeting, now),
        )
        .unwrap()
        .local_start
    };
    assert_eq!(next(&meeting, late), "2026-01-13T09:00");
    // Once that meeting's planned time is over, the upcoming meeting stands for the next one.
    assert_eq!(
        next(&meeting, utc_ms("2026-01-13T09:31:00Z")),
        "2026-01-20T09:00"
    );
    // Started at 09:05, the meeting is live: the next is the week after.
    meeting.phase = roundtable_protocol::MeetingPhase::Live;
    meeting.started_at_ms = late;
    assert_eq!(next(&meeting, late), "2026-01-20T09:00");
}

#[test]
fn moved_meetings_take_their_new_time_and_order() {
    let new_york = Real::named("America/New_York");
    let mut schedule = schedule_of(&draft(
        Cadence::MonthWeekday {
            week: 2,
            weekday: Weekday::Tuesday,
        },
        "2026-01-01",
        "17:30",
        "America/New_York",
    ));
    // The 2nd Tuesday of March 2026 is the 10th, two days after the change to daylight time.
    schedule.moves = vec![MovedMeeting {
        occurrence: "2026-03-10".into(),
        to: "2026-03-05T08:00".into(),
    }];
    let plan = Plan::of(&schedule).unwrap();
    let after_february = utc_ms("2026-02-11T00:00:00Z");
    let next = plan.next_after(&new_york, after_february).unwrap();
    assert!(next.moved);
    assert_eq!(next.regular.to_string(), "2026-03-10");
    assert_eq!(
        next.start.instant_ms(&new_york),
        utc_ms("2026-03-05T13:00:00Z")
    );
    // Once it is past, April's (daylight time: 17:30 is 21:30 UTC).
    let next = plan
        .next_after(&new_york, utc_ms("2026-03-05T13:00:00Z"))
        .unwrap();
    assert_eq!(next.start.to_string(), "2026-04-14T17:30");
    assert_eq!(
        next.start.instant_ms(&new_york),
        utc_ms("2026-04-14T21:30:00Z")
    );
}

const FACILITATOR_SECRET: &str = "facilitator-secret";
const INVITE_SECRET: &str = "invite-secret";

struct Room {
    state: RoomState,
    fran: MemberId,
    ann: MemberId,
}

fn room() -> Room {
    let mut state = RoomState::new_group(
        Group {
            id: GroupId::random(),
            name: "Peers".into(),
            facilitator_secret_hash: hash_secret(FACILITATOR_SECRET),
            invite_secret_hash: hash_secret(INVITE_SECRET),
            created_at_ms: 1_000,
            time_zone: None,
            call_url: None,
        },
        MeetingId::random(),
        1_000,
    );
    let mut join = |credential: Credential| {
        let (token, token_hash) = new_secret();
        let fresh = FreshMember {
            member_id: MemberId::random(),
            token,
            token_hash,
        };
        let decision = decide_join(&state, &credential, fresh, &RoomLimits::default()).unwrap();
        apply(&mut state, &decision.events);
        decision.member_id
    };
    let fran = join(Credential::Facilitator {
        secret: FACILITATOR_SECRET.into(),
        display_name: "Fran".into(),
        member_token: None,
    });
    let ann = join(Credential::Invite {
        secret: INVITE_SECRET.into(),
        display_name: "Ann".into(),
        observer: false,
    });
    Room { state, fran, ann }
}

fn apply(state: &mut RoomState, events: &[RoomEvent]) {
    for event in events {
        let seq = state.seq + 1;
        state.apply(seq, 5_000, event);
    }
    state.check_invariants().unwrap();
}

impl Room {
    fn ask(&mut self, by: MemberId, request: Request) -> Result<Vec<RoomEvent>, RoomError> {
        self.ask_with(by, request, &RoomLimits::default())
    }

    fn ask_with(
        &mut self,
        by: MemberId,
        request: Request,
        limits: &RoomLimits,
    ) -> Result<Vec<RoomEvent>, RoomError> {
        let before = self.state.clone();
        match decide(&self.state, by, &request, limits, 5_000) {
            Ok(events) => {
                apply(&mut self.state, &events);
                Ok(events)
            }
            Err(error) => {
                assert_eq!(self.state, before, "a refusal changes nothing");
                Err(error)
            }
        }
    }

    fn refused(&mut self, by: MemberId, request: Request) -> (ErrorCode, String) {
        let error = self.ask(by, request).unwrap_err();
        (error.code, error.message)
    }
}

fn weekly_berlin() -> ScheduleDraft {
    draft(
        Cadence::Week {
            weekday: Weekday::Tuesday,
        },
        "2026-01-06",
        "09:00",
        "Europe/Berlin",
    )
}

#[test]
fn only_facilitators_set_the_schedule_and_the_group_meets_in_its_zone() {
    let mut room = room();
    let (code, _) = room.refused(
        room.ann,
        Request::SetSchedule {
            schedule: Some(weekly_berlin()),
        },
    );
    assert_eq!(code, ErrorCode::Forbidden);
    let events = room
        .ask(
            room.fran,
            Request::SetSchedule {
                schedule: Some(weekly_berlin()),
            },
        )
        .unwrap();
    assert_eq!(
        events.len(),
        2,
        "the schedule, and the group's zone with it"
    );
    assert_eq!(room.state.group.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(room.state.schedule, Some(schedule_of(&weekly_berlin())));
    // Everyone sees it, in the snapshot and on the wire.
    let snapshot = room.state.to_wire_snapshot_for(room.ann);
    assert_eq!(snapshot.group.schedule, Some(schedule_of(&weekly_berlin())));
    assert!(matches!(
        events[0].to_wire(5_000),
        Event::ScheduleSet { schedule: Some(_) }
    ));
    // The same again changes nothing; removing it removes it.
    assert_eq!(
        room.ask(
            room.fran,
            Request::SetSchedule {
                schedule: Some(weekly_berlin())
            }
        )
        .unwrap(),
        vec![]
    );
    room.ask(room.fran, Request::SetSchedule { schedule: None })
        .unwrap();
    assert_eq!(room.state.schedule, None);
    assert_eq!(
        room.ask(room.fran, Request::SetSchedule { schedule: None })
            .unwrap(),
        vec![]
    );
}

#[test]
fn a_schedule_that_does_not_read_is_refused_with_its_reason() {
    let mut room = room();
    let cases: Vec<(ScheduleDraft, &str)> = vec![
        (
            ScheduleDraft {
                duration_minutes: 14,
                ..weekly_berlin()
            },
            "15 to 480 minutes",
        ),
        (
            ScheduleDraft {
                duration_minutes: 481,
                ..weekly_berlin()
            },
            "15 to 480 minutes",
        ),
        (
            ScheduleDraft {
                cadence: Cadence::MonthDay { day: 29 },
                ..weekly_berlin()
            },
            "1 to 28",
        ),
        (
            ScheduleDraft {
                cadence: Cadence::MonthWeekday {
                    week: 5,
                    weekday: Weekday::Monday,
                },
                ..weekly_berlin()
            },
            "1 to 4, or -1",
        ),
        (
            ScheduleDraft {
                starts_on: "2026-02-30".into(),
                ..weekly_berlin()
            },
            "not a day of the calendar",
        ),
        (
            ScheduleDraft {
                starts_on: "06/01/2026".into(),
                ..weekly_berlin()
            },
            "YYYY-MM-DD",
        ),
        (
            ScheduleDraft {
                starts_on: "1999-12-31".into(),
                ..weekly_berlin()
            },
            "years 2000 to 2199",
        ),
        (
            ScheduleDraft {
                start_time: "24:00".into(),
                ..weekly_berlin()
            },
            "HH:MM",
        ),
        (
            ScheduleDraft {
                start_time: "9:00".into(),
                ..weekly_berlin()
            },
            "HH:MM",
        ),
        (
            ScheduleDraft {
                time_zone: "../etc/passwd".into(),
                ..weekly_berlin()
            },
            "time zone",
        ),
    ];
    for (draft, reason) in cases {
        let (code, message) = room.refused(
            room.fran,
            Request::SetSchedule {
                schedule: Some(draft.clone()),
            },
        );
        assert_eq!(code, ErrorCode::Invalid, "{draft:?}");
        assert!(
            message.contains(reason),
            "{message:?} should say {reason:?}"
        );
    }
}

#[test]
fn facilitators_move_a_meeting_and_move_it_back() {
    let mut room = room();
    let (code, _) = room.refused(
        room.fran,
        Request::MoveMeeting {
            occurrence: "2026-01-13".into(),
            to: "2026-01-14T10:00".into(),
        },
    );
    assert_eq!(code, ErrorCode::Conflict, "no schedule yet");
    room.ask(
        room.fran,
        Request::SetSchedule {
            schedule: Some(weekly_berlin()),
        },
    )
    .unwrap();
    let move_to = |occurrence: &str, to: &str| Request::MoveMeeting {
        occurrence: occurrence.into(),
        to: to.into(),
    };
    assert_eq!(
        room.refused(room.ann, move_to("2026-01-13", "2026-01-14T10:00"))
            .0,
        ErrorCode::Forbidden
    );
    // A Wednesday is no meeting of a Tuesday group; nor is a Tuesday before the first day.
    let (code, message) = room.refused(room.fran, move_to("2026-01-14", "2026-01-15T10:00"));
    assert_eq!(code, ErrorCode::Invalid);
    assert!(message.contains("not a day the group meets on"));
    assert_eq!(
        room.refused(room.fran, move_to("2025-12-30", "2026-01-15T10:00"))
            .0,
        ErrorCode::Invalid
    );
    assert_eq!(
        room.refused(room.fran, move_to("2026-01-13", "2026-01-14 10:00"))
            .0,
        ErrorCode::Invalid
    );
    room.ask(room.fran, move_to("2026-01-13", "2026-01-14T10:00"))
        .unwrap();
    let berlin = Real::named("Europe/Berlin");
    let next = next_meeting(
        room.state.schedule.as_ref(),
        &berlin,
        utc_ms("2026-01-07T00:00:00Z"),
    )
    .unwrap();
    assert!(next.moved);
    assert_eq!(next.local_start, "2026-01-14T10:00");
    // Moving it again replaces the move; moving it to its regular time clears it.
    room.ask(room.fran, move_to("2026-01-13", "2026-01-15T10:00"))
        .unwrap();
    assert_eq!(room.state.schedule.as_ref().unwrap().moves.len(), 1);
    room.ask(room.fran, move_to("2026-01-13", "2026-01-13T09:00"))
        .unwrap();
    assert!(room.state.schedule.as_ref().unwrap().moves.is_empty());
    // Clearing a move.
    room.ask(room.fran, move_to("2026-01-20", "2026-01-21T09:00"))
        .unwrap();
    assert_eq!(
        room.refused(
            room.ann,
            Request::ClearMove {
                occurrence: "2026-01-20".into()
            }
        )
        .0,
        ErrorCode::Forbidden
    );
    assert_eq!(
        room.refused(
            room.fran,
            Request::ClearMove {
                occurrence: "2026-01-27".into()
            }
        )
        .0,
        ErrorCode::NotFound
    );
    room.ask(
        room.fran,
        Request::ClearMove {
            occurrence: "2026-01-20".into(),
        },
    )
    .unwrap();
    assert!(room.state.schedule.as_ref().unwrap().moves.is_empty());
}

#[test]
fn moved_meetings_are_limited() {
    let mut room = room();
    room.ask(
        room.fran,
        Request::SetSchedule {
            schedule: Some(weekly_berlin()),
        },
    )
    .unwrap();
    let limits = RoomLimits {
        schedule_moves_max: 2,
        ..RoomLimits::default()
    };
    let fran = room.fran;
    for occurrence in ["2026-01-06", "2026-01-13"] {
        room.ask_with(
            fran,
            Request::MoveMeeting {
                occurrence: occurrence.into(),
                to: "2026-02-01T10:00".into(),
            },
            &limits,
        )
        .unwrap();
    }
    let refused = room
        .ask_with(
            fran,
            Request::MoveMeeting {
                occurrence: "2026-01-20".into(),
                to: "2026-02-01T10:00".into(),
            },
            &limits,
        )
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::LimitReached);
    // Moving a moved one again is no new move.
    room.ask_with(
        fran,
        Request::MoveMeeting {
            occurrence: "2026-01-13".into(),
            to: "2026-02-02T10:00".into(),
        },
        &limits,
    )
    .unwrap();
}

#[test]
fn each_member_has_their_own_feed_which_they_or_a_facilitator_turn_off() {
    let mut room = room();
    let (ann_secret, ann_hash) = new_secret();
    let (fran_secret, fran_hash) = new_secret();
    let events = decide_renew_feed(room.state.roster(), room.ann, ann_hash).unwrap();
    // On the wire, no hash.
    assert_eq!(
        serde_json::to_value(events[0].to_wire(5_000)).unwrap(),
        serde_json::json!({"kind": "calendar_feed_changed", "member_id": room.ann, "active": true})
    );
    apply(&mut room.state, &events);
    let events = decide_renew_feed(room.state.roster(), room.fran, fran_hash).unwrap();
    apply(&mut room.state, &events);
    let feeds = &room.state.calendar_feeds;
    assert_eq!(feed_owner(feeds, hash_secret(&ann_secret)), Some(room.ann));
    assert_eq!(
        feed_owner(feeds, hash_secret(&fran_secret)),
        Some(room.fran)
    );
    assert_eq!(feed_owner(feeds, hash_secret("a guess")), None);
    let mut snapshot_feeds = room.state.to_wire_snapshot_for(room.ann).calendar_feeds;
    snapshot_feeds.sort();
    let mut both = vec![room.ann, room.fran];
    both.sort();
    assert_eq!(snapshot_feeds, both);

    // Renewing replaces: the old secret stops working.
    let (renewed, renewed_hash) = new_secret();
    let events = decide_renew_feed(room.state.roster(), room.ann, renewed_hash).unwrap();
    apply(&mut room.state, &events);
    assert_eq!(
        feed_owner(&room.state.calendar_feeds, hash_secret(&ann_secret)),
        None
    );
    assert_eq!(
        feed_owner(&room.state.calendar_feeds, hash_secret(&renewed)),
        Some(room.ann)
    );

    // A member may not turn off another's; a facilitator may.
    let (code, _) = room.refused(
        room.ann,
        Request::RevokeCalendarFeed {
            member_id: Some(room.fran),
        },
    );
    assert_eq!(code, ErrorCode::Forbidden);
    room.ask(room.ann, Request::RevokeCalendarFeed { member_id: None })
        .unwrap();
    assert_eq!(
        feed_owner(&room.state.calendar_feeds, hash_secret(&renewed)),
        None
    );
    assert_eq!(
        room.ask(room.ann, Request::RevokeCalendarFeed { member_id: None })
            .unwrap(),
        vec![],
        "turning off what is off changes nothing"
    );
    let (_, again) = new_secret();
    let events = decide_renew_feed(room.state.roster(), room.ann, again).unwrap();
    apply(&mut room.state, &events);
    room.ask(
        room.fran,
        Request::RevokeCalendarFeed {
            member_id: Some(room.ann),
        },
    )
    .unwrap();
    assert!(!room.state.calendar_feeds.contains_key(&room.ann));
    assert_eq!(
        room.refused(
            room.fran,
            Request::RevokeCalendarFeed {
                member_id: Some(MemberId::random())
            }
        )
        .0,
        ErrorCode::NotFound
    );
}

#[test]
fn a_removed_members_feed_goes_with_them() {
    let mut room = room();
    let (secret, hash) = new_secret();
    let events = decide_renew_feed(room.state.roster(), room.ann, hash).unwrap();
    apply(&mut room.state, &events);
    room.ask(
        room.fran,
        Request::RemoveMember {
            member_id: room.ann,
        },
    )
    .unwrap();
    assert_eq!(
        feed_owner(&room.state.calendar_feeds, hash_secret(&secret)),
        None
    );
    assert_eq!(
        decide_renew_feed(room.state.roster(), room.ann, hash)
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
}
