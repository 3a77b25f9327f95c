// @ts-check
// Prep's state: the viewer's own check-in, hot-seat request and held report backs for the
// upcoming meeting, how many members prepared, and, once the meeting started, everyone's
// check-ins and the ranked hot-seat requests. The server sends a member's prep to that member
// alone until the start, so this state never holds another member's prep before it. Held
// report backs go to the board at the start (as `commitment_updated` events). Pure.

/** @typedef {import('../../protocol').PrepView} PrepView */
/** @typedef {import('../../protocol').CheckIn} CheckIn */
/** @typedef {import('../../protocol').RankedHotSeat} RankedHotSeat */
/** @typedef {import('../../protocol').MemberId} MemberId */
/** @typedef {import('../../protocol').HeldReportBack} HeldReportBack */

/** @typedef {PrepView} PrepState */

/** Longest win, challenge or ask, and problem statement, in characters (as the server checks). */
export const CHECK_IN_FIELD_CHARS_MAX = 500;
export const HOT_SEAT_PROBLEM_CHARS_MAX = 500;
/** Most minutes one may ask for in the hot seat. */
export const HOT_SEAT_MINUTES_MAX = 60;

/** @type {import('../../store.js').Feature<PrepState>} */
export const prepFeature = {
  id: 'prep',
  fromSnapshot(snapshot) {
    const prep = snapshot.prep ?? { open: false, prepared: 0, mine: {} };
    return {
      open: prep.open,
      prepared: prep.prepared,
      mine: { ...prep.mine, report_backs: [...(prep.mine.report_backs ?? [])] },
      check_ins: [...(prep.check_ins ?? [])],
      hot_seat: [...(prep.hot_seat ?? [])],
    };
  },
  events: {
    check_in_saved(own, event) {
      own.mine.check_in = event.check_in;
    },
    hot_seat_saved(own, event) {
      if (event.hot_seat) own.mine.hot_seat = event.hot_seat;
      else delete own.mine.hot_seat;
    },
    // A report back held until the start (or, with none, withdrawn or dropped), by commitment.
    report_back_held(own, event) {
      const held = (own.mine.report_backs ?? []).filter((entry) => entry.commitment_id !== event.commitment_id);
      if (event.report_back) {
        held.push({ commitment_id: event.commitment_id, status: event.report_back.status, note: event.report_back.note });
        held.sort((a, b) => a.commitment_id - b.commitment_id);
      }
      own.mine.report_backs = held;
    },
    // A member who leaves takes their prep with them (the count comes in its own event).
    member_removed(own, event) {
      forget(own, event.member_id);
    },
    member_erased(own, event) {
      forget(own, event.member_id);
    },
    prepared_count_changed(own, event) {
      own.prepared = event.prepared;
    },
    // The meeting started: prep closes (with anything prepared, `prep_revealed` follows).
    meeting_started(own) {
      own.open = false;
      // What was held goes to the board now, in the `commitment_updated` events that follow.
      own.mine.report_backs = [];
    },
    prep_revealed(own, event) {
      own.open = false;
      own.check_ins = event.check_ins;
      own.hot_seat = event.hot_seat;
    },
  },
};

/**
 * @param {PrepState} own
 * @param {MemberId} memberId
 */
function forget(own, memberId) {
  own.check_ins = (own.check_ins ?? []).filter((entry) => entry.member_id !== memberId);
  own.hot_seat = (own.hot_seat ?? []).filter((entry) => entry.member_id !== memberId);
}

/**
 * @param {import('../../store.js').RoomState | null} state
 * @returns {PrepState | null}
 */
export function prepOf(state) {
  return /** @type {PrepState | undefined} */ (state?.features.prep) ?? null;
}

/**
 * A member's check-in, once the meeting started (or the viewer's own at any time).
 * @param {PrepState | null} prep
 * @param {MemberId} memberId
 * @param {MemberId | null} me
 * @returns {CheckIn | null}
 */
export function checkInOf(prep, memberId, me) {
  if (!prep) return null;
  const revealed = prep.check_ins?.find((entry) => entry.member_id === memberId)?.check_in;
  if (revealed) return revealed;
  return memberId === me ? prep.mine.check_in ?? null : null;
}

/**
 * A check-in as one line: "Win: … · Challenge: … · Ask: …" (empty parts left out).
 * @param {CheckIn} checkIn
 * @returns {string}
 */
export function checkInLine(checkIn) {
  return [['Win', checkIn.win], ['Challenge', checkIn.challenge], ['Ask', checkIn.ask]]
    .filter(([, text]) => text.trim() !== '')
    .map(([label, text]) => `${label}: ${text}`)
    .join(' · ');
}

/**
 * The ranked hot-seat requests as the server ranked them (priority A before B before C, then
 * the earlier request).
 * @param {PrepState | null} prep
 * @returns {RankedHotSeat[]}
 */
export function rankedHotSeat(prep) {
  return prep?.hot_seat ?? [];
}

/**
 * The viewer's report back held on a commitment until the start, if any.
 * @param {PrepState | null} prep
 * @param {number} commitmentId
 * @returns {HeldReportBack | null}
 */
export function heldReportBack(prep, commitmentId) {
  if (!prep?.open) return null;
  return prep.mine.report_backs?.find((entry) => entry.commitment_id === commitmentId) ?? null;
}
