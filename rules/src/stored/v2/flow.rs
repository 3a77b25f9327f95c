//! Format 2 of the meeting flow: format 1's, with the dot votes in the state and their two
//! events, each agenda item's clock (`spent_ms`, `current_since_ms`), and the meeting's end
//! (`ended_at_ms`, `meeting_ended`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::v1;
use crate::flow;
use crate::stored::convert::Mirror;
use roundtable_protocol as wire;
use v1::{
    AgendaItemKind, AgendaItemOrigin, AgendaItemStatus, FloorInfo, ProblemInfo, ProblemPhase,
    Proposal, RoundInfo, SpeakerStatus, Suggestion, TalkTime, TemplateItem, Timer, TimerSubject,
};

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<u64>,
    /// Who put a dot on which suggestion; only suggestions with a dot are listed.
    pub votes: Vec<SuggestionVoters>,
}

mirror_struct!(FlowState <=> flow::FlowState {
    template, agenda, proposals, round, timer, floor, talk_times, next_item_id,
    next_proposal_id, next_suggestion_id, ended_at_ms, votes,
});

impl From<v1::FlowState> for FlowState {
    fn from(old: v1::FlowState) -> FlowState {
        FlowState {
            template: old.template,
            agenda: old.agenda.into_iter().map(AgendaItem::from).collect(),
            proposals: old.proposals,
            round: old.round,
            timer: old.timer,
            floor: old.floor,
            talk_times: old.talk_times,
            next_item_id: old.next_item_id,
            next_proposal_id: old.next_proposal_id,
            next_suggestion_id: old.next_suggestion_id,
            ended_at_ms: None,
            votes: Vec::new(),
        }
    }
}

/// An agenda item, with its clock.
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
    /// Time it was current before, not counting the stretch since `current_since_ms`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spent_ms: u64,
    /// While current: when it last became current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_since_ms: Option<u64>,
    pub origin: AgendaItemOrigin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<ProblemInfo>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

mirror_struct!(AgendaItem <=> wire::AgendaItem {
    item_id, title, kind, time_box_ms, owner, notes, status, spent_ms, current_since_ms, origin,
    problem,
});

/// A format 1 item has no clock: nothing spent, and no running stretch (a current item's start
/// is not known; its time left shows again once it becomes current anew).
type V1AgendaItem = v1::AgendaItem;
forward_struct!(V1AgendaItem => AgendaItem {
    item_id, title, kind, time_box_ms, owner, notes, status, origin, problem,
} added { spent_ms: 0, current_since_ms: None });

/// The members who put a dot on one suggestion of a problem item (`flow::votes::Votes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionVoters {
    pub item_id: u32,
    pub suggestion_id: u32,
    pub voters: BTreeSet<Uuid>,
}

impl Mirror for flow::votes::Votes {
    type Stored = Vec<SuggestionVoters>;
    fn to_stored(&self) -> Vec<SuggestionVoters> {
        self.by_item
            .iter()
            .flat_map(|(item_id, suggestions)| {
                suggestions
                    .iter()
                    .map(|(suggestion_id, voters)| SuggestionVoters {
                        item_id: *item_id,
                        suggestion_id: *suggestion_id,
                        voters: voters.to_stored(),
                    })
            })
            .collect()
    }
    fn from_stored(stored: Vec<SuggestionVoters>) -> Self {
        let mut votes = flow::votes::Votes::default();
        for entry in stored {
            let voters = BTreeSet::from_stored(entry.voters);
            if !voters.is_empty() {
                votes
                    .by_item
                    .entry(entry.item_id)
                    .or_default()
                    .insert(entry.suggestion_id, voters);
            }
        }
        votes
    }
}

/// A change to the meeting flow (`FlowEvent`): format 1's, and the two of dot votes.
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
    MeetingEnded,
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
    SuggestionVoteSet {
        item_id: u32,
        suggestion_id: u32,
        member_id: Uuid,
        voted: bool,
    },
    SuggestionVotesCounted {
        item_id: u32,
        suggestion_id: u32,
        votes: u32,
    },
}

/// The variants format 1 has too.
macro_rules! format_1_flow_event_variants {
    ($macro:ident!($($head:tt)*) $({ $($more:tt)* })?) => {
        $macro!($($head)* {
            AgendaItemAdded { item, position },
            AgendaItemEdited { item },
            AgendaItemRemoved { item_id },
            AgendaReordered { order },
            AgendaItemStatusChanged { item_id, status },
            AgendaItemProposed { proposal },
            ProposalClosed { proposal_id, accepted },
            AgendaTemplateSaved { items },
            RoundStarted { round },
            RoundSpeakersReordered { order },
            RoundSpeakerChanged { member_id, status },
            RoundAutoAdvanceSet { auto_advance },
            RoundEnded,
            TimerSet { timer },
            TimeUp { subject, deadline_ms },
            TurnEnded { member_id, talk_ms, time_box_ms, in_round },
            FloorGiven { floor },
            ProblemPhaseStarted { item_id, presenter, phase },
            SuggestionAdded { item_id, suggestion },
            SuggestionsChosen { item_id, suggestion_ids },
            $($($more)*)?
        });
    };
}

format_1_flow_event_variants!(mirror_enum!(FlowEvent <=> flow::FlowEvent) {
    MeetingEnded,
    SuggestionVoteSet { item_id, suggestion_id, member_id, voted },
    SuggestionVotesCounted { item_id, suggestion_id, votes },
});

type V1FlowEvent = v1::FlowEvent;
format_1_flow_event_variants!(forward_enum!(V1FlowEvent => FlowEvent));
