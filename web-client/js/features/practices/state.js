// @ts-check
// The best-practice library's state: the newest practices (newest first) with their upvotes and
// comments, and how many the library holds. Pure.

/** @typedef {import('../../protocol').Practice} Practice */

/**
 * @typedef {object} PracticesState
 * @property {Practice[]} practices Newest first.
 * @property {number} total Practices in the library in all.
 */

/** How many of the newest practices the server sends in the snapshot (older ones: search). */
const PRACTICES_KEPT = 30;

/**
 * @param {PracticesState} own
 * @param {number} practiceId
 * @param {(practice: Practice) => void} change
 */
function changePractice(own, practiceId, change) {
  const practice = own.practices.find((candidate) => candidate.practice_id === practiceId);
  if (practice) change(practice);
}

/** @type {import('../../store.js').Feature<PracticesState>} */
export const practicesFeature = {
  id: 'practices',
  fromSnapshot(snapshot) {
    const practices = snapshot.practices.map((practice) => ({ ...practice, upvoters: [...practice.upvoters], comments: [...practice.comments] }));
    practices.sort((a, b) => b.created_at_ms - a.created_at_ms || b.practice_id - a.practice_id);
    return /** @type {PracticesState} */ ({ practices, total: snapshot.practice_count });
  },
  events: {
    practice_posted(own, event) {
      if (!own.practices.some((practice) => practice.practice_id === event.practice.practice_id)) {
        own.practices.unshift({ ...event.practice });
        // The page keeps what a fresh snapshot has: the newest ones.
        own.practices = own.practices.slice(0, PRACTICES_KEPT);
        own.total++;
      }
    },
    practice_upvoted(own, event) {
      changePractice(own, event.practice_id, (practice) => {
        practice.upvoters = practice.upvoters.filter((id) => id !== event.member_id);
        if (event.up) practice.upvoters.push(event.member_id);
      });
    },
    practice_commented(own, event) {
      changePractice(own, event.practice_id, (practice) => { practice.comments = [...practice.comments, event.comment]; });
    },
  },
};
