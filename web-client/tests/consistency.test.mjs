// The web client's own store stays what the server says: for each member and each meeting of
// the golden story (written by the rules' test `write_what_pages_see_of_the_story`, which the
// Rust tests run first), the page's state rebuilt from the meeting's first snapshot and every
// frame the member received equals the state from the snapshot a fresh page gets at the end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { roomFromSnapshot, reduceRoom } from '../js/store.js';
import { FEATURES } from '../js/features/states.js';

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
