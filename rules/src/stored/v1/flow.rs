//! Format 1 of the meeting flow: agenda, template, proposals, round, timer, floor, talk times,
//! and the flow's events.

use roundtable_protocol as wire;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::flow;

/// The meeting flow's state (`FlowState`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    pub template: Vec<TemplateItem>,
    pub agenda: Vec<AgendaItem>,
    pub proposals: Vec<Proposal>,
    pub round: Option<RoundInfo>,
    pub timer: Option<Timer>,
    pub floor: Option<FloorInfo>,
    pub talk_times: Vec<TalkTime>,
    pub next_item_id: u32,
    pub next_proposal_id: u32,
    pub next_suggestion_id: u32,
}

// Read forward into format 2's `FlowState` (`super::super::v2`), which mirrors today's.

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateItem {
    pub title: String,
    pub kind: AgendaItemKind,
    pub time_box_ms: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

mirror_struct!(TemplateItem <=> wire::TemplateItem { title, kind, time_box_ms, notes });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaItem {
    pub item_id: u32,
    pub title: String,
    pub kind: AgendaItemKind,
    pub time_box_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Uuid>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    pub status: AgendaItemStatus,
    pub origin: AgendaItemOrigin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<ProblemInfo>,
}

// Read forward into format 2's `AgendaItem`, which mirrors today's.

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgendaItemDraft {
    pub title: String,
    pub kind: AgendaItemKind,
    pub time_box_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Uuid>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

mirror_struct!(AgendaItemDraft <=> wire::AgendaItemDraft { title, kind, time_box_ms, owner, notes });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgendaItemKind {
    Round,
    ReportBack,
    Problem,
    RolePlay,
    Benchmarks,
    BestPractices,
    Commitments,
    Discussion,
}

mirror_enum!(AgendaItemKind <=> wire::AgendaItemKind {
    Round, ReportBack, Problem, RolePlay, Benchmarks, BestPractices, Commitments, Discussion,
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgendaItemStatus {
    Pending,
    Current,
    Done,
}

mirror_enum!(AgendaItemStatus <=> wire::AgendaItemStatus { Pending, Current, Done });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgendaItemOrigin {
    Template,
    Added,
    Proposed,
    Carried,
}

mirror_enum!(AgendaItemOrigin <=> wire::AgendaItemOrigin { Template, Added, Proposed, Carried });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub proposal_id: u32,
    pub proposed_by: Uuid,
    pub item: AgendaItemDraft,
}

mirror_struct!(Proposal <=> wire::Proposal { proposal_id, proposed_by, item });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemPhase {
    Present,
    Clarify,
    Suggest,
    Decide,
}

mirror_enum!(ProblemPhase <=> wire::ProblemPhase { Present, Clarify, Suggest, Decide });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemInfo {
    pub presenter: Uuid,
    pub phase: ProblemPhase,
    pub suggestions: Vec<Suggestion>,
    pub chosen: Vec<u32>,
}

mirror_struct!(ProblemInfo <=> wire::ProblemInfo { presenter, phase, suggestions, chosen });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub suggestion_id: u32,
    pub by: Uuid,
    pub text: String,
}

mirror_struct!(Suggestion <=> wire::Suggestion { suggestion_id, by, text });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<u32>,
    pub speaker_time_box_ms: u64,
    pub auto_advance: bool,
    pub speakers: Vec<RoundSpeaker>,
}

mirror_struct!(RoundInfo <=> wire::RoundInfo { item_id, speaker_time_box_ms, auto_advance, speakers });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundSpeaker {
    pub member_id: Uuid,
    pub status: SpeakerStatus,
    pub talk_ms: u64,
}

mirror_struct!(RoundSpeaker <=> wire::RoundSpeaker { member_id, status, talk_ms });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeakerStatus {
    Waiting,
    Speaking,
    Done,
    Skipped,
}

mirror_enum!(SpeakerStatus <=> wire::SpeakerStatus { Waiting, Speaking, Done, Skipped });

/// The timer with its server-only fields (`flow::Timer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub subject: TimerSubject,
    pub time_box_ms: u64,
    pub run: TimerRun,
    pub talked_ms: u64,
    pub time_up_sent: bool,
}

mirror_struct!(Timer <=> flow::Timer { subject, time_box_ms, run, talked_ms, time_up_sent });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TimerRun {
    Running { deadline_ms: u64, since_ms: u64 },
    Paused { remaining_ms: i64 },
}

mirror_enum!(TimerRun <=> flow::TimerRun {
    Running { deadline_ms, since_ms },
    Paused { remaining_ms },
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerSubject {
    RoundSpeaker { member_id: Uuid },
    CalledSpeaker { member_id: Uuid },
    ProblemPhase { item_id: u32, phase: ProblemPhase },
}

mirror_enum!(TimerSubject <=> wire::TimerSubject {
    RoundSpeaker { member_id },
    CalledSpeaker { member_id },
    ProblemPhase { item_id, phase },
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloorInfo {
    pub member_id: Uuid,
    pub since_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_box_ms: Option<u64>,
}

mirror_struct!(FloorInfo <=> wire::FloorInfo { member_id, since_ms, time_box_ms });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkTime {
    pub member_id: Uuid,
    pub talk_ms: u64,
    pub turns: u32,
    pub overrun_ms: u64,
}

mirror_struct!(TalkTime <=> wire::TalkTime { member_id, talk_ms, turns, overrun_ms });

/// A change to the meeting flow (`FlowEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FlowEvent {
    AgendaItemAdded {
        item: AgendaItem,
        position: u32,
    },
    AgendaItemEdited {
        item: AgendaItem,
    },
    AgendaItemRemoved {
        item_id: u32,
    },
    AgendaReordered {
        order: Vec<u32>,
    },
    AgendaItemStatusChanged {
        item_id: u32,
        status: AgendaItemStatus,
    },
    AgendaItemProposed {
        proposal: Proposal,
    },
    ProposalClosed {
        proposal_id: u32,
        accepted: bool,
    },
    AgendaTemplateSaved {
        items: Vec<TemplateItem>,
    },
    RoundStarted {
        round: RoundInfo,
    },
    RoundSpeakersReordered {
        order: Vec<Uuid>,
    },
    RoundSpeakerChanged {
        member_id: Uuid,
        status: SpeakerStatus,
    },
    RoundAutoAdvanceSet {
        auto_advance: bool,
    },
    RoundEnded,
    TimerSet {
        timer: Option<Timer>,
    },
    TimeUp {
        subject: TimerSubject,
        deadline_ms: u64,
    },
    TurnEnded {
        member_id: Uuid,
        talk_ms: u64,
        time_box_ms: Option<u64>,
        in_round: bool,
    },
    FloorGiven {
        floor: Option<FloorInfo>,
    },
    ProblemPhaseStarted {
        item_id: u32,
        presenter: Uuid,
        phase: ProblemPhase,
    },
    SuggestionAdded {
        item_id: u32,
        suggestion: Suggestion,
    },
    SuggestionsChosen {
        item_id: u32,
        suggestion_ids: Vec<u32>,
    },
}

// Read forward into format 2's `FlowEvent`, which mirrors today's.
