// @ts-check
// How the schedule and the next meeting are written: "Next meeting: Tue 12 Jan, 09:00 (your
// time) / 09:00 Europe/Berlin", and the cadence in words ("Every other Tuesday at 09:00"). Pure
// (tested in Node with fixed zones and a fixed locale), so the lobby can show the same line.

import { formatDateTime } from '../../format.js';

/** @typedef {import('../../protocol').Schedule} Schedule */
/** @typedef {import('../../protocol').NextMeeting} NextMeeting */
/** @typedef {import('../../protocol').Weekday} Weekday */

/** The weekdays in the protocol's words, Monday first, with how people write them. */
export const WEEKDAYS = /** @type {const} */ ([
  ['monday', 'Monday'],
  ['tuesday', 'Tuesday'],
  ['wednesday', 'Wednesday'],
  ['thursday', 'Thursday'],
  ['friday', 'Friday'],
  ['saturday', 'Saturday'],
  ['sunday', 'Sunday'],
]);

/** @param {Weekday} weekday */
function dayName(weekday) {
  return WEEKDAYS.find(([key]) => key === weekday)?.[1] ?? weekday;
}

/** @param {number} week */
function ordinal(week) {
  return week === -1 ? 'last' : ({ 1: '1st', 2: '2nd', 3: '3rd', 4: '4th' })[week] ?? `${week}th`;
}

/**
 * The schedule in words: "Every Tuesday at 09:00 (Europe/Berlin), 90 minutes".
 * @param {Schedule} schedule
 */
export function describeSchedule(schedule) {
  const cadence = schedule.cadence;
  let when;
  switch (cadence.every) {
    case 'week': when = `Every ${dayName(cadence.weekday)}`; break;
    case 'two_weeks': when = `Every other ${dayName(cadence.weekday)}`; break;
    case 'month_weekday': when = `The ${ordinal(cadence.week)} ${dayName(cadence.weekday)} of each month`; break;
    case 'month_day': when = `Day ${cadence.day} of each month`; break;
  }
  return `${when} at ${schedule.start_time} (${schedule.time_zone.replaceAll('_', ' ')}), ${schedule.duration_minutes} minutes`;
}

/**
 * The next meeting for a viewer in `viewerZone`: in their time, and in the group's when it
 * differs ("Tue 12 Jan, 09:00 (your time) / 09:00 Europe/Berlin"; the group's day too when it
 * is another day there).
 * @param {NextMeeting} next
 * @param {string} viewerZone
 * @param {string} [locale]
 */
export function nextMeetingText(next, viewerZone, locale) {
  const group = formatDateTime(next.starts_at_ms, locale, next.time_zone);
  const zoneName = next.time_zone.replaceAll('_', ' ');
  const moved = next.moved ? ' (moved)' : '';
  const yours = formatDateTime(next.starts_at_ms, locale, viewerZone);
  if (yours === group) return `Next meeting: ${group} ${zoneName}${moved}`;
  const sameDay = yours.split(',')[0] === group.split(',')[0];
  const groupPart = sameDay ? group.split(', ')[1] : group;
  return `Next meeting: ${yours} (your time) / ${groupPart} ${zoneName}${moved}`;
}

/** The browser's own time zone (UTC when it does not say). */
export function viewerTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
