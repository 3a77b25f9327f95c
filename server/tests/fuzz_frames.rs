//! A fixed-time fuzz run: random and mutated frames, seeded from PROTOCOL.md's client examples,
//! go through the server's frame parsing and, when they parse, through the room's rules as the
//! actor runs them (decide, then apply), for members of every role and strangers. Nothing may
//! panic, a refused request changes nothing, and every invariant holds after every step.
//!
//! It runs for `ROUNDTABLE_FUZZ_SECONDS` (60 by default) and is deterministic for a seed: a
//! failure prints the seed to run again with `ROUNDTABLE_FUZZ_SEED`.

use std::time::{Duration, Instant};

use roundtable_protocol::{
    ClientFrame, Credential, GroupId, MeetingId, MemberId, Reaction, RolePlayId,
};
use roundtable_rules::access;
use roundtable_rules::command::{CalendarCommand, Command};
use roundtable_rules::membership::{decide_delete_group, decide_leave};
use roundtable_rules::reactions::ReactionLimiter;
use roundtable_rules::roleplay::{self, Fresh, SubmissionSlot};
use roundtable_rules::secret::{PseudonymKey, hash_secret};
use roundtable_rules::state::{
    FreshMember, Group, RoomState, decide_attendance, decide_join, decide_keyed,
    decide_next_meeting, decide_tick,
};
use roundtable_rules::{AccessCommand, RoomError, RoomEvent, RoomLimits};
use roundtable_server::transport::parse::parse_frame;
use serde_json::Value;
use uuid::Uuid;

/// A small, fast, seedable generator (xorshift64*): the run is the same for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Every `json client` example of PROTOCOL.md.
fn examples() -> Vec<Value> {
    let doc = include_str!("../../PROTOCOL.md");
    let mut found = Vec::new();
    let mut block: Option<String> = None;
    for line in doc.lines() {
        match &mut block {
            None if line.trim_start().starts_with("```json client") => block = Some(String::new()),
            Some(text) if line.trim_start().starts_with("```") => {
                found.push(serde_json::from_str(text).expect("PROTOCOL.md examples parse"));
                block = None;
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(found.len() > 40, "PROTOCOL.md has its client examples");
    found
}

/// Values that break things: huge, negative, fractional, empty, deceptive text, wrong types.
fn odd_value(rng: &mut Rng, members: &[MemberId]) -> Value {
    match rng.below(16) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => serde_json::json!(u64::MAX),
        3 => serde_json::json!(-1),
        4 => serde_json::json!(0),
        5 => serde_json::json!(1.5),
        6 => serde_json::json!(rng.below(10)),
        7 => Value::String(String::new()),
        8 => Value::String("x".repeat(rng.below(3_000))),
        9 => Value::String("Fran\u{202E}\u{200B}\u{0007}\n".into()),
        10 => serde_json::json!([]),
        11 => serde_json::json!({}),
        12 => Value::String(members[rng.below(members.len())].to_string()),
        13 => Value::String(Uuid::new_v4().to_string()),
        14 => serde_json::json!([1, 2, 2, 3]),
        _ => Value::String("<script>alert(1)</script>".into()),
    }
}

/// Changes one thing somewhere in `value`.
fn mutate(value: &mut Value, rng: &mut Rng, members: &[MemberId]) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = keys[rng.below(keys.len())].clone();
            match rng.below(4) {
                0 if key != "v" && key != "id" => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(key, odd_value(rng, members));
                }
                2 => {
                    map.insert(format!("extra{}", rng.below(3)), odd_value(rng, members));
                }
                _ => mutate(map.get_mut(&key).expect("a key of the map"), rng, members),
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let index = rng.below(items.len());
            match rng.below(3) {
                0 => {
                    items.remove(index);
                }
                1 => items.push(items[index].clone()),
                _ => mutate(&mut items[index], rng, members),
            }
        }
        other => *other = odd_value(rng, members),
    }
}

/// The room of the run: a facilitator, members and an observer, everyone online.
struct Room {
    state: RoomState,
    people: Vec<MemberId>,
    now_ms: u64,
    limits: RoomLimits,
    reactions: ReactionLimiter,
}

impl Room {
    fn new() -> Room {
        let group = Group {
            id: GroupId::random(),
            name: "Fuzzed Peers".into(),
            facilitator_secret_hash: hash_secret("f"),
            invite_secret_hash: hash_secret("i"),
            created_at_ms: 1_764_000_000_000,
            time_zone: None,
            call_url: None,
        };
        let mut room = Room {
            state: RoomState::new_group(group, MeetingId::random(), 1_764_000_000_000),
            people: Vec::new(),
            now_ms: 1_764_000_000_000,
            limits: RoomLimits::default(),
            reactions: ReactionLimiter::default(),
        };
        let joins = [
            Credential::Facilitator {
                secret: "f".into(),
                display_name: "Fran".into(),
                member_token: None,
            },
            Credential::Invite {
                secret: "i".into(),
                display_name: "Ann".into(),
                observer: false,
            },
            Credential::Invite {
                secret: "i".into(),
                display_name: "Bob".into(),
                observer: false,
            },
            Credential::Invite {
                secret: "i".into(),
                display_name: "Cy".into(),
                observer: false,
            },
            Credential::Invite {
                secret: "i".into(),
                display_name: "Olive".into(),
                observer: true,
            },
        ];
        for credential in joins {
            let fresh = FreshMember {
                member_id: MemberId::random(),
                token: "t".into(),
                token_hash: hash_secret(&Uuid::new_v4().to_string()),
            };
            let decision = decide_join(&room.state, &credential, fresh, &room.limits).unwrap();
            room.apply(decision.events);
            room.state.set_online(decision.member_id, true);
            let attended = decide_attendance(&room.state, decision.member_id);
            room.apply(attended.into_iter().collect());
            room.people.push(decision.member_id);
        }
        // A stranger, who is not a member.
        room.people.push(MemberId::random());
        room
    }

    fn apply(&mut self, events: Vec<RoomEvent>) {
        for event in events {
            let seq = self.state.seq + 1;
            self.state.apply(seq, self.now_ms, &event);
        }
        if let Err(broken) = self.state.check_invariants() {
            panic!("an invariant broke: {broken}");
        }
    }

    /// A request about the links or sessions, as the room actor decides it: a new link's
    /// secret is drawn, and the asker asks from their first session.
    fn access(&self, by: MemberId, command: AccessCommand) -> Result<Vec<RoomEvent>, RoomError> {
        let role = self.state.roster().require_member_role(by)?;
        match command {
            AccessCommand::RotateLink { link } => {
                let hash = hash_secret(&Uuid::new_v4().to_string());
                access::decide_rotate_link(&self.state.access, role, link, hash)
            }
            AccessCommand::ListSessions => {
                access::sessions_view(&self.state.access, role, |_, _| 1, self.now_ms)
                    .map(|_| Vec::new())
            }
            AccessCommand::RevokeSession {
                member_id,
                session_id,
            } => {
                let by_session = self
                    .state
                    .access
                    .sessions
                    .iter()
                    .find(|session| session.member_id == by)
                    .map_or(0, |session| session.session_id);
                access::decide_revoke_session(
                    &self.state.access,
                    self.state.roster(),
                    role,
                    by_session,
                    member_id,
                    session_id,
                )
            }
        }
    }

    /// Runs one request as the room actor does; a refusal must change nothing. Answers
    /// whether the room changed.
    fn run(&mut self, by: MemberId, frame: ClientFrame, rng: &mut Rng) -> bool {
        let Ok(command) = Command::try_from(frame.request) else {
            return false; // join and ping are the connection's
        };
        // As the room actor: what the meeting's phase does not allow is refused first.
        if roundtable_rules::state::admit(&self.state, &command).is_err() {
            return false;
        }
        let before = self.state.clone();
        let decided = match &command {
            Command::Change(change) => decide_keyed(
                &self.state,
                by,
                Some(PseudonymKey::of_token(&by.to_string())),
                change,
                &self.limits,
                self.now_ms,
            ),
            Command::Query(query) => {
                let _ = roundtable_rules::state::answer(&self.state, by, query);
                Ok(Vec::new())
            }
            Command::RolePlay(action) => {
                let fresh = Fresh {
                    role_play_id: RolePlayId(Uuid::new_v4()),
                    shuffle_seed: rng.next(),
                };
                roleplay::decide(&self.state, by, action, fresh, self.now_ms, &self.limits)
            }
            Command::SubmitScores(form) => {
                match roleplay::decide_submission(
                    &self.state,
                    by,
                    form.role_play_id,
                    &form.scores,
                    &form.comment,
                    form.one_thing_differently.as_deref(),
                    SubmissionSlot(Uuid::new_v4()),
                    &self.limits,
                ) {
                    Ok(decision) => {
                        self.state
                            .put_submission(decision.slot, decision.submission);
                        Ok(decision.count_event.into_iter().collect())
                    }
                    Err(error) => Err(error),
                }
            }
            Command::StartNextMeeting => decide_next_meeting(&self.state, by, MeetingId::random()),
            Command::StartMeeting => {
                roundtable_rules::state::decide_start_meeting(&self.state, by, self.now_ms)
            }
            Command::Access(command) => self.access(by, *command),
            Command::React(reaction) => {
                let reaction: Reaction = *reaction;
                let _ = self
                    .reactions
                    .decide(self.state.roster(), by, reaction, self.now_ms);
                Ok(Vec::new())
            }
            // A deletion the rules allow ends the room in the actor; here the room goes on.
            Command::DeleteGroup { confirm_name } => {
                decide_delete_group(&self.state, by, confirm_name).map(|()| Vec::new())
            }
            Command::LeaveGroup(erasure) => decide_leave(
                &self.state,
                by,
                Some(PseudonymKey::of_token(&by.to_string())),
                *erasure,
                self.now_ms,
            ),
            // As the room actor answers them: the next meeting reads the room; a new feed is an
            // event with a fresh secret's hash.
            Command::Calendar(CalendarCommand::GetNextMeeting) => {
                let _ = roundtable_server::calendar::next_meeting(&self.state, self.now_ms);
                Ok(Vec::new())
            }
            Command::Calendar(CalendarCommand::RenewFeed) => {
                let (_, secret_hash) = roundtable_server::secrets::new_secret();
                roundtable_rules::schedule::decide_renew_feed(self.state.roster(), by, secret_hash)
            }
        };
        match decided {
            Ok(events) => {
                let changed = !events.is_empty();
                self.apply(events);
                changed
            }
            Err(_) => {
                assert!(self.state == before, "a refused request changed the room");
                false
            }
        }
    }
}

#[test]
fn random_and_mutated_frames_never_panic_and_keep_every_invariant() {
    let seconds: u64 = std::env::var("ROUNDTABLE_FUZZ_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("ROUNDTABLE_FUZZ_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0x5EED_F00D);
    println!("fuzzing for {seconds} s with ROUNDTABLE_FUZZ_SEED={seed}");
    let examples = examples();
    let mut rng = Rng(seed | 1);
    let mut room = Room::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut frames, mut parsed, mut changed) = (0u64, 0u64, 0u64);
    while Instant::now() < deadline {
        for _ in 0..256 {
            frames += 1;
            let mut value = examples[rng.below(examples.len())].clone();
            for _ in 0..rng.below(4) {
                mutate(&mut value, &mut rng, &room.people);
            }
            let mut text = value.to_string();
            if rng.chance(5) {
                // Raw damage: a cut, or bytes that are not the JSON's.
                let cut = rng.below(text.len() + 1);
                text = text.get(..cut).unwrap_or_default().to_string();
                if rng.chance(50) {
                    text.push_str("\u{0}\u{FFFF}}]\"");
                }
            }
            let Ok(frame) = parse_frame(&text) else {
                continue;
            };
            parsed += 1;
            let by = room.people[rng.below(room.people.len())];
            changed += u64::from(room.run(by, frame, &mut rng));
            room.now_ms += rng.below(90_000) as u64;
            if rng.chance(10) {
                let events = decide_tick(&room.state, room.now_ms);
                room.apply(events);
            }
            // A room that grew large starts over, so the run stays fast.
            if room.state.seq > 5_000 {
                room = Room::new();
            }
        }
    }
    println!(
        "{frames} frames, {parsed} parsed into requests, {changed} changed the room; no panic, \
         every invariant held"
    );
    assert!(
        changed > 100,
        "the fuzzer changed the room ({changed} times)"
    );
    assert!(
        parsed > 1_000,
        "the fuzzer reached the rules ({parsed} of {frames} parsed)"
    );
}
