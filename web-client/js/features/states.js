// @ts-check
// Every feature's pure state: how it reads the snapshot and applies its events. The store keeps
// these; nothing here touches the DOM, so Node runs it in the unit tests (tests/reducers.test.mjs).

import { flowFeature } from './flow/state.js';
import { commitmentsFeature } from './commitments/state.js';
import { benchmarksFeature } from './benchmarks/state.js';
import { practicesFeature } from './practices/state.js';
import { rolePlayFeature } from './roleplay/state.js';
import { scheduleFeature } from './schedule/state.js';
import { prepFeature } from './prep/state.js';

/** @type {import('../store.js').Feature[]} */
export const FEATURES = [flowFeature, commitmentsFeature, benchmarksFeature, practicesFeature, rolePlayFeature, scheduleFeature, prepFeature];
