//! The meeting flow: the shared agenda (with members' proposals and the group's template), the
//! turn-taking timer, the round of speakers, the speaker queue's floor and the bring-a-problem
//! protocol.
//!
//! Like the rest of the room this is a pure state machine. [`decide`] turns a request, the
//! current time and the state into [`FlowEvent`]s or a [`RoomError`]; [`FlowState::apply`] folds
//! one event in. The timer is stored as a deadline or as the remaining time (see [`timer`]);
//! nothing ticks. The room actor sleeps until [`FlowState::next_deadline_ms`] and then calls
//! [`decide_tick`], which yields `time_up` once per deadline and, with auto-advance, the next
//! speaker.
//!
//! - [`agenda`]: agenda items, proposals, the template and the next meeting's agenda.
//! - [`progress`]: moving through the meeting: Next, Back and End meeting.
//! - [`round`]: rounds, the timer controls and the speaker queue's floor.
//! - [`problem`]: the bring-a-problem protocol.

use std::collections::BTreeSet;

pub mod agenda;
pub mod problem;
pub mod progress;
pub mod queue;
pub mod round;
pub mod timer;
pub mod votes;

use roundtable_protocol::{
    self as wire, AgendaItem, AgendaItemId, AgendaItemStatus, ErrorCode, FloorInfo, MemberId,
    Proposal, ProposalId, Role, RoundInfo, SpeakerStatus, Suggestion, SuggestionId, TalkTime,
    TemplateItem, TimerSubject, UnixMs,
};

use crate::error::RoomError;
use crate::limits::FlowLimits;
use crate::roster::{Roster, require_facilitator};
use crate::same_on_the_wire::same_on_the_wire;
mod rules;

pub use queue::QueueEvent;
pub use rules::{Ctx, decide, decide_tick, on_member_removed};
pub(crate) use rules::{conflict, not_found, require_permutation, turn_talk_ms};
pub use timer::{Timer, TimerRun};

/// The meeting flow's part of a room's state.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowState {
    /// The group's agenda template. Belongs to the group, not the meeting: the next meeting's
    /// agenda starts from it ([`agenda::next_meeting_agenda`]).
    pub template: Vec<TemplateItem>,
    pub agenda: Vec<AgendaItem>,
    pub proposals: Vec<Proposal>,
    pub round: Option<RoundInfo>,
    pub timer: Option<Timer>,
    /// The member called from the speaker queue who has the floor.
    pub floor: Option<FloorInfo>,
    /// Talk time per member, in the order of their first turn.
    pub talk_times: Vec<TalkTime>,
    /// Ids handed out next; derived from the events, so replay gives the same ids.
    pub next_item_id: AgendaItemId,
    pub next_proposal_id: ProposalId,
    pub next_suggestion_id: SuggestionId,
    /// Dot votes on the problems' suggestions ([`votes`]).
    pub votes: votes::Votes,
    /// When a facilitator ended the meeting; the meeting runs no more until the next one.
    pub ended_at_ms: Option<UnixMs>,
}

impl Default for FlowState {
    /// A new group's flow: the default template, and a first meeting that starts from it.
    fn default() -> Self {
        let template = agenda::default_template();
        let next = agenda::next_meeting_agenda(&template, &[], FlowLimits::AGENDA_ITEMS_MAX);
        FlowState {
            next_item_id: next.items.len() as AgendaItemId + 1,
            agenda: next.items,
            template,
            proposals: Vec::new(),
            round: None,
            timer: None,
            floor: None,
            talk_times: Vec::new(),
            next_proposal_id: 1,
            next_suggestion_id: 1,
            votes: votes::Votes::default(),
            ended_at_ms: None,
        }
    }
}

/// A change to the meeting flow, as stored in the log (inside `RoomEvent::Flow`). Each maps to
/// the wire event of the same name.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowEvent {
    AgendaItemAdded {
        item: AgendaItem,
        position: u32,
    },
    AgendaItemEdited {
        item: AgendaItem,
    },
    AgendaItemRemoved {
        item_id: AgendaItemId,
    },
    AgendaReordered {
        order: Vec<AgendaItemId>,
    },
    AgendaItemStatusChanged {
        item_id: AgendaItemId,
        status: AgendaItemStatus,
    },
    AgendaItemProposed {
        proposal: Proposal,
    },
    ProposalClosed {
        proposal_id: ProposalId,
        accepted: bool,
    },
    AgendaTemplateSaved {
        items: Vec<TemplateItem>,
    },
    RoundStarted {
        round: RoundInfo,
    },
    RoundSpeakersReordered {
        order: Vec<MemberId>,
    },
    RoundSpeakerChanged {
        member_id: MemberId,
        status: SpeakerStatus,
    },
    RoundAutoAdvanceSet {
        auto_advance: bool,
    },
    RoundEnded,
    /// The meeting ended (at the event's time).
    MeetingEnded,
    /// Carries the whole timer, server-only fields included, so that applying it needs no
    /// clock.
    TimerSet {
        timer: Option<Timer>,
    },
    TimeUp {
        subject: TimerSubject,
        deadline_ms: UnixMs,
    },
    TurnEnded {
        member_id: MemberId,
        talk_ms: u64,
        time_box_ms: Option<u64>,
        in_round: bool,
    },
    FloorGiven {
        floor: Option<FloorInfo>,
    },
    ProblemPhaseStarted {
        item_id: AgendaItemId,
        presenter: MemberId,
        phase: wire::ProblemPhase,
    },
    SuggestionAdded {
        item_id: AgendaItemId,
        suggestion: Suggestion,
    },
    SuggestionsChosen {
        item_id: AgendaItemId,
        suggestion_ids: Vec<SuggestionId>,
    },
    /// A member's dot on a suggestion, put (`voted`) or taken back ([`votes`]).
    SuggestionVoteSet {
        item_id: AgendaItemId,
        suggestion_id: SuggestionId,
        member_id: MemberId,
        voted: bool,
    },
    /// A suggestion's dots now number `votes`; for clients, who are not told who voted.
    SuggestionVotesCounted {
        item_id: AgendaItemId,
        suggestion_id: SuggestionId,
        votes: u32,
    },
}

impl FlowState {
    pub fn item(&self, item_id: AgendaItemId) -> Option<&AgendaItem> {
        self.agenda.iter().find(|item| item.item_id == item_id)
    }

    fn item_mut(&mut self, item_id: AgendaItemId) -> Option<&mut AgendaItem> {
        self.agenda.iter_mut().find(|item| item.item_id == item_id)
    }

    /// The round speaker who has the floor, if any.
    pub fn round_speaker(&self) -> Option<MemberId> {
        self.round.as_ref().and_then(|round| {
            round
                .speakers
                .iter()
                .find(|speaker| speaker.status == SpeakerStatus::Speaking)
                .map(|speaker| speaker.member_id)
        })
    }

    /// When the room must wake up to send `time_up`: the running timer's deadline, unless
    /// `time_up` was sent for it already.
    pub fn next_deadline_ms(&self) -> Option<UnixMs> {
        self.timer.as_ref().and_then(Timer::pending_deadline_ms)
    }

    /// The flow a group's next meeting starts with: the agenda from the template with this
    /// meeting's unfinished items carried over ([`agenda::next_meeting_agenda`]), the same
    /// template, the members' open proposals, and no round, timer, floor or talk times.
    /// Carried items are capped at the default `agenda_items_max` (a constant, so that loading
    /// a room gives the same agenda whatever the configuration); a template longer than that
    /// is kept whole.
    pub fn next_meeting(&self) -> FlowState {
        let items_max = FlowLimits::AGENDA_ITEMS_MAX.max(self.template.len());
        let next = agenda::next_meeting_agenda(&self.template, &self.agenda, items_max);
        FlowState {
            template: self.template.clone(),
            next_item_id: next.items.len() as AgendaItemId + 1,
            agenda: next.items,
            proposals: self.proposals.clone(),
            round: None,
            timer: None,
            floor: None,
            talk_times: Vec::new(),
            next_proposal_id: self.next_proposal_id,
            next_suggestion_id: 1,
            votes: votes::Votes::default(),
            ended_at_ms: None,
        }
    }

    /// Folds one event, which happened at `at_ms`, into the flow. Like `RoomState::apply`, a
    /// misfit event (a bug or a damaged log) is ignored rather than panicking.
    pub fn apply(&mut self, at_ms: UnixMs, event: &FlowEvent) {
        match event {
            FlowEvent::AgendaItemAdded { item, position } => self.add_item(item, *position),
            FlowEvent::AgendaItemEdited { item } => {
                if let Some(existing) = self.item_mut(item.item_id) {
                    *existing = item.clone();
                }
            }
            FlowEvent::AgendaItemRemoved { item_id } => {
                self.agenda.retain(|item| item.item_id != *item_id);
                self.votes.remove_item(*item_id);
            }
            FlowEvent::AgendaReordered { order } => self.reorder_agenda(order),
            FlowEvent::AgendaItemStatusChanged { item_id, status } => {
                if let Some(item) = self.item_mut(*item_id) {
                    set_status(item, *status, at_ms);
                }
            }
            FlowEvent::AgendaItemProposed { proposal } => {
                self.next_proposal_id = self.next_proposal_id.max(proposal.proposal_id + 1);
                self.proposals.push(proposal.clone());
            }
            FlowEvent::ProposalClosed { proposal_id, .. } => {
                self.proposals
                    .retain(|proposal| proposal.proposal_id != *proposal_id);
            }
            FlowEvent::AgendaTemplateSaved { items } => self.template = items.clone(),
            FlowEvent::RoundStarted { round } => self.round = Some(round.clone()),
            FlowEvent::RoundSpeakersReordered { order } => self.reorder_round(order),
            FlowEvent::RoundSpeakerChanged { member_id, status } => {
                if let Some(speaker) = self.round_speaker_mut(*member_id) {
                    speaker.status = *status;
                }
            }
            FlowEvent::RoundAutoAdvanceSet { auto_advance } => {
                if let Some(round) = &mut self.round {
                    round.auto_advance = *auto_advance;
                }
            }
            FlowEvent::RoundEnded => self.round = None,
            FlowEvent::MeetingEnded => self.ended_at_ms = Some(at_ms),
            FlowEvent::TimerSet { timer } => self.timer = *timer,
            FlowEvent::TimeUp { .. } => {
                if let Some(timer) = &mut self.timer {
                    timer.time_up_sent = true;
                }
            }
            FlowEvent::TurnEnded {
                member_id,
                talk_ms,
                time_box_ms,
                in_round,
            } => self.count_turn(*member_id, *talk_ms, *time_box_ms, *in_round),
            FlowEvent::FloorGiven { floor } => self.floor = *floor,
            FlowEvent::ProblemPhaseStarted {
                item_id,
                presenter,
                phase,
            } => self.start_problem_phase(*item_id, *presenter, *phase),
            FlowEvent::SuggestionAdded {
                item_id,
                suggestion,
            } => {
                self.next_suggestion_id = self.next_suggestion_id.max(suggestion.suggestion_id + 1);
                if let Some(problem) = self.problem_mut(*item_id) {
                    problem.suggestions.push(suggestion.clone());
                }
            }
            FlowEvent::SuggestionsChosen {
                item_id,
                suggestion_ids,
            } => {
                if let Some(problem) = self.problem_mut(*item_id) {
                    problem.chosen = suggestion_ids.clone();
                }
            }
            FlowEvent::SuggestionVoteSet {
                item_id,
                suggestion_id,
                member_id,
                voted,
            } => self.votes.set(*item_id, *suggestion_id, *member_id, *voted),
            // The count is derived from the voters.
            FlowEvent::SuggestionVotesCounted { .. } => {}
        }
    }

    fn add_item(&mut self, item: &AgendaItem, position: u32) {
        if self.item(item.item_id).is_none() {
            let at = (position as usize).min(self.agenda.len());
            self.agenda.insert(at, item.clone());
        }
        self.next_item_id = self.next_item_id.max(item.item_id + 1);
    }

    /// Puts the agenda in `order`, which names every item once (a decided order does).
    fn reorder_agenda(&mut self, order: &[AgendaItemId]) {
        let reordered: Vec<AgendaItem> = order
            .iter()
            .filter_map(|id| self.item(*id).cloned())
            .collect();
        if reordered.len() == self.agenda.len() {
            self.agenda = reordered;
        }
    }

    /// Puts the round's speakers in `order`, which names every speaker once.
    fn reorder_round(&mut self, order: &[MemberId]) {
        if let Some(round) = &mut self.round {
            let reordered: Vec<_> = order
                .iter()
                .filter_map(|id| round.speakers.iter().find(|s| s.member_id == *id))
                .cloned()
                .collect();
            if reordered.len() == round.speakers.len() {
                round.speakers = reordered;
            }
        }
    }

    fn round_speaker_mut(&mut self, member_id: MemberId) -> Option<&mut wire::RoundSpeaker> {
        self.round.as_mut().and_then(|round| {
            round
                .speakers
                .iter_mut()
                .find(|speaker| speaker.member_id == member_id)
        })
    }

    /// Adds an ended turn to the member's talk time (and their round speaker's, in a round).
    fn count_turn(
        &mut self,
        member_id: MemberId,
        talk_ms: u64,
        time_box_ms: Option<u64>,
        in_round: bool,
    ) {
        let overrun_ms = time_box_ms.map_or(0, |time_box| talk_ms.saturating_sub(time_box));
        match self
            .talk_times
            .iter_mut()
            .find(|talk| talk.member_id == member_id)
        {
            Some(talk) => {
                talk.talk_ms += talk_ms;
                talk.turns += 1;
                talk.overrun_ms += overrun_ms;
            }
            None => self.talk_times.push(TalkTime {
                member_id,
                talk_ms,
                turns: 1,
                overrun_ms,
            }),
        }
        if in_round && let Some(speaker) = self.round_speaker_mut(member_id) {
            speaker.talk_ms += talk_ms;
        }
    }

    /// Moves an item's problem to `phase`, opening it (with its presenter) the first time.
    fn start_problem_phase(
        &mut self,
        item_id: AgendaItemId,
        presenter: MemberId,
        phase: wire::ProblemPhase,
    ) {
        if let Some(item) = self.item_mut(item_id) {
            match &mut item.problem {
                Some(problem) => problem.phase = phase,
                None => {
                    item.problem = Some(wire::ProblemInfo {
                        presenter,
                        phase,
                        suggestions: Vec::new(),
                        chosen: Vec::new(),
                    })
                }
            }
        }
    }

    fn problem_mut(&mut self, item_id: AgendaItemId) -> Option<&mut wire::ProblemInfo> {
        self.item_mut(item_id)
            .and_then(|item| item.problem.as_mut())
    }

    /// The flow as clients see it.
    pub fn to_wire(&self) -> wire::FlowInfo {
        wire::FlowInfo {
            agenda: self.agenda.clone(),
            proposals: self.proposals.clone(),
            agenda_template: self.template.clone(),
            round: self.round.clone(),
            timer: self.timer.as_ref().map(Timer::to_wire),
            floor: self.floor,
            talk_times: self.talk_times.clone(),
            // Per viewer: see `RoomState::to_wire_snapshot_for`.
            votes: Vec::new(),
            ended_at_ms: self.ended_at_ms,
        }
    }

    /// Checks the flow's invariants; tests call this after every step.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut ids = std::collections::BTreeSet::new();
        for item in &self.agenda {
            if !ids.insert(item.item_id) {
                return Err(format!("agenda item {} appears twice", item.item_id));
            }
            if item.current_since_ms.is_some() && item.status != AgendaItemStatus::Current {
                return Err(format!(
                    "agenda item {} has a running clock but is not current",
                    item.item_id
                ));
            }
            if item.item_id >= self.next_item_id {
                return Err(format!(
                    "agenda item {} is not below the next id",
                    item.item_id
                ));
            }
        }
        let current = self
            .agenda
            .iter()
            .filter(|item| item.status == AgendaItemStatus::Current)
            .count();
        if current > 1 {
            return Err(format!("{current} agenda items are current"));
        }
        if let Some(round) = &self.round {
            let speaking: Vec<MemberId> = round
                .speakers
                .iter()
                .filter(|speaker| speaker.status == SpeakerStatus::Speaking)
                .map(|speaker| speaker.member_id)
                .collect();
            if speaking.len() > 1 {
                return Err(format!("{} round speakers are speaking", speaking.len()));
            }
            let mut members = std::collections::BTreeSet::new();
            if !round.speakers.iter().all(|s| members.insert(s.member_id)) {
                return Err("a member is twice in the round".into());
            }
            // The speaking speaker, and only they, are timed as round speaker.
            let timed = match self.timer.map(|timer| timer.subject) {
                Some(TimerSubject::RoundSpeaker { member_id }) => Some(member_id),
                _ => None,
            };
            if speaking.first().copied() != timed {
                return Err(format!(
                    "round speaker {:?} but the timer times {timed:?}",
                    speaking.first()
                ));
            }
        } else if let Some(TimerSubject::RoundSpeaker { .. }) = self.timer.map(|t| t.subject) {
            return Err("the timer times a round speaker but there is no round".into());
        }
        if let Some(TimerSubject::CalledSpeaker { member_id }) = self.timer.map(|t| t.subject)
            && self.floor.map(|floor| floor.member_id) != Some(member_id)
        {
            return Err("the timer times a called speaker who does not have the floor".into());
        }
        if self.floor.is_some() && self.round_speaker().is_some() {
            return Err("a called speaker and a round speaker have the floor at once".into());
        }
        if let Some(timer) = &self.timer
            && let TimerRun::Paused { remaining_ms } = timer.run
            && remaining_ms < 0
            && !timer.time_up_sent
        {
            return Err("a timer paused in overrun without time_up".into());
        }
        Ok(())
    }
}

/// Sets an item's status at `at_ms`, keeping its clock: the time it is current is added to
/// `spent_ms` when it stops being current.
fn set_status(item: &mut AgendaItem, status: AgendaItemStatus, at_ms: UnixMs) {
    if let Some(since) = item.current_since_ms.take() {
        item.spent_ms = item.spent_ms.saturating_add(at_ms.saturating_sub(since));
    }
    if status == AgendaItemStatus::Current {
        item.current_since_ms = Some(at_ms);
    }
    item.status = status;
}

impl FlowEvent {
    /// The event as clients see it; depends on the event alone.
    pub fn to_wire(&self) -> wire::Event {
        same_on_the_wire!(self, FlowEvent {
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
            TimeUp { subject, deadline_ms },
            TurnEnded { member_id, talk_ms, time_box_ms, in_round },
            FloorGiven { floor },
            ProblemPhaseStarted { item_id, presenter, phase },
            SuggestionAdded { item_id, suggestion },
            SuggestionsChosen { item_id, suggestion_ids },
            SuggestionVotesCounted { item_id, suggestion_id, votes },
        }
            // The voter alone receives this (votes::audience), without their id.
            FlowEvent::SuggestionVoteSet {
                item_id,
                suggestion_id,
                voted,
                ..
            } => wire::Event::YourVoteSet {
                item_id: *item_id,
                suggestion_id: *suggestion_id,
                voted: *voted,
            },
            // The room keeps how the timer runs; clients see its state.
            FlowEvent::TimerSet { timer } => wire::Event::TimerSet {
                timer: timer.as_ref().map(Timer::to_wire),
            },
        )
    }
}

#[cfg(test)]
mod tests;
