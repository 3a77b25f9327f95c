// @ts-check
// Benchmarks' state: the group view as the server computed it (the server recomputes the whole
// view at every change, so an event replaces it). Pure.

/** @typedef {import('../../protocol').BenchmarkView} BenchmarkView */

/**
 * @typedef {object} BenchmarksState
 * @property {BenchmarkView} view
 */

/** @type {import('../../store.js').Feature<BenchmarksState>} */
export const benchmarksFeature = {
  id: 'benchmarks',
  fromSnapshot(snapshot) {
    return { view: snapshot.benchmarks };
  },
  events: {
    benchmarks_changed(own, event) {
      own.view = event.view;
    },
    // The meeting started: the numbers submitted during prep show (features/prep).
    prep_revealed(own, event) {
      own.view = event.benchmarks;
    },
  },
};
