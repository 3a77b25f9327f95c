//! Dot votes on a problem's suggestions. In the suggest and decide phases every member but
//! observers and the presenter has [`DOTS_PER_PROBLEM`] dots per problem and may put one on
//! each suggestion they back, and take it back. Everyone sees how many dots each suggestion
//! has, never who put them (PROTOCOL.md, "Dot votes"): the room keeps the voters, because it
//! must count each member's dots and let them take one back, but the wire carries counts to
//! everyone and a member's own dots only to that member.
//!
//! A vote is two events: [`FlowEvent::SuggestionVoteSet`] (with the voter; it goes on the wire
//! to the voter alone) and [`FlowEvent::SuggestionVotesCounted`] (the new count, for
//! everyone; the count is derived from the voters, so folding it changes nothing).

use std::collections::{BTreeMap, BTreeSet};

use roundtable_protocol::{
    self as wire, AgendaItemId, AgendaItemKind, ErrorCode, MemberId, ProblemPhase, SuggestionId,
};

use super::{Ctx, FlowEvent, FlowState, conflict, not_found};
use crate::command::VoteCommand;
use crate::error::RoomError;
use crate::roster::Audience;

/// Dots each member may put on one problem's suggestions.
pub const DOTS_PER_PROBLEM: u32 = wire::DOTS_PER_PROBLEM;

/// Who put a dot on which suggestion, per problem item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Votes {
    pub by_item: BTreeMap<AgendaItemId, BTreeMap<SuggestionId, BTreeSet<MemberId>>>,
}

impl Votes {
    /// The dots on a suggestion.
    pub fn count(&self, item_id: AgendaItemId, suggestion_id: SuggestionId) -> u32 {
        self.by_item
            .get(&item_id)
            .and_then(|suggestions| suggestions.get(&suggestion_id))
            .map_or(0, |voters| voters.len() as u32)
    }

    /// The suggestions of a problem `member_id` put a dot on.
    pub fn yours(&self, item_id: AgendaItemId, member_id: MemberId) -> Vec<SuggestionId> {
        self.by_item
            .get(&item_id)
            .map_or_else(Vec::new, |suggestions| {
                suggestions
                    .iter()
                    .filter(|(_, voters)| voters.contains(&member_id))
                    .map(|(suggestion_id, _)| *suggestion_id)
                    .collect()
            })
    }

    /// Every dot of `member_id`, as (item, suggestion).
    pub fn of_member(&self, member_id: MemberId) -> Vec<(AgendaItemId, SuggestionId)> {
        self.by_item
            .iter()
            .flat_map(|(item_id, suggestions)| {
                suggestions
                    .iter()
                    .filter(|(_, voters)| voters.contains(&member_id))
                    .map(|(suggestion_id, _)| (*item_id, *suggestion_id))
            })
            .collect()
    }

    /// Puts or takes back a dot. Empty entries are dropped, so equal votes are equal values.
    pub(super) fn set(
        &mut self,
        item_id: AgendaItemId,
        suggestion_id: SuggestionId,
        member_id: MemberId,
        voted: bool,
    ) {
        if voted {
            self.by_item
                .entry(item_id)
                .or_default()
                .entry(suggestion_id)
                .or_default()
                .insert(member_id);
            return;
        }
        let Some(suggestions) = self.by_item.get_mut(&item_id) else {
            return;
        };
        if let Some(voters) = suggestions.get_mut(&suggestion_id) {
            voters.remove(&member_id);
            if voters.is_empty() {
                suggestions.remove(&suggestion_id);
            }
        }
        if suggestions.is_empty() {
            self.by_item.remove(&item_id);
        }
    }

    /// Forgets a removed item's votes.
    pub(super) fn remove_item(&mut self, item_id: AgendaItemId) {
        self.by_item.remove(&item_id);
    }

    /// The votes as `viewer` sees them: counts, and their own dots.
    pub fn view_for(&self, viewer: MemberId) -> Vec<wire::ProblemVotes> {
        self.by_item
            .iter()
            .map(|(item_id, suggestions)| wire::ProblemVotes {
                item_id: *item_id,
                counts: suggestions
                    .iter()
                    .map(|(suggestion_id, voters)| wire::SuggestionVotes {
                        suggestion_id: *suggestion_id,
                        votes: voters.len() as u32,
                    })
                    .collect(),
                yours: self.yours(*item_id, viewer),
            })
            .collect()
    }

    /// Every voter is one of `members`, no member has more than their dots on a problem, and
    /// every dot is on a suggestion of a problem item of `flow`.
    pub fn check_invariants(&self, flow: &FlowState) -> Result<(), String> {
        for (item_id, suggestions) in &self.by_item {
            let problem = flow
                .item(*item_id)
                .and_then(|item| item.problem.as_ref())
                .ok_or_else(|| format!("votes on item {item_id}, which is no started problem"))?;
            let mut dots: BTreeMap<MemberId, u32> = BTreeMap::new();
            for (suggestion_id, voters) in suggestions {
                if voters.is_empty() {
                    return Err(format!("an empty vote entry on suggestion {suggestion_id}"));
                }
                if !problem
                    .suggestions
                    .iter()
                    .any(|suggestion| suggestion.suggestion_id == *suggestion_id)
                {
                    return Err(format!(
                        "votes on suggestion {suggestion_id}, not of item {item_id}"
                    ));
                }
                // A member removed since keeps their dots: taking them back would tell everyone
                // where they were.
                for voter in voters {
                    *dots.entry(*voter).or_default() += 1;
                }
            }
            if let Some((voter, count)) = dots.iter().find(|(_, count)| **count > DOTS_PER_PROBLEM)
            {
                return Err(format!("{voter} has {count} dots on item {item_id}"));
            }
        }
        Ok(())
    }
}

/// Who receives a vote event: the voter alone for their own dot, everyone for a count.
pub fn audience(event: &FlowEvent) -> Audience {
    match event {
        FlowEvent::SuggestionVoteSet { member_id, .. } => Audience::Only(*member_id),
        _ => Audience::Everyone,
    }
}

/// Decides a dot vote.
pub(crate) fn decide(ctx: &Ctx, command: &VoteCommand) -> Result<Vec<FlowEvent>, RoomError> {
    let VoteCommand::VoteSuggestion {
        item_id,
        suggestion_id,
        vote,
    } = *command;
    ctx.require_participant()?;
    // The dots freeze with the meeting.
    ctx.require_meeting_on()?;
    let item = ctx
        .flow
        .item(item_id)
        .ok_or_else(|| not_found(format!("no agenda item {item_id} in this meeting")))?;
    if item.kind != AgendaItemKind::Problem {
        return Err(conflict(format!(
            "agenda item {item_id} is not a problem; only a problem's suggestions get dots"
        )));
    }
    let problem = item
        .problem
        .as_ref()
        .filter(|problem| matches!(problem.phase, ProblemPhase::Suggest | ProblemPhase::Decide))
        .ok_or_else(|| conflict("dots go on suggestions in the suggest and decide phases"))?;
    if problem.presenter == ctx.by {
        return Err(conflict(
            "the presenter chooses; the dots are the others' advice",
        ));
    }
    if !problem.chosen.is_empty() {
        return Err(conflict(
            "the presenter has chosen; the dots are kept as they were",
        ));
    }
    if !problem
        .suggestions
        .iter()
        .any(|suggestion| suggestion.suggestion_id == suggestion_id)
    {
        return Err(not_found(format!(
            "no suggestion {suggestion_id} on this problem"
        )));
    }
    let votes = &ctx.flow.votes;
    let yours = votes.yours(item_id, ctx.by);
    if yours.contains(&suggestion_id) == vote {
        // A dot that is there already, or a dot taken back that was not there.
        return Ok(Vec::new());
    }
    if vote && yours.len() as u32 >= DOTS_PER_PROBLEM {
        return Err(RoomError::new(
            ErrorCode::LimitReached,
            format!(
                "you have put all {DOTS_PER_PROBLEM} of your dots on this problem; take one \
                 back first"
            ),
        ));
    }
    let count = votes.count(item_id, suggestion_id);
    Ok(vec![
        FlowEvent::SuggestionVoteSet {
            item_id,
            suggestion_id,
            member_id: ctx.by,
            voted: vote,
        },
        FlowEvent::SuggestionVotesCounted {
            item_id,
            suggestion_id,
            votes: if vote { count + 1 } else { count - 1 },
        },
    ])
}

#[cfg(test)]
#[path = "votes_tests.rs"]
mod tests;
