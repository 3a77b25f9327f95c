// @ts-check
// The client's copy of the room: the last snapshot with every later event applied, in order.
//
// The server is the authority; this copy only ever changes by a snapshot or an event from it,
// never by a guess of what a request will do. Each event is applied at most once (an event
// whose seq is not above the last applied one is a duplicate of something already included).
//
// Features that arrive later (agenda and timer, role play, commitments, benchmarks) extend the
// store with `registerFeature`: they read their part of each snapshot and handle their own
// event kinds, keeping their state under `state.features[id]`.

/** @typedef {import('./protocol').Snapshot} Snapshot */
/** @typedef {import('./protocol').EventFrame} EventFrame */
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
 * @typedef {{ kind: 'snapshot' } | { kind: 'event', frame: EventFrame } | { kind: 'joined' }} StoreChange
 */

/**
 * @typedef {object} Feature
 * @property {string} id
 * @property {(snapshot: Snapshot, state: RoomState) => unknown} fromSnapshot This feature's state.
 * @property {Record<string, (state: RoomState, event: any, frame: EventFrame) => void>} events
 *   Handlers by event kind.
 */

/** @type {Feature[]} */
const features = [];

/**
 * Adds a feature's snapshot reader and event handlers.
 * @param {Feature} feature
 */
export function registerFeature(feature) {
  features.push(feature);
}

/**
 * The event kinds the core store handles itself; every other kind belongs to a feature module.
 * @typedef {'member_added' | 'presence_changed' | 'group_renamed' | 'member_removed' | 'role_changed' | 'hand_raised' | 'hand_lowered'} CoreKind
 */

/** @type {{ [K in CoreKind]: (state: RoomState, event: Extract<RoomEvent, { kind: K }>) => void }} */
const CORE_EVENTS = {
  member_added(state, event) {
    if (!state.members.some((member) => member.member_id === event.member.member_id)) {
      state.members.push({ ...event.member });
    }
  },
  presence_changed(state, event) {
    const member = state.members.find((candidate) => candidate.member_id === event.member_id);
    if (member) member.online = event.online;
  },
  group_renamed(state, event) {
    state.group.name = event.name;
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
};

export class RoomStore {
  constructor() {
    /** @type {RoomState | null} */
    this.state = null;
    /** @type {MemberId | null} Who this browser is, once joined. */
    this.myMemberId = null;
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
   * Where to resume from: the meeting and last seq of the state this page holds, or nothing
   * (then the server sends a snapshot).
   * @returns {import('./protocol').ResumePoint | null}
   */
  resumePoint() {
    if (!this.state) return null;
    return { meeting_id: this.state.meeting.meeting_id, seq: this.state.seq };
  }

  /** @param {Joined} joined */
  setJoined(joined) {
    this.myMemberId = joined.member_id;
    // A new meeting started while away: the server sends a snapshot, and until it arrives
    // the old meeting's state must not receive this meeting's events.
    if (this.state && this.state.meeting.meeting_id !== joined.meeting_id) this.state = null;
    this.notify({ kind: 'joined' });
  }

  /** @param {Snapshot} snapshot */
  applySnapshot(snapshot) {
    /** @type {RoomState} */
    const state = {
      seq: snapshot.seq,
      group: { ...snapshot.group },
      meeting: { ...snapshot.meeting },
      members: snapshot.members.map((member) => ({ ...member })),
      hands: [...snapshot.hands],
      features: {},
    };
    for (const feature of features) state.features[feature.id] = feature.fromSnapshot(snapshot, state);
    this.state = state;
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
    const event = frame.event;
    const core = /** @type {((state: RoomState, event: RoomEvent) => void) | undefined} */ (
      /** @type {Record<string, unknown>} */ (CORE_EVENTS)[event.kind]
    );
    core?.(state, event);
    for (const feature of features) feature.events[event.kind]?.(state, event, frame);
    state.seq = frame.seq;
    this.notify({ kind: 'event', frame });
    return true;
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
