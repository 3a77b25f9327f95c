//! Random sessions for the web client's consistency test (`web-client/tests/consistency.test.mjs`):
//! clients never diverge from the server.
//!
//! Each session is drawn from a seed: browser pages join a group (with the facilitator link, the
//! invite link or a member token; fresh, or resuming where they left off), send requests of
//! every kind the protocol has (mostly ones that make sense in the room as it is, some that do
//! not), lose their connection, come back; time passes on a controllable clock (so timers run
//! out and rounds advance by themselves), the server restarts from what it stored, the next
//! meeting starts. The session runs the room's rules the way the room actor does (decide,
//! apply, send each event to the connections it is for, then the ack; snapshots per viewer, with
//! "you submitted" from the page's own pseudonym key; reactions to everyone) and records, for each page,
//! every message it received, the requests it sent, and after every step a *check*: the fresh
//! snapshot that page would get if it loaded now (as a patch against its previous check, to keep
//! the files small). The Node test replays each page's messages into the web client's own store
//! and compares it with the fresh snapshot at every check.
//!
//! The files go to `target/client-consistency/random-<seed>/`. The seeds are fixed, plus
//! `ROUNDTABLE_CONSISTENCY_SEED` when set (`ROUNDTABLE_CONSISTENCY_SEED=123 cargo test -p
//! roundtable-rules random_sessions`, then `node --test tests/consistency.test.mjs` in
//! `web-client/`). The test also fails when some request kind of the protocol was never
//! accepted in the fixed sessions: a new kind must be added to the generator ([`Gen::request`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use roundtable_protocol::{
    self as wire, CatchUp, ClientFrame, Credential, EventFrame, MeetingId, MemberId,
    PresenceChange, PresenceFrame, PresenceReason, Reply, Request, Role, RolePlayId, Seq,
    ServerMessage, UnixMs,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::command::{Command, SessionRequest};
use crate::limits::RoomLimits;
use crate::reactions::ReactionLimiter;
use crate::roleplay::{self, Fresh};
use crate::secret::{PseudonymKey, hash_secret};
use crate::state::{
    FreshMember, Group, RoomError, RoomEvent, RoomState, decide_attendance,
    decide_attendance_of_everyone_online, decide_join, decide_next_meeting, decide_tick,
};

/// A zone of jiff's database, as the server's time zones are.
struct JiffZone(jiff::tz::TimeZone);

impl crate::schedule::Offsets for JiffZone {
    fn offset_seconds(&self, ms: UnixMs) -> i32 {
        jiff::Timestamp::from_millisecond(ms as i64)
            .map(|at| self.0.to_offset(at).seconds())
            .unwrap_or(0)
    }
}

const FACILITATOR_SECRET: &str = "random-facilitator-secret";
const INVITE_SECRET: &str = "random-invite-secret";

/// The fixed sessions: how many, and how many steps each.
const SESSIONS: u64 = 40;
const STEPS: usize = 150;

/// The file, beside the sessions' directories, that names every session written (the fixed
/// ones and `ROUNDTABLE_CONSISTENCY_SEED`'s), for the Node test to replay each of them.
const SESSIONS_MANIFEST: &str = "manifest-random-sessions";

/// Where the records for the web client's consistency test go (`target/client-consistency`).
pub(crate) fn client_consistency_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => manifest.join("..").join(dir),
        None => manifest.join("../target"),
    };
    target.join("client-consistency")
}

/// A small seeded generator (SplitMix64): the same seed gives the same session.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            None
        } else {
            Some(items[self.below(items.len())].clone())
        }
    }

    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// A browser page: who it is in the room, whether its WebSocket is open, where its store
/// stands (its resume point), and everything it received.
struct Page {
    name: String,
    member_id: Option<MemberId>,
    token: Option<String>,
    /// The session its token is (a facilitator may revoke it).
    session_id: wire::SessionId,
    connected: bool,
    /// The member was removed: the page's token no longer works.
    removed: bool,
    /// What the page's store would send as its resume point.
    resume: Option<(MeetingId, Seq)>,
    /// The log epoch of the page's last join, sent with its resume point.
    log_epoch: Option<wire::LogEpoch>,
    messages: Vec<Value>,
    /// The snapshot of the page's last check.
    last_fresh: Option<wire::Snapshot>,
    next_request_id: u64,
}

/// How each request kind fared in a session: sent, and accepted.
type Coverage = BTreeMap<String, (u32, u32)>;

/// One random session: the room as the actor keeps it, and the pages connected to it.
struct Gen {
    seed: u64,
    rng: Rng,
    state: RoomState,
    now_ms: UnixMs,
    limits: RoomLimits,
    pages: Vec<Page>,
    /// The current meeting's events, for resumes.
    log: Vec<(Seq, UnixMs, RoomEvent)>,
    /// The room's log epoch: new at each restart (from the seed and the restarts so far, so
    /// that the random draws stay as they were), and a resume from another one gets a snapshot.
    log_epoch: wire::LogEpoch,
    /// Restarts so far.
    restarts: u64,
    /// The member whose `leave_group` was just accepted: their pages close after the ack.
    leaving: Option<MemberId>,
    /// The log holds every event of this meeting after this seq (a leave trims what came
    /// before, as the actor does), so only a page resuming from here or later gets a replay.
    log_from: Seq,
    reactions: ReactionLimiter,
    coverage: Coverage,
    /// Weights of the request kinds in this session (each session leans its own way).
    weights: Vec<(&'static str, u32)>,
    names_used: usize,
    /// The links' secrets now (a facilitator may make them anew).
    facilitator_secret: String,
    invite_secret: String,
    /// What the current step did, for the checks.
    did: Vec<String>,
    /// Restarts while scoring was open with submissions in the bag.
    restarts_while_scoring: u32,
}

/// Every request kind the generator sends, with its usual weight. Role play's actions count as
/// kinds of their own (`role_play.<kind>`). A kind the protocol has and this list lacks fails
/// `random_sessions_cover_every_request_kind`.
const KINDS: &[(&str, u32)] = &[
    ("ping", 1),
    ("set_time_zone", 1),
    ("rename_group", 2),
    ("remove_member", 2),
    ("set_role", 3),
    ("hand_over_facilitator", 1),
    ("raise_hand", 6),
    ("lower_hand", 3),
    ("add_commitment", 5),
    ("update_commitment", 5),
    ("set_metrics", 2),
    ("submit_numbers", 6),
    ("get_my_benchmarks", 1),
    ("post_practice", 4),
    ("upvote_practice", 3),
    ("comment_on_practice", 3),
    ("start_next_meeting", 1),
    ("start_meeting", 2),
    ("search_practices", 1),
    ("get_my_history", 1),
    ("role_play.set_up", 4),
    ("role_play.open_scoring", 4),
    ("role_play.submit", 8),
    ("role_play.close_scoring", 2),
    ("role_play.reveal", 4),
    ("role_play.cancel", 1),
    ("role_play.save_template", 1),
    ("role_play.delete_template", 1),
    ("add_agenda_item", 3),
    ("edit_agenda_item", 2),
    ("remove_agenda_item", 1),
    ("reorder_agenda", 1),
    ("set_current_agenda_item", 2),
    ("mark_agenda_item_done", 1),
    ("next_agenda_item", 3),
    ("previous_agenda_item", 2),
    ("end_meeting", 1),
    ("propose_agenda_item", 2),
    ("accept_proposal", 2),
    ("decline_proposal", 1),
    ("save_agenda_as_template", 1),
    ("start_round", 4),
    ("reorder_speakers", 2),
    ("shuffle_speakers", 1),
    ("next_speaker", 4),
    ("skip_speaker", 2),
    ("previous_speaker", 2),
    ("restore_speaker", 2),
    ("end_round", 2),
    ("set_auto_advance", 2),
    ("pause_timer", 2),
    ("resume_timer", 2),
    ("extend_timer", 2),
    ("call_next_speaker", 4),
    ("end_turn", 2),
    ("clear_hands", 1),
    ("lower_hand_of", 2),
    ("start_problem_phase", 5),
    ("add_suggestion", 5),
    ("choose_suggestions", 3),
    ("react", 3),
    ("vote_suggestion", 5),
    ("rotate_link", 1),
    ("list_sessions", 1),
    ("revoke_session", 1),
    ("set_call_link", 1),
    ("set_schedule", 4),
    ("move_meeting", 6),
    ("clear_move", 4),
    ("get_next_meeting", 2),
    ("renew_calendar_feed", 2),
    ("revoke_calendar_feed", 1),
    ("leave_group", 1),
    ("delete_group", 1),
    ("save_check_in", 4),
    ("request_hot_seat", 3),
    ("withdraw_hot_seat", 1),
    ("withdraw_report_back", 2),
];

/// Kinds only facilitators may send; the generator mostly sends them from a facilitator's page.
const FACILITATOR_KINDS: &[&str] = &[
    "set_time_zone",
    "rename_group",
    "remove_member",
    "set_role",
    "hand_over_facilitator",
    "set_metrics",
    "start_next_meeting",
    "start_meeting",
    "role_play.set_up",
    "role_play.open_scoring",
    "role_play.close_scoring",
    "role_play.reveal",
    "role_play.cancel",
    "role_play.save_template",
    "role_play.delete_template",
    "add_agenda_item",
    "edit_agenda_item",
    "remove_agenda_item",
    "reorder_agenda",
    "set_current_agenda_item",
    "mark_agenda_item_done",
    "next_agenda_item",
    "previous_agenda_item",
    "end_meeting",
    "accept_proposal",
    "decline_proposal",
    "save_agenda_as_template",
    "start_round",
    "reorder_speakers",
    "shuffle_speakers",
    "next_speaker",
    "skip_speaker",
    "previous_speaker",
    "restore_speaker",
    "end_round",
    "set_auto_advance",
    "pause_timer",
    "resume_timer",
    "extend_timer",
    "call_next_speaker",
    "end_turn",
    "clear_hands",
    "lower_hand_of",
    "start_problem_phase",
    "rotate_link",
    "list_sessions",
    "revoke_session",
    "set_call_link",
    "set_schedule",
    "move_meeting",
    "clear_move",
    "delete_group",
];

const NAMES: &[&str] = &[
    "Ann", "Bob", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ida", "Jo", "Kai", "Lu", "Mo", "Ned",
    "Ola", "Pia", "Quin", "Rae", "Sid", "Tess",
];

/// The request kind as the protocol names it (`role_play.<kind>` for role play's actions).
fn kind_of(request: &Request) -> String {
    let value = serde_json::to_value(request).expect("requests serialize");
    let kind = value["type"].as_str().unwrap_or_default().to_string();
    if kind == "role_play" {
        format!(
            "role_play.{}",
            value["action"]["kind"].as_str().unwrap_or_default()
        )
    } else {
        kind
    }
}

/// The tags a serde enum accepts, from its own "expected one of" refusal of an unknown tag: the
/// protocol's list, whatever this file knows of it.
fn tags_of<T: serde::de::DeserializeOwned>(tag: &str) -> Vec<String> {
    let error = serde_json::from_value::<T>(json!({ tag: "\u{1}no such kind" }))
        .err()
        .expect("an unknown tag is refused")
        .to_string();
    let expected = error
        .split("expected one of")
        .nth(1)
        .unwrap_or_else(|| panic!("serde names the expected tags: {error}"));
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Every request kind of the protocol: `Request`'s tags, with role play's actions in place of
/// `role_play`.
fn protocol_request_kinds() -> BTreeSet<String> {
    let mut kinds: BTreeSet<String> = tags_of::<Request>("type").into_iter().collect();
    assert!(kinds.remove("role_play"), "role play is a request");
    kinds.extend(
        tags_of::<wire::RolePlayRequest>("kind")
            .into_iter()
            .map(|kind| format!("role_play.{kind}")),
    );
    kinds
}

/// The differences from `old` to `new` as `[path, value]` pairs (`[path]` for a removed key);
/// objects are compared key by key, anything else is replaced whole.
fn diff(old: &Value, new: &Value, path: &mut Vec<String>, out: &mut Vec<Value>) {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, value) in new {
                path.push(key.clone());
                match old.get(key) {
                    Some(before) if before == value => {}
                    Some(before) => diff(before, value, path, out),
                    None => out.push(json!([path, value])),
                }
                path.pop();
            }
            for key in old.keys().filter(|key| !new.contains_key(*key)) {
                path.push(key.clone());
                out.push(json!([path]));
                path.pop();
            }
        }
        _ if old == new => {}
        _ => out.push(json!([path, new])),
    }
}

/// The patch from one snapshot to the next: [`diff`] of the parts that changed (compared as
/// they are, so only those are turned into JSON).
fn snapshot_patch(old: &wire::Snapshot, new: &wire::Snapshot) -> Vec<Value> {
    fn part<T: serde::Serialize + PartialEq>(name: &str, old: &T, new: &T, out: &mut Vec<Value>) {
        if old != new {
            let old = serde_json::to_value(old).unwrap();
            let new = serde_json::to_value(new).unwrap();
            diff(&old, &new, &mut vec![name.to_string()], out);
        }
    }
    // Every field, by name, so that a new one cannot be forgotten here.
    let wire::Snapshot {
        seq,
        group,
        meeting,
        members,
        hands,
        commitments,
        accountability,
        benchmarks,
        practices,
        practice_count,
        role_play,
        flow,
        calendar_feeds,
        prep,
    } = new;
    let mut out = Vec::new();
    part("seq", &old.seq, seq, &mut out);
    part("group", &old.group, group, &mut out);
    part("meeting", &old.meeting, meeting, &mut out);
    part("members", &old.members, members, &mut out);
    part("hands", &old.hands, hands, &mut out);
    part("commitments", &old.commitments, commitments, &mut out);
    part(
        "accountability",
        &old.accountability,
        accountability,
        &mut out,
    );
    part("benchmarks", &old.benchmarks, benchmarks, &mut out);
    part("practices", &old.practices, practices, &mut out);
    part(
        "practice_count",
        &old.practice_count,
        practice_count,
        &mut out,
    );
    part("role_play", &old.role_play, role_play, &mut out);
    part("flow", &old.flow, flow, &mut out);
    part(
        "calendar_feeds",
        &old.calendar_feeds,
        calendar_feeds,
        &mut out,
    );
    // The snapshot leaves an empty prep out: from or to that, the whole part is set or removed.
    if old.prep != *prep && (old.prep.is_empty() || prep.is_empty()) {
        out.push(if prep.is_empty() {
            json!([["prep"]])
        } else {
            json!([["prep"], prep])
        });
    } else {
        part("prep", &old.prep, prep, &mut out);
    }
    out
}

fn message(message: &ServerMessage) -> Value {
    serde_json::to_value(message).expect("server messages serialize")
}

impl Gen {
    fn new(seed: u64) -> Gen {
        let mut rng = Rng(seed);
        let group = Group {
            id: wire::GroupId(rng.uuid()),
            name: "Random Peers".into(),
            facilitator_secret_hash: hash_secret(FACILITATOR_SECRET),
            invite_secret_hash: hash_secret(INVITE_SECRET),
            created_at_ms: 1_764_000_000_000,
            time_zone: None,
            call_url: None,
        };
        let meeting = MeetingId(rng.uuid());
        // Each session leans its own way: some kinds much more often, some rarely.
        let weights = KINDS
            .iter()
            .map(|(kind, weight)| {
                let factor = match rng.below(6) {
                    0 => 0,
                    1 | 2 => 1,
                    3 | 4 => 2,
                    _ => 6,
                };
                (*kind, (weight * factor).max(u32::from(rng.chance(0.5))))
            })
            .map(|(kind, weight)| match (seed % 10, kind) {
                // Some sessions fill what the snapshot keeps only the newest of: the library's
                // practices, and the revealed role plays (with `likely_kinds`).
                (0, "post_practice") => (kind, 600),
                (5, kind) if kind.starts_with("role_play.") => (kind, weight * 8),
                _ => (kind, weight),
            })
            .collect();
        Gen {
            seed,
            rng,
            state: RoomState::new_group(group, meeting, 1_764_000_000_000),
            now_ms: 1_764_000_000_000,
            limits: RoomLimits {
                members_per_room_max: 12,
                ..RoomLimits::default()
            },
            pages: Vec::new(),
            log: Vec::new(),
            log_epoch: wire::LogEpoch(Uuid::from_u64_pair(seed, 0)),
            restarts: 0,
            leaving: None,
            log_from: 0,
            reactions: ReactionLimiter::default(),
            coverage: Coverage::new(),
            weights,
            names_used: 0,
            facilitator_secret: FACILITATOR_SECRET.into(),
            invite_secret: INVITE_SECRET.into(),
            did: Vec::new(),
            restarts_while_scoring: 0,
        }
    }

    // ---- The room, as the actor runs it ------------------------------------------------------

    fn member_name(&self, member_id: MemberId) -> String {
        self.state
            .member(member_id)
            .map(|member| member.display_name.clone())
            .unwrap_or_else(|| "a former member".into())
    }

    fn push(&mut self, page: usize, value: Value) {
        self.pages[page].messages.push(value);
    }

    /// Applies `events` with the next seqs, sends each to the connected pages it is for, and
    /// closes the pages of removed members.
    fn record(&mut self, events: Vec<RoomEvent>) {
        let now = self.now_ms;
        let mut removed = Vec::new();
        let mut revoked = Vec::new();
        for event in events {
            let seq = self.state.seq + 1;
            self.state.apply(seq, now, &event);
            let audience = event.audience();
            let frame = message(&ServerMessage::Event(EventFrame {
                seq,
                at_ms: now,
                event: event.to_wire(now),
            }));
            for page in self.pages.iter_mut().filter(|page| page.connected) {
                if page
                    .member_id
                    .is_some_and(|member| audience.includes(member))
                {
                    page.messages.push(frame.clone());
                    page.resume = page.resume.map(|(meeting, _)| (meeting, seq));
                }
            }
            if let RoomEvent::MemberRemoved { member_id } = &event {
                removed.push(*member_id);
            }
            if let RoomEvent::SessionRevoked {
                member_id,
                session_id,
            } = &event
            {
                revoked.push((*member_id, *session_id));
            }
            self.log.push((seq, now, event));
        }
        if let Err(broken) = self.state.check_invariants() {
            panic!("seed {}: invariant broken: {broken}", self.seed);
        }
        for index in 0..self.pages.len() {
            let page = &self.pages[index];
            if page.connected && page.member_id.is_some_and(|id| removed.contains(&id)) {
                self.push(
                    index,
                    json!({"type": "closing", "reason": "removed", "message": "removed"}),
                );
                self.pages[index].connected = false;
                self.pages[index].removed = true;
            }
        }
        // As the actor's `close_revoked`: the session's pages close, and presence follows.
        let mut closed = false;
        for index in 0..self.pages.len() {
            let page = &self.pages[index];
            if page.connected
                && page
                    .member_id
                    .is_some_and(|id| revoked.contains(&(id, page.session_id)))
            {
                self.push(
                    index,
                    json!({"type": "closing", "reason": "session_revoked", "message": "revoked"}),
                );
                self.pages[index].connected = false;
                self.pages[index].removed = true;
                closed = true;
            }
        }
        if closed {
            self.reconcile_presence(PresenceReason::ConnectionLost);
        }
    }

    /// The pseudonym key of a joined page: from the member token it joined with, as the actor
    /// computes it for the connection.
    fn key_of(&self, page: usize) -> PseudonymKey {
        PseudonymKey::of_token(self.pages[page].token.as_deref().expect("a joined page"))
    }

    /// What page `page` gets as a snapshot: the state as its member sees it, with whether its
    /// key's slot holds a submission (as in the room actor).
    fn snapshot_for_page(&self, page: usize) -> wire::Snapshot {
        let viewer = self.pages[page].member_id.expect("a joined page");
        self.state
            .to_wire_snapshot_with_key(viewer, &self.key_of(page))
    }

    /// Presence as the connections say, like the actor after a connection leaves: not an
    /// event; every connected page gets a `presence` frame per member who came or went.
    fn reconcile_presence(&mut self, reason: PresenceReason) {
        let connected: BTreeSet<MemberId> = self
            .pages
            .iter()
            .filter(|page| page.connected)
            .filter_map(|page| page.member_id)
            .collect();
        let members: Vec<MemberId> = self.state.members.iter().map(|member| member.id).collect();
        for member_id in members {
            let online = connected.contains(&member_id);
            if self.state.set_online(member_id, online) {
                self.send_presence(PresenceChange {
                    member_id,
                    online,
                    reason,
                });
            }
        }
    }

    /// Who is online now, with the change that made it so, to every connected page.
    fn send_presence(&mut self, change: PresenceChange) {
        let frame = message(&ServerMessage::Presence(PresenceFrame {
            online: self.state.online_members(),
            change: Some(change),
        }));
        for page in self.pages.iter_mut().filter(|page| page.connected) {
            page.messages.push(frame.clone());
        }
    }

    /// A page sends a request; the room decides it as the actor does and answers the page.
    fn send(&mut self, page: usize, request: Value) {
        let request: Request = serde_json::from_value(request.clone()).unwrap_or_else(|error| {
            panic!("the generator's request {request} is a request: {error}")
        });
        let kind = kind_of(&request);
        let by = self.pages[page].member_id.expect("a joined page");
        let id = self.pages[page].next_request_id;
        self.pages[page].next_request_id += 1;
        let sent = json!({"type": "sent", "frame": ClientFrame { v: wire::PROTOCOL_VERSION, id, request: request.clone() }});
        self.push(page, sent);
        let before = self.state.clone();
        let result = self.decide_request(page, by, request);
        let entry = self.coverage.entry(kind.clone()).or_default();
        entry.0 += 1;
        let outcome = match &result {
            Ok(_) => {
                entry.1 += 1;
                "accepted".to_string()
            }
            Err(error) => {
                assert_eq!(
                    self.state, before,
                    "seed {}: a refused {kind} changed the room",
                    self.seed
                );
                format!("refused: {}", error.code.as_str())
            }
        };
        self.did
            .push(format!("{} sent {kind} ({outcome})", self.pages[page].name));
        if self.pages[page].connected {
            let answer = match result {
                Ok(reply) => ServerMessage::Ack { id, result: reply },
                Err(error) => ServerMessage::Error {
                    id: Some(id),
                    code: error.code,
                    message: error.message,
                },
            };
            self.push(page, message(&answer));
        }
        if let Some(left) = self.leaving.take() {
            for index in 0..self.pages.len() {
                if self.pages[index].connected && self.pages[index].member_id == Some(left) {
                    self.push(
                        index,
                        json!({"type": "closing", "reason": "left", "message": "left"}),
                    );
                    self.pages[index].connected = false;
                    self.pages[index].removed = true;
                }
            }
        }
    }

    fn decide_request(
        &mut self,
        page: usize,
        by: MemberId,
        request: Request,
    ) -> Result<Reply, RoomError> {
        let now = self.now_ms;
        let command = Command::try_from(request);
        // As the room does: a request the meeting's phase does not allow is refused first.
        if let Ok(command) = &command {
            crate::state::admit(&self.state, command)?;
        }
        match command {
            Err(SessionRequest::Ping { client_time_ms }) => Ok(Reply::Pong {
                client_time_ms,
                server_time_ms: now,
            }),
            Err(SessionRequest::Join { .. }) => panic!("joins go through Gen::join"),
            Ok(Command::Change(change)) => {
                let events = crate::state::decide_keyed(
                    &self.state,
                    by,
                    crate::state::test_key(by),
                    &change,
                    &self.limits,
                    now,
                )?;
                let reply = crate::state::reply_for(&events);
                self.record(events);
                Ok(reply)
            }
            Ok(Command::Query(query)) => Ok(crate::state::answer_keyed(
                &self.state,
                by,
                crate::state::test_key(by),
                &query,
            )),
            Ok(Command::Access(command)) => self.access(page, by, command),
            Ok(Command::Calendar(command)) => self.calendar(by, command),
            Ok(Command::RolePlay(command)) => {
                let fresh = Fresh {
                    role_play_id: RolePlayId(self.rng.uuid()),
                    shuffle_seed: self.rng.next(),
                };
                let decided = roleplay::decide(&self.state, by, &command, fresh, now, &self.limits);
                decided.map(|events| self.record(events))?;
                Ok(Reply::Done)
            }
            Ok(Command::SubmitScores(submission)) => {
                let key = self.key_of(page);
                let decision = roleplay::decide_submission(
                    &self.state,
                    by,
                    submission.role_play_id,
                    &submission.scores,
                    &submission.comment,
                    submission.one_thing_differently.as_deref(),
                    roleplay::slot::slot_of(&key, submission.role_play_id),
                    &self.limits,
                )?;
                self.state
                    .put_submission(decision.slot, decision.submission);
                self.record(decision.count_event.into_iter().collect());
                // The other pages with the same token get a snapshot that says they submitted.
                for other in 0..self.pages.len() {
                    if other != page
                        && self.pages[other].connected
                        && self.pages[other].token == self.pages[page].token
                    {
                        let snapshot = self.snapshot_for_page(other);
                        self.pages[other].resume =
                            Some((snapshot.meeting.meeting_id, snapshot.seq));
                        self.push(other, message(&ServerMessage::Snapshot(snapshot)));
                    }
                }
                Ok(Reply::Done)
            }
            Ok(Command::StartNextMeeting) => {
                let events = decide_next_meeting(&self.state, by, MeetingId(self.rng.uuid()))?;
                self.start_next_meeting(events);
                Ok(Reply::Done)
            }
            Ok(Command::StartMeeting) => {
                let events = crate::state::decide_start_meeting(&self.state, by, self.now_ms)?;
                self.record(events);
                Ok(Reply::Done)
            }
            Ok(Command::DeleteGroup { confirm_name }) => {
                crate::membership::decide_delete_group(&self.state, by, &confirm_name)?;
                panic!(
                    "seed {}: the generator never confirms a deletion",
                    self.seed
                )
            }
            Ok(Command::LeaveGroup(erasure)) => {
                let events = crate::membership::decide_leave(
                    &self.state,
                    by,
                    crate::state::test_key(by),
                    erasure,
                    now,
                )?;
                self.record(events);
                // As `RoomActor::leave`: the logs that name the member are trimmed, so a page
                // resuming from before the erasure gets a snapshot; every other page gets a
                // fresh snapshot now; the member's own pages close with `left` after the ack.
                self.log.clear();
                self.log_from = self.state.seq;
                for index in 0..self.pages.len() {
                    let Some(viewer) = self.pages[index].member_id else {
                        continue;
                    };
                    if !self.pages[index].connected || viewer == by {
                        continue;
                    }
                    let snapshot = self.snapshot_for_page(index);
                    self.pages[index].resume = Some((snapshot.meeting.meeting_id, snapshot.seq));
                    self.push(index, message(&ServerMessage::Snapshot(snapshot)));
                }
                self.leaving = Some(by);
                Ok(Reply::Done)
            }
            Ok(Command::React(reaction)) => {
                let frame = self
                    .reactions
                    .decide(self.state.roster(), by, reaction, now)?;
                let frame = message(&ServerMessage::Reaction(frame));
                for index in 0..self.pages.len() {
                    if self.pages[index].connected {
                        self.push(index, frame.clone());
                    }
                }
                Ok(Reply::Done)
            }
        }
    }

    /// A facilitator's request about the links or the sessions, as `RoomActor::access_request`
    /// decides it.
    fn access(
        &mut self,
        page: usize,
        by: MemberId,
        command: crate::command::AccessCommand,
    ) -> Result<Reply, RoomError> {
        use crate::command::AccessCommand;
        let role = self.state.roster().require_member_role(by)?;
        match command {
            AccessCommand::RotateLink { link } => {
                let secret = format!("secret-{}", self.rng.next());
                let events = crate::access::decide_rotate_link(
                    &self.state.access,
                    role,
                    link,
                    hash_secret(&secret),
                )?;
                self.record(events);
                match link {
                    wire::LinkKind::Invite => self.invite_secret = secret.clone(),
                    wire::LinkKind::Facilitator => self.facilitator_secret = secret.clone(),
                }
                Ok(Reply::LinkRotated {
                    link,
                    version: self.state.access.version(link),
                    url: format!("http://127.0.0.1/g/{}#{secret}", self.state.group.id),
                })
            }
            AccessCommand::ListSessions => {
                let pages = &self.pages;
                let sessions = crate::access::sessions_view(
                    &self.state.access,
                    role,
                    |member, session| {
                        pages
                            .iter()
                            .filter(|page| {
                                page.connected
                                    && page.member_id == Some(member)
                                    && page.session_id == session
                            })
                            .count() as u32
                    },
                    self.now_ms,
                )?;
                Ok(Reply::Sessions { sessions })
            }
            AccessCommand::RevokeSession {
                member_id,
                session_id,
            } => {
                let events = crate::access::decide_revoke_session(
                    &self.state.access,
                    self.state.roster(),
                    role,
                    self.pages[page].session_id,
                    member_id,
                    session_id,
                )?;
                self.record(events);
                Ok(Reply::Done)
            }
        }
    }

    /// The next meeting or a new calendar feed, as `RoomActor::calendar_request` answers: the
    /// zone from jiff's database (the server's), the time from the session's clock.
    fn calendar(
        &mut self,
        by: MemberId,
        command: crate::command::CalendarCommand,
    ) -> Result<Reply, RoomError> {
        use crate::command::CalendarCommand;
        self.state.roster().require_member_role(by)?;
        match command {
            CalendarCommand::GetNextMeeting => {
                let schedule = self.state.schedule.as_ref();
                let zone = JiffZone(
                    schedule
                        .and_then(|schedule| jiff::tz::TimeZone::get(&schedule.time_zone).ok())
                        .unwrap_or(jiff::tz::TimeZone::UTC),
                );
                let after_ms = crate::schedule::next_meeting_after_ms(
                    schedule,
                    &self.state.meeting,
                    self.now_ms,
                );
                Ok(Reply::NextMeeting {
                    next_meeting: crate::schedule::next_meeting(schedule, &zone, after_ms),
                })
            }
            CalendarCommand::RenewFeed => {
                let secret = format!("feed-{}", self.rng.next());
                let events = crate::schedule::decide_renew_feed(
                    self.state.roster(),
                    by,
                    hash_secret(&secret),
                )?;
                self.record(events);
                Ok(Reply::CalendarFeed {
                    url: format!(
                        "http://127.0.0.1/api/groups/{}/calendar/{secret}.ics",
                        self.state.group.id
                    ),
                })
            }
        }
    }

    /// The next meeting: everyone gets the switch, then a snapshot of the new meeting.
    fn start_next_meeting(&mut self, events: Vec<RoomEvent>) {
        let now = self.now_ms;
        let last_seq = self.state.seq + 1;
        for event in &events {
            self.state.apply(last_seq, now, event);
        }
        self.log.clear();
        self.log_from = 0;
        for event in decide_attendance_of_everyone_online(&self.state) {
            let seq = self.state.seq + 1;
            self.state.apply(seq, now, &event);
            self.log.push((seq, now, event));
        }
        for index in 0..self.pages.len() {
            if !self.pages[index].connected {
                continue;
            }
            for event in &events {
                let frame = message(&ServerMessage::Event(EventFrame {
                    seq: last_seq,
                    at_ms: now,
                    event: event.to_wire(now),
                }));
                self.push(index, frame);
            }
            let snapshot = self.snapshot_for_page(index);
            self.pages[index].resume = Some((snapshot.meeting.meeting_id, snapshot.seq));
            self.push(index, message(&ServerMessage::Snapshot(snapshot)));
        }
    }

    /// Time passes: every deadline on the way is handled when it falls, as the actor's timer
    /// does.
    fn pass_time(&mut self, elapsed_ms: u64) {
        let until = self.now_ms + elapsed_ms;
        while let Some(deadline) = self.state.flow.next_deadline_ms() {
            if deadline > until {
                break;
            }
            self.now_ms = self.now_ms.max(deadline);
            let events = decide_tick(&self.state, self.now_ms);
            if events.is_empty() {
                break;
            }
            self.did
                .push(format!("the timer ran out ({} events)", events.len()));
            self.record(events);
        }
        self.now_ms = until;
    }

    /// A page joins with `credential`; on success it gets the ack and catches up (a replay of
    /// what it missed or a snapshot), as the actor's join does.
    fn join(&mut self, page: usize, credential: Credential, resume: bool) -> bool {
        let resume_point = if resume {
            self.pages[page]
                .resume
                .map(|(meeting_id, seq)| wire::ResumePoint {
                    meeting_id,
                    seq,
                    log_epoch: self.pages[page].log_epoch,
                })
        } else {
            None
        };
        let id = self.pages[page].next_request_id;
        self.pages[page].next_request_id += 1;
        let request = Request::Join {
            group_id: self.state.group.id,
            credential: credential.clone(),
            resume: resume_point,
        };
        self.push(
            page,
            json!({"type": "sent", "frame": ClientFrame { v: wire::PROTOCOL_VERSION, id, request }}),
        );
        let token = format!("token-{}-{}", self.seed, self.rng.next());
        let fresh = FreshMember {
            member_id: MemberId(self.rng.uuid()),
            token_hash: hash_secret(&token),
            token,
        };
        let entry = self.coverage.entry("join".into()).or_default();
        entry.0 += 1;
        let decision = match decide_join(&self.state, &credential, fresh, &self.limits) {
            Ok(decision) => decision,
            Err(error) => {
                self.did.push(format!(
                    "{}'s page was refused a join ({})",
                    self.pages[page].name,
                    error.code.as_str()
                ));
                let refusal = ServerMessage::Error {
                    id: Some(id),
                    code: error.code,
                    message: error.message,
                };
                self.push(page, message(&refusal));
                return false;
            }
        };
        entry.1 += 1;
        let member_id = decision.member_id;
        // As `RoomActor::join`: a join that writes (a new member, a new session) writes the
        // member's attendance with it; a member coming back writes nothing before the answer.
        let mut events = decision.events;
        if !events.is_empty() {
            let mut preview = self.state.clone();
            for event in &events {
                preview.apply(preview.seq + 1, 0, event);
            }
            events.extend(decide_attendance(&preview, member_id));
        }
        self.record(events);
        // They come online (no event): the pages already here are told at once.
        if self.state.set_online(member_id, true) {
            self.send_presence(PresenceChange {
                member_id,
                online: true,
                reason: PresenceReason::Joined,
            });
        }
        let role = self.state.role_of(member_id).expect("joined");
        if let Some(token) = decision.issued_token.clone() {
            self.pages[page].token = Some(token);
        }
        self.pages[page].member_id = Some(member_id);
        self.pages[page].session_id = decision.session_id;
        self.state
            .session_seen(member_id, decision.session_id, self.now_ms);
        self.pages[page].name = self.member_name(member_id);
        // The catch-up, as `RoomActor::catch_up` decides it.
        let current = self.state.seq;
        // A scorer's page gets a snapshot, which alone says they submitted.
        let replay = resume_point.filter(|point| {
            point.log_epoch == Some(self.log_epoch)
                && point.meeting_id == self.state.meeting.id
                && point.seq >= self.log_from
                && point.seq <= current
                && !self.state.role_play.submitted_with(&self.key_of(page))
        });
        let joined = ServerMessage::Ack {
            id,
            result: Reply::Joined(wire::Joined {
                member_id,
                role,
                meeting_id: self.state.meeting.id,
                member_token: decision.issued_token,
                catch_up: if replay.is_some() {
                    CatchUp::Replay
                } else {
                    CatchUp::Snapshot
                },
                log_epoch: self.log_epoch,
            }),
        };
        self.push(page, message(&joined));
        self.pages[page].log_epoch = Some(self.log_epoch);
        match replay {
            Some(point) => {
                let frames: Vec<Value> = self
                    .log
                    .iter()
                    .filter(|(seq, _, event)| {
                        *seq > point.seq && event.audience().includes(member_id)
                    })
                    .map(|(seq, at_ms, event)| {
                        message(&ServerMessage::Event(EventFrame {
                            seq: *seq,
                            at_ms: *at_ms,
                            event: event.to_wire(*at_ms),
                        }))
                    })
                    .collect();
                self.pages[page].messages.extend(frames);
                // The replay ends with who is online now, which no event says.
                let presence = message(&ServerMessage::Presence(PresenceFrame {
                    online: self.state.online_members(),
                    change: None,
                }));
                self.pages[page].messages.push(presence);
                self.pages[page].resume = Some((self.state.meeting.id, current));
            }
            None => {
                let snapshot = self.snapshot_for_page(page);
                self.pages[page].resume = Some((snapshot.meeting.meeting_id, snapshot.seq));
                self.push(page, message(&ServerMessage::Snapshot(snapshot)));
            }
        }
        self.pages[page].connected = true;
        // A first arrival in this meeting is recorded once the join is answered.
        let attended = decide_attendance(&self.state, member_id);
        self.record(attended.into_iter().collect());
        self.did.push(format!(
            "{}'s page joined ({})",
            self.pages[page].name,
            if replay.is_some() {
                "replay"
            } else {
                "snapshot"
            }
        ));
        true
    }

    /// The server restarts: every connection closes, the room loads from what the store holds
    /// (the snapshot's stored form, which keeps nobody online), and the reaction budgets are
    /// forgotten.
    fn restart(&mut self) {
        for index in 0..self.pages.len() {
            if self.pages[index].connected {
                self.push(
                    index,
                    json!({"type": "closing", "reason": "server_shutdown", "message": "restart"}),
                );
                self.pages[index].connected = false;
            }
        }
        if self.state.role_play.scoring_open().is_some()
            && self
                .state
                .role_play
                .current
                .as_ref()
                .is_some_and(|current| !current.submissions.is_empty())
        {
            self.restarts_while_scoring += 1;
        }
        let stored = crate::stored::encode_snapshot(&self.state);
        self.state = crate::stored::decode_snapshot(&stored).expect("the stored snapshot loads");
        self.reactions = ReactionLimiter::default();
        self.restarts += 1;
        self.log_epoch = wire::LogEpoch(Uuid::from_u64_pair(self.seed, self.restarts));
        assert!(
            self.state.online.is_empty(),
            "a loaded room has nobody online"
        );
        self.did.push("the server restarted".into());
    }

    // ---- The pages -----------------------------------------------------------------------------

    fn new_page(&mut self) -> usize {
        self.pages.push(Page {
            name: String::new(),
            member_id: None,
            token: None,
            session_id: wire::SessionId::default(),
            connected: false,
            removed: false,
            resume: None,
            log_epoch: None,
            messages: Vec::new(),
            last_fresh: None,
            next_request_id: 1,
        });
        self.pages.len() - 1
    }

    fn fresh_name(&mut self) -> String {
        let name = NAMES[self.names_used % NAMES.len()];
        let round = self.names_used / NAMES.len();
        self.names_used += 1;
        if round == 0 {
            name.to_string()
        } else {
            format!("{name} {round}")
        }
    }

    /// Someone opens a link in a new browser.
    fn newcomer(&mut self, facilitator_link: bool) {
        let page = self.new_page();
        let name = match self.rng.below(12) {
            // Invalid or taken names, now and then.
            0 => String::new(),
            1 => self
                .rng
                .pick(&self.state.members)
                .map(|member| member.display_name.to_lowercase())
                .unwrap_or_default(),
            _ => self.fresh_name(),
        };
        self.pages[page].name = name.clone();
        let credential = if facilitator_link {
            Credential::Facilitator {
                secret: self.facilitator_secret.clone(),
                display_name: name,
                member_token: None,
            }
        } else {
            Credential::Invite {
                secret: if self.rng.chance(0.05) {
                    INVITE_SECRET.into() // the first link, maybe made anew since
                } else {
                    self.invite_secret.clone()
                },
                display_name: name,
                observer: self.rng.chance(0.15),
            }
        };
        self.join(page, credential, false);
    }

    /// A page that lost its connection comes back (resuming, as the page does), or a member
    /// opens another page with their token, or comes back with the facilitator link.
    fn come_back(&mut self) {
        let away: Vec<usize> = (0..self.pages.len())
            .filter(|&index| !self.pages[index].connected && self.pages[index].token.is_some())
            .filter(|&index| !self.pages[index].removed || self.rng.chance(0.1))
            .collect();
        let Some(page) = self.rng.pick(&away) else {
            return self.newcomer(false);
        };
        let token = self.pages[page].token.clone().expect("a token");
        match self.rng.below(10) {
            0 => {
                // Another device: a new page with the same token.
                let other = self.new_page();
                self.pages[other].name = self.pages[page].name.clone();
                self.pages[other].token = Some(token.clone());
                self.join(other, Credential::MemberToken { token }, false);
            }
            1 => {
                let credential = Credential::Facilitator {
                    secret: self.facilitator_secret.clone(),
                    display_name: "ignored".into(),
                    member_token: Some(token),
                };
                // The page reloads to read a link (app.js), so it joins afresh: with the
                // facilitator link it may come back as another member (a revoked session's).
                self.join(page, credential, false);
            }
            2 => {
                // A reload: no resume point.
                self.join(page, Credential::MemberToken { token }, false);
            }
            _ => {
                self.join(page, Credential::MemberToken { token }, true);
            }
        }
    }

    fn disconnect(&mut self) {
        let connected: Vec<usize> = (0..self.pages.len())
            .filter(|&index| self.pages[index].connected)
            .collect();
        if let Some(page) = self.rng.pick(&connected) {
            self.pages[page].connected = false;
            if let Some(member_id) = self.pages[page].member_id {
                let session_id = self.pages[page].session_id;
                self.state.session_seen(member_id, session_id, self.now_ms);
            }
            self.did.push(format!(
                "{}'s page lost its connection",
                self.pages[page].name
            ));
            self.reconcile_presence(PresenceReason::ConnectionLost);
        }
    }

    /// After each step: for every connected page, the snapshot it would get now.
    fn check(&mut self, step: usize) {
        let did = self.did.join("; ");
        self.did.clear();
        for index in 0..self.pages.len() {
            if !self.pages[index].connected {
                continue;
            }
            let fresh = self.snapshot_for_page(index);
            let check = match &self.pages[index].last_fresh {
                None => json!({"type": "check", "step": step, "did": did, "fresh": fresh}),
                Some(last) => {
                    json!({"type": "check", "step": step, "did": did, "fresh_patch": snapshot_patch(last, &fresh)})
                }
            };
            self.push(index, check);
            self.pages[index].last_fresh = Some(fresh);
        }
    }

    // ---- The generator ------------------------------------------------------------------------

    fn connected_pages(&self, role: Option<Role>) -> Vec<usize> {
        (0..self.pages.len())
            .filter(|&index| self.pages[index].connected)
            .filter(|&index| {
                role.is_none_or(|role| {
                    self.pages[index]
                        .member_id
                        .and_then(|id| self.state.role_of(id))
                        == Some(role)
                })
            })
            .collect()
    }

    fn page_of(&self, member_id: MemberId) -> Option<usize> {
        (0..self.pages.len()).find(|&index| {
            self.pages[index].connected && self.pages[index].member_id == Some(member_id)
        })
    }

    /// A member of the room, or now and then someone who is not.
    fn some_member(&mut self) -> MemberId {
        if self.rng.chance(0.05) {
            return MemberId(self.rng.uuid());
        }
        match self.rng.pick(&self.state.members) {
            Some(member) => member.id,
            None => MemberId(self.rng.uuid()),
        }
    }

    fn some_item(&mut self) -> u32 {
        if self.rng.chance(0.05) {
            return 999;
        }
        self.rng
            .pick(&self.state.flow.agenda)
            .map_or(999, |item| item.item_id)
    }

    fn time_box(&mut self) -> u64 {
        if self.rng.chance(0.03) {
            return 0;
        }
        self.rng.range(1, 20) * 30_000
    }

    fn draft(&mut self) -> Value {
        let kinds = [
            "round",
            "report_back",
            "problem",
            "role_play",
            "benchmarks",
            "best_practices",
            "commitments",
            "discussion",
        ];
        let kind = if self.rng.chance(0.4) {
            "problem"
        } else {
            self.rng.pick(&kinds).unwrap()
        };
        let title = if self.rng.chance(0.03) {
            String::new()
        } else {
            format!("Item {}", self.rng.below(1000))
        };
        let mut draft = json!({"title": title, "kind": kind, "time_box_ms": self.time_box()});
        if kind == "problem" || self.rng.chance(0.3) {
            draft["owner"] = json!(self.some_member());
        }
        if self.rng.chance(0.3) {
            draft["notes"] = json!("Notes\nover two lines");
        }
        draft
    }

    fn rubric(&mut self) -> Value {
        if self.rng.chance(0.5) {
            let built_in = self.rng.pick(&roleplay::templates::built_in()).unwrap();
            return serde_json::to_value(built_in).unwrap();
        }
        let criteria: Vec<Value> = (0..self.rng.range(1, 3))
            .map(|index| {
                json!({"name": format!("Criterion {index}"), "description": "What good looks like.",
                       "scale_min": self.rng.range(0, 1), "scale_max": self.rng.range(3, 10), "weight": self.rng.range(1, 5)})
            })
            .collect();
        json!({"name": format!("Rubric {}", self.rng.below(3)), "criteria": criteria,
               "one_thing_differently": self.rng.chance(0.5)})
    }

    fn role_play_id(&mut self) -> Value {
        match &self.state.role_play.current {
            Some(current) if !self.rng.chance(0.05) => json!(current.info.role_play_id),
            _ => json!(RolePlayId(self.rng.uuid())),
        }
    }

    /// A problem item, preferring one whose protocol is in one of `phases`.
    fn problem_item(&mut self, phases: &[wire::ProblemPhase]) -> Option<wire::AgendaItem> {
        let running: Vec<wire::AgendaItem> = self
            .state
            .flow
            .agenda
            .iter()
            .filter(|item| {
                item.problem.as_ref().is_some_and(|problem| {
                    phases.contains(&problem.phase)
                        && (phases.contains(&wire::ProblemPhase::Suggest)
                            || !problem.suggestions.is_empty())
                })
            })
            .cloned()
            .collect();
        let problems: Vec<wire::AgendaItem> = self
            .state
            .flow
            .agenda
            .iter()
            .filter(|item| item.kind == wire::AgendaItemKind::Problem)
            .cloned()
            .collect();
        if !running.is_empty() && self.rng.chance(0.8) {
            self.rng.pick(&running)
        } else {
            self.rng.pick(&problems)
        }
    }

    fn waiting_speakers(&self) -> Vec<MemberId> {
        self.state
            .flow
            .round
            .as_ref()
            .map(|round| {
                round
                    .speakers
                    .iter()
                    .filter(|speaker| speaker.status == wire::SpeakerStatus::Waiting)
                    .map(|speaker| speaker.member_id)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The request of `kind`, and the page that sends it (`None`: nobody can, this step).
    fn request(&mut self, kind: &str) -> Option<(usize, Value)> {
        let everyone = self.connected_pages(None);
        let facilitators = self.connected_pages(Some(Role::Facilitator));
        let mut from = if FACILITATOR_KINDS.contains(&kind)
            && !facilitators.is_empty()
            && self.rng.chance(0.9)
        {
            self.rng.pick(&facilitators)?
        } else {
            self.rng.pick(&everyone)?
        };
        let by = self.pages[from].member_id?;
        let request = match kind {
            "ping" => json!({"type": "ping", "client_time_ms": self.now_ms - 5}),
            "set_time_zone" => {
                let zones = [
                    "Europe/Berlin",
                    "America/Chicago",
                    "Asia/Tokyo",
                    "UTC",
                    "not a zone",
                ];
                json!({"type": "set_time_zone", "time_zone": self.rng.pick(&zones).unwrap()})
            }
            "rename_group" => {
                let names = ["Random Peers", "Tuesday Closers", "West Coast Sellers", ""];
                json!({"type": "rename_group", "name": self.rng.pick(&names).unwrap()})
            }
            "remove_member" => json!({"type": "remove_member", "member_id": self.some_member()}),
            "set_role" => {
                let roles = ["facilitator", "member", "observer"];
                json!({"type": "set_role", "member_id": self.some_member(), "role": self.rng.pick(&roles).unwrap()})
            }
            "hand_over_facilitator" => {
                json!({"type": "hand_over_facilitator", "member_id": self.some_member()})
            }
            "raise_hand" => json!({"type": "raise_hand"}),
            "lower_hand" => {
                if let Some(hand) = self.rng.pick(&self.state.hands.clone())
                    && let Some(page) = self.page_of(hand)
                {
                    from = page;
                }
                json!({"type": "lower_hand"})
            }
            "add_commitment" => {
                let mut request = json!({"type": "add_commitment", "text": format!("Call {} accounts", self.rng.below(20))});
                if self.rng.chance(0.3) {
                    request["owner"] = json!(self.some_member());
                }
                if self.rng.chance(0.2) {
                    request["due_meeting"] =
                        json!(self.state.meeting.number + self.rng.range(0, 3) as u32);
                }
                if self.rng.chance(0.2) {
                    request["due_date"] = json!(if self.rng.chance(0.8) {
                        "2026-12-24"
                    } else {
                        "tomorrow"
                    });
                }
                request
            }
            "update_commitment" => {
                let ids: Vec<u32> = self
                    .state
                    .commitments
                    .commitments
                    .iter()
                    .map(|c| c.commitment_id)
                    .collect();
                let id = self.rng.pick(&ids).unwrap_or(1);
                if let Some(owner) = self
                    .state
                    .commitments
                    .commitments
                    .iter()
                    .find(|c| c.commitment_id == id)
                    .map(|c| c.owner)
                    && self.rng.chance(0.6)
                    && let Some(page) = self.page_of(owner)
                {
                    from = page;
                }
                let statuses = ["open", "done", "partial", "missed", "dropped"];
                let mut request = json!({"type": "update_commitment", "commitment_id": id, "status": self.rng.pick(&statuses).unwrap()});
                if self.rng.chance(0.5) {
                    request["note"] = json!("Two of three");
                }
                request
            }
            "set_metrics" => {
                let pool = [
                    json!({"key": "calls", "name": "Calls", "unit": "calls"}),
                    json!({"key": "meetings", "name": "Meetings", "unit": "meetings"}),
                    json!({"key": "revenue", "name": "Revenue", "unit": "USD"}),
                    json!({"key": "demos", "name": "Demos", "unit": "demos"}),
                ];
                let count = self.rng.range(1, 4) as usize;
                let start = self.rng.below(4);
                let metrics: Vec<Value> =
                    (0..count).map(|i| pool[(start + i) % 4].clone()).collect();
                json!({"type": "set_metrics", "metrics": metrics})
            }
            "save_check_in" => {
                let wins = ["Closed Acme", "Booked six demos", "", "Hired an SDR"];
                let asks = ["An intro to Globex", "", "Feedback on my pitch"];
                json!({
                    "type": "save_check_in",
                    "win": self.rng.pick(&wins).unwrap(),
                    "challenge": if self.rng.chance(0.5) { "Deals stuck in legal" } else { "" },
                    "ask": self.rng.pick(&asks).unwrap(),
                })
            }
            "request_hot_seat" => {
                let problems = ["Pilots do not convert", "Pricing pushback", ""];
                let priorities = ["a", "b", "c"];
                json!({
                    "type": "request_hot_seat",
                    "problem": self.rng.pick(&problems).unwrap(),
                    "priority": self.rng.pick(&priorities).unwrap(),
                    "minutes": self.rng.range(0, 64),
                })
            }
            "withdraw_hot_seat" => json!({"type": "withdraw_hot_seat"}),
            "withdraw_report_back" => {
                // Mostly a report back someone holds, sent from that member's page.
                let held: Vec<(MemberId, u32)> = self
                    .state
                    .prep
                    .by_member
                    .iter()
                    .flat_map(|(member_id, prep)| {
                        prep.report_backs.keys().map(|id| (*member_id, *id))
                    })
                    .collect();
                let (owner, id) = self
                    .rng
                    .pick(&held)
                    .map_or((None, 1), |(owner, id)| (Some(owner), id));
                if let Some(owner) = owner
                    && self.rng.chance(0.8)
                    && let Some(page) = self.page_of(owner)
                {
                    from = page;
                }
                json!({"type": "withdraw_report_back", "commitment_id": id})
            }
            "submit_numbers" => {
                let mut values = serde_json::Map::new();
                for metric in self.state.activity.metrics.clone() {
                    if self.rng.chance(0.8) {
                        let value = match self.rng.below(4) {
                            0 => self.rng.range(0, 100) as f64 / 3.0,
                            1 => self.rng.range(0, 50) as f64,
                            2 => self.rng.range(0, 100_000) as f64 / 7.0,
                            _ => 0.1 + self.rng.range(0, 20) as f64,
                        };
                        values.insert(metric.key.clone(), json!(value));
                    }
                }
                if self.rng.chance(0.05) {
                    values.insert("unknown".into(), json!(1));
                }
                let sharing = if self.rng.chance(0.5) {
                    "named"
                } else {
                    "anonymous"
                };
                json!({"type": "submit_numbers", "values": values, "sharing": sharing})
            }
            "get_my_benchmarks" => json!({"type": "get_my_benchmarks"}),
            "get_my_history" => json!({"type": "get_my_history"}),
            "post_practice" => {
                let outcome = if self.rng.chance(0.7) {
                    "worked"
                } else {
                    "did_not_work"
                };
                let title = if self.rng.chance(0.03) {
                    String::new()
                } else {
                    format!("Practice {}", self.rng.below(1000))
                };
                json!({"type": "post_practice", "title": title, "description": "What we tried.",
                       "tags": [if self.rng.chance(0.5) { "discovery" } else { "referrals" }], "outcome": outcome})
            }
            "upvote_practice" | "comment_on_practice" => {
                let ids: Vec<u32> = self
                    .state
                    .practices
                    .practices
                    .iter()
                    .map(|p| p.practice_id)
                    .collect();
                let id = self.rng.pick(&ids).unwrap_or(1);
                if kind == "upvote_practice" {
                    json!({"type": "upvote_practice", "practice_id": id, "up": self.rng.chance(0.7)})
                } else {
                    json!({"type": "comment_on_practice", "practice_id": id, "text": "Works for me too."})
                }
            }
            "start_next_meeting" => json!({"type": "start_next_meeting"}),
            "start_meeting" => json!({"type": "start_meeting"}),
            "search_practices" => {
                json!({"type": "search_practices", "text": "practice", "tag": "discovery"})
            }
            "role_play.set_up" => {
                let seller = self.some_member();
                let mut action = json!({"kind": "set_up", "seller": seller, "scenario": "A cold call to a CFO.",
                                        "rubric": self.rubric()});
                if self.rng.chance(0.7) {
                    action["buyer"] = json!(self.some_member());
                    action["buyer_brief"] = json!("You have no budget until March.");
                }
                if self.rng.chance(0.3) {
                    action["reveal_threshold"] = json!(self.rng.range(2, 4));
                }
                json!({"type": "role_play", "action": action})
            }
            "role_play.open_scoring"
            | "role_play.close_scoring"
            | "role_play.reveal"
            | "role_play.cancel" => {
                let action = kind.trim_start_matches("role_play.");
                json!({"type": "role_play", "action": {"kind": action, "role_play_id": self.role_play_id()}})
            }
            "role_play.submit" => {
                let seller = self
                    .state
                    .role_play
                    .current
                    .as_ref()
                    .map(|current| current.info.seller);
                let scorers: Vec<usize> = everyone
                    .iter()
                    .copied()
                    .filter(|&page| self.pages[page].member_id != seller || self.rng.chance(0.05))
                    .collect();
                from = self.rng.pick(&scorers)?;
                let scores: Vec<u32> = match &self.state.role_play.current {
                    Some(current) => current
                        .info
                        .rubric
                        .criteria
                        .iter()
                        .map(|criterion| {
                            if self.rng.chance(0.03) {
                                criterion.scale_max + 1
                            } else {
                                self.rng.range(
                                    u64::from(criterion.scale_min),
                                    u64::from(criterion.scale_max),
                                ) as u32
                            }
                        })
                        .collect(),
                    None => vec![3],
                };
                let mut action = json!({"kind": "submit", "role_play_id": self.role_play_id(), "scores": scores,
                                        "comment": format!("Comment {}", self.rng.below(100))});
                if self.rng.chance(0.5) {
                    action["one_thing_differently"] = json!("Ask about the budget earlier.");
                }
                json!({"type": "role_play", "action": action})
            }
            "role_play.save_template" => {
                json!({"type": "role_play", "action": {"kind": "save_template", "rubric": self.rubric()}})
            }
            "role_play.delete_template" => {
                let names: Vec<String> = self
                    .state
                    .role_play
                    .group_templates
                    .iter()
                    .map(|r| r.name.clone())
                    .collect();
                let name = self.rng.pick(&names).unwrap_or_else(|| "Nothing".into());
                json!({"type": "role_play", "action": {"kind": "delete_template", "name": name}})
            }
            "add_agenda_item" => {
                let mut request = json!({"type": "add_agenda_item", "item": self.draft()});
                if self.rng.chance(0.3) {
                    request["position"] = json!(self.rng.below(self.state.flow.agenda.len() + 2));
                }
                request
            }
            "edit_agenda_item" => {
                let ownerless: Vec<wire::AgendaItem> = self
                    .state
                    .flow
                    .agenda
                    .iter()
                    .filter(|item| {
                        item.kind == wire::AgendaItemKind::Problem && item.owner.is_none()
                    })
                    .cloned()
                    .collect();
                match self.rng.pick(&ownerless).filter(|_| self.rng.chance(0.7)) {
                    // A presenter for a problem of the template.
                    Some(item) => {
                        let presenter = self
                            .rng
                            .pick(&everyone)
                            .and_then(|page| self.pages[page].member_id);
                        json!({"type": "edit_agenda_item", "item_id": item.item_id, "item": {
                            "title": item.title, "kind": "problem", "time_box_ms": item.time_box_ms, "owner": presenter}})
                    }
                    None => {
                        json!({"type": "edit_agenda_item", "item_id": self.some_item(), "item": self.draft()})
                    }
                }
            }
            "remove_agenda_item" => {
                json!({"type": "remove_agenda_item", "item_id": self.some_item()})
            }
            "reorder_agenda" => {
                let mut order: Vec<u32> = self
                    .state
                    .flow
                    .agenda
                    .iter()
                    .map(|item| item.item_id)
                    .collect();
                self.rng.shuffle(&mut order);
                if self.rng.chance(0.05) {
                    order.pop();
                }
                json!({"type": "reorder_agenda", "order": order})
            }
            "set_current_agenda_item" | "mark_agenda_item_done" => {
                json!({"type": kind, "item_id": self.some_item()})
            }
            "next_agenda_item"
            | "previous_agenda_item"
            | "end_meeting"
            | "save_agenda_as_template"
            | "shuffle_speakers"
            | "next_speaker"
            | "previous_speaker"
            | "end_round"
            | "pause_timer"
            | "resume_timer"
            | "end_turn"
            | "clear_hands" => json!({"type": kind}),
            "propose_agenda_item" => json!({"type": "propose_agenda_item", "item": self.draft()}),
            "accept_proposal" | "decline_proposal" => {
                let ids: Vec<u32> = self
                    .state
                    .flow
                    .proposals
                    .iter()
                    .map(|p| p.proposal_id)
                    .collect();
                let id = self.rng.pick(&ids).unwrap_or(99);
                let mut request = json!({"type": kind, "proposal_id": id});
                if kind == "accept_proposal" && self.rng.chance(0.3) {
                    request["position"] = json!(0);
                }
                request
            }
            "start_round" => {
                let mut request = json!({"type": "start_round", "speaker_time_box_ms": self.rng.range(1, 6) * 30_000,
                                         "auto_advance": self.rng.chance(0.5)});
                if self.rng.chance(0.3) {
                    let mut speakers: Vec<MemberId> =
                        self.state.members.iter().map(|m| m.id).collect();
                    self.rng.shuffle(&mut speakers);
                    speakers.truncate(self.rng.range(1, 4) as usize);
                    request["speakers"] = json!(speakers);
                }
                if self.rng.chance(0.3) {
                    request["item_id"] = json!(self.some_item());
                }
                request
            }
            "reorder_speakers" => {
                let mut order = self.waiting_speakers();
                self.rng.shuffle(&mut order);
                json!({"type": "reorder_speakers", "order": order})
            }
            "skip_speaker" => {
                let waiting = self.waiting_speakers();
                match self.rng.pick(&waiting).filter(|_| self.rng.chance(0.5)) {
                    Some(member) => json!({"type": "skip_speaker", "member_id": member}),
                    None => json!({"type": "skip_speaker"}),
                }
            }
            "restore_speaker" => {
                let skipped: Vec<MemberId> = self
                    .state
                    .flow
                    .round
                    .iter()
                    .flat_map(|round| round.speakers.iter())
                    .filter(|speaker| speaker.status == wire::SpeakerStatus::Skipped)
                    .map(|speaker| speaker.member_id)
                    .collect();
                let member = self
                    .rng
                    .pick(&skipped)
                    .unwrap_or_else(|| self.some_member());
                json!({"type": "restore_speaker", "member_id": member})
            }
            "set_auto_advance" => {
                json!({"type": "set_auto_advance", "auto_advance": self.rng.chance(0.5)})
            }
            "extend_timer" => {
                let delta = self.rng.range(0, 240) as i64 * 1_000 - 60_000;
                json!({"type": "extend_timer", "delta_ms": delta})
            }
            "call_next_speaker" => {
                let mut request = json!({"type": "call_next_speaker"});
                if self.rng.chance(0.4)
                    && let Some(hand) = self.rng.pick(&self.state.hands.clone())
                {
                    request["member_id"] = json!(hand);
                }
                if self.rng.chance(0.5) {
                    request["time_box_ms"] = json!(self.rng.range(1, 4) * 30_000);
                }
                request
            }
            "lower_hand_of" => {
                let hand = self
                    .rng
                    .pick(&self.state.hands.clone())
                    .unwrap_or_else(|| self.some_member());
                json!({"type": "lower_hand_of", "member_id": hand})
            }
            "start_problem_phase" => {
                use wire::ProblemPhase::*;
                // A problem with suggestions to choose from moves on to the decide phase.
                let ready: Vec<wire::AgendaItem> = self
                    .state
                    .flow
                    .agenda
                    .iter()
                    .filter(|item| {
                        item.problem.as_ref().is_some_and(|problem| {
                            problem.phase == Suggest && problem.suggestions.len() >= 2
                        })
                    })
                    .cloned()
                    .collect();
                let item = match self.rng.pick(&ready).filter(|_| self.rng.chance(0.7)) {
                    Some(item) => Some(item),
                    None => self.problem_item(&[Present, Clarify, Suggest, Decide]),
                };
                let phases = ["present", "clarify", "suggest", "decide"];
                let phase = match item.as_ref().and_then(|item| item.problem.as_ref()) {
                    Some(problem) if self.rng.chance(0.7) => match problem.phase {
                        wire::ProblemPhase::Present => "clarify",
                        wire::ProblemPhase::Clarify => "suggest",
                        wire::ProblemPhase::Suggest if problem.suggestions.is_empty() => "suggest",
                        wire::ProblemPhase::Suggest => "decide",
                        wire::ProblemPhase::Decide => "decide",
                    },
                    _ => self.rng.pick(&phases).unwrap(),
                };
                let mut request = json!({"type": "start_problem_phase", "item_id": item.map_or(999, |item| item.item_id), "phase": phase});
                if self.rng.chance(0.3) {
                    request["time_box_ms"] = json!(self.time_box());
                }
                request
            }
            "add_suggestion" | "vote_suggestion" | "choose_suggestions" => {
                use wire::ProblemPhase::*;
                let phases: &[wire::ProblemPhase] = match kind {
                    "add_suggestion" => &[Suggest],
                    "vote_suggestion" => &[Suggest, Decide],
                    _ => &[Decide],
                };
                let in_phase = self.state.flow.agenda.iter().any(|item| {
                    item.problem.as_ref().is_some_and(|problem| {
                        phases.contains(&problem.phase)
                            && (kind == "add_suggestion" || !problem.suggestions.is_empty())
                    })
                });
                if !in_phase && self.rng.chance(0.85) {
                    return None;
                }
                let item = self.problem_item(phases)?;
                let problem = item.problem.clone();
                let presenter = problem.as_ref().map(|problem| problem.presenter);
                let suggestions: Vec<u32> = problem
                    .iter()
                    .flat_map(|problem| problem.suggestions.iter().map(|s| s.suggestion_id))
                    .collect();
                if kind == "choose_suggestions" {
                    if let Some(page) = presenter.and_then(|presenter| self.page_of(presenter))
                        && self.rng.chance(0.9)
                    {
                        from = page;
                    }
                    let mut chosen = suggestions.clone();
                    self.rng.shuffle(&mut chosen);
                    let fewest = u64::from(self.rng.chance(0.9));
                    chosen.truncate(self.rng.range(fewest, 3) as usize);
                    if self.rng.chance(0.5) {
                        let choices: Vec<Value> = chosen
                            .iter()
                            .map(|id| {
                                if self.rng.chance(0.5) {
                                    json!({"suggestion_id": id, "text": "My own words"})
                                } else {
                                    json!({"suggestion_id": id})
                                }
                            })
                            .collect();
                        json!({"type": kind, "item_id": item.item_id, "choices": choices})
                    } else {
                        json!({"type": kind, "item_id": item.item_id, "suggestion_ids": chosen})
                    }
                } else {
                    let others: Vec<usize> = everyone
                        .iter()
                        .copied()
                        .filter(|&page| {
                            self.pages[page].member_id != presenter || self.rng.chance(0.05)
                        })
                        .collect();
                    from = self.rng.pick(&others)?;
                    if kind == "add_suggestion" {
                        json!({"type": kind, "item_id": item.item_id, "text": format!("Try idea {}", self.rng.below(50))})
                    } else {
                        let suggestion = self.rng.pick(&suggestions).unwrap_or(99);
                        json!({"type": kind, "item_id": item.item_id, "suggestion_id": suggestion, "vote": self.rng.chance(0.75)})
                    }
                }
            }
            "react" => {
                let reactions = ["applause", "plus_one", "laugh", "idea", "heart"];
                json!({"type": "react", "reaction": self.rng.pick(&reactions).unwrap()})
            }
            "rotate_link" => {
                let link = if self.rng.chance(0.5) {
                    "invite"
                } else {
                    "facilitator"
                };
                json!({"type": "rotate_link", "link": link})
            }
            "list_sessions" => json!({"type": "list_sessions"}),
            "leave_group" => {
                let choices = ["remove", "anonymize"];
                json!({
                    "type": "leave_group",
                    "commitments": self.rng.pick(&choices).unwrap(),
                    "numbers": self.rng.pick(&choices).unwrap(),
                    "practices": self.rng.pick(&choices).unwrap(),
                })
            }
            // Never the group's name: a deletion ends the room (and the session), so it is only
            // ever refused here; tests/deletion.rs drives an accepted one.
            "delete_group" => {
                let names = ["", "Not This Group", "random peers"];
                json!({"type": "delete_group", "confirm_name": self.rng.pick(&names).unwrap()})
            }
            "set_call_link" => {
                let urls = [
                    json!("https://meet.example.com/abc-defg-hij"),
                    json!("https://video.example.org/room/42"),
                    json!(null),
                    json!("javascript:alert(1)"),
                ];
                json!({"type": "set_call_link", "url": self.rng.pick(&urls).unwrap()})
            }
            "revoke_session" => {
                let sessions: Vec<(MemberId, wire::SessionId)> = self
                    .state
                    .access
                    .sessions
                    .iter()
                    .map(|session| (session.member_id, session.session_id))
                    .collect();
                let (member_id, session_id) = self
                    .rng
                    .pick(&sessions)
                    .unwrap_or((self.some_member(), wire::SessionId::default()));
                json!({"type": "revoke_session", "member_id": member_id, "session_id": session_id})
            }
            "set_schedule" => {
                let drafts = [
                    json!({"cadence": {"every": "week", "weekday": "tuesday"}, "starts_on": "2025-11-01", "start_time": "09:00", "duration_minutes": 90, "time_zone": "Europe/Berlin"}),
                    json!({"cadence": {"every": "two_weeks", "weekday": "friday"}, "starts_on": "2025-12-01", "start_time": "16:30", "duration_minutes": 60, "time_zone": "America/Chicago"}),
                    json!({"cadence": {"every": "month_weekday", "week": -1, "weekday": "thursday"}, "starts_on": "2025-10-15", "start_time": "08:00", "duration_minutes": 120, "time_zone": "Asia/Tokyo"}),
                    json!({"cadence": {"every": "month_day", "day": 15}, "starts_on": "2025-11-20", "start_time": "12:00", "duration_minutes": 45, "time_zone": "UTC"}),
                    json!({"cadence": {"every": "month_day", "day": 31}, "starts_on": "2025-11-20", "start_time": "12:00", "duration_minutes": 45, "time_zone": "UTC"}),
                    json!({"cadence": {"every": "week", "weekday": "monday"}, "starts_on": "2025-11-20", "start_time": "25:00", "duration_minutes": 5, "time_zone": "UTC"}),
                    json!(null),
                ];
                json!({"type": "set_schedule", "schedule": self.rng.pick(&drafts).unwrap()})
            }
            "move_meeting" => {
                let regular: Vec<String> = self
                    .state
                    .schedule
                    .as_ref()
                    .and_then(|schedule| crate::schedule::Plan::of(schedule).ok())
                    .map(|plan| {
                        plan.occurrences_from(plan.first, 6)
                            .iter()
                            .map(|occurrence| occurrence.regular.to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                let occurrence = self
                    .rng
                    .pick(&regular)
                    .unwrap_or_else(|| "2025-11-04".to_string());
                let moments = [
                    "2025-12-24T18:00",
                    "2026-01-02T07:30",
                    "2026-01-05T10:00",
                    "2026-13-01T07:30",
                ];
                json!({"type": "move_meeting", "occurrence": occurrence, "to": self.rng.pick(&moments).unwrap()})
            }
            "clear_move" => {
                let moved: Vec<String> = self
                    .state
                    .schedule
                    .as_ref()
                    .map(|schedule| {
                        schedule
                            .moves
                            .iter()
                            .map(|moved| moved.occurrence.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let occurrence = self
                    .rng
                    .pick(&moved)
                    .unwrap_or_else(|| "2025-11-11".to_string());
                json!({"type": "clear_move", "occurrence": occurrence})
            }
            "get_next_meeting" => json!({"type": "get_next_meeting"}),
            "renew_calendar_feed" => json!({"type": "renew_calendar_feed"}),
            "revoke_calendar_feed" => {
                if self.rng.chance(0.5) {
                    json!({"type": "revoke_calendar_feed"})
                } else {
                    json!({"type": "revoke_calendar_feed", "member_id": self.some_member()})
                }
            }
            other => panic!("the generator has no request of kind {other}"),
        };
        let _ = by;
        Some((from, request))
    }

    fn weighted_kind(&mut self) -> &'static str {
        let total: u32 = self.weights.iter().map(|(_, weight)| weight).sum();
        let mut at = (self.rng.next() % u64::from(total.max(1))) as u32;
        for (kind, weight) in &self.weights {
            if at < *weight {
                return kind;
            }
            at -= weight;
        }
        self.weights[0].0
    }

    /// The kinds that move what is going on along (score the role play being scored, choose
    /// among a problem's suggestions, ...), so that sessions get deep into each feature.
    fn likely_kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        let flow = &self.state.flow;
        if flow.ended_at_ms.is_some() {
            kinds.extend(["start_next_meeting", "start_next_meeting"]);
        }
        // An upcoming meeting refuses most of what a session sends: get it started.
        if self.state.meeting.phase == wire::MeetingPhase::Upcoming {
            kinds.extend(["start_meeting", "start_meeting", "start_meeting"]);
        }
        match self
            .state
            .role_play
            .current
            .as_ref()
            .map(|current| &current.info)
        {
            None => kinds.push("role_play.set_up"),
            Some(info) => match info.phase {
                wire::RolePlayPhase::Setup => kinds.extend([
                    "role_play.open_scoring",
                    "role_play.open_scoring",
                    "role_play.cancel",
                ]),
                wire::RolePlayPhase::Scoring => {
                    kinds.extend(["role_play.submit"; 4]);
                    if info.submission_count >= info.reveal_threshold {
                        kinds.extend([
                            "role_play.reveal",
                            "role_play.reveal",
                            "role_play.close_scoring",
                        ]);
                    }
                }
                wire::RolePlayPhase::Closed => {
                    kinds.extend(["role_play.reveal", "role_play.cancel"])
                }
                wire::RolePlayPhase::Revealed => kinds.push("role_play.set_up"),
            },
        }
        if !self.state.role_play.group_templates.is_empty() {
            kinds.push("role_play.delete_template");
        }
        for item in &flow.agenda {
            match item.problem.as_ref().map(|problem| problem.phase) {
                Some(wire::ProblemPhase::Suggest) => {
                    kinds.extend([
                        "add_suggestion",
                        "add_suggestion",
                        "vote_suggestion",
                        "vote_suggestion",
                    ]);
                    let problem = item.problem.as_ref().expect("a running problem");
                    if problem.suggestions.len() >= 2 {
                        kinds.push("start_problem_phase");
                    }
                }
                Some(wire::ProblemPhase::Decide) => {
                    let problem = item.problem.as_ref().expect("a running problem");
                    if problem.chosen.is_empty() && !problem.suggestions.is_empty() {
                        kinds.extend(["choose_suggestions"; 6]);
                    }
                    kinds.push("vote_suggestion");
                }
                Some(_) => kinds.push("start_problem_phase"),
                None if item.kind == wire::AgendaItemKind::Problem && item.owner.is_none() => {
                    kinds.push("edit_agenda_item");
                }
                None if item.kind == wire::AgendaItemKind::Problem => {
                    kinds.push("start_problem_phase")
                }
                None => {}
            }
        }
        if let Some(round) = &flow.round {
            if round
                .speakers
                .iter()
                .any(|speaker| speaker.status == wire::SpeakerStatus::Skipped)
            {
                kinds.push("restore_speaker");
            }
            kinds.extend(["next_speaker", "skip_speaker", "previous_speaker"]);
        } else {
            kinds.push("start_round");
        }
        if !self.state.hands.is_empty() {
            kinds.extend(["call_next_speaker", "lower_hand_of"]);
        }
        if flow.floor.is_some() {
            kinds.push("end_turn");
        }
        if !flow.proposals.is_empty() {
            kinds.extend(["accept_proposal", "decline_proposal"]);
        }
        if flow.timer.is_some() {
            kinds.extend(["pause_timer", "resume_timer", "extend_timer"]);
        }
        kinds
    }

    /// One step of the session.
    fn step(&mut self) {
        let connected = self.connected_pages(None).len();
        let roll = self.rng.below(100);
        if connected < 2 || roll < 4 {
            let facilitator_link = self.rng.chance(0.15);
            self.newcomer(facilitator_link);
        } else if roll < 9 {
            self.come_back();
        } else if roll < 13 {
            self.disconnect();
        } else if roll < 14 {
            // Also while scoring is open: a page finds its slot again from its token.
            self.restart();
        } else {
            let likely = self.likely_kinds();
            let (keen, likely) = match self.seed % 10 {
                0 => (0.1, likely),
                5 => (
                    0.8,
                    likely
                        .into_iter()
                        .filter(|kind| kind.starts_with("role_play."))
                        .collect(),
                ),
                // Some sessions bring problems all the way to the presenter's choice.
                3 => (
                    0.7,
                    likely
                        .into_iter()
                        .filter(|kind| {
                            kind.contains("suggestion")
                                || ["start_problem_phase", "edit_agenda_item"].contains(kind)
                        })
                        .collect(),
                ),
                _ => (0.4, likely),
            };
            let kind = match self.rng.pick(&likely) {
                Some(kind) if self.rng.chance(keen) => kind,
                _ => self.weighted_kind(),
            };
            let request = match self.request(kind) {
                None => match self.rng.pick(&likely) {
                    Some(kind) => self.request(kind),
                    None => None,
                },
                some => some,
            };
            if let Some((page, request)) = request {
                self.send(page, request);
            }
        }
        // Time passes: usually seconds, now and then minutes, so timers run out.
        let elapsed = if self.rng.chance(0.08) {
            self.rng.range(30, 600) * 1_000
        } else {
            self.rng.range(100, 5_000)
        };
        self.pass_time(elapsed);
    }

    fn run(&mut self, steps: usize) {
        self.newcomer(true);
        for _ in 0..3 {
            self.newcomer(false);
        }
        self.check(0);
        for step in 1..=steps {
            self.step();
            self.check(step);
        }
    }

    fn write(&self, dir: &Path) {
        let dir = dir.join(format!("random-{}", self.seed));
        std::fs::create_dir_all(&dir).unwrap();
        for (index, page) in self.pages.iter().enumerate() {
            if page.member_id.is_none() {
                continue; // never joined
            }
            let record = json!({"seed": self.seed, "page": index, "name": page.name,
                                "member_id": page.member_id, "messages": page.messages});
            let file = dir.join(format!("page-{index}.json"));
            std::fs::write(file, serde_json::to_vec(&record).unwrap()).unwrap();
        }
    }
}

/// Runs the fixed sessions (and `ROUNDTABLE_CONSISTENCY_SEED`'s), writes what each page got for
/// the Node test, and checks that the sessions sent every request kind of the protocol and had
/// each accepted at least once.
#[test]
fn random_sessions_cover_every_request_kind_and_record_what_pages_see() {
    let dir = client_consistency_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with("random-") {
            std::fs::remove_dir_all(entry.path()).unwrap();
        }
    }
    let mut seeds: Vec<u64> = (1..=SESSIONS).collect();
    let extra = std::env::var("ROUNDTABLE_CONSISTENCY_SEED").ok();
    if let Some(seed) = &extra {
        let seed: u64 = seed
            .parse()
            .expect("ROUNDTABLE_CONSISTENCY_SEED is a whole number");
        if !seeds.contains(&seed) {
            seeds.push(seed);
        }
    }
    // What the Node test must replay, session for session: it checks it found every one.
    std::fs::write(
        dir.join(SESSIONS_MANIFEST),
        serde_json::to_vec(&json!({"fixed": SESSIONS, "seeds": seeds})).unwrap(),
    )
    .unwrap();
    let mut coverage = Coverage::new();
    let mut restarts_while_scoring = 0;
    for seed in seeds {
        let mut session = Gen::new(seed);
        session.run(STEPS);
        session.write(&dir);
        if seed <= SESSIONS {
            restarts_while_scoring += session.restarts_while_scoring;
            for (kind, (sent, accepted)) in session.coverage {
                let entry = coverage.entry(kind).or_default();
                entry.0 += sent;
                entry.1 += accepted;
            }
        }
    }
    for (kind, (sent, accepted)) in &coverage {
        println!("{kind}: sent {sent}, accepted {accepted}");
    }
    // Pages must find their submissions again after a restart during scoring: it happens.
    println!("restarts while scoring held submissions: {restarts_while_scoring}");
    assert!(
        restarts_while_scoring >= 3,
        "the fixed sessions restarted the server only {restarts_while_scoring} times while \
         scoring held submissions"
    );
    let generated: BTreeSet<String> = KINDS
        .iter()
        .map(|(kind, _)| (*kind).to_string())
        .chain(["join".to_string()])
        .collect();
    let protocol = protocol_request_kinds();
    let missing: Vec<&String> = protocol.difference(&generated).collect();
    assert!(
        missing.is_empty(),
        "the protocol has request kinds the random sessions never send: {missing:?}. Add each to \
         KINDS in rules/src/consistency_tests.rs (and to FACILITATOR_KINDS if only facilitators \
         may send it) and build it in Gen::request, mostly valid for the room as it is, so the \
         web client's consistency test covers it"
    );
    let unknown: Vec<&String> = generated.difference(&protocol).collect();
    assert!(
        unknown.is_empty(),
        "not request kinds of the protocol: {unknown:?}"
    );
    let never_accepted: Vec<String> = protocol
        .iter()
        // A deletion would end the session: it is only sent refused (see `Gen::request`).
        .filter(|kind| kind.as_str() != "delete_group")
        .filter(|kind| {
            coverage
                .get(*kind)
                .is_none_or(|(_, accepted)| *accepted == 0)
        })
        .map(|kind| {
            format!(
                "{kind} (sent {} times)",
                coverage.get(kind).map_or(0, |(sent, _)| *sent)
            )
        })
        .collect();
    assert!(
        never_accepted.is_empty(),
        "the random sessions never had these request kinds accepted: {never_accepted:?}. Make \
         Gen::request in rules/src/consistency_tests.rs build them so that the room accepts them \
         (most of the time), so the web client's consistency test covers what they change"
    );
}
