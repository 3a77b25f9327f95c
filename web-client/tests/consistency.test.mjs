// The web client's own store stays what the server says: for each member and each meeting of
// the golden story (written by the rules' test `write_what_pages_see_of_the_story`, which the
// Rust tests run first), the page's state rebuilt from the meeting's first snapshot and every
// frame the member received equals the state from the snapshot a fresh page gets at the end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoomStore, roomFromSnapshot, reduceRoom } from '../js/store.js';
import { FEATURES } from '../js/features/states.js';
import { noteOwnSubmission } from '../js/features/roleplay/state.js';

const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGET_DIR = process.env.CARGO_TARGET_DIR ? path.resolve(REPO_DIR, process.env.CARGO_TARGET_DIR) : path.join(REPO_DIR, 'target');
const RECORDS_DIR = path.join(TARGET_DIR, 'client-consistency');

/** The state without what only says when it was made. */
function comparable(state) {
  const { seq, ...rest } = state;
  return JSON.parse(JSON.stringify(rest));
}

test('a page\'s store rebuilt from a snapshot and its frames equals a fresh snapshot, for every member and meeting', () => {
  assert.ok(existsSync(RECORDS_DIR), `${RECORDS_DIR} is missing: run \`cargo test -p roundtable-rules write_what_pages_see_of_the_story\` first (./scripts/test.sh does)`);
  const files = readdirSync(RECORDS_DIR).filter((name) => name.endsWith('.json'));
  assert.ok(files.length >= 8, `records for every member and meeting in ${RECORDS_DIR}`);
  let frames = 0;
  for (const file of files) {
    const record = JSON.parse(readFileSync(path.join(RECORDS_DIR, file), 'utf8'));
    let state = roomFromSnapshot(record.start, FEATURES);
    for (const frame of record.frames) {
      state = reduceRoom(state, frame, FEATURES);
      frames += 1;
    }
    const fresh = roomFromSnapshot(record.end, FEATURES);
    assert.deepEqual(comparable(state), comparable(fresh), `${file}: the page's state after ${record.frames.length} frames`);
  }
  assert.ok(frames > 100, `the pages received the story's frames (${frames})`);
});

// Random sessions (written by the rules' test in rules/src/consistency_tests.rs): for each seed,
// every page's messages as it received them (with the requests it sent), and after every step
// a check carrying the snapshot that page would get if it loaded then (the first in full, the
// later ones as patches). The page's store, driven the way app.js drives it, must equal the
// fresh snapshot at every check.

/** Applies a patch of `[path, value]` (set) and `[path]` (remove) pairs to `target`, in place. */
function applyPatch(target, patch) {
  for (const [pathParts, ...value] of patch) {
    let node = target;
    for (const key of pathParts.slice(0, -1)) node = node[key];
    const last = pathParts[pathParts.length - 1];
    if (value.length === 0) delete node[last];
    else node[last] = value[0];
  }
}

/** The first place where `a` and `b` differ, as a path and the two values; null when equal. */
function firstDifference(a, b, where = 'state') {
  if (Object.is(a, b)) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return { path: where, page: a, server: b };
  }
  if (Array.isArray(a)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const difference = firstDifference(a[i], b[i], `${where}[${i}]`);
      if (difference) return difference;
    }
    return null;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of [...keys].sort()) {
    const difference = firstDifference(a[key], b[key], `${where}.${key}`);
    if (difference) return difference;
  }
  return null;
}

/** What a value looks like in a failure message, cut short. */
function show(value) {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * Replays one page's record into a RoomStore as app.js and the views drive it, checking it at
 * every check. Returns how many checks it made, and the first divergence, if any.
 */
function replayPage(record, file) {
  const store = new RoomStore(FEATURES);
  /** @type {Map<number, any>} */
  const sent = new Map();
  let fresh = null;
  let checks = 0;
  // Whether the page received anything since the last check.
  let changed = false;
  for (const message of record.messages) {
    if (message.type !== 'check' && message.type !== 'sent') changed = true;
    switch (message.type) {
      case 'sent':
        sent.set(message.frame.id, message.frame);
        break;
      case 'ack': {
        const request = sent.get(message.id);
        if (message.result.kind === 'joined') store.setJoined(message.result);
        // What the scoring form does when its submission is acknowledged (roleplay/score.js).
        else if (request?.type === 'role_play' && request.action.kind === 'submit') {
          store.updateFeature('role_play', (own) => noteOwnSubmission(own, request.action.role_play_id));
        }
        break;
      }
      case 'snapshot':
        store.applySnapshot(message);
        break;
      case 'event':
        store.applyEvent(message);
        break;
      case 'presence':
        store.applyPresence(message);
        break;
      case 'check': {
        checks += 1;
        if (message.fresh) fresh = message.fresh;
        else if (message.fresh_patch.length === 0 && !changed) break; // both as they were (equal)
        else applyPatch(fresh, message.fresh_patch);
        changed = false;
        const { seq: _pageSeq, ...page } = store.state;
        const { seq: _serverSeq, ...server } = roomFromSnapshot(fresh, FEATURES);
        if (JSON.stringify(page) === JSON.stringify(server)) break;
        const difference = firstDifference(JSON.parse(JSON.stringify(page)), JSON.parse(JSON.stringify(server)));
        if (!difference) break; // the same, with keys in another order
        const where = difference.path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/\[\d+\]/g, '[]');
        return { checks, where, failure: `seed ${record.seed}, ${record.name}'s page (${file}), after step ${message.step}: ${message.did || 'nothing'}\n`
          + `  ${difference.path}: the page has ${show(difference.page)}, a fresh snapshot gives ${show(difference.server)}\n`
          + `  reproduce: ROUNDTABLE_CONSISTENCY_SEED=${record.seed} cargo test -p roundtable-rules --lib consistency_tests, then this test` };
      }
      // Reactions, errors, pongs and closing messages do not reach the store.
    }
  }
  return { checks, where: null, failure: null };
}

test('a page\'s store stays what a fresh snapshot says after every step of random sessions', () => {
  assert.ok(existsSync(RECORDS_DIR), `${RECORDS_DIR} is missing: run \`cargo test -p roundtable-rules --lib consistency_tests\` first (./scripts/test.sh does)`);
  // The rules' test names every session it wrote: the fixed ones (40) and ROUNDTABLE_CONSISTENCY_SEED's.
  const manifest = JSON.parse(readFileSync(path.join(RECORDS_DIR, 'manifest-random-sessions'), 'utf8'));
  assert.equal(manifest.fixed, 40, 'the rules\' test generates 40 fixed sessions');
  for (let seed = 1; seed <= manifest.fixed; seed++) assert.ok(manifest.seeds.includes(seed), `fixed session ${seed} was generated`);
  const sessions = readdirSync(RECORDS_DIR).filter((name) => name.startsWith('random-'));
  assert.deepEqual([...sessions].sort(), manifest.seeds.map((/** @type {number} */ seed) => `random-${seed}`).sort(), `every session generated, and no other, is in ${RECORDS_DIR}`);
  /** @type {Set<string>} */
  const replayedSessions = new Set();
  let checks = 0;
  // The first divergence of each page, one example per place in the state.
  /** @type {Map<string, string>} */
  const divergences = new Map();
  let diverged = 0;
  for (const session of sessions) {
    const dir = path.join(RECORDS_DIR, session);
    for (const file of readdirSync(dir)) {
      const record = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
      const replayed = replayPage(record, `${session}/${file}`);
      checks += replayed.checks;
      if (replayed.checks > 0) replayedSessions.add(session);
      if (replayed.failure) {
        diverged += 1;
        if (!divergences.has(replayed.where)) divergences.set(replayed.where, replayed.failure);
      }
    }
  }
  assert.equal(diverged, 0, `${diverged} pages diverged from the server; the first divergence at each place:\n\n${[...divergences.values()].join('\n\n')}`);
  assert.equal(replayedSessions.size, manifest.seeds.length, `every generated session was replayed and checked (${replayedSessions.size} of ${manifest.seeds.length})`);
  assert.ok(checks > 10000, `the pages were checked after every step (${checks} checks)`);
});
