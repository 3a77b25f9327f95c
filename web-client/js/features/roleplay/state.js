// @ts-check
// Role play's state: the current role play, the buyer's brief (only the buyer's page has it),
// the revealed results, the rubric templates and the sellers' trends. Pure.

/** @typedef {import('../../protocol').RolePlayView} RolePlayView */
/** @typedef {import('../../protocol').RolePlayEvent} RolePlayEvent */
/** @typedef {import('../../protocol').RolePlayResults} RolePlayResults */

/**
 * @typedef {object} RolePlayState
 * @property {RolePlayView} view
 */

/** How many revealed results the server keeps in the snapshot. */
const REVEALED_KEPT = 10;

/**
 * Applies one role play change to the feature's state.
 * @param {RolePlayState} own
 * @param {RolePlayEvent} change
 * @param {import('../../protocol').MemberId[]} members The members in the order they joined,
 *   which is the order of the sellers' trends, as the server sends them.
 */
export function applyRolePlayChange(own, change, members) {
  const view = own.view;
  const current = view.current;
  const same = (/** @type {string} */ id) => !!current && current.role_play_id === id;
  switch (change.kind) {
    case 'set_up':
      view.current = { ...change.role_play };
      view.buyer_brief = null;
      view.you_submitted = false;
      break;
    case 'buyer_brief':
      if (same(change.role_play_id)) view.buyer_brief = change.brief;
      break;
    case 'scoring_opened':
      if (current && same(change.role_play_id)) current.phase = 'scoring';
      break;
    case 'submission_count':
      if (current && same(change.role_play_id)) current.submission_count = change.count;
      break;
    case 'scoring_closed':
      if (current && same(change.role_play_id)) {
        current.phase = 'closed';
        // Once scoring ends the server forgets who submitted, and so does the page.
        view.you_submitted = false;
      }
      break;
    case 'revealed': {
      const results = change.results;
      if (current && same(results.role_play_id)) {
        current.phase = 'revealed';
        current.submission_count = results.submission_count;
        view.you_submitted = false;
      }
      view.revealed = [...view.revealed.filter((entry) => entry.role_play_id !== results.role_play_id), results].slice(-REVEALED_KEPT);
      const point = { role_play_id: results.role_play_id, meeting_number: results.meeting_number, revealed_at_ms: results.revealed_at_ms, rubric_name: results.rubric_name, overall_percent: results.overall_percent };
      const trend = view.seller_trends.find((entry) => entry.seller === results.seller);
      // A seller removed from the group has no trend any more (the server shows members' only).
      if (!members.includes(results.seller)) break;
      if (trend) {
        if (!trend.points.some((entry) => entry.role_play_id === point.role_play_id)) trend.points = [...trend.points, point].slice(-50);
      } else {
        view.seller_trends = [...view.seller_trends, { seller: results.seller, points: [point] }];
        const place = (/** @type {string} */ seller) => members.indexOf(seller);
        view.seller_trends.sort((a, b) => place(a.seller) - place(b.seller));
      }
      break;
    }
    case 'cancelled':
      if (same(change.role_play_id)) {
        view.current = null;
        view.buyer_brief = null;
        view.you_submitted = false;
      }
      break;
    case 'template_saved': {
      const name = change.rubric.name.toLowerCase();
      view.templates = [...view.templates.filter((entry) => entry.built_in || entry.rubric.name.toLowerCase() !== name), { rubric: change.rubric, built_in: false }];
      break;
    }
    case 'template_deleted': {
      const name = change.name.toLowerCase();
      view.templates = view.templates.filter((entry) => entry.built_in || entry.rubric.name.toLowerCase() !== name);
      break;
    }
  }
}

/**
 * The server acknowledged this member's submission to `rolePlayId`: from now on the page says
 * so (a reload learns the same from the snapshot's `you_submitted`).
 * @param {RolePlayState} own
 * @param {string} rolePlayId
 * @returns {boolean} Whether it changed anything.
 */
export function noteOwnSubmission(own, rolePlayId) {
  const current = own.view.current;
  if (!current || current.role_play_id !== rolePlayId || current.phase !== 'scoring' || own.view.you_submitted) return false;
  own.view.you_submitted = true;
  return true;
}

/**
 * What the role play view shows in meeting `meetingNumber`: the current role play (one that
 * was revealed in an earlier meeting is over, so it is not current any more), this meeting's
 * latest results, and, when this meeting has none, the latest results of an earlier meeting,
 * which the view keeps behind a disclosure so they never take the stage.
 * @param {RolePlayView} view
 * @param {number} meetingNumber
 * @returns {{ current: import('../../protocol').RolePlayInfo | null, results: RolePlayResults | null, earlier: RolePlayResults | null }}
 */
export function rolePlayStage(view, meetingNumber) {
  const latest = view.revealed[view.revealed.length - 1] ?? null;
  let current = view.current ?? null;
  if (current && current.phase === 'revealed') {
    const id = current.role_play_id;
    const revealedIn = view.revealed.find((entry) => entry.role_play_id === id)?.meeting_number ?? 0;
    if (revealedIn < meetingNumber) current = null;
  }
  const thisMeeting = latest && latest.meeting_number >= meetingNumber ? latest : null;
  // Results of a role play still being scored would be the next one's; the last revealed
  // shows beside a role play that is on, and as the current one's once it is revealed.
  const results = thisMeeting && (!current || current.phase === 'revealed' || current.role_play_id !== thisMeeting.role_play_id) ? thisMeeting : null;
  const earlier = !thisMeeting && latest ? latest : null;
  return { current, results, earlier };
}

/** @type {import('../../store.js').Feature<RolePlayState>} */
export const rolePlayFeature = {
  id: 'role_play',
  fromSnapshot(snapshot) {
    const view = snapshot.role_play;
    /** @type {RolePlayState} */
    const own = {
      view: {
        current: view.current ? { ...view.current } : null,
        buyer_brief: view.buyer_brief ?? null,
        revealed: [...view.revealed],
        templates: [...view.templates],
        seller_trends: view.seller_trends.map((trend) => ({ ...trend, points: [...trend.points] })),
        you_submitted: view.you_submitted ?? false,
      },
    };
    return own;
  },
  events: {
    role_play(own, event, _frame, room) {
      applyRolePlayChange(own, event.change, room.members.map((member) => member.member_id));
    },
    // A removed member's trend as a seller leaves with them, as it does on the server.
    member_removed(own, event) {
      own.view.seller_trends = own.view.seller_trends.filter((trend) => trend.seller !== event.member_id);
    },
    member_erased(own, event) {
      own.view.seller_trends = own.view.seller_trends.filter((trend) => trend.seller !== event.member_id);
    },
  },
};
