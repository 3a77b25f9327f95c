// @ts-check
// The WebSocket to the server: hello, join, requests answered as promises, the heartbeat that
// measures the clock offset and notices a dead link, and reconnecting that resumes from the
// last seen event: at once when the server closes with 1012 (it hands the meeting to another
// server) or 1001 (it goes away), soon when a join finds the room still elsewhere, else with
// backoff.
//
// The connection knows nothing about the room's contents. It asks its owner for the join
// request each time it (re)connects, so the owner can switch from a link's secret to the
// member token once it has one and add the resume point of the events it has applied.

import { ClockOffset } from './clock.js';

/** @typedef {import('./protocol').ServerMessage} ServerMessage */
/** @typedef {import('./protocol').Request} Request */
/** @typedef {import('./protocol').Reply} Reply */
/** @typedef {import('./protocol').Joined} Joined */
/** @typedef {import('./protocol').ErrorCode} ErrorCode */
/** @typedef {import('./protocol').CloseReason} CloseReason */
/** @typedef {import('./protocol').LimitsInfo} LimitsInfo */
/** @typedef {Extract<Request, { type: 'join' }>} JoinRequest */

/** The protocol version this client speaks. */
export const PROTOCOL_VERSION = 1;
/** How often a joined connection pings: for the clock offset and to notice a dead link. */
export const HEARTBEAT_INTERVAL_MS = 3000;
/** A ping unanswered this long means the link is dead, even if the socket has not noticed. */
export const PONG_TIMEOUT_MS = 4000;
/** Pings sent right after connecting, spaced out, to get a good clock offset quickly. */
export const CLOCK_BURST_PINGS = 5;
export const CLOCK_BURST_SPACING_MS = 150;
/** The first reconnect waits about this long; each failure doubles it, up to the maximum. */
export const RECONNECT_BASE_DELAY_MS = 500;
export const RECONNECT_DELAY_MAX_MS = 10000;
/**
 * A join answered `room_elsewhere` (another server still holds the room while it hands it
 * over) is tried again after about this long, up to `ROOM_ELSEWHERE_RETRIES_MAX` times in a
 * row; then the usual backoff.
 */
export const ROOM_ELSEWHERE_RETRY_MS = 200;
export const ROOM_ELSEWHERE_RETRIES_MAX = 10;
/**
 * Close codes after which the page reconnects at once (once; then with backoff): 1012, the
 * server hands its meetings to another one (`draining`), and 1001, the server goes away
 * (`server_shutdown`). Another server, or the same one restarted, resumes the room.
 */
export const RECONNECT_AT_ONCE_CODES = new Set([1001, 1012]);
/** A new socket that has not said hello within this time is given up and retried. */
export const HELLO_TIMEOUT_MS = 10000;
/** Requests waiting for their answer at most; past this the oldest waits fail. */
export const PENDING_REQUESTS_MAX = 100;

/**
 * Error codes of a request that never reached an answer, besides the server's own codes.
 * `offline`: the request was not sent because the connection is not joined.
 * `connection_lost`: the connection dropped before the answer came; it may or may not have
 * taken effect (the events after the resume will say).
 * @typedef {ErrorCode | 'offline' | 'connection_lost'} RequestErrorCode
 */

/** A request that failed, with the server's error code or a local one. */
export class RequestError extends Error {
  /**
   * @param {RequestErrorCode} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Where the connection stands, for the indicator.
 * - `connecting`: opening the socket or joining.
 * - `connected`: joined; requests can be sent.
 * - `waiting`: the link dropped; the next attempt is at `retry_at_ms` (client clock).
 * - `offline`: the browser says it has no network; it tries again when it is back.
 * - `stopped`: it will not reconnect (removed, refused, or closed by the page).
 * @typedef {'connecting' | 'connected' | 'waiting' | 'offline' | 'stopped'} ConnectionPhase
 */

/**
 * @typedef {object} ConnectionStatus
 * @property {ConnectionPhase} phase
 * @property {number} attempt Failed attempts since the last successful join.
 * @property {number | null} retry_at_ms When `waiting`: the client time of the next attempt.
 * @property {CloseReason | null} closing_reason The reason the server gave when it last closed.
 * @property {string | null} closing_message The server's words for that reason.
 */

/**
 * @typedef {object} ConnectionOptions
 * @property {string} url The WebSocket URL (ws://host/ws).
 * @property {() => JoinRequest} joinRequest Called at every (re)connect.
 * @property {(joined: Joined) => void} onJoined The join succeeded; catch-up frames follow.
 * @property {(message: ServerMessage) => void} onRoomMessage Snapshots, events and who is online
 *   (`presence`), in order.
 * @property {(status: ConnectionStatus) => void} onStatus
 * @property {(error: RequestError) => void} onJoinRefused The credential was refused; stopped.
 * @property {(error: RequestError) => void} onServerError An error that answers no request.
 * @property {(reaction: import('./protocol').ReactionFrame) => void} [onReaction] A member's
 *   reaction: ephemeral, no seq, never replayed.
 * @property {ClockOffset} [clock]
 */

/** Reasons after which reconnecting cannot help. */
const FINAL_CLOSE_REASONS = new Set(['removed', 'policy_violation', 'unsupported_version', 'session_revoked', 'group_deleted', 'left']);
/** Join errors that are worth retrying later: the server or room is busy or restarting. */
const RETRYABLE_JOIN_ERRORS = new Set([
  'room_full', 'server_busy', 'storage_unavailable', 'shutting_down', 'internal', 'rate_limited',
  'room_elsewhere',
]);
/** What the banner says while a join waits for a room that another server is handing over. */
export const ROOM_MOVING_MESSAGE = 'the meeting is moving between servers';

export class Connection {
  /** @param {ConnectionOptions} options */
  constructor(options) {
    this.options = options;
    this.clock = options.clock ?? new ClockOffset();
    /** @type {WebSocket | null} */
    this.socket = null;
    this.nextRequestId = 1;
    /** @type {Map<number, { resolve: (reply: Reply) => void, reject: (error: RequestError) => void }>} */
    this.pending = new Map();
    /** @type {Map<number, number>} Ping request id to the client time it was sent. */
    this.pingsInFlight = new Map();
    this.joined = false;
    /** @type {LimitsInfo | null} */
    this.limits = null;
    /** @type {ConnectionStatus} */
    this.status = { phase: 'connecting', attempt: 0, retry_at_ms: null, closing_reason: null, closing_message: null };
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.retryTimer = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.heartbeatTimer = null;
    /** @type {ReturnType<typeof setTimeout>[]} */
    this.burstTimers = [];
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.helloTimer = null;
    this.stopped = false;
    /** Set once a close sent the page back at once; cleared by a successful join. */
    this.reconnectedAtOnce = false;
    /** `room_elsewhere` answers in a row, retried quickly up to a bound. */
    this.elsewhereRetries = 0;
    this.onOnline = () => { if (!this.stopped && !this.socket) this.connectNow(); };
    this.onOffline = () => {
      if (this.stopped) return;
      // The socket may take long to notice; the browser knows now. Waiting starts at once
      // (the `online` event, or the next attempt, ends it).
      const socket = this.socket;
      this.dropSocket();
      socket?.close(4000, 'offline');
      this.scheduleReconnect();
    };
    // Browsers slow down timers in background tabs; coming back to the tab retries at once.
    this.onVisible = () => {
      if (document.visibilityState === 'visible' && !this.stopped && !this.socket) this.connectNow();
    };
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    document.addEventListener('visibilitychange', this.onVisible);
  }

  /** Opens the connection (or reopens it now, skipping a pending wait). */
  connectNow() {
    if (this.stopped) return;
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    if (this.socket) return;
    this.setStatus({ phase: 'connecting', retry_at_ms: null });
    let socket;
    try {
      socket = new WebSocket(this.options.url);
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    // Opening can hang (a half-open network); without a hello in time, try again.
    this.helloTimer = setTimeout(() => {
      if (this.socket !== socket) return;
      this.dropSocket();
      socket.close(4000, 'no hello');
      this.afterDrop();
    }, HELLO_TIMEOUT_MS);
    socket.onmessage = (message) => {
      if (this.socket !== socket) return;
      if (typeof message.data !== 'string') return;
      /** @type {ServerMessage} */
      let parsed;
      try {
        parsed = JSON.parse(message.data);
      } catch {
        return;
      }
      this.onMessage(parsed);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.afterDrop(event.code);
    };
    // An error is always followed by a close event, which does the work.
    socket.onerror = () => {};
  }

  /**
   * Sends a request and waits for its answer.
   * @param {Request} request
   * @returns {Promise<Reply>}
   */
  request(request) {
    if (!this.joined || !this.socket || this.socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new RequestError('offline', 'not connected right now; try again when the connection is back'));
    }
    return this.send(request);
  }

  /** Stops for good: closes the socket cleanly and never reconnects. */
  stop() {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    document.removeEventListener('visibilitychange', this.onVisible);
    const socket = this.socket;
    this.dropSocket();
    socket?.close(1000, 'left');
    this.setStatus({ phase: 'stopped', retry_at_ms: null });
  }

  // --- internals -------------------------------------------------------------------------

  /**
   * @param {Request} request
   * @returns {Promise<Reply>}
   */
  send(request) {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new RequestError('offline', 'not connected right now'));
    }
    const id = this.nextRequestId++;
    const frame = { v: PROTOCOL_VERSION, id, ...request };
    return new Promise((resolve, reject) => {
      if (this.pending.size >= PENDING_REQUESTS_MAX) {
        const oldest = this.pending.keys().next().value;
        if (oldest !== undefined) {
          this.pending.get(oldest)?.reject(new RequestError('connection_lost', 'too many requests waiting for an answer'));
          this.pending.delete(oldest);
        }
      }
      this.pending.set(id, { resolve, reject });
      socket.send(JSON.stringify(frame));
    });
  }

  /** @param {Partial<ConnectionStatus>} change */
  setStatus(change) {
    this.status = { ...this.status, ...change };
    this.options.onStatus(this.status);
  }

  /** @param {ServerMessage} message */
  onMessage(message) {
    switch (message.type) {
      case 'hello':
        if (this.helloTimer !== null) clearTimeout(this.helloTimer);
        this.helloTimer = null;
        this.limits = message.limits;
        this.clock.noteHello(message.server_time_ms);
        this.sendJoin();
        // Pings are allowed before the join is answered, so a link that dies while joining
        // is noticed too.
        this.startClockBurst();
        this.startHeartbeat();
        return;
      case 'ack': {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.result.kind === 'pong') {
          const sentAt = this.pingsInFlight.get(message.id);
          this.pingsInFlight.delete(message.id);
          if (sentAt !== undefined) {
            this.clock.addSample(sentAt, message.result.server_time_ms, this.clock.clientNow());
          }
        }
        if (waiter) waiter.resolve(message.result);
        // The join's ack again, unasked: the meeting's server went away and the server this
        // page is connected to joined it again where the meeting runs now (the events this
        // page missed follow, or a snapshot, as `catch_up` says).
        else if (message.result.kind === 'joined' && this.joined) this.options.onJoined(message.result);
        return;
      }
      case 'error': {
        const error = new RequestError(message.code, message.message);
        if (message.id === undefined || message.id === null) {
          this.options.onServerError(error);
          return;
        }
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        this.pingsInFlight.delete(message.id);
        if (waiter) waiter.reject(error);
        else this.options.onServerError(error);
        return;
      }
      case 'closing':
        this.setStatus({ closing_reason: message.reason, closing_message: message.message });
        return;
      case 'snapshot':
      case 'event':
      case 'presence':
        this.options.onRoomMessage(message);
        return;
      case 'reaction': {
        const { type: _type, ...reaction } = message;
        this.options.onReaction?.(reaction);
        return;
      }
    }
  }

  sendJoin() {
    const request = this.options.joinRequest();
    this.send(request).then(
      (reply) => {
        if (reply.kind !== 'joined') return;
        this.joined = true;
        this.reconnectedAtOnce = false;
        this.elsewhereRetries = 0;
        this.setStatus({ phase: 'connected', attempt: 0, retry_at_ms: null, closing_reason: null, closing_message: null });
        this.options.onJoined(reply);
      },
      (/** @type {RequestError} */ error) => {
        if (error.code === 'offline' || error.code === 'connection_lost') return;
        if (RETRYABLE_JOIN_ERRORS.has(error.code)) {
          const socket = this.socket;
          this.dropSocket();
          socket?.close(1000, 'retrying');
          // `room_elsewhere`: another server still holds the room (it is being handed over);
          // retrying with backoff finds it here once the handover is done.
          this.setStatus({ closing_message: error.code === 'room_elsewhere' ? ROOM_MOVING_MESSAGE : error.message });
          if (error.code === 'room_elsewhere' && this.elsewhereRetries < ROOM_ELSEWHERE_RETRIES_MAX) {
            // The handover takes a moment: try again soon rather than after a growing wait.
            this.elsewhereRetries++;
            this.scheduleReconnect(ROOM_ELSEWHERE_RETRY_MS / 2 + Math.random() * ROOM_ELSEWHERE_RETRY_MS);
            return;
          }
          this.scheduleReconnect();
          return;
        }
        this.stop();
        this.options.onJoinRefused(error);
      },
    );
  }

  /** Several pings in a row, so the first clock offset comes from the best of a few. */
  startClockBurst() {
    for (let index = 0; index < CLOCK_BURST_PINGS; index++) {
      this.burstTimers.push(setTimeout(() => this.ping(), index * CLOCK_BURST_SPACING_MS));
    }
  }

  startHeartbeat() {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      const now = this.clock.clientNow();
      for (const sentAt of this.pingsInFlight.values()) {
        if (now - sentAt > PONG_TIMEOUT_MS) {
          // The link is dead even though the socket has not said so (a laptop lid, a
          // tunnel, a Wi-Fi that stopped forwarding). Drop it and resume on a new one.
          const socket = this.socket;
          this.dropSocket();
          socket?.close(4000, 'no answer to ping');
          this.afterDrop();
          return;
        }
      }
      this.ping();
    }, HEARTBEAT_INTERVAL_MS);
  }

  ping() {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    const sentAt = this.clock.clientNow();
    // `send` takes the next request id; remember when this one left to time its answer.
    this.pingsInFlight.set(this.nextRequestId, sentAt);
    this.send({ type: 'ping', client_time_ms: Math.round(sentAt) }).catch(() => {});
  }

  /** Forgets the socket and everything that belonged to it. */
  dropSocket() {
    const socket = this.socket;
    this.socket = null;
    this.joined = false;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
    }
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    for (const timer of this.burstTimers) clearTimeout(timer);
    this.burstTimers = [];
    this.pingsInFlight.clear();
    for (const waiter of this.pending.values()) {
      waiter.reject(new RequestError('connection_lost', 'the connection dropped before the server answered'));
    }
    this.pending.clear();
  }

  /**
   * The socket is gone: stop, or reconnect at once (a server that hands its meetings over or
   * goes away said so), or wait and try again.
   * @param {number} [closeCode] The WebSocket close code, when the socket closed.
   */
  afterDrop(closeCode) {
    this.dropSocket();
    if (this.stopped) return;
    const reason = this.status.closing_reason;
    if (reason !== null && FINAL_CLOSE_REASONS.has(reason)) {
      this.stopped = true;
      this.setStatus({ phase: 'stopped', retry_at_ms: null });
      return;
    }
    if (closeCode !== undefined && RECONNECT_AT_ONCE_CODES.has(closeCode) && !this.reconnectedAtOnce) {
      // Once: should this attempt fail too (the server is not back yet), the backoff follows.
      this.reconnectedAtOnce = true;
      this.connectNow();
      return;
    }
    this.scheduleReconnect();
  }

  /** @param {number} [delayMs] Wait this long instead of the backoff's next delay. */
  scheduleReconnect(delayMs) {
    if (this.stopped) return;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    const attempt = this.status.attempt;
    const ceiling = Math.min(RECONNECT_DELAY_MAX_MS, RECONNECT_BASE_DELAY_MS * 2 ** attempt);
    // Jitter, so a room full of browsers does not come back in one wave after a restart.
    const delay = delayMs ?? ceiling / 2 + Math.random() * (ceiling / 2);
    const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
    this.setStatus({
      phase: offline ? 'offline' : 'waiting',
      attempt: attempt + 1,
      retry_at_ms: offline ? null : this.clock.clientNow() + delay,
    });
    // Even when the browser says it is offline, try now and then: the flag can be wrong.
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connectNow();
    }, offline ? RECONNECT_DELAY_MAX_MS : delay);
  }
}
