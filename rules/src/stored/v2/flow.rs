//! Format 2 of the meeting flow: format 1's, with the dot votes in the state and their two
//! events.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::v1;
use crate::flow;
use crate::stored::convert::Mirror;
use v1::{
    AgendaItem, AgendaItemStatus, FloorInfo, ProblemPhase, Proposal, RoundInfo, SpeakerStatus,
    Suggestion, TalkTime, TemplateItem, Timer, TimerSubject,
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

type V1FlowState = v1::FlowState;
forward_struct!(V1FlowState => FlowState {
    template, agenda, proposals, round, timer, floor, talk_times, next_item_id,
    next_proposal_id, next_suggestion_id, ended_at_ms,
} added { votes: Vec::new() });

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
            MeetingEnded,
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
    SuggestionVoteSet { item_id, suggestion_id, member_id, voted },
    SuggestionVotesCounted { item_id, suggestion_id, votes },
});

type V1FlowEvent = v1::FlowEvent;
format_1_flow_event_variants!(forward_enum!(V1FlowEvent => FlowEvent));
