//! Wire types of the meeting flow: the shared agenda, the turn-taking timer, the round of
//! speakers, the speaker queue's floor and the bring-a-problem protocol.
//!
//! The timer is the server's. It is sent as a deadline in server time while it runs and as the
//! remaining time while it is paused, never as ticks: a client shows
//! `deadline_ms - (local_now + offset)` (see PROTOCOL.md, "Showing the timer").

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{MemberId, UnixMs};

/// Identifies an agenda item within one meeting (numbered from 1, never reused).
pub type AgendaItemId = u32;

/// Identifies a member's agenda proposal within one meeting.
pub type ProposalId = u32;

/// Identifies a suggestion within one meeting.
pub type SuggestionId = u32;

/// What an agenda item is for. Only `round` and `problem` have their own controls today; the
/// others are plain agenda items with a time box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AgendaItemKind {
    /// A turn-taking round, such as the check-in where every member reviews their week.
    Round,
    /// Members report on last meeting's commitments.
    ReportBack,
    /// A member brings a stuck problem; runs the bring-a-problem protocol.
    Problem,
    /// Two members role-play a call; the others score it.
    RolePlay,
    /// Members share their weekly activity numbers.
    Benchmarks,
    /// Members share what worked and what did not.
    BestPractices,
    /// Everyone commits to actions for next week.
    Commitments,
    /// Open discussion, usually run with the speaker queue.
    Discussion,
}

/// Where an agenda item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AgendaItemStatus {
    /// Not reached yet (or set aside).
    Pending,
    /// What the meeting is on now; at most one item is current.
    Current,
    Done,
}

/// How an agenda item came onto the agenda.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AgendaItemOrigin {
    /// From the group's agenda template when the meeting started.
    Template,
    /// Added by a facilitator during the meeting.
    Added,
    /// Proposed by a member and accepted by a facilitator.
    Proposed,
    /// Not finished in an earlier meeting and carried over.
    Carried,
}

/// The editable fields of an agenda item, as a facilitator adds or edits it or a member
/// proposes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct AgendaItemDraft {
    pub title: String,
    pub kind: AgendaItemKind,
    /// The time planned for the item, in milliseconds (more than 0).
    pub time_box_ms: u64,
    /// The member who owns the item; for a `problem`, the presenter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<MemberId>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

/// An item of the meeting's agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AgendaItem {
    pub item_id: AgendaItemId,
    pub title: String,
    pub kind: AgendaItemKind,
    pub time_box_ms: u64,
    /// May name a member who has since left the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<MemberId>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    pub status: AgendaItemStatus,
    /// Time the item was current before, in milliseconds, not counting the stretch since
    /// `current_since_ms`. With it, what is left of the time box is
    /// `time_box_ms - spent_ms - (now - current_since_ms)`, by the server's clock.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spent_ms: u64,
    /// While the item is current: when it last became current, by the server's clock (the
    /// `at_ms` of the `agenda_item_status_changed` frame that made it current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_since_ms: Option<UnixMs>,
    pub origin: AgendaItemOrigin,
    /// The bring-a-problem protocol's state, once a `problem` item's first phase started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<ProblemInfo>,
}

/// An item a member proposed, waiting for a facilitator to accept or decline it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Proposal {
    pub proposal_id: ProposalId,
    pub proposed_by: MemberId,
    pub item: AgendaItemDraft,
}

/// One item of the group's agenda template, from which each new meeting's agenda starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct TemplateItem {
    pub title: String,
    pub kind: AgendaItemKind,
    pub time_box_ms: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

/// The phases of the bring-a-problem protocol, in their usual order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProblemPhase {
    /// The presenter explains the problem.
    Present,
    /// The group asks clarifying questions only.
    Clarify,
    /// Members offer suggestions, captured as a list.
    Suggest,
    /// The presenter picks the suggestions they will act on.
    Decide,
}

/// A `problem` item's protocol state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProblemInfo {
    pub presenter: MemberId,
    pub phase: ProblemPhase,
    pub suggestions: Vec<Suggestion>,
    /// The suggestions the presenter chose to act on, in the order they chose them.
    pub chosen: Vec<SuggestionId>,
}

/// A member's suggestion to a presenter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Suggestion {
    pub suggestion_id: SuggestionId,
    pub by: MemberId,
    pub text: String,
}

/// One suggestion the presenter chose, with the text of the commitment it becomes when they
/// edited it (without one, the suggestion's own text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct SuggestionChoice {
    pub suggestion_id: SuggestionId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A turn-taking round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RoundInfo {
    /// The agenda item the round belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<AgendaItemId>,
    /// Each speaker's time box, in milliseconds.
    pub speaker_time_box_ms: u64,
    /// Whether the server moves to the next speaker by itself at time-up.
    pub auto_advance: bool,
    /// Everyone in the round, in speaking order.
    pub speakers: Vec<RoundSpeaker>,
}

/// One speaker of a round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RoundSpeaker {
    pub member_id: MemberId,
    pub status: SpeakerStatus,
    /// Time they actually had the floor in this round so far, paused time excluded.
    pub talk_ms: u64,
}

/// Where a round's speaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SpeakerStatus {
    Waiting,
    /// Has the floor now; at most one speaker of a round is speaking.
    Speaking,
    Done,
    /// Skipped (absent).
    Skipped,
}

/// What the timer is timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerSubject {
    /// The speaking turn of a round's speaker.
    RoundSpeaker { member_id: MemberId },
    /// The turn of a member the facilitator called from the speaker queue.
    CalledSpeaker { member_id: MemberId },
    /// A phase of a `problem` item's protocol.
    ProblemPhase {
        item_id: AgendaItemId,
        phase: ProblemPhase,
    },
}

/// The meeting's timer. There is at most one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TimerInfo {
    pub subject: TimerSubject,
    /// The time box the timer started with, in milliseconds (extensions not included).
    pub time_box_ms: u64,
    pub state: TimerState,
    /// Whether the deadline has passed and `time_up` was sent for it.
    pub time_up: bool,
}

/// A running timer is a deadline; a paused one is the time that was left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TimerState {
    /// Time is up at `deadline_ms`, by the server's clock.
    Running { deadline_ms: UnixMs },
    /// The time that was left at the pause; negative when the speaker had overrun.
    Paused { remaining_ms: i64 },
}

/// A member called from the speaker queue, who has the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FloorInfo {
    pub member_id: MemberId,
    pub since_ms: UnixMs,
    /// The time box they were given, if any (then the timer runs for them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_box_ms: Option<u64>,
}

/// A member's talk time in this meeting, summed over their turns (round turns and turns
/// called from the queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TalkTime {
    pub member_id: MemberId,
    pub talk_ms: u64,
    pub turns: u32,
    /// Time talked beyond the time boxes of time-boxed turns.
    pub overrun_ms: u64,
}

/// The meeting flow as a snapshot carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FlowInfo {
    pub agenda: Vec<AgendaItem>,
    /// Members' proposals waiting for a facilitator.
    pub proposals: Vec<Proposal>,
    /// The group's agenda template, from which the next meeting's agenda starts.
    pub agenda_template: Vec<TemplateItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<RoundInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<TimerInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<FloorInfo>,
    /// Talk time per member so far, for members who have had a turn.
    pub talk_times: Vec<TalkTime>,
    /// When a facilitator ended this meeting, if they did (see `end_meeting`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<UnixMs>,
    /// Dot votes, per problem item that has any (each member has [`DOTS_PER_PROBLEM`] dots
    /// per problem).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<ProblemVotes>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// Dots each member may put on one problem's suggestions.
pub const DOTS_PER_PROBLEM: u32 = 3;

/// A problem's dot votes, as one member sees them: counts only, and their own dots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProblemVotes {
    pub item_id: AgendaItemId,
    /// The suggestions with at least one dot.
    pub counts: Vec<SuggestionVotes>,
    /// The suggestions the viewer put a dot on.
    pub yours: Vec<SuggestionId>,
}

/// How many dots a suggestion has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SuggestionVotes {
    pub suggestion_id: SuggestionId,
    pub votes: u32,
}
