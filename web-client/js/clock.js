// @ts-check
// The clock offset between this browser and the server.
//
// The server is the authority over time: a timer's remaining time is computed from the
// server's timer state and the server's "now". Browsers' clocks are often off by seconds or
// minutes, so the client measures the offset (server minus client) with pings: a ping sent at
// client time t0, answered with server time s and received at t1, says the server's clock read
// s at some moment between t0 and t1. Assuming the midpoint, offset = s - (t0 + t1) / 2, and
// the error is at most half the round trip. So among the last few samples the one with the
// smallest round trip is the most trustworthy, and that is the one kept. Keeping only the
// last few lets the estimate follow a clock that is adjusted while the page is open.

/** How many recent ping samples are considered. */
export const CLOCK_SAMPLES_MAX = 8;

/**
 * @typedef {object} ClockSample
 * @property {number} offset_ms Server time minus client time, in milliseconds.
 * @property {number} round_trip_ms The round trip of the ping that measured it.
 */

export class ClockOffset {
  /** @param {() => number} clientNow The client's clock, in Unix milliseconds. */
  constructor(clientNow = () => Date.now()) {
    this.clientNow = clientNow;
    /** @type {ClockSample[]} */
    this.samples = [];
    /** A rough offset from the server's hello, used until the first pong arrives. */
    this.roughOffsetMs = 0;
  }

  /**
   * Records the server time from `hello`, at the start of every connection. Its round trip is
   * unknown, so it only serves until a ping has been answered. The samples of an earlier
   * connection are dropped: after a reconnect the server may be another process, on another
   * machine with its own clock.
   * @param {number} serverTimeMs
   */
  noteHello(serverTimeMs) {
    this.roughOffsetMs = serverTimeMs - this.clientNow();
    this.samples = [];
  }

  /**
   * Records one answered ping.
   * @param {number} sentAtMs Client time when the ping was sent (t0).
   * @param {number} serverTimeMs Server time in the answer (s).
   * @param {number} receivedAtMs Client time when the answer arrived (t1).
   */
  addSample(sentAtMs, serverTimeMs, receivedAtMs) {
    const round_trip_ms = receivedAtMs - sentAtMs;
    // A negative round trip means the client clock jumped backwards mid-ping: not a sample.
    if (!(round_trip_ms >= 0)) return;
    const offset_ms = serverTimeMs - (sentAtMs + receivedAtMs) / 2;
    this.samples.push({ offset_ms, round_trip_ms });
    if (this.samples.length > CLOCK_SAMPLES_MAX) this.samples.shift();
  }

  /** @returns {ClockSample | null} The kept sample: the smallest round trip of the recent ones. */
  best() {
    /** @type {ClockSample | null} */
    let best = null;
    for (const sample of this.samples) {
      if (best === null || sample.round_trip_ms < best.round_trip_ms) best = sample;
    }
    return best;
  }

  /** @returns {number} Server time minus client time, in milliseconds. */
  offsetMs() {
    const best = this.best();
    return best === null ? this.roughOffsetMs : best.offset_ms;
  }

  /** @returns {number} The server's clock now, as estimated from this client's clock. */
  serverNow() {
    return this.clientNow() + this.offsetMs();
  }
}
