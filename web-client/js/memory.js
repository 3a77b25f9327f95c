// @ts-check
// What this browser remembers about each group, in localStorage, so a member is recognised
// next week without typing anything: the member token (their credential), their name, and the
// invite secret (so the room can offer the invite link to pass on).
//
// The facilitator secret is kept only until the join that uses it succeeds: from then on the
// member token is enough to come back, and a stolen laptop profile should not hand out the
// power to make new facilitators. The invite secret is kept with the link's version when this
// browser knows it (the group's first link, one it joined with, one it made anew), so the room
// shows it only while it still works (the snapshot's `group.links`).

/**
 * @typedef {object} GroupMemory
 * @property {string} [member_token]
 * @property {string} [member_id]
 * @property {string} [display_name]
 * @property {string} [group_name] As last seen, to list the group on the landing page.
 * @property {string} [invite_secret]
 * @property {number} [invite_version] The invite link's version `invite_secret` belongs to.
 * @property {string} [facilitator_secret] Only between reading the link and the first join.
 */

const KEY_PREFIX = 'roundtable:group:';

/**
 * @param {string} groupId
 * @returns {GroupMemory}
 */
export function loadGroupMemory(groupId) {
  try {
    const text = localStorage.getItem(KEY_PREFIX + groupId);
    if (!text) return {};
    const value = JSON.parse(text);
    return value && typeof value === 'object' ? value : {};
  } catch {
    // Storage can be disabled (private modes, policies): the page still works, it just
    // cannot recognise the member next time.
    return {};
  }
}

/**
 * Merges `change` into the group's memory; `undefined` values remove a key.
 * @param {string} groupId
 * @param {Partial<GroupMemory>} change
 * @returns {GroupMemory}
 */
export function updateGroupMemory(groupId, change) {
  /** @type {Record<string, unknown>} */
  const memory = { ...loadGroupMemory(groupId) };
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) delete memory[key];
    else memory[key] = value;
  }
  try {
    localStorage.setItem(KEY_PREFIX + groupId, JSON.stringify(memory));
  } catch {
    // See loadGroupMemory.
  }
  return /** @type {GroupMemory} */ (memory);
}

/**
 * The groups this browser can rejoin without a link (it holds a member token for them).
 * @returns {{ group_id: string, group_name: string }[]}
 */
export function rememberedGroups() {
  /** @type {{ group_id: string, group_name: string }[]} */
  const groups = [];
  try {
    for (let index = 0; index < localStorage.length; index++) {
      const key = localStorage.key(index);
      if (!key || !key.startsWith(KEY_PREFIX)) continue;
      const groupId = key.slice(KEY_PREFIX.length);
      const memory = loadGroupMemory(groupId);
      if (memory.member_token) groups.push({ group_id: groupId, group_name: memory.group_name ?? 'A group' });
    }
  } catch {
    // See loadGroupMemory.
  }
  return groups.sort((left, right) => left.group_name.localeCompare(right.group_name));
}
