// What a page lives through, logged in the page itself, for the tests where a meeting moves
// between server processes: its WebSockets, the frames it sends and the join acks, snapshots
// and errors it receives on each, and every change of its connection indicator, banner and
// toasts. An init script keeps the log in `window.watch`, so nothing is missed between two
// looks. Also the nodes' own words: their admin `/metrics` and public `/healthz`.

/**
 * @typedef {object} PageWatch What the init script logs in the page (`window.watch`). `socket`
 *   is the index, among `made` entries of `sockets`, of the WebSocket a frame came or went on.
 * @property {{ kind: 'made' | 'closed', code?: number, reason?: string, socket: number, at: number }[]} sockets
 * @property {{ id: number, type: string, socket: number, at: number }[]} sent The frames the page sent.
 * @property {{ id: number, log_epoch: string, catch_up: string, socket: number, at: number }[]} joinAcks
 * @property {{ socket: number, at: number }[]} snapshots Snapshot frames received.
 * @property {{ id: number, socket: number, at: number }[]} answers Every ack and every error
 *   with a request id received: the requests answered.
 * @property {{ id: number | null, code: string, socket: number, at: number }[]} errors Error frames received.
 * @property {{ from: string | null, to: string | null, at: number }[]} phases Each time the
 *   connection indicator's phase (`#connection[data-phase]`) was set: the value before, and
 *   the value when the page noticed.
 * @property {number[]} bannerShown When the connection banner (`#banner`) was shown.
 * @property {{ text: string, at: number }[]} toasts
 */

/**
 * Makes the pages of `context` log their WebSockets (made, closed with which code and
 * reason), the frames sent on them, the `joined` acks, snapshots and errors they receive, and
 * every change of the connection indicator and banner, in `window.watch` (see `PageWatch`).
 * Times are `Date.now()`, comparable with the test's own.
 * @param {import('playwright-core').BrowserContext} context
 */
export async function watchPage(context) {
  await context.addInitScript(() => {
    /** @type {PageWatch} */
    const watch = { sockets: [], sent: [], joinAcks: [], snapshots: [], answers: [], errors: [], phases: [], bannerShown: [], toasts: [] };
    /** @type {any} */ (window).watch = watch;
    let made = 0;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      /** @param {string | URL} url @param {string | string[]} [protocols] */
      constructor(url, protocols) {
        super(url, protocols);
        const socket = made++;
        /** @type {any} */ (this).watchIndex = socket;
        watch.sockets.push({ kind: 'made', socket, at: Date.now() });
        this.addEventListener('close', (event) => watch.sockets.push({ kind: 'closed', code: event.code, reason: event.reason, socket, at: Date.now() }));
        this.addEventListener('message', (event) => {
          if (typeof event.data !== 'string') return;
          /** @type {any} */
          let frame;
          try {
            frame = JSON.parse(event.data);
          } catch {
            return;
          }
          const at = Date.now();
          if (frame.type === 'ack' && frame.result?.kind === 'joined') {
            watch.joinAcks.push({ id: frame.id, log_epoch: frame.result.log_epoch, catch_up: frame.result.catch_up, socket, at });
          }
          if (frame.type === 'snapshot') watch.snapshots.push({ socket, at });
          if ((frame.type === 'ack' || frame.type === 'error') && typeof frame.id === 'number') watch.answers.push({ id: frame.id, socket, at });
          if (frame.type === 'error') watch.errors.push({ id: frame.id ?? null, code: frame.code, socket, at });
        });
      }

      /** @param {string | ArrayBufferLike | Blob | ArrayBufferView} data */
      send(data) {
        if (typeof data === 'string') {
          try {
            const frame = JSON.parse(data);
            watch.sent.push({ id: frame.id, type: frame.type, socket: /** @type {any} */ (this).watchIndex, at: Date.now() });
          } catch {
            // Not JSON: nothing to log.
          }
        }
        super.send(data);
      }
    };
    // Mutation records keep each attribute's old value, so a phase that lasted less than a
    // frame is still seen: every value the indicator held is some record's `from` (or the
    // last one's `to`), even when several records come in one callback.
    new MutationObserver((records) => {
      for (const record of records) {
        const target = /** @type {Element} */ (record.target);
        if (record.type === 'attributes' && target.id === 'connection' && record.attributeName === 'data-phase') {
          watch.phases.push({ from: record.oldValue, to: target.getAttribute('data-phase'), at: Date.now() });
        }
        // `hidden` absent before a change means the banner was showing until then.
        if (record.type === 'attributes' && target.id === 'banner' && record.attributeName === 'hidden'
          && (record.oldValue === null || !target.hasAttribute('hidden'))) {
          watch.bannerShown.push(Date.now());
        }
        if (record.type === 'childList' && target.id === 'toasts') {
          for (const node of record.addedNodes) watch.toasts.push({ text: node.textContent ?? '', at: Date.now() });
        }
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase', 'hidden'], attributeOldValue: true });
  });
}

/**
 * The page's log (see `watchPage`).
 * @param {import('playwright-core').Page} page
 * @returns {Promise<PageWatch>}
 */
export function watched(page) {
  return page.evaluate(() => /** @type {any} */ (window).watch);
}

/**
 * One sample of a node's admin `/metrics`, 0 when the series is not there yet.
 * @param {string} adminUrl
 * @param {string} series The name with its labels, as exposed (`roundtable_live_rooms`).
 */
export async function metric(adminUrl, series) {
  const text = await fetch(`${adminUrl}/metrics`).then((response) => response.text());
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/**
 * The rooms live on a node, from its public `/healthz`.
 * @param {string} url
 * @returns {Promise<number>}
 */
export async function liveRooms(url) {
  const health = await fetch(`${url}/healthz`).then((response) => response.json());
  return health.live_rooms;
}
