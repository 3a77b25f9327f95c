// @ts-check
// Benchmarks: each member enters this week's numbers, by name or anonymously; everyone sees the
// group view (median and quartiles once enough members submitted, the named values, ratios).
// A member's own position and trend come only from `get_my_benchmarks`, answered to them
// alone, and are asked for again after their own submission and after every snapshot.
// A facilitator can change the metrics.

import { patch, listen } from '../../render.js';
import { h, toast, busy } from '../../ui.js';
import { formatAmount, formatNumber } from '../../format.js';

/** @typedef {import('../../protocol').BenchmarkView} BenchmarkView */
/** @typedef {import('../../protocol').MyBenchmarks} MyBenchmarks */
/** @typedef {import('../../protocol').Metric} Metric */

/** @typedef {import('./state.js').BenchmarksState} BenchmarksState */

/** The fewest submissions before aggregates are shown (PROTOCOL.md, "Benchmarks"). */
export const AGGREGATES_SUBMISSIONS_MIN = 3;

/** The fewest anonymous submissions before aggregates over them are shown. */
export const AGGREGATES_ANONYMOUS_MIN = 3;

/** What anonymous numbers count as in the aggregates (PROTOCOL.md, "Benchmarks"). */
export const ANONYMOUS_ROUNDING_NOTE = 'Anonymous numbers count in the aggregates by range (two wide below 100, two significant digits above), so nobody can work one out.';

/** After the group view changes, wait this long before asking for one's position again. */
export const MY_BENCHMARKS_REFRESH_DELAY_MS = 300;



/**
 * A metric's unit, when it says more than the metric's name ("USD" for Revenue), else ''
 * (nothing for "calls" after Calls, nor "deals" after Deals closed).
 * @param {{ name: string, unit: string }} metric
 * @returns {string}
 */
export function unitWorthShowing(metric) {
  return metric.unit && !metric.name.toLowerCase().startsWith(metric.unit.toLowerCase().replace(/s$/, '')) ? metric.unit : '';
}

/**
 * Parses the facilitator's metric lines: `key: Name (unit)`, one a line.
 * @param {string} text
 * @returns {Metric[]}
 */
export function parseMetricLines(text) {
  return text.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const match = /^([a-z0-9_]+)\s*:\s*(.*?)\s*(?:\(([^)]*)\))?$/.exec(line);
    if (!match) throw new Error(`“${line}” is not “key: Name (unit)”`);
    return { key: match[1], name: match[2] || match[1], unit: match[3] ?? '' };
  });
}

/** @type {import('../index.js').Panel} */
export const benchmarksPanel = {
  id: 'benchmarks',
  view: 'benchmarks',
  mount(context) {
    const { store } = context;
    const inputs = h('div', { class: 'metric-inputs', id: 'benchmark-inputs' });
    const namedRadio = h('input', { type: 'radio', name: 'benchmark-sharing', id: 'sharing-named', value: 'named', checked: true });
    const anonymousRadio = h('input', { type: 'radio', name: 'benchmark-sharing', id: 'sharing-anonymous', value: 'anonymous' });
    const submitButton = h('button', { type: 'submit', class: 'button primary', id: 'benchmark-submit' }, 'Submit my numbers');
    // Why nothing was sent (empty while there is nothing to say, so it takes no room).
    const submitStatus = h('p', { class: 'form-error', id: 'benchmark-submit-status', role: 'alert', hidden: true });
    const form = h('form', { class: 'benchmark-form', id: 'benchmark-form' },
      inputs,
      h('fieldset', { class: 'sharing' },
        h('legend', {}, 'Share'),
        h('span', { class: 'radio' }, namedRadio, h('label', { for: 'sharing-named' }, 'with my name')),
        h('span', { class: 'radio' }, anonymousRadio, h('label', { for: 'sharing-anonymous' }, 'anonymously (only in the aggregates, by range)'))),
      h('div', { class: 'actions' }, submitButton),
      submitStatus);
    const groupView = h('div', { class: 'benchmark-group', id: 'benchmark-group' });
    const mine = h('div', { class: 'benchmark-mine', id: 'benchmark-mine' });
    const metricsText = h('textarea', { id: 'metrics-text', rows: 5, 'aria-label': 'Metrics, one a line: key: Name (unit)' });
    const metricsEditor = h('details', { class: 'metrics-editor', id: 'metrics-editor', hidden: true },
      h('summary', {}, 'Edit metrics'),
      h('form', { class: 'stack-small' },
        h('p', { class: 'hint' }, 'One a line: key: Name (unit). Keys are lowercase letters, digits and underscores.'),
        metricsText,
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button secondary small', id: 'metrics-save' }, 'Save metrics'))));
    const element = h('section', { class: 'panel', id: 'panel-benchmarks', 'aria-labelledby': 'benchmarks-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'benchmarks-title' }, 'Benchmarks')),
      form, groupView, mine, metricsEditor);

    /** @type {MyBenchmarks | null} */
    let myBenchmarks = null;
    let metricsKey = '';

    const refreshMine = async () => {
      const reply = await context.act({ type: 'get_my_benchmarks' }, 'Could not load your benchmarks');
      if (reply && reply.kind === 'my_benchmarks') {
        myBenchmarks = reply;
        drawMine();
      }
    };

    listen(form, 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      /** @type {Record<string, number>} */
      const values = {};
      for (const input of inputs.querySelectorAll('input')) {
        if (input.value.trim() === '') continue;
        values[input.name] = Number(input.value);
      }
      if (Object.keys(values).length === 0) {
        // An empty form sends nothing, and says so (the button did nothing at all).
        submitStatus.textContent = 'Enter at least one number first.';
        submitStatus.hidden = false;
        /** @type {HTMLInputElement | null} */ (inputs.querySelector('input'))?.focus();
        return;
      }
      submitStatus.textContent = '';
      submitStatus.hidden = true;
      const release = busy(submitButton);
      const sharing = anonymousRadio.checked ? 'anonymous' : 'named';
      const reply = await context.act({ type: 'submit_numbers', values, sharing }, 'Could not submit your numbers');
      release();
      if (reply) toast(`Your numbers are in, ${sharing === 'anonymous' ? 'anonymously' : 'with your name'}. You can correct them until the meeting ends.`, 'info');
      // The typed numbers stay either way: on failure to fix and resend, on success to show
      // what was sent (they can be corrected until the meeting ends).
      if (reply) await refreshMine();
    });

    listen(/** @type {HTMLFormElement} */ (metricsEditor.querySelector('form')), 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      let metrics;
      try {
        metrics = parseMetricLines(metricsText.value);
      } catch (error) {
        // The text stays in the editor, to be fixed.
        toast(`Could not save the metrics: ${error instanceof Error ? error.message : String(error)}.`);
        return;
      }
      const reply = await context.act({ type: 'set_metrics', metrics }, 'Could not save the metrics');
      if (reply) metricsEditor.open = false;
    });

    function drawMine() {
      const state = store.state;
      const own = /** @type {BenchmarksState | undefined} */ (state?.features.benchmarks);
      if (!own || !myBenchmarks) {
        patch(mine, []);
        return;
      }
      const current = myBenchmarks.current;
      // Once in, the button corrects them (the toast said they were sent; "My position" below
      // shows them and how they are shared).
      submitButton.textContent = current ? 'Update my numbers' : 'Submit my numbers';
      const rows = own.view.metrics.map((metric) => {
        const value = current?.values[metric.key];
        const percentile = myBenchmarks?.percentile_by_metric[metric.key];
        return h('li', { 'data-metric': metric.key },
          h('strong', {}, metric.name), ': ',
          value === undefined ? 'not entered' : formatAmount(value, metric.unit),
          percentile === undefined ? '' : ` — percentile ${Math.round(percentile)}`);
      });
      const trend = myBenchmarks.trend.map((point) => h('li', {},
        `Meeting ${point.meeting_number}: `,
        own.view.metrics.filter((metric) => point.mine[metric.key] !== undefined || point.group_median[metric.key] !== undefined).map((metric) =>
          `${metric.name} ${point.mine[metric.key] !== undefined ? formatNumber(point.mine[metric.key]) : '–'} (group ${point.group_median[metric.key] !== undefined ? formatNumber(point.group_median[metric.key]) : '–'})`).join(' · ')));
      patch(mine, () => [
        h('h3', {}, 'My position', current ? h('span', { class: 'tag' }, current.sharing) : null),
        current ? h('ul', { class: 'plain-list', id: 'my-position' }, ...rows) : h('p', { class: 'empty' }, 'You have not submitted numbers in this meeting.'),
        trend.length ? h('h3', {}, 'My trend') : null,
        trend.length ? h('ul', { class: 'plain-list', id: 'my-trend' }, ...trend) : null,
      ].filter((node) => node !== null));
    }

    /** @type {unknown} */
    let drawnState = null;
    let drawnKey = '';
    /** @type {ReturnType<typeof setTimeout> | null} */
    let refreshTimer = null;
    return {
      element,
      update() {
        const state = store.state;
        const own = /** @type {BenchmarksState | undefined} */ (state?.features.benchmarks);
        submitButton.disabled = !context.isConnected() || !state || store.me()?.role === 'observer';
        metricsEditor.hidden = !store.iAmFacilitator();
        if (!state || !own) return;
        const view = own.view;
        const newSnapshot = drawnState !== own;
        // A new snapshot (joining, reconnecting, the next meeting) may change this person's
        // own numbers: ask again once connected.
        if (newSnapshot && context.isConnected()) {
          drawnState = own;
          refreshMine();
        }
        const key = `${state.members.map((member) => member.member_id + member.display_name).join(',')}`;
        if (!newSnapshot && drawnKey === key) return;
        // Others' submissions move this person's percentile: ask again (once for a burst).
        if (!newSnapshot && myBenchmarks?.current && context.isConnected()) {
          if (refreshTimer !== null) clearTimeout(refreshTimer);
          refreshTimer = setTimeout(() => {
            refreshTimer = null;
            refreshMine();
          }, MY_BENCHMARKS_REFRESH_DELAY_MS);
        }
        drawnKey = key;

        // The inputs are rebuilt only when the metrics change, so typed numbers survive.
        // A new meeting asks for new numbers: last meeting's typed values go.
        const nextMetricsKey = `${state.meeting.meeting_id}|${view.metrics.map((metric) => `${metric.key}:${metric.name}:${metric.unit}`).join('|')}`;
        if (nextMetricsKey !== metricsKey) {
          const sameMeeting = metricsKey.startsWith(`${state.meeting.meeting_id}|`);
          metricsKey = nextMetricsKey;
          /** @type {Record<string, string>} */
          const typed = {};
          if (sameMeeting) for (const input of inputs.querySelectorAll('input')) typed[input.name] = input.value;
          patch(inputs, () => view.metrics.map((metric) => h('div', { class: 'field' },
            // The unit only when it says more than the name ("Revenue (USD)", not "Calls (calls)").
            h('label', { for: `metric-${metric.key}` }, metric.name,
              unitWorthShowing(metric) ? h('span', { class: 'unit' }, ` (${metric.unit})`) : null),
            // Keyed by the meeting too: a new meeting's fields are new, empty ones.
            h('input', { type: 'number', id: `metric-${metric.key}`, 'data-key': `${state.meeting.meeting_id}-${metric.key}`, name: metric.key, min: 0, step: 'any', inputmode: 'decimal', value: typed[metric.key] ?? '' }))));
          if (!metricsEditor.open) metricsText.value = view.metrics.map((metric) => `${metric.key}: ${metric.name} (${metric.unit})`).join('\n');
        }

        const nameOf = (/** @type {string} */ memberId) => store.member(memberId)?.display_name ?? 'A former member';
        const metricName = (/** @type {string} */ metricKey) => view.metrics.find((metric) => metric.key === metricKey)?.name ?? metricKey;
        // Members who shared by name; the other submissions are anonymous.
        const namedCount = new Set(view.per_metric.flatMap((metricView) => metricView.named.map((named) => named.member_id))).size;
        const anonymousCount = view.submitted_count - namedCount;
        const status = view.aggregates_shown
          ? h('p', { class: 'hint', id: 'benchmark-status' }, `${view.submitted_count} members submitted.`,
            anonymousCount > 0 ? ` ${ANONYMOUS_ROUNDING_NOTE}` : '')
          : h('p', { class: 'notice', id: 'benchmark-status' },
            view.submitted_count < AGGREGATES_SUBMISSIONS_MIN
              ? `${view.submitted_count} of ${AGGREGATES_SUBMISSIONS_MIN} submitted: aggregates appear once ${AGGREGATES_SUBMISSIONS_MIN} members have submitted.`
              : `Aggregates are held back while only ${anonymousCount === 1 ? 'one submission is' : 'two submissions are'} anonymous (they could be worked out): shown once ${AGGREGATES_ANONYMOUS_MIN} people share anonymously.`);
        // Metrics nobody filled in take one line instead of a card each.
        const unfilled = view.per_metric.filter((metricView) => metricView.count === 0).map((metricView) => metricName(metricView.key));
        const cards = view.per_metric.filter((metricView) => metricView.count > 0).map((metricView) => {
          const metric = view.metrics.find((candidate) => candidate.key === metricView.key);
          const quartiles = metricView.quartiles;
          return h('li', { class: 'metric-card', 'data-metric': metricView.key },
            h('div', { class: 'metric-head' }, h('strong', {}, metric?.name ?? metricView.key),
              h('span', { class: 'hint' }, `${metricView.count} value${metricView.count === 1 ? '' : 's'}`)),
            quartiles
              ? h('div', { class: 'quartiles' },
                h('span', {}, h('small', {}, 'Q1'), h('b', {}, formatNumber(quartiles.q1))),
                h('span', { class: 'median' }, h('small', {}, 'median'), h('b', {}, formatNumber(quartiles.median))),
                h('span', {}, h('small', {}, 'Q3'), h('b', {}, formatNumber(quartiles.q3))))
              : null,
            metricView.named.length
              ? h('ul', { class: 'named-values' }, ...metricView.named.map((named) =>
                h('li', { 'data-member-id': named.member_id }, h('span', {}, nameOf(named.member_id)), h('span', { class: 'value' }, formatNumber(named.value)))))
              : null);
        });
        const ratios = view.ratios.filter((ratio) => ratio.median !== null && ratio.median !== undefined).map((ratio) =>
          h('li', {}, `${metricName(ratio.numerator)} / ${metricName(ratio.denominator)}: median `, h('b', {}, formatNumber(/** @type {number} */ (ratio.median)))));
        patch(groupView, () => [
          h('h3', {}, 'The group this week'), status,
          cards.length ? h('ul', { class: 'metric-cards' }, ...cards) : null,
          unfilled.length ? h('p', { class: 'hint' }, `No values yet: ${unfilled.join(', ')}.`) : null,
          ratios.length ? h('h3', {}, 'Ratios') : null,
          ratios.length ? h('ul', { class: 'plain-list', id: 'benchmark-ratios' }, ...ratios) : null,
        ].filter((node) => node !== null));
        drawMine();
      },
    };
  },
};
