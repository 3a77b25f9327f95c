//! Tests of the minutes: dates, CSV and Markdown escaping, and what a revealed role play puts
//! in them (the revealed texts, never a scorer).

use roundtable_protocol::{Criterion, GroupId, MeetingId, MemberId, Role, RolePlayRequest, Rubric};

use super::*;
use crate::command::test_support::role_play_command;
use crate::limits::RoomLimits;
use crate::roleplay::{Fresh, SubmissionSlot, decide, decide_submission};
use crate::secret::{hash_secret, new_secret};
use crate::state::{Group, RoomEvent};

#[test]
fn utc_minutes_are_civil_dates() {
    assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
    assert_eq!(utc_minute(951_782_400_000), "2000-02-29 00:00 UTC");
    assert_eq!(utc_minute(1_764_165_600_000), "2025-11-26 14:00 UTC");
    assert_eq!(utc_minute(1_798_761_599_000), "2026-12-31 23:59 UTC");
}

/// A zone with one offset all year, as a time zone database would answer for it.
struct Fixed(&'static str, i32);

impl LocalTime for Fixed {
    fn zone_name(&self) -> &str {
        self.0
    }
    fn offset_seconds(&self, _ms: UnixMs) -> i32 {
        self.1
    }
}

#[test]
fn local_minutes_give_the_wall_clock_and_name_the_zone() {
    // 2026-12-31 23:59 UTC is the next year in Auckland and the same evening in Honolulu.
    let at = 1_798_761_599_000;
    assert_eq!(
        local_minute(at, &Fixed("Pacific/Auckland", 13 * 3600)),
        "2027-01-01 12:59 Pacific/Auckland (UTC+13:00)"
    );
    assert_eq!(
        local_minute(at, &Fixed("Pacific/Honolulu", -10 * 3600)),
        "2026-12-31 13:59 Pacific/Honolulu (UTC-10:00)"
    );
    assert_eq!(
        local_minute(at, &Fixed("Asia/Kolkata", 5 * 3600 + 1800)),
        "2027-01-01 05:29 Asia/Kolkata (UTC+05:30)"
    );
    // Before 1970 too.
    assert_eq!(
        local_minute(0, &Fixed("America/New_York", -5 * 3600)),
        "1969-12-31 19:00 America/New_York (UTC-05:00)"
    );
}

#[test]
fn csv_fields_are_quoted_and_defused() {
    assert_eq!(csv_field("plain"), "plain");
    assert_eq!(csv_field("a, b"), "\"a, b\"");
    assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
}

#[test]
fn markdown_cells_cannot_break_tables() {
    assert_eq!(md("a|b\nc"), "a\\|b c");
}

fn apply_all(state: &mut RoomState, events: &[RoomEvent]) {
    for event in events {
        let seq = state.seq + 1;
        state.apply(seq, 5_000, event);
    }
}

fn add_member(state: &mut RoomState, name: &str, role: Role) -> MemberId {
    let member_id = MemberId::random();
    let (_, token_hash) = new_secret();
    let added = RoomEvent::MemberAdded {
        member_id,
        display_name: name.into(),
        role,
        token_hash,
    };
    apply_all(state, &[added]);
    member_id
}

fn facilitate(state: &mut RoomState, by: MemberId, action: RolePlayRequest, seed: u64) {
    let fresh = Fresh {
        role_play_id: roundtable_protocol::RolePlayId::random(),
        shuffle_seed: seed,
    };
    let command = role_play_command(&action);
    let events =
        decide(&*state, by, &command, fresh, 9_000, &RoomLimits::default()).expect("accepted");
    apply_all(state, &events);
}

/// Scores the current role play as `by`, as the actor does.
fn score(state: &mut RoomState, by: MemberId, scores: &[u32], comment: &str, one_thing: &str) {
    let role_play_id = state.role_play.scoring_open().expect("scoring is open");
    let decision = decide_submission(
        &*state,
        by,
        role_play_id,
        scores,
        comment,
        Some(one_thing).filter(|text| !text.is_empty()),
        SubmissionSlot::random(),
        &RoomLimits::default(),
    )
    .expect("submission accepted");
    state.put_submission(decision.slot, decision.submission);
    apply_all(state, decision.count_event.as_slice());
}

#[test]
fn minutes_hold_a_revealed_role_plays_comments_and_answers_and_no_scorer() {
    let mut state = RoomState::new_group(
        Group {
            id: GroupId::random(),
            name: "Peers".into(),
            facilitator_secret_hash: hash_secret("f"),
            invite_secret_hash: hash_secret("i"),
            created_at_ms: 1_000,
            time_zone: None,
            call_url: None,
        },
        MeetingId::random(),
        1_000,
    );
    let fran = add_member(&mut state, "Fran", Role::Facilitator);
    let sam = add_member(&mut state, "Sam", Role::Member);
    let scorers = ["Xenia", "Yusuf", "Zora"].map(|name| add_member(&mut state, name, Role::Member));
    let rubric = Rubric {
        name: "Discovery call".into(),
        criteria: vec![Criterion {
            name: "Questions".into(),
            description: String::new(),
            scale_min: 1,
            scale_max: 5,
            weight: 1,
        }],
        one_thing_differently: true,
    };
    let set_up = RolePlayRequest::SetUp {
        seller: sam,
        buyer: None,
        scenario: "Renewal with a CFO".into(),
        buyer_brief: None,
        rubric,
        reveal_threshold: None,
    };
    facilitate(&mut state, fran, set_up, 1);
    let role_play_id = state.role_play.current.as_ref().unwrap().info.role_play_id;
    facilitate(
        &mut state,
        fran,
        RolePlayRequest::OpenScoring { role_play_id },
        2,
    );
    score(
        &mut state,
        scorers[0],
        &[4],
        "Great | pause before the price",
        "Ask about the budget",
    );
    score(&mut state, scorers[1], &[3], "Rushed\nthe close", "");
    score(&mut state, scorers[2], &[5], "", "Summarise the pain");
    // Nothing of the scoring is in the minutes before the reveal.
    let before = to_markdown(&build(&state, None), &state, &Utc);
    assert!(!before.contains("pause before the price"), "{before}");
    assert!(!before.contains("## Role plays"), "{before}");
    facilitate(
        &mut state,
        fran,
        RolePlayRequest::Reveal { role_play_id },
        3,
    );

    let minutes = build(&state, None);
    let results = &minutes.role_plays[0];
    let mut comments = results.comments.clone();
    comments.sort();
    assert_eq!(
        comments,
        ["Great | pause before the price", "Rushed\nthe close"]
    );
    let mut answers = results.one_thing_differently.clone();
    answers.sort();
    assert_eq!(answers, ["Ask about the budget", "Summarise the pain"]);
    let markdown = to_markdown(&minutes, &state, &Utc);
    let section = &markdown[markdown
        .find("## Role plays")
        .expect("a role plays section")..];
    let section = &section[..section.find("## Commitments").unwrap_or(section.len())];
    assert!(
        section.contains("### Sam as seller: Discovery call (3 scorers"),
        "{section}"
    );
    // Each revealed text once, in the revealed order, escaped like any other text.
    let listed = |heading: &str| -> Vec<String> {
        let start = section.find(heading).expect(heading) + heading.len();
        section[start..]
            .lines()
            .skip_while(|line| line.is_empty())
            .take_while(|line| line.starts_with("- "))
            .map(|line| line[2..].to_string())
            .collect()
    };
    let expected_comments: Vec<String> = results.comments.iter().map(|text| md(text)).collect();
    assert_eq!(listed("Comments:\n"), expected_comments);
    assert_eq!(
        listed("One thing to do differently:\n"),
        results.one_thing_differently
    );
    // Nobody who scored is named next to what they wrote (nor anywhere in the section).
    for name in ["Xenia", "Yusuf", "Zora"] {
        assert!(!section.contains(name), "{name} in {section}");
    }
    let json = serde_json::to_string(&minutes.role_plays).unwrap();
    for scorer in scorers {
        assert!(!json.contains(&scorer.to_string()), "a scorer in {json}");
    }

    // The next meeting files these minutes with the texts; its own have no role play.
    let next = RoomEvent::NextMeetingStarted {
        meeting_id: MeetingId::random(),
        number: 2,
    };
    apply_all(&mut state, &[next]);
    let filed = state.past_meetings.last().expect("the minutes are filed");
    assert_eq!(filed.role_plays[0].comments, results.comments);
    assert!(build(&state, None).role_plays.is_empty());
}
