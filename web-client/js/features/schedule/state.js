// @ts-check
// The members' calendar feeds as the room knows them: who has one on (never a secret). The
// schedule itself is part of the group (store.js, `schedule_set`).

/** @typedef {import('../../protocol').MemberId} MemberId */

/**
 * @typedef {object} ScheduleState
 * @property {MemberId[]} feeds Members with a calendar feed on, in the server's order (by id).
 */

/** @type {import('../../store.js').Feature<ScheduleState>} */
export const scheduleFeature = {
  id: 'schedule',
  fromSnapshot(snapshot) {
    return { feeds: [...(snapshot.calendar_feeds ?? [])] };
  },
  events: {
    calendar_feed_changed(own, event) {
      const others = own.feeds.filter((id) => id !== event.member_id);
      own.feeds = event.active ? [...others, event.member_id].sort() : others;
    },
    member_removed(own, event) {
      own.feeds = own.feeds.filter((id) => id !== event.member_id);
    },
    member_erased(own, event) {
      own.feeds = own.feeds.filter((id) => id !== event.member_id);
    },
  },
};
