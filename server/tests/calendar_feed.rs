//! The schedule and its calendar feed against a real server: a facilitator sets a weekly
//! schedule in Europe/Berlin, a member gets their feed URL over the WebSocket and fetches it
//! as a calendar app would (no headers). The feed is read with the `icalendar` parser and its
//! RRULE expanded with the `rrule` library (which has its own time zone database): across the
//! change to summer time the meetings stay at 09:00 Berlin while their UTC instant moves by an
//! hour, the zone's own VTIMEZONE says the same, and a moved meeting is an override of its
//! occurrence. Wrong, revoked, renewed-away and removed members' secrets get the same 404,
//! which loads no room.

mod support;

use icalendar::parser::{Component, Property, read_calendar, unfold};
use roundtable_protocol::{Cadence, ErrorCode, Reply, Request, ScheduleDraft, Weekday};
use rrule::RRuleSet;
use support::*;

fn weekly_berlin() -> ScheduleDraft {
    ScheduleDraft {
        cadence: Cadence::Week {
            weekday: Weekday::Monday,
        },
        // Mondays from 1 March 2027: Europe/Berlin changes to summer time on 28 March 2027.
        starts_on: "2027-03-01".into(),
        start_time: "09:00".into(),
        duration_minutes: 90,
        time_zone: "Europe/Berlin".into(),
    }
}

async fn renew_feed(client: &mut TestClient) -> String {
    let id = client.send(Request::RenewCalendarFeed).await;
    match client.answer(id).await {
        Ok(Reply::CalendarFeed { url }) => url,
        other => panic!("renew_calendar_feed answered {other:?}"),
    }
}

/// The path of a URL the server handed out.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").expect("an absolute URL").1;
    rest[rest.find('/').expect("a path")..].to_string()
}

fn property<'c>(component: &'c Component<'_>, name: &str) -> &'c Property<'c> {
    component
        .find_prop(name)
        .unwrap_or_else(|| panic!("{} has no {name}", component.name.as_str()))
}

fn param<'p>(property: &'p Property<'_>, key: &str) -> Option<&'p str> {
    property
        .params
        .iter()
        .find(|param| param.key.as_str() == key)
        .and_then(|param| param.val.as_ref())
        .map(|val| val.as_str())
}

/// Checks the file's form (CRLF, 75-octet lines) and parses it.
fn checked_calendar(body: &str) -> String {
    assert!(body.ends_with("\r\n"), "lines end with CRLF");
    for line in body.split("\r\n") {
        assert!(!line.contains('\n'), "no bare LF: {line:?}");
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    unfold(body)
}

#[tokio::test]
async fn the_feed_keeps_local_time_across_daylight_saving_and_only_its_secret_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;

    // A request for a group nobody has joined loads no room, with any secret.
    let quiet = create_group(server.addr, "Quiet").await;
    let guessed = format!(
        "/api/groups/{}/calendar/{}.ics",
        quiet.group_id,
        "A".repeat(43)
    );
    let (status, head, _) = http_get_with_head(server.addr, &guessed, None).await;
    assert_eq!(status, 404);
    assert!(!head.to_ascii_lowercase().contains("text/calendar"));
    assert_eq!(live_rooms(&server).await, 0, "a feed request loads no room");

    let group = create_group(server.addr, "Sales, Peers; Berlin").await;
    let mut fran = TestClient::joined_as_facilitator(server.addr, &group, "Fran").await;
    let mut ann = TestClient::joined_as_member(server.addr, &group, "Ann").await;
    let mut bob = TestClient::joined_as_member(server.addr, &group, "Bob").await;

    // Only a facilitator sets it, and a zone the server does not know is refused.
    ann.fails(
        Request::SetSchedule {
            schedule: Some(weekly_berlin()),
        },
        ErrorCode::Forbidden,
    )
    .await;
    let message = fran
        .fails(
            Request::SetSchedule {
                schedule: Some(ScheduleDraft {
                    time_zone: "Mars/Olympus_Mons".into(),
                    ..weekly_berlin()
                }),
            },
            ErrorCode::Invalid,
        )
        .await;
    assert!(
        message.contains("not a time zone this server knows"),
        "{message}"
    );
    fran.ok(Request::SetSchedule {
        schedule: Some(weekly_berlin()),
    })
    .await;
    fran.ok(Request::SetCallLink {
        url: Some("https://meet.jit.si/SalesPeersBerlin".into()),
    })
    .await;
    fran.ok(Request::MoveMeeting {
        occurrence: "2027-04-05".into(),
        to: "2027-04-07T10:00".into(),
    })
    .await;
    ann.event_where(|frame| {
        matches!(&frame.event, roundtable_protocol::Event::ScheduleSet { schedule: Some(schedule) } if !schedule.moves.is_empty())
    })
    .await;

    // Everyone can ask when the next meeting is: the first, on 1 March, 09:00 in Berlin.
    let id = ann.send(Request::GetNextMeeting).await;
    let Ok(Reply::NextMeeting {
        next_meeting: Some(next),
    }) = ann.answer(id).await
    else {
        panic!("the next meeting");
    };
    assert_eq!(next.local_start, "2027-03-01T09:00");
    assert_eq!(next.time_zone, "Europe/Berlin");
    assert_eq!(
        next.starts_at_ms,
        "2027-03-01T08:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond() as u64
    );

    let ann_url = renew_feed(&mut ann).await;
    assert!(ann_url.starts_with(&format!(
        "http://{}/api/groups/{}/calendar/",
        server.addr, group.group_id
    )));
    let (status, head, body) = http_get_with_head(server.addr, &path_of(&ann_url), None).await;
    assert_eq!(status, 200, "{body}");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: text/calendar; charset=utf-8"),
        "{head}"
    );
    assert!(head.contains("cache-control: no-store"), "{head}");

    let unfolded = checked_calendar(&body);
    let calendar = read_calendar(&unfolded).expect("the feed parses");
    let events: Vec<&Component<'_>> = calendar
        .components
        .iter()
        .filter(|component| component.name.as_str() == "VEVENT")
        .collect();
    assert_eq!(events.len(), 2, "the series and the moved meeting");
    let series = events
        .iter()
        .find(|event| event.find_prop("RRULE").is_some())
        .expect("a recurring event");
    let moved = events
        .iter()
        .find(|event| event.find_prop("RECURRENCE-ID").is_some())
        .expect("an override");
    let uid = property(series, "UID").val.as_str();
    assert_eq!(
        property(moved, "UID").val.as_str(),
        uid,
        "one UID for the series"
    );
    assert!(property(series, "DTSTAMP").val.as_str().ends_with('Z'));
    // Escaped in the file, read back as typed.
    assert!(unfolded.contains("\r\nSUMMARY:Sales\\, Peers\\; Berlin\r\n"));
    assert_eq!(
        property(series, "SUMMARY").val.as_str(),
        "Sales, Peers; Berlin"
    );
    assert_eq!(
        property(series, "URL").val.as_str(),
        "https://meet.jit.si/SalesPeersBerlin"
    );
    assert_eq!(
        property(series, "LOCATION").val.as_str(),
        "https://meet.jit.si/SalesPeersBerlin"
    );
    assert!(
        property(series, "DESCRIPTION")
            .val
            .as_str()
            .contains(&format!("/g/{}", group.group_id))
    );

    // The RRULE, expanded by the rrule library from DTSTART with its TZID.
    let dtstart = property(series, "DTSTART");
    assert_eq!(param(dtstart, "TZID"), Some("Europe/Berlin"));
    let rule_text = format!(
        "DTSTART;TZID=Europe/Berlin:{}\nRRULE:{}",
        dtstart.val.as_str(),
        property(series, "RRULE").val.as_str()
    );
    let set: RRuleSet = rule_text.parse().expect("the rule parses");
    let meetings = set.all(8).dates;
    assert_eq!(meetings.len(), 8);
    let local = |index: usize| meetings[index].naive_local().to_string();
    assert_eq!(local(0), "2027-03-01 09:00:00");
    for index in 0..8 {
        assert!(
            local(index).ends_with(" 09:00:00"),
            "every meeting at 09:00 local: {}",
            local(index)
        );
    }
    // 22 March is before the change, 29 March after it: the same local time, an hour earlier
    // in UTC.
    assert_eq!(local(3), "2027-03-22 09:00:00");
    assert_eq!(local(4), "2027-03-29 09:00:00");
    assert_eq!(
        meetings[4].timestamp() - meetings[3].timestamp(),
        7 * 86_400 - 3_600
    );
    let utc_hour = |index: usize| {
        meetings[index]
            .with_timezone(&rrule::Tz::UTC)
            .naive_local()
            .to_string()
    };
    assert_eq!(utc_hour(3), "2027-03-22 08:00:00");
    assert_eq!(utc_hour(4), "2027-03-29 07:00:00");

    // The zone's VTIMEZONE says the same: summer time from 28 March 2027, 02:00, +0100 to +0200.
    let zone = calendar
        .components
        .iter()
        .find(|component| component.name.as_str() == "VTIMEZONE")
        .expect("a VTIMEZONE");
    assert_eq!(property(zone, "TZID").val.as_str(), "Europe/Berlin");
    let spring = zone
        .components
        .iter()
        .find(|observance| {
            observance.name.as_str() == "DAYLIGHT"
                && property(observance, "DTSTART").val.as_str() == "20270328T020000"
        })
        .expect("the change to summer time in 2027");
    assert_eq!(property(spring, "TZOFFSETFROM").val.as_str(), "+0100");
    assert_eq!(property(spring, "TZOFFSETTO").val.as_str(), "+0200");
    assert_eq!(property(spring, "TZNAME").val.as_str(), "CEST");

    // The moved meeting overrides the occurrence of 5 April, which the rule has.
    let recurrence = property(moved, "RECURRENCE-ID");
    assert_eq!(param(recurrence, "TZID"), Some("Europe/Berlin"));
    assert_eq!(recurrence.val.as_str(), "20270405T090000");
    assert_eq!(
        local(5),
        "2027-04-05 09:00:00",
        "the moved meeting is one of the series"
    );
    let moved_start = property(moved, "DTSTART");
    assert_eq!(param(moved_start, "TZID"), Some("Europe/Berlin"));
    assert_eq!(moved_start.val.as_str(), "20270407T100000");
    assert_eq!(property(moved, "DURATION").val.as_str(), "PT90M");

    // A wrong secret of the right form, a malformed one, and another group's path: 404.
    let wrong = format!(
        "/api/groups/{}/calendar/{}.ics",
        group.group_id,
        "B".repeat(43)
    );
    for path in [
        wrong.clone(),
        format!("/api/groups/{}/calendar/short.ics", group.group_id),
        path_of(&ann_url).replace(&group.group_id.to_string(), &quiet.group_id.to_string()),
        path_of(&ann_url).replace(".ics", ".txt"),
    ] {
        let (status, _, body) = http_get_with_head(server.addr, &path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("BEGIN:VCALENDAR"));
    }

    // Renewing: the old URL stops working, the new one works.
    let renewed = renew_feed(&mut ann).await;
    assert_ne!(renewed, ann_url);
    assert_eq!(
        http_get_with_head(server.addr, &path_of(&ann_url), None)
            .await
            .0,
        404
    );
    assert_eq!(
        http_get_with_head(server.addr, &path_of(&renewed), None)
            .await
            .0,
        200
    );
    // Turning it off.
    ann.ok(Request::RevokeCalendarFeed { member_id: None })
        .await;
    assert_eq!(
        http_get_with_head(server.addr, &path_of(&renewed), None)
            .await
            .0,
        404
    );

    // A facilitator turns off another member's feed; a member cannot.
    let bob_url = renew_feed(&mut bob).await;
    assert_eq!(
        http_get_with_head(server.addr, &path_of(&bob_url), None)
            .await
            .0,
        200
    );
    let bob_id = bob.member_id.unwrap();
    ann.fails(
        Request::RevokeCalendarFeed {
            member_id: Some(bob_id),
        },
        ErrorCode::Forbidden,
    )
    .await;
    fran.ok(Request::RevokeCalendarFeed {
        member_id: Some(bob_id),
    })
    .await;
    assert_eq!(
        http_get_with_head(server.addr, &path_of(&bob_url), None)
            .await
            .0,
        404
    );

    // A removed member's feed stops working.
    let bob_url = renew_feed(&mut bob).await;
    assert_eq!(
        http_get_with_head(server.addr, &path_of(&bob_url), None)
            .await
            .0,
        200
    );
    fran.ok(Request::RemoveMember { member_id: bob_id }).await;
    assert_eq!(
        http_get_with_head(server.addr, &path_of(&bob_url), None)
            .await
            .0,
        404
    );

    // The one-off file of the next meeting, for a member with their token; moving the first
    // meeting moves it.
    fran.ok(Request::MoveMeeting {
        occurrence: "2027-03-01".into(),
        to: "2027-03-02T11:30".into(),
    })
    .await;
    let token = ann.member_token.clone().unwrap();
    let one_off = format!("/api/groups/{}/next-meeting.ics", group.group_id);
    let (status, _, _) = http_get_with_head(server.addr, &one_off, None).await;
    assert_eq!(status, 401);
    let (status, _, _) = http_get_with_head(server.addr, &one_off, Some("not-a-token")).await;
    assert_eq!(status, 401);
    let (status, head, body) = http_get_with_head(server.addr, &one_off, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("cache-control: no-store"));
    assert!(head.contains("content-disposition: attachment; filename=\"next-meeting.ics\""));
    let unfolded = checked_calendar(&body);
    let calendar = read_calendar(&unfolded).expect("the file parses");
    let events: Vec<&Component<'_>> = calendar
        .components
        .iter()
        .filter(|component| component.name.as_str() == "VEVENT")
        .collect();
    assert_eq!(events.len(), 1);
    assert!(events[0].find_prop("RRULE").is_none());
    let start = property(events[0], "DTSTART");
    assert_eq!(param(start, "TZID"), Some("Europe/Berlin"));
    assert_eq!(start.val.as_str(), "20270302T113000");

    // Without a schedule, no next meeting.
    fran.ok(Request::SetSchedule { schedule: None }).await;
    let (status, _, _) = http_get_with_head(server.addr, &one_off, Some(&token)).await;
    assert_eq!(status, 404);
    let id = ann.send(Request::GetNextMeeting).await;
    assert_eq!(
        ann.answer(id).await,
        Ok(Reply::NextMeeting { next_meeting: None })
    );

    for client in [fran, ann, bob] {
        client.close().await;
    }
    server.stop().await;
}
