// @ts-check
// Prep's drafts and their way to the server. What a member saves is first kept in this
// browser (drafts.js, `localStorage`) as a pending request, then sent when the connection is
// up, now or when it comes back; only the server's ack clears it. A send that dropped with the
// connection is sent again, which is harmless: the server treats a request equal to what it
// saved as a no-op (it acks and records nothing), so nothing is lost and nothing counts twice.
// A draft edited while its send was in flight stays pending (the ack clears only what was sent).

import { loadDrafts, saveDraft } from '../../drafts.js';

/** @typedef {import('../../protocol').Request} Request */
/** @typedef {import('../../protocol').Reply} Reply */

/** Failures after which a request stays pending: it did not reach the server, or the server
 * could not take it now. Any other answer is the server's refusal of what was typed. */
const KEPT_ON_FAILURE = ['offline', 'connection_lost', 'storage_unavailable', 'shutting_down', 'rate_limited', 'server_busy', 'room_elsewhere'];

/** The prep items a page may have pending, one request each; besides them, one report back
 * per commitment (`reportBackItem`). */
export const PREP_ITEMS = /** @type {const} */ (['check_in', 'hot_seat', 'numbers']);
/** @typedef {typeof PREP_ITEMS[number] | `report_back:${number}`} PrepItem */

/** The drafts' key that says this browser's numbers for the meeting were acknowledged. */
export const NUMBERS_SENT = 'numbers_sent';

/**
 * The item of the report back on one commitment (made or withdrawn).
 * @param {number} commitmentId
 * @returns {PrepItem}
 */
export function reportBackItem(commitmentId) {
  return `report_back:${commitmentId}`;
}

/** @param {string} key */
function isPrepItem(key) {
  return /** @type {readonly string[]} */ (PREP_ITEMS).includes(key) || /^report_back:\d+$/.test(key);
}

/**
 * The drafts' name for one group and meeting: a meeting's prep never goes to another.
 * @param {string} groupId
 * @param {string} meetingId
 */
export function prepDraftsName(groupId, meetingId) {
  return `prep:${groupId}:${meetingId}`;
}

/**
 * Keeps a request to send for an item, replacing one pending.
 * @param {string} name
 * @param {PrepItem} item
 * @param {Request} request
 */
export function keepPending(name, item, request) {
  saveDraft(name, item, { pending: request });
}

/**
 * @param {string} name
 * @returns {Partial<Record<PrepItem, Request>>}
 */
export function pendingRequests(name) {
  const drafts = loadDrafts(name);
  /** @type {Partial<Record<PrepItem, Request>>} */
  const pending = {};
  for (const [key, draft] of Object.entries(drafts)) {
    if (isPrepItem(key) && draft?.pending) pending[/** @type {PrepItem} */ (key)] = draft.pending;
  }
  return pending;
}

/**
 * Sends every pending request of `name` once (items in flight are not sent again until their
 * answer came). Resolves, when this round of sends is answered, with the items the server
 * acknowledged.
 * @param {string} name
 * @param {(request: Request) => Promise<Reply>} send Rejects on failure, with a `code`.
 * @param {Set<string>} inFlight Items being sent, shared between calls.
 * @param {(item: PrepItem, error: { code?: string, message?: string }) => void} refused
 *   A request the server refused (not a lost connection): it is dropped from the queue.
 */
export async function flushPending(name, send, inFlight, refused) {
  /** @type {PrepItem[]} */
  const acked = [];
  const sends = Object.entries(pendingRequests(name)).map(async ([key, request]) => {
    const item = /** @type {PrepItem} */ (key);
    if (!request || inFlight.has(`${name}|${item}`)) return;
    inFlight.add(`${name}|${item}`);
    try {
      await send(request);
      clearIfSame(name, item, request);
      acked.push(item);
    } catch (failure) {
      const error = /** @type {{ code?: string, message?: string }} */ (failure ?? {});
      // Lost on the way: it stays pending and goes again when the connection is back.
      if (!KEPT_ON_FAILURE.includes(error.code ?? '')) {
        clearIfSame(name, item, request);
        refused(item, error);
      }
    } finally {
      inFlight.delete(`${name}|${item}`);
    }
  });
  await Promise.all(sends);
  return acked;
}

/**
 * @param {string} name
 * @param {PrepItem} item
 * @param {Request} sent
 */
function clearIfSame(name, item, sent) {
  const now = loadDrafts(name)[item]?.pending;
  if (now && JSON.stringify(now) === JSON.stringify(sent)) saveDraft(name, item, null);
}
