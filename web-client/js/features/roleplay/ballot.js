// @ts-check
// A scorer's ballot: 256 random bits this browser draws once per role play and sends with each
// submission, so that a submission after a server restart replaces the one before it instead
// of counting twice. The server keeps only a hash of it, never with the member (ARCHITECTURE.md,
// "Anonymity"). One ballot is kept, for the latest role play scored here, in localStorage (like
// the member's token), so it outlives reloads and closed tabs.

const KEY = 'roundtable.ballot';

/**
 * This browser's ballot for a role play, drawn the first time it is asked for.
 * @param {string} rolePlayId
 * @returns {string} 64 lowercase hex digits
 */
export function ballotFor(rolePlayId) {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    if (kept && kept.role_play_id === rolePlayId && typeof kept.ballot === 'string' && /^[0-9a-f]{64}$/.test(kept.ballot)) return kept.ballot;
  } catch {
    // Unreadable: a new ballot replaces it.
  }
  const ballot = [...crypto.getRandomValues(new Uint8Array(32))].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  try {
    localStorage.setItem(KEY, JSON.stringify({ role_play_id: rolePlayId, ballot }));
  } catch {
    // Storage refused (private mode, full): the ballot still works until the page goes.
  }
  return ballot;
}
