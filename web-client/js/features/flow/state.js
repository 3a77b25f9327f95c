// @ts-check
// The meeting's flow as the page knows it: the agenda, members' proposals, the template, the
// speaking round, the timer, who has the floor, the talk times and each problem's protocol.
// Pure: the snapshot's `flow` and then each event give a new state (never a change in place),
// so a view knows something changed when the object is not the one it drew.

/** @typedef {import('../../protocol').AgendaItem} AgendaItem */
/** @typedef {import('../../protocol').Proposal} Proposal */
/** @typedef {import('../../protocol').RoundInfo} RoundInfo */
/** @typedef {import('../../protocol').TimerInfo} TimerInfo */
/** @typedef {import('../../protocol').FloorInfo} FloorInfo */
/** @typedef {import('../../protocol').TalkTime} TalkTime */
/** @typedef {import('../../protocol').MemberId} MemberId */
/** @typedef {import('../../protocol').TemplateItem} TemplateItem */

/**
 * @typedef {object} FlowState
 * @property {AgendaItem[]} agenda
 * @property {Proposal[]} proposals
 * @property {TemplateItem[]} template The group's agenda template.
 * @property {RoundInfo | null} round
 * @property {TimerInfo | null} timer
 * @property {FloorInfo | null} floor
 * @property {TalkTime[]} talk_times
 * @property {import('../../protocol').ProblemVotes[]} votes Dot votes per problem item: the
 *   counts, and the suggestions this member put a dot on.
 * @property {number | null} ended_at_ms When a facilitator ended the meeting.
 */

/**
 * Sets an item's status at `atMs` (the frame's server time), keeping its clock as the server
 * does: the stretch it was current is added to `spent_ms` when it stops being current.
 * @param {AgendaItem} item
 * @param {import('../../protocol').AgendaItemStatus} status
 * @param {number} atMs
 * @returns {AgendaItem}
 */
function withStatus(item, status, atMs) {
  const since = item.current_since_ms;
  const spent = (item.spent_ms ?? 0) + (since != null ? Math.max(0, atMs - since) : 0);
  const { spent_ms: _spent, current_since_ms: _since, ...rest } = item;
  // As the server writes it: no time spent is no field, and only a current item runs.
  /** @type {any} */
  const next = { ...rest, status };
  if (spent > 0) next.spent_ms = spent;
  if (status === 'current') next.current_since_ms = atMs;
  return /** @type {AgendaItem} */ (next);
}

/**
 * What is left of the current item's time box at `now` (server time), or null when it has no
 * running clock (not current, or current since before items had clocks).
 * @param {AgendaItem} item
 * @param {number} now
 * @returns {number | null}
 */
export function itemRemainingMs(item, now) {
  if (item.current_since_ms == null) return null;
  return item.time_box_ms - (item.spent_ms ?? 0) - Math.max(0, now - item.current_since_ms);
}


/**
 * @param {import('../../store.js').RoomState} state
 * @returns {FlowState}
 */
export function flowOf(state) {
  return /** @type {FlowState} */ (state.features.agenda);
}

/** @type {import('../../store.js').Feature<FlowState>} */
export const flowFeature = {
  id: 'agenda',
  fromSnapshot(snapshot) {
    /** @type {FlowState} */
    const own = {
      agenda: snapshot.flow.agenda.map((item) => ({ ...item })),
      proposals: snapshot.flow.proposals.map((proposal) => ({ ...proposal })),
      template: snapshot.flow.agenda_template.map((item) => ({ ...item })),
      round: snapshot.flow.round ? { ...snapshot.flow.round, speakers: snapshot.flow.round.speakers.map((s) => ({ ...s })) } : null,
      timer: snapshot.flow.timer ?? null,
      floor: snapshot.flow.floor ?? null,
      talk_times: snapshot.flow.talk_times.map((entry) => ({ ...entry })),
      votes: (snapshot.flow.votes ?? []).map((entry) => ({ ...entry, counts: entry.counts.map((c) => ({ ...c })), yours: [...entry.yours] })),
      ended_at_ms: snapshot.flow.ended_at_ms ?? null,
    };
    return own;
  },
  events: {
    agenda_item_added(own, event) {
      own.agenda = own.agenda.filter((item) => item.item_id !== event.item.item_id);
      own.agenda.splice(Math.min(event.position, own.agenda.length), 0, { ...event.item });
    },
    agenda_item_edited(own, event) {
      own.agenda = own.agenda.map((item) => (item.item_id === event.item.item_id ? { ...event.item } : item));
    },
    agenda_item_removed(own, event) {
      own.agenda = own.agenda.filter((item) => item.item_id !== event.item_id);
      own.votes = own.votes.filter((entry) => entry.item_id !== event.item_id);
    },
    agenda_reordered(own, event) {
      const byId = new Map(own.agenda.map((item) => [item.item_id, item]));
      /** @type {number[]} */
      const order = event.order;
      const ordered = order.map((id) => byId.get(id)).filter((item) => item !== undefined);
      const rest = own.agenda.filter((item) => !order.includes(item.item_id));
      own.agenda = [.../** @type {AgendaItem[]} */ (ordered), ...rest];
    },
    agenda_item_status_changed(own, event, frame) {
      own.agenda = own.agenda.map((item) => {
        if (item.item_id === event.item_id) return withStatus(item, event.status, frame.at_ms);
        if (event.status === 'current' && item.status === 'current') return withStatus(item, 'pending', frame.at_ms);
        return item;
      });
    },
    meeting_ended(own, _event, frame) {
      own.ended_at_ms = frame.at_ms;
    },
    agenda_item_proposed(own, event) {
      if (!own.proposals.some((p) => p.proposal_id === event.proposal.proposal_id)) own.proposals.push(event.proposal);
    },
    proposal_closed(own, event) {
      own.proposals = own.proposals.filter((p) => p.proposal_id !== event.proposal_id);
    },
    agenda_template_saved(own, event) {
      own.template = event.items.map((/** @type {TemplateItem} */ item) => ({ ...item }));
    },
    problem_phase_started(own, event) {
      own.agenda = own.agenda.map((item) => {
        if (item.item_id !== event.item_id) return item;
        const problem = item.problem
          ? { ...item.problem, phase: event.phase }
          : { presenter: event.presenter, phase: event.phase, suggestions: [], chosen: [] };
        return { ...item, problem };
      });
    },
    suggestion_added(own, event) {
      own.agenda = own.agenda.map((item) => (item.item_id === event.item_id && item.problem
        && !item.problem.suggestions.some((s) => s.suggestion_id === event.suggestion.suggestion_id)
        ? { ...item, problem: { ...item.problem, suggestions: [...item.problem.suggestions, event.suggestion] } }
        : item));
    },
    suggestions_chosen(own, event) {
      own.agenda = own.agenda.map((item) => (item.item_id === event.item_id && item.problem
        ? { ...item, problem: { ...item.problem, chosen: [...event.suggestion_ids] } }
        : item));
    },
    // Dot votes: everyone gets counts; only the voter learns their own dot.
    suggestion_votes_counted(own, event) {
      const entry = votesOf(own, event.item_id);
      entry.counts = entry.counts.filter((c) => c.suggestion_id !== event.suggestion_id);
      if (event.votes > 0) entry.counts.push({ suggestion_id: event.suggestion_id, votes: event.votes });
      entry.counts.sort((a, b) => a.suggestion_id - b.suggestion_id);
      tidyVotes(own);
    },
    your_vote_set(own, event) {
      const entry = votesOf(own, event.item_id);
      entry.yours = entry.yours.filter((id) => id !== event.suggestion_id);
      if (event.voted) entry.yours = [...entry.yours, event.suggestion_id].sort((a, b) => a - b);
      tidyVotes(own);
    },
    round_started(own, event) {
      /** @type {RoundInfo} */
      const round = event.round;
      own.round = { ...round, speakers: round.speakers.map((s) => ({ ...s })) };
    },
    round_speakers_reordered(own, event) {
      if (!own.round) return;
      /** @type {MemberId[]} */
      const order = event.order;
      const listed = order
        .map((id) => own.round?.speakers.find((s) => s.member_id === id))
        .filter((s) => s !== undefined);
      const rest = own.round.speakers.filter((s) => !order.includes(s.member_id));
      own.round.speakers = [...rest, .../** @type {import('../../protocol').RoundSpeaker[]} */ (listed)];
    },
    round_speaker_changed(own, event) {
      const speaker = own.round?.speakers.find((s) => s.member_id === event.member_id);
      if (speaker) speaker.status = event.status;
    },
    round_auto_advance_set(own, event) {
      if (own.round) own.round.auto_advance = event.auto_advance;
    },
    round_ended(own) {
      own.round = null;
    },
    timer_set(own, event) {
      own.timer = event.timer;
    },
    // The server's time_up is for the timer it has now, running or paused (taking time away
    // from a paused timer can use it up), as it applies it.
    time_up(own) {
      if (own.timer) own.timer = { ...own.timer, time_up: true };
    },
    turn_ended(own, event) {
      const entry = own.talk_times.find((t) => t.member_id === event.member_id);
      const overrun = event.time_box_ms ? Math.max(0, event.talk_ms - event.time_box_ms) : 0;
      if (entry) {
        entry.talk_ms += event.talk_ms;
        entry.turns += 1;
        entry.overrun_ms += overrun;
      } else {
        own.talk_times.push({ member_id: event.member_id, talk_ms: event.talk_ms, turns: 1, overrun_ms: overrun });
      }
      if (event.in_round) {
        const speaker = own.round?.speakers.find((s) => s.member_id === event.member_id);
        if (speaker) speaker.talk_ms += event.talk_ms;
      }
    },
    floor_given(own, event) {
      own.floor = event.floor;
    },
  },
};

/**
 * The votes as the server keeps them: a problem's entry only while it has dots, in the order
 * of the items' ids.
 * @param {FlowState} own
 */
function tidyVotes(own) {
  own.votes = own.votes.filter((entry) => entry.counts.length > 0 || entry.yours.length > 0);
  own.votes.sort((a, b) => a.item_id - b.item_id);
}

/**
 * A problem's vote entry in `own`, added when it has none yet.
 * @param {FlowState} own
 * @param {number} itemId
 */
function votesOf(own, itemId) {
  let entry = own.votes.find((candidate) => candidate.item_id === itemId);
  if (!entry) {
    entry = { item_id: itemId, counts: [], yours: [] };
    own.votes.push(entry);
  }
  return entry;
}

/**
 * A problem's dots as this member sees them.
 * @param {FlowState | null} flow
 * @param {number} itemId
 * @returns {{ count: (suggestionId: number) => number, yours: number[] }}
 */
export function problemVotes(flow, itemId) {
  const entry = flow?.votes.find((candidate) => candidate.item_id === itemId);
  return {
    count: (suggestionId) => entry?.counts.find((c) => c.suggestion_id === suggestionId)?.votes ?? 0,
    yours: entry?.yours ?? [],
  };
}
