// A planned restart in a fleet, as the pages of the drained node see it. Two server processes
// A and B on one real Redis (started here, on loopback) form a fleet (`--internal-listen`)
// behind a small TCP load balancer of the test's own, which sends each new connection to the
// first of A, then B, that accepts it. The meeting runs on A, and the facilitator's page and
// two members' pages (one on a phone) are all connected to A itself, none forwarded. A gets
// SIGTERM and drains, in two phases (PROTOCOL.md, "The meeting moves while you stay
// connected"):
//
// 1. The handover: A hands the meeting to B and joins each of its pages again there, through
//    its link to B, over the page's own WebSocket. The page receives, unasked, the ack of its
//    join again (same request id, a new log epoch, `catch_up: "replay"`: A told its pages'
//    connections where they stood, and B holds A's log epoch) and the replay of what it
//    missed, and shows nothing: its socket stays open, its connection indicator stays
//    `connected`, no banner, no toast.
// 2. The release: once its meetings are handed over, A lets its pages go, each closed with 1012
//    `draining` at its own moment of a window of clients / `--drain-release-per-second`
//    seconds. A is started here at 2 a second, so with three pages the window lasts 1.5 s,
//    after the handover. The page reconnects at once, through the balancer, which finds A's
//    port closed and passes it to B, and resumes with the log epoch of phase 1: B answers by
//    replay, not with a snapshot, and the page is `connected` again within 500 ms.
//
// What this guards: before, A closed its own rooms' pages with 1012 as each room was handed
// over (they reconnected all at once, in the middle of the handover, and caught up with a
// snapshot of the new epoch). Here each page must keep its socket through the handover, be
// closed exactly once and only after its join made again was answered, reconnect at once, and
// resume by replay in the epoch it was joined again in; the meeting must go on working on B,
// and A must stop cleanly. The pages' sockets, the frames they send, the join acks, snapshots
// and errors they receive, and every change of their connection indicator, banner and toasts
// are logged in the page by an init script (`support/watch.mjs`), so none of it is missed
// between two looks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, waitUntil, showView, join, startMeeting, screenshot, PHONE } from './support/browser.mjs';
import { freePort, startRedis } from './support/redis.mjs';
import { startBalancer } from './support/balancer.mjs';
import { watchPage, watched, metric, liveRooms } from './support/watch.mjs';

/** @typedef {import('./support/watch.mjs').PageWatch} PageWatch */

/** A's `--drain-release-per-second`: three pages are let go over 1.5 s after the handover. */
const RELEASE_PER_SECOND = 2;
/**
 * The longest from the close with 1012 to the page's next WebSocket. The backoff's first wait
 * is 250 to 500 ms, so a page that did not reconnect at once could not make this.
 */
const RECONNECT_AT_ONCE_MAX_MS = 100;
/** The longest a page may be away from `connected` after its close: the drain's promise. */
const BACK_MAX_MS = 500;
/** A request sent this close to the release's close may be cut off by it, unanswered. */
const UNDER_WAY_AT_CLOSE_MS = 100;
/** How long A may take to stop after SIGTERM: the handover, the release window, the rest. */
const EXIT_MAX_MS = 15000;

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('a draining node joins its own pages again where the meeting went, then lets them go to resume there by replay', async (t) => {
  const redis = await startRedis();
  // The servers print the public URL (the balancer's), so their own ports are chosen here.
  const ports = [await freePort(), await freePort()];
  const adminPorts = [await freePort(), await freePort()];
  const [directA, directB] = ports.map((port) => `http://127.0.0.1:${port}`);
  const [adminA, adminB] = adminPorts.map((port) => `http://127.0.0.1:${port}`);
  // Every new connection: A if it accepts, else B. A draining node closes its port at once.
  const balancer = await startBalancer({ ports });
  const prefix = `rt-browser-release-${process.pid}-${Date.now()}:`;
  const fleetArgs = [
    '--redis-url', redis.url, '--redis-prefix', prefix,
    '--internal-listen', '127.0.0.1:0', '--fleet-secret', randomBytes(16).toString('hex'),
    '--public-url', `http://127.0.0.1:${balancer.port}`,
    // The room stays on A until the drain: without this, B's arrival would move it to B
    // whenever placement names B (the rebalance has its own test, server/tests/rebalance.rs).
    '--rebalance-rooms-per-second', '0',
  ];
  const dirs = [makeDataDir(), makeDataDir()];
  // A starts alone, so that the meeting's room is loaded there whatever placement would say
  // with two nodes: nobody holds its lease when Fran joins, and A is the only live node.
  const a = await startServer({
    dataDir: dirs[0], port: ports[0],
    args: [...fleetArgs, '--admin-listen', `127.0.0.1:${adminPorts[0]}`, '--drain-release-per-second', String(RELEASE_PER_SECOND)],
  });
  /** @type {Awaited<ReturnType<typeof startServer>> | null} */
  let b = null;
  const browser = await launchBrowser();
  try {
    const created = await fetch(`http://127.0.0.1:${balancer.port}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Rolling fleet' }),
    }).then((response) => response.json());
    const fran = await join(browser, created.facilitator_url, 'Fran', { viewport: { width: 1000, height: 800 } }, 'Enter as facilitator', watchPage);
    await startMeeting(fran);
    assert.equal(await liveRooms(directA), 1, 'the meeting\'s room runs on A');

    b = await startServer({ dataDir: dirs[1], port: ports[1], args: [...fleetArgs, '--admin-listen', `127.0.0.1:${adminPorts[1]}`] });
    const nodeB = b;
    // A hands the room to a node it knows is live, and joins its pages again there through
    // its link to it: it knows B once its forwarding probe (once a second) opened that link.
    const deadline = Date.now() + 10000;
    while (await metric(adminA, 'roundtable_link_connects_total{outcome="connected"}') < 1) {
      assert.ok(Date.now() < deadline, `A opened no link to B within 10 s:\n${a.stderr()}\n${nodeB.stderr()}`);
      await sleep(100);
    }

    // Through the balancer, to A, which runs the room: served there, not forwarded.
    const ann = await join(browser, created.invite_url, 'Ann', { viewport: { width: 1000, height: 800 } }, 'Join', watchPage);
    const bob = await join(browser, created.invite_url, 'Bob', PHONE, 'Join', watchPage);
    const people = [fran, ann, bob];
    assert.equal(await metric(adminA, 'roundtable_connections{state="joined"}'), 3, 'the three pages are joined on A');
    assert.equal(await metric(adminA, 'roundtable_forwarded_streams{side="edge"}'), 0, 'A forwards none of them');
    assert.equal(await metric(adminB, 'roundtable_connections{state="joined"}'), 0, 'none is connected to B');
    assert.equal(await liveRooms(directB), 0, 'B does not run the room');
    assert.deepEqual([...new Set(balancer.connections.map((connection) => connection.port))], [ports[0]],
      'the balancer sent every connection so far to A');

    await showView(ann.page, 'people');
    await ann.page.locator('#hand-button').click();
    for (const person of people) {
      await showView(person.page, 'people');
      await waitUntil(person.page, `${person.name} sees Ann's hand up`, () => document.querySelectorAll('#queue-list .queue-item').length === 1);
    }
    const seqBefore = await fran.page.evaluate(() => /** @type {any} */ (window).roundtable.state().seq);
    for (const person of people) {
      const before = await watched(person.page);
      assert.deepEqual(before.sockets.map((entry) => entry.kind), ['made'], `${person.name} made one socket to join`);
      assert.equal(before.joinAcks.length, 1, `${person.name}'s join was answered once`);
    }

    // The drain: A hands the meeting to B, joins the pages again there, lets them go, stops.
    const termAt = Date.now();
    process.kill(/** @type {number} */ (a.pid), 'SIGTERM');
    // Bob's phone between the two phases, as its owner sees it: joined again on B, not yet
    // let go (his moment comes later in the window; nothing here depends on it).
    await waitUntil(bob.page, 'Bob joined again on B', () => /** @type {any} */ (window).watch.joinAcks.length === 2);
    await screenshot(bob.page, 'drain-release-phone-joined-again');
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let exitTimer;
    const exit = await Promise.race([a.exited, new Promise((resolve) => { exitTimer = setTimeout(() => resolve(null), EXIT_MAX_MS); })]);
    clearTimeout(exitTimer);
    const exitedAt = Date.now();
    assert.ok(exit, `A did not stop within ${EXIT_MAX_MS} ms of SIGTERM:\n${a.stderr()}`);
    t.diagnostic(`A stopped ${exitedAt - termAt} ms after SIGTERM`);
    assert.deepEqual(exit, { code: 0, signal: null }, `A stopped cleanly:\n${a.stderr()}`);

    for (const person of people) {
      const { name, page } = person;
      await waitUntil(page, `${name} resumed on a second socket and is connected`, () => {
        const w = /** @type {any} */ (window);
        return /** @type {PageWatch} */ (w.watch).joinAcks.some((ack) => ack.socket === 1) && w.roundtable.phase() === 'connected';
      });
      const log = await watched(page);
      const dump = JSON.stringify({ ...log, phases: log.phases.filter((change) => change.at >= termAt - 1000) });
      const joinOn = (/** @type {number} */ socket) => log.sent.find((frame) => frame.type === 'join' && frame.socket === socket);
      const [first, again, resumed, ...more] = log.joinAcks;
      assert.equal(first.id, joinOn(0)?.id, `${name}'s first ack answers its join: ${dump}`);
      assert.deepEqual(more, [], `${name}'s join was answered three times, no more: ${dump}`);
      assert.ok(first.at < termAt && again.at >= termAt, `the second ack came after SIGTERM: ${dump}`);

      // Phase 1: joined again on B over the same socket, unasked, then a replay, no snapshot.
      assert.equal(again.socket, 0, `${name}'s ack again came over the socket the page had: ${dump}`);
      assert.equal(again.id, first.id, `${name}'s ack again answers the page's own join (the same request id)`);
      assert.equal(again.catch_up, 'replay', `${name}'s join made again caught up by replay`);
      assert.ok(first.log_epoch && again.log_epoch, `both acks carry a log epoch: ${dump}`);
      assert.notEqual(again.log_epoch, first.log_epoch, `${name}'s ack again has B's new log epoch`);
      assert.equal(log.sent.filter((frame) => frame.type === 'join' && frame.socket === 0).length, 1,
        `${name}'s page asked for no join on its first socket but the first: ${dump}`);
      assert.deepEqual(log.snapshots.filter((entry) => entry.at >= termAt), [], `${name} got no snapshot after SIGTERM: ${dump}`);

      // Phase 2: closed once, with 1012 `draining`, only after phase 1.
      const closes = log.sockets.filter((entry) => entry.kind === 'closed');
      assert.equal(closes.length, 1, `${name}'s page saw exactly one close: ${dump}`);
      const [close] = closes;
      assert.equal(close.socket, 0, `${name}'s first socket was the one closed: ${dump}`);
      assert.equal(close.code, 1012, `${name}'s socket was closed with 1012: ${dump}`);
      assert.equal(close.reason, 'draining', `${name}'s socket was closed as \`draining\`: ${dump}`);
      assert.ok(close.at >= again.at, `${name}'s socket was closed only after the ack again: ${dump}`);
      // Until the close the page showed nothing: the indicator never left `connected`, no
      // banner, no toast, no error.
      const left = log.phases.find((change) => change.at >= termAt && (change.from !== 'connected' || change.to !== 'connected'));
      assert.ok(left && left.at >= close.at, `${name}'s connection phase left connected only at the close: ${dump}`);
      assert.deepEqual(log.bannerShown.filter((at) => at >= termAt && at < close.at), [], `${name} saw no banner before the close`);
      assert.deepEqual(log.toasts.filter((toast) => toast.at >= termAt), [], `${name} saw no toast`);
      assert.deepEqual(log.errors.filter((error) => error.at >= termAt), [], `${name}'s page got no error frame`);
      // Nor did the handover swallow a request: each the page sent on that socket was
      // answered there, but one sent in the last moments before the close, which the close
      // may cut off (the page then counts it lost).
      const unanswered = log.sent.filter((frame) => frame.socket === 0 && frame.at <= close.at - UNDER_WAY_AT_CLOSE_MS
        && !log.answers.some((answer) => answer.id === frame.id && answer.socket === 0));
      assert.deepEqual(unanswered, [], `${name}'s requests on its first socket were all answered: ${dump}`);

      // A new socket at once, resumed by replay in the epoch of phase 1.
      const made = log.sockets.filter((entry) => entry.kind === 'made');
      assert.equal(made.length, 2, `${name} made one new socket after the close: ${dump}`);
      const wait = made[1].at - close.at;
      assert.ok(wait >= 0 && wait <= RECONNECT_AT_ONCE_MAX_MS, `${name} reconnected ${wait} ms after the 1012 close: ${dump}`);
      assert.equal(resumed.socket, 1, `${name}'s third ack came on the new socket: ${dump}`);
      assert.equal(resumed.id, joinOn(1)?.id, `${name}'s third ack answers the join of the new socket: ${dump}`);
      assert.equal(resumed.catch_up, 'replay', `${name} resumed by replay, not with a snapshot: ${dump}`);
      assert.equal(resumed.log_epoch, again.log_epoch, `${name} resumed in the log epoch it was joined again in`);
      assert.deepEqual(log.snapshots.filter((entry) => entry.socket === 1), [], `${name} got no snapshot on the new socket`);
      assert.deepEqual(await page.evaluate(() => /** @type {any} */ (window).roundtable.catchUps), ['snapshot', 'replay', 'replay'],
        `${name}'s page caught up with a snapshot, then the replays of the join made again and of its resume`);
      const back = log.phases.find((change) => change.at >= close.at && change.to === 'connected' && change.from !== 'connected');
      assert.ok(back, `${name}'s page came back to connected: ${dump}`);
      const away = back.at - close.at;
      assert.ok(away <= BACK_MAX_MS, `${name} was connected again ${away} ms after the close: ${dump}`);
      const inPhaseOne = log.sent.filter((frame) => frame.socket === 0 && frame.at >= termAt).length;
      t.diagnostic(`${name}: joined again ${again.at - termAt} ms after SIGTERM (`
        + `${inPhaseOne} requests sent from SIGTERM to the close), closed ${close.at - again.at} ms after that `
        + `(${close.at - termAt} ms after SIGTERM), new socket ${wait} ms after the close, connected again ${away} ms after it`);
    }

    // B took the pages: A refused new connections once it drained, and B resumed all three.
    const since = balancer.connections.filter((connection) => connection.at >= termAt);
    assert.ok(since.length >= 3 && since.every((connection) => connection.port === ports[1]),
      `every connection since SIGTERM went to B: ${JSON.stringify(since)}`);
    assert.equal(await liveRooms(directB), 1, 'the room runs on B now');
    assert.equal(await metric(adminB, 'roundtable_connections{state="joined"}'), 3, 'the three pages are joined on B');
    assert.equal(await metric(adminB, 'roundtable_resumes_total{outcome="replay_earlier_epoch"}'), 3,
      'B replayed the three pages joined again from A\'s log epoch');
    assert.equal(await metric(adminB, 'roundtable_resumes_total{outcome="replay"}'), 3, 'B resumed the three pages by replay');

    // The meeting as it was, and it goes on on B: Ann's hand is still up, Bob raises his,
    // Ann lowers hers, and every page sees it.
    for (const person of people) {
      await waitUntil(person.page, `${person.name} still sees Ann's hand up`, (seq) =>
        /** @type {any} */ (window).roundtable.state().seq >= seq && document.querySelectorAll('#queue-list .queue-item').length === 1, seqBefore);
    }
    await bob.page.locator('#hand-button').click();
    for (const person of people) {
      await waitUntil(person.page, `${person.name} sees Bob's hand up too, served by B`, () => document.querySelectorAll('#queue-list .queue-item').length === 2);
    }
    await ann.page.locator('#hand-button').click();
    for (const person of people) {
      await waitUntil(person.page, `${person.name} sees only Bob's hand up`, () => {
        const items = [...document.querySelectorAll('#queue-list .queue-item')];
        return items.length === 1 && items[0].querySelector('.queue-name')?.textContent === 'Bob';
      });
    }
    const seqs = await Promise.all(people.map((person) => person.page.evaluate(() => /** @type {any} */ (window).roundtable.state().seq)));
    assert.ok(seqs.every((seq) => seq === seqs[0] && seq >= seqBefore + 2), `every page holds the same state: seqs ${seqs}, before ${seqBefore}`);
    for (const person of people) {
      const log = await watched(person.page);
      assert.equal(log.sockets.length, 3, `${person.name} has had no other reconnection: ${JSON.stringify(log.sockets)}`);
      await screenshot(person.page, `drain-release-after-${person.name.toLowerCase()}`);
    }
    assert.deepEqual(people.flatMap((person) => person.errors), []);
  } finally {
    await browser.close();
    await b?.stop();
    await a.stop();
    await balancer.stop();
    redis.stop();
    for (const dir of dirs) removeDataDir(dir);
  }
});
