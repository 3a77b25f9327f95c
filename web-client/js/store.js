// @ts-check
// The client's copy of the room: the last snapshot with every later event applied, in order.
//
// The server is the authority; this copy only ever changes by a snapshot or an event from it,
// never by a guess of what a request will do. Each event is applied at most once (an event
// whose seq is not above the last applied one is a duplicate of something already included).
//
// The room's state is pure data changed by pure functions (`roomFromSnapshot`, `reduceRoom`),
// tested in Node: each feature (js/features/<name>/state.js) reads its part of the snapshot and
// handles its own event kinds, keeping its state under `state.features[id]`. An event gives a
// new state object (the parts it did not touch are shared), so views compare objects instead
// of keeping change counters.

/** @typedef {import('./protocol').Snapshot} Snapshot */
/** @typedef {import('./protocol').EventFrame} EventFrame */
/** @typedef {import('./protocol').PresenceFrame} PresenceFrame */
/** @typedef {import('./protocol').Event} RoomEvent */
/** @typedef {import('./protocol').MemberInfo} MemberInfo */
/** @typedef {import('./protocol').MemberId} MemberId */
/** @typedef {import('./protocol').Role} Role */
/** @typedef {import('./protocol').GroupInfo} GroupInfo */
/** @typedef {import('./protocol').MeetingInfo} MeetingInfo */
/** @typedef {import('./protocol').Joined} Joined */

/**
 * @typedef {object} RoomState
 * @property {number} seq The last applied event's seq.
 * @property {GroupInfo} group
 * @property {MeetingInfo} meeting
 * @property {MemberInfo[]} members In the order they joined.
 * @property {MemberId[]} hands The speaker queue, first raised first.
 * @property {Record<string, unknown>} features Each registered feature's own state.
 */

/**
 * What changed, for listeners.
 * @typedef {{ kind: 'snapshot' } | { kind: 'event', frame: EventFrame } | { kind: 'presence', frame: PresenceFrame } | { kind: 'joined' } | { kind: 'local' }} StoreChange
 */

/**
 * A feature's part of the room: how it reads the snapshot, and how each event kind changes it.
 * Handlers work on a copy (`structuredClone`) of the feature's state, so the state a view drew
 * is never changed under it: a new object means something changed.
 * @template [T=any]
 * @typedef {object} Feature
 * @property {string} id
 * @property {(snapshot: Snapshot) => T} fromSnapshot This feature's state.
 * @property {Record<string, (own: T, event: any, frame: EventFrame, room: RoomState) => void>} events
 *   Handlers by event kind, each changing the copy it is given; `room` is the room after the
 *   core's part of the event (its members, in the order they joined), to read, not to change.
 */

/**
 * The event kinds the core store handles itself; every other kind belongs to a feature module.
 * @typedef {'member_added' | 'presence_changed' | 'group_renamed' | 'time_zone_set' | 'call_link_set' | 'member_removed' | 'role_changed' | 'hand_raised' | 'hand_lowered' | 'link_rotated' | 'member_erased' | 'schedule_set' | 'meeting_started'} CoreKind
 */

/** @type {{ [K in CoreKind]: (state: RoomState, event: Extract<RoomEvent, { kind: K }>) => void }} */
const CORE_EVENTS = {
  member_added(state, event) {
    if (!state.members.some((member) => member.member_id === event.member.member_id)) {
      state.members.push({ ...event.member });
    }
  },
  // Obsolete: only in the replay of a log written before presence became a `presence` frame,
  // which the catch-up ends with (it says who is online now).
  presence_changed(state, event) {
    const member = state.members.find((candidate) => candidate.member_id === event.member_id);
    if (member) member.online = event.online;
  },
  group_renamed(state, event) {
    state.group.name = event.name;
  },
  time_zone_set(state, event) {
    state.group.time_zone = event.time_zone;
  },
  call_link_set(state, event) {
    if (event.url) state.group.call_url = event.url;
    else delete state.group.call_url;
  },
  member_removed(state, event) {
    state.members = state.members.filter((member) => member.member_id !== event.member_id);
    state.hands = state.hands.filter((id) => id !== event.member_id);
  },
  role_changed(state, event) {
    const member = state.members.find((candidate) => candidate.member_id === event.member_id);
    if (member) member.role = event.role;
  },
  hand_raised(state, event) {
    if (!state.hands.includes(event.member_id)) state.hands.push(event.member_id);
  },
  hand_lowered(state, event) {
    state.hands = state.hands.filter((id) => id !== event.member_id);
  },
  link_rotated(state, event) {
    state.group.links = { invite: 0, facilitator: 0, ...state.group.links, [event.link]: event.version };
  },
  // A member left and erased their data: the server sends a snapshot of the room right
  // after, which carries what their choices changed; until then they are simply gone.
  member_erased(state, event) {
    state.members = state.members.filter((member) => member.member_id !== event.member_id);
    state.hands = state.hands.filter((id) => id !== event.member_id);
  },
  schedule_set(state, event) {
    if (event.schedule) state.group.schedule = event.schedule;
    else delete state.group.schedule;
  },
  // A facilitator started the upcoming meeting: it is live from now.
  meeting_started(state, event) {
    state.meeting = { ...state.meeting, phase: 'live', started_at_ms: event.started_at_ms };
  },
};

/**
 * The room from a snapshot: the core (group, meeting, members, hands) and each feature's part.
 * @param {Snapshot} snapshot
 * @param {Feature[]} features
 * @returns {RoomState}
 */
export function roomFromSnapshot(snapshot, features) {
  /** @type {RoomState} */
  const state = {
    seq: snapshot.seq,
    group: { ...snapshot.group, ...(snapshot.group.links ? { links: { ...snapshot.group.links } } : {}) },
    meeting: { ...snapshot.meeting },
    members: snapshot.members.map((member) => ({ ...member })),
    hands: [...snapshot.hands],
    features: {},
  };
  for (const feature of features) state.features[feature.id] = feature.fromSnapshot(snapshot);
  return state;
}

/**
 * The room after one event: a new state, sharing every part the event did not change (so a
 * view compares objects to know what to draw again). `state` itself is never changed.
 * @param {RoomState} state
 * @param {EventFrame} frame
 * @param {Feature[]} features
 * @returns {RoomState}
 */
export function reduceRoom(state, frame, features) {
  const event = frame.event;
  /** @type {RoomState} */
  let next = { ...state, seq: frame.seq };
  const core = /** @type {((state: RoomState, event: RoomEvent) => void) | undefined} */ (
    /** @type {Record<string, unknown>} */ (CORE_EVENTS)[event.kind]
  );
  if (core) {
    next = { ...next, group: { ...state.group }, members: state.members.map((member) => ({ ...member })), hands: [...state.hands] };
    core(next, event);
  }
  for (const feature of features) {
    const handler = feature.events[event.kind];
    if (!handler) continue;
    const own = structuredClone(state.features[feature.id]);
    handler(own, event, frame, next);
    next.features = { ...next.features, [feature.id]: own };
  }
  return next;
}

/**
 * The room with who is online now (a `presence` frame: not an event, no seq): each member is
 * online exactly when listed. The same state when nothing changed, so views need not redraw.
 * @param {RoomState} state
 * @param {MemberId[]} online
 * @returns {RoomState}
 */
export function roomWithPresence(state, online) {
  const here = new Set(online);
  if (state.members.every((member) => member.online === here.has(member.member_id))) return state;
  return {
    ...state,
    members: state.members.map((member) => (member.online === here.has(member.member_id) ? member : { ...member, online: here.has(member.member_id) })),
  };
}

export class RoomStore {
  /** @param {Feature[]} [features] The features whose state the store keeps. */
  constructor(features = []) {
    this.features = features;
    /** @type {RoomState | null} */
    this.state = null;
    /** @type {MemberId | null} Who this browser is, once joined. */
    this.myMemberId = null;
    /**
     * The log epoch of the history `state` was built from: its seqs mean something only in that
     * epoch, so it goes with them in the resume point.
     * @type {string | null}
     */
    this.logEpoch = null;
    /** @type {string | null} The epoch of a join whose snapshot has not arrived yet. */
    this.pendingLogEpoch = null;
    /** @type {Set<(change: StoreChange) => void>} */
    this.listeners = new Set();
  }

  /**
   * @param {(change: StoreChange) => void} listener
   * @returns {() => void} Unsubscribes.
   */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @param {StoreChange} change */
  notify(change) {
    for (const listener of this.listeners) listener(change);
  }

  /**
   * Where to resume from: the meeting, last seq and log epoch of the state this page holds, or
   * nothing (then the server sends a snapshot). A server in another log epoch answers with a
   * snapshot too.
   * @returns {import('./protocol').ResumePoint | null}
   */
  resumePoint() {
    if (!this.state) return null;
    /** @type {import('./protocol').ResumePoint} */
    const point = { meeting_id: this.state.meeting.meeting_id, seq: this.state.seq };
    if (this.logEpoch) point.log_epoch = this.logEpoch;
    return point;
  }

  /** @param {Joined} joined */
  setJoined(joined) {
    this.myMemberId = joined.member_id;
    // A replay continues the state this page holds, in the same epoch (the server replays only
    // then); a snapshot replaces it, and only then is the state of the new epoch.
    if (joined.catch_up === 'replay') {
      this.logEpoch = joined.log_epoch;
      this.pendingLogEpoch = null;
    } else {
      this.pendingLogEpoch = joined.log_epoch;
    }
    // A new meeting started while away: the server sends a snapshot, and until it arrives
    // the old meeting's state must not receive this meeting's events.
    if (this.state && this.state.meeting.meeting_id !== joined.meeting_id) this.state = null;
    this.notify({ kind: 'joined' });
  }

  /** @param {Snapshot} snapshot */
  applySnapshot(snapshot) {
    this.state = roomFromSnapshot(snapshot, this.features);
    if (this.pendingLogEpoch) {
      this.logEpoch = this.pendingLogEpoch;
      this.pendingLogEpoch = null;
    }
    this.notify({ kind: 'snapshot' });
  }

  /**
   * Applies one event, unless it is already included.
   * @param {EventFrame} frame
   * @returns {boolean} Whether it was applied.
   */
  applyEvent(frame) {
    const state = this.state;
    if (!state || frame.seq <= state.seq) return false;
    this.state = reduceRoom(state, frame, this.features);
    this.notify({ kind: 'event', frame });
    return true;
  }

  /**
   * Applies who is online now. Before the first snapshot (or after a new meeting started, until
   * its snapshot) there is nothing to apply it to: the snapshot says who is online.
   * @param {PresenceFrame} frame
   * @returns {boolean} Whether it changed anything.
   */
  applyPresence(frame) {
    const state = this.state;
    if (!state) return false;
    const next = roomWithPresence(state, frame.online);
    if (next === state) return false;
    this.state = next;
    this.notify({ kind: 'presence', frame });
    return true;
  }

  /**
   * Changes one feature's state after an acknowledgement that says something only this page
   * needs to know (role play: "you have submitted"). `change` gets a copy.
   * @template T
   * @param {string} id
   * @param {(own: T) => boolean} change Returns whether it changed anything.
   */
  updateFeature(id, change) {
    const state = this.state;
    if (!state) return;
    const own = structuredClone(/** @type {T} */ (state.features[id]));
    if (!change(own)) return;
    this.state = { ...state, features: { ...state.features, [id]: own } };
    this.notify({ kind: 'local' });
  }

  /** @returns {MemberInfo | null} This browser's member, as the room sees it now. */
  me() {
    if (!this.state || !this.myMemberId) return null;
    return this.state.members.find((member) => member.member_id === this.myMemberId) ?? null;
  }

  /**
   * @param {MemberId} memberId
   * @returns {MemberInfo | null}
   */
  member(memberId) {
    return this.state?.members.find((member) => member.member_id === memberId) ?? null;
  }

  /** @returns {boolean} */
  iAmFacilitator() {
    return this.me()?.role === 'facilitator';
  }
}
