// A meeting's server dies under a forwarded page, and the page does not notice. Two server
// processes on one real Redis (started here, on loopback) form a fleet: A runs the meeting,
// and a member whose page is connected to B is forwarded by B to A over their internal link.
// A is killed (SIGKILL: no drain, no goodbye). B joins the page again where the meeting runs
// now (on B itself) over the page's own WebSocket: the page receives `connection_lost` for its
// request that was under way, the ack of its join once more, unasked, with the new log epoch,
// then a replay of what it missed from where it stood, which B knew from the frames it passed
// on (PROTOCOL.md, "The meeting moves while you stay connected"). So that a
// request is surely under way when A dies, A is frozen (SIGSTOP) first, Ann asks for something,
// and A is killed once B has passed the request on to it.
//
// What this guards: before, B closed such a page with 1012 (`room_moved`) and the page
// reconnected: a new WebSocket, and a connection indicator that showed "Reconnecting…". Here
// the page must keep its one socket, never closed, its connection phase must never leave
// `connected`, and the meeting must go on working (served now by B) as if nothing happened.
// The page's sockets, every change of its connection indicator, and the join acks and errors
// it receives are logged in the page by an init script, so none of it can be missed between
// two looks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, makeDataDir, removeDataDir } from './support/server.mjs';
import { launchBrowser, waitUntil, showView, join, startMeeting } from './support/browser.mjs';
import { freePort, startRedis } from './support/redis.mjs';
import { watchPage, watched, metric, liveRooms } from './support/watch.mjs';

/** @typedef {import('./support/watch.mjs').PageWatch} PageWatch */

/** How long B may take to join the page again after A died: the lease (1.2 s) and a margin. */
const REJOIN_MAX_MS = 5000;

test('a forwarded page whose meeting\'s server dies is joined again over the same WebSocket and never shows a reconnection', async (t) => {
  const redis = await startRedis();
  const prefix = `rt-browser-reattach-${process.pid}-${Date.now()}:`;
  // The internal listeners take any free port: each node writes the address it is bound to
  // in the registry, where the other finds it. The secret makes the links prove themselves
  // as they must off loopback.
  const fleetArgs = [
    '--redis-url', redis.url, '--redis-prefix', prefix,
    '--internal-listen', '127.0.0.1:0', '--fleet-secret', randomBytes(16).toString('hex'),
    // The room stays on A until A dies: without this, B's arrival would move it to B whenever
    // placement names B (the rebalance has its own test, server/tests/rebalance.rs).
    '--rebalance-rooms-per-second', '0',
  ];
  const dirs = [makeDataDir(), makeDataDir()];
  // B's admin listener tells what B does: its links, forwarded streams and re-attaches.
  const adminPort = await freePort();
  const adminB = `http://127.0.0.1:${adminPort}`;
  // A starts alone, so that the meeting's room is loaded there whatever placement would say
  // with two nodes: nobody holds its lease when Fran joins, and A is the only live node.
  const a = await startServer({ dataDir: dirs[0], args: fleetArgs });
  /** @type {Awaited<ReturnType<typeof startServer>> | null} */
  let b = null;
  // Set while A is frozen: a frozen process does not act on SIGTERM, so cleanup kills it.
  let aFrozen = false;
  const browser = await launchBrowser();
  try {
    const created = await fetch(`${a.url}/api/groups`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Fleet of two' }),
    }).then((response) => response.json());
    const fran = await join(browser, created.facilitator_url, 'Fran', { viewport: { width: 1000, height: 800 } }, 'Enter as facilitator');
    await startMeeting(fran);
    assert.equal(await liveRooms(a.url), 1, 'the meeting\'s room runs on A');

    b = await startServer({ dataDir: dirs[1], args: [...fleetArgs, '--admin-listen', `127.0.0.1:${adminPort}`] });
    const nodeB = b;
    // B forwards only to a node it knows is live: it does once it opened a link to A (its
    // forwarding probe links to every live node in the registry, once a second).
    const deadline = Date.now() + 10000;
    while (await metric(adminB, 'roundtable_link_connects_total{outcome="connected"}') < 1) {
      assert.ok(Date.now() < deadline, `B opened no link to A within 10 s:\n${nodeB.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Ann follows the invite link, but on B: the server writes its links with its own address
    // (no --public-url here), so the link's host is A's.
    const inviteOnB = new URL(created.invite_url);
    inviteOnB.host = new URL(b.url).host;
    const ann = await join(browser, inviteOnB.href, 'Ann', { viewport: { width: 1000, height: 800 } }, 'Join', watchPage);
    assert.equal(await metric(adminB, 'roundtable_forwarded_streams{side="edge"}'), 1, 'B forwards Ann to A');
    assert.equal(await liveRooms(b.url), 0, 'B does not run the room itself');
    await showView(ann.page, 'people');
    await ann.page.locator('#hand-button').click();
    await waitUntil(ann.page, 'Ann\'s hand is up', () => document.querySelectorAll('#queue-list .queue-item').length === 1);
    await waitUntil(fran.page, 'Fran sees Ann\'s hand through A', () => document.querySelectorAll('#queue-list .queue-item').length === 1);

    const before = await watched(ann.page);
    assert.equal(before.sockets.length, 1, `Ann made one socket to join: ${JSON.stringify(before.sockets)}`);
    assert.equal(before.joinAcks.length, 1, 'Ann\'s join was answered once');

    // A freezes, and Ann asks to lower her hand: B passes the request on to A, which never
    // answers it. Every text frame of Ann's page is passed on to A (Ann is the only client B
    // forwards), so once B counts as many frames passed on as the page sent, the request is
    // on its way to A. A stays frozen well under a second: B's link gives up on a node after
    // 1.5 s without a pong, and the page on its link after 4 s.
    process.kill(/** @type {number} */ (a.pid), 'SIGSTOP');
    aFrozen = true;
    await ann.page.locator('#hand-button').click();
    await waitUntil(ann.page, 'Ann\'s page sent lower_hand', () =>
      /** @type {PageWatch} */ (/** @type {any} */ (window).watch).sent.some((frame) => frame.type === 'lower_hand'));
    const frozen = await watched(ann.page);
    const lowerId = /** @type {{ id: number }} */ (frozen.sent.find((frame) => frame.type === 'lower_hand')).id;
    const passOnDeadline = Date.now() + 5000;
    while (await metric(adminB, 'roundtable_forwarded_frames_total{direction="to_owner"}') < frozen.sent.length) {
      assert.ok(Date.now() < passOnDeadline, 'B passed Ann\'s lower_hand on to A within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // A dies: its link to B breaks, and its lease stays in Redis until it expires (or B finds
    // nothing listening at A's address any more).
    const killedAt = Date.now();
    process.kill(/** @type {number} */ (a.pid), 'SIGKILL');
    aFrozen = false;

    await waitUntil(ann.page, 'Ann\'s page gets the ack of its join again, unasked', () =>
      /** @type {any} */ (window).watch.joinAcks.length >= 2);
    // The replay follows the ack (nothing happened meanwhile, so it is only the presence that
    // ends it): the page keeps the meeting it holds, which is the one B loaded, the hand still
    // up (raised through A, which stored it in Redis before answering; the frozen A never
    // lowered it).
    await waitUntil(ann.page, 'Ann\'s page caught up with B, her hand still up', () =>
      /** @type {any} */ (window).roundtable.catchUps.length === 2 && document.querySelectorAll('#queue-list .queue-item').length === 1);
    const after = await watched(ann.page);
    const [first, again] = after.joinAcks;
    t.diagnostic(`Ann was joined again ${again.at - killedAt} ms after A was killed`);
    assert.ok(again.at - killedAt <= REJOIN_MAX_MS, `Ann was joined again ${again.at - killedAt} ms after the kill`);
    assert.equal(after.joinAcks.length, 2, `two joined acks: ${JSON.stringify(after.joinAcks)}`);
    assert.equal(again.id, first.id, 'the ack again answers the page\'s own join (the same request id)');
    assert.equal(again.catch_up, 'replay', 'a join made again resumes from where the page stood, by replay');
    assert.ok(first.log_epoch && again.log_epoch, `both acks carry a log epoch: ${JSON.stringify(after.joinAcks)}`);
    assert.notEqual(again.log_epoch, first.log_epoch, 'the room loaded on B has a new log epoch');
    assert.deepEqual(await ann.page.evaluate(() => /** @type {any} */ (window).roundtable.catchUps), ['snapshot', 'replay']);
    // Without the feature the page would show a reconnection here: B's close with 1012, a
    // new socket, and the indicator through `connecting`.
    assert.deepEqual(after.sockets.map((entry) => entry.kind), ['made'],
      `Ann's page kept its one WebSocket, never closed: ${JSON.stringify(after.sockets)}`);
    assert.ok(after.phases.filter((change) => change.at >= killedAt).every((change) => change.from === 'connected' && change.to === 'connected'),
      `Ann's connection phase never left connected after the kill: ${JSON.stringify(after.phases)}`);
    assert.equal(await ann.page.locator('#connection').getAttribute('data-phase'), 'connected');
    assert.deepEqual(after.bannerShown.filter((at) => at >= killedAt), [], 'no connection banner appeared');
    assert.equal(await ann.page.locator('#banner').isHidden(), true, 'the connection banner is hidden');
    // The request under way was answered `connection_lost` before the ack (a ping under way
    // may have been too), and nothing else went wrong.
    const errorsSinceKill = after.errors.filter((error) => error.at >= killedAt);
    const typeOf = (/** @type {number | null} */ id) => after.sent.find((frame) => frame.id === id)?.type;
    t.diagnostic(`errors Ann's page received after the kill: ${errorsSinceKill.map((error) => `${error.code} for ${typeOf(error.id)} (id ${error.id})`).join(', ')}`);
    const lost = errorsSinceKill.find((error) => error.id === lowerId);
    assert.ok(lost && lost.code === 'connection_lost', `lower_hand (id ${lowerId}) was answered connection_lost: ${JSON.stringify(errorsSinceKill)}`);
    assert.ok(lost.at <= again.at, 'connection_lost came before the join\'s ack again');
    assert.ok(errorsSinceKill.every((error) => error.code === 'connection_lost' && error.id !== null),
      `only connection_lost, for requests under way: ${JSON.stringify(errorsSinceKill)}`);
    // The page says so (the request may or may not have been done; its hand, still up, shows
    // it was not), and says nothing else.
    const toastsSinceKill = after.toasts.filter((toast) => toast.at >= killedAt).map((toast) => toast.text);
    t.diagnostic(`toasts Ann saw after the kill: ${JSON.stringify(toastsSinceKill)}`);
    assert.equal(toastsSinceKill.length, 1, `one toast, about the lowered hand: ${JSON.stringify(toastsSinceKill)}`);
    assert.match(toastsSinceKill[0], /^Not sure this was done \(lower your hand\): no answer came before/);

    // B runs the meeting now, and Ann's page is its own (no longer forwarded).
    assert.equal(await liveRooms(b.url), 1, 'the room runs on B now');
    assert.equal(await metric(adminB, 'roundtable_edge_reattaches_total{outcome="here"}'), 1, 'B joined Ann again on itself');
    assert.equal(await metric(adminB, 'roundtable_edge_reattaches_total{outcome="closed"}'), 0, 'B closed nobody to reconnect');

    // The meeting goes on: Ann lowers her hand again, served by B.
    await showView(ann.page, 'people');
    await ann.page.locator('#hand-button').click();
    await waitUntil(ann.page, 'Ann sees her hand down, served by B', () => document.querySelectorAll('#queue-list .queue-item').length === 0);

    // Bob, joining through B now, sees the meeting as Ann does.
    const inviteForBob = new URL(created.invite_url);
    inviteForBob.host = new URL(b.url).host;
    const bob = await join(browser, inviteForBob.href, 'Bob', { viewport: { width: 1000, height: 800 } }, 'Join');
    await showView(bob.page, 'people');
    await waitUntil(bob.page, 'Bob sees the queue empty', () => document.querySelectorAll('#queue-list .queue-item').length === 0);
    const seq = await bob.page.evaluate(() => /** @type {any} */ (window).roundtable.state().seq);
    await waitUntil(ann.page, 'Ann holds the same state as Bob (Bob\'s arrival included)', (bobSeq) =>
      /** @type {any} */ (window).roundtable.state().seq === bobSeq, seq);
    const names = async (/** @type {import('playwright-core').Page} */ page) => page.evaluate(() =>
      /** @type {any[]} */ (/** @type {any} */ (window).roundtable.state().members).map((member) => member.display_name).sort());
    assert.deepEqual(await names(bob.page), ['Ann', 'Bob', 'Fran']);
    assert.deepEqual(await names(ann.page), ['Ann', 'Bob', 'Fran']);
    assert.deepEqual((await watched(ann.page)).sockets.map((entry) => entry.kind), ['made'], 'Ann still has her one socket');
    assert.deepEqual([...fran.errors, ...ann.errors, ...bob.errors], []);
  } finally {
    await browser.close();
    await b?.stop();
    if (aFrozen) process.kill(/** @type {number} */ (a.pid), 'SIGKILL');
    else await a.stop();
    redis.stop();
    for (const dir of dirs) removeDataDir(dir);
  }
});
