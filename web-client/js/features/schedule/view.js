// @ts-check
// The schedule, under the agenda: when the next meeting is (for everyone, in their own time and
// the group's; asked of the server, which computes it in the group's zone), "Download .ics"
// (the next meeting alone, fetched with this browser's member token in a header), "Subscribe to
// calendar" (the member's own feed URL, shown once on the page that asked for it, with a way to
// make it anew or turn it off), and for facilitators the schedule's form, moving one meeting and
// moving it back.
//
// `nextMeetingLine` is its own part so that other views (the lobby) can show the same line.

import { h, copyField, toast, announce, confirmDialog } from '../../ui.js';
import { listen } from '../../render.js';
import { loadGroupMemory } from '../../memory.js';
import { formatDay } from '../../format.js';
import { WEEKDAYS, describeSchedule, nextMeetingText, viewerTimeZone } from './format.js';

/** @typedef {import('../../protocol').NextMeeting} NextMeeting */
/** @typedef {import('../../protocol').Schedule} Schedule */
/** @typedef {import('../../protocol').ScheduleDraft} ScheduleDraft */
/** @typedef {import('../../protocol').Cadence} Cadence */
/** @typedef {import('../index.js').PanelContext} PanelContext */

/** The feed URL this page was given, by group: shown until the page is left, never stored. */
const feedsMadeHere = /** @type {Map<string, string>} */ (new Map());

/** Longest wait for the shown meeting to begin before asking again (timers cap near 24 days). */
const REFRESH_MAX_MS = 24 * 60 * 60 * 1000;

/**
 * The line that says when the next meeting is, kept up to date by `update`: ask the server
 * (`get_next_meeting`) when the schedule, the zone or the meeting changes, when the connection
 * comes back, and when the shown meeting begins.
 * @param {PanelContext} context
 * @param {string} id The element's id.
 */
export function nextMeetingLine(context, id) {
  const element = h('p', { class: 'next-meeting', id, role: 'status' }, 'No meeting is scheduled yet.');
  /** @type {NextMeeting | null} */
  let next = null;
  /** What the last answer was for: asking again when any of it changes. */
  let askedFor = '';
  let asking = false;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let refresh = null;

  const draw = () => {
    element.textContent = next ? nextMeetingText(next, viewerTimeZone()) : 'No meeting is scheduled yet.';
  };
  const ask = async () => {
    if (asking) return;
    asking = true;
    try {
      const reply = await context.connection.request({ type: 'get_next_meeting' });
      if (reply.kind === 'next_meeting') next = reply.next_meeting ?? null;
    } catch {
      // Not connected or refused: ask again at the next change.
      askedFor = '';
    } finally {
      asking = false;
    }
    draw();
    if (refresh) clearTimeout(refresh);
    refresh = null;
    if (next) {
      const wait = Math.min(Math.max(next.starts_at_ms - Date.now(), 1_000), REFRESH_MAX_MS);
      refresh = setTimeout(() => { askedFor = ''; update(); }, wait);
    }
  };
  const update = () => {
    const state = context.store.state;
    if (!state || !context.isConnected()) return;
    const key = JSON.stringify([state.group.schedule ?? null, state.group.time_zone ?? null, state.meeting.meeting_id, state.meeting.phase]);
    if (key === askedFor) return;
    askedFor = key;
    void ask();
  };
  return { element, update, current: () => next };
}

/**
 * The request for the schedule form's values.
 * @param {FormData} form
 * @returns {ScheduleDraft}
 */
export function scheduleDraft(form) {
  const text = (/** @type {string} */ name) => String(form.get(name) ?? '').trim();
  const weekday = /** @type {import('../../protocol').Weekday} */ (text('weekday'));
  /** @type {Cadence} */
  let cadence;
  switch (text('every')) {
    case 'two_weeks': cadence = { every: 'two_weeks', weekday }; break;
    case 'month_weekday': cadence = { every: 'month_weekday', week: Number(text('week')), weekday }; break;
    case 'month_day': cadence = { every: 'month_day', day: Number(text('day')) }; break;
    default: cadence = { every: 'week', weekday };
  }
  return {
    cadence,
    starts_on: text('starts_on'),
    start_time: text('start_time'),
    duration_minutes: Number(text('duration_minutes')),
    time_zone: text('time_zone'),
  };
}

/**
 * @param {string} label
 * @param {HTMLElement} control
 * @param {string} [wrapperId]
 */
function field(label, control, wrapperId) {
  return h('div', { class: 'schedule-field', id: wrapperId },
    h('label', { for: control.id }, label), control);
}

/** @type {import('../index.js').Panel} */
export const schedulePanel = {
  id: 'schedule',
  view: 'agenda',
  mount(context) {
    const { store, groupId } = context;
    const line = nextMeetingLine(context, 'next-meeting');
    const summary = h('p', { class: 'hint', id: 'schedule-summary' });

    // --- everyone: the next meeting's file and the calendar feed ------------------------------
    const downloadButton = h('button', { type: 'button', class: 'button secondary', id: 'download-ics' }, 'Download .ics');
    const subscribeButton = h('button', { type: 'button', class: 'button secondary', id: 'subscribe-calendar' }, 'Subscribe to calendar');
    const feedArea = h('div', { class: 'calendar-feed', id: 'calendar-feed' });
    const renewButton = h('button', { type: 'button', class: 'button secondary small', id: 'renew-calendar-feed' }, 'Make a new feed link');
    const offButton = h('button', { type: 'button', class: 'button secondary small', id: 'revoke-calendar-feed' }, 'Turn off my feed');
    const feedActions = h('div', { class: 'actions', id: 'calendar-feed-actions', hidden: true }, renewButton, offButton);

    // --- facilitators: the schedule, moving one meeting ---------------------------------------
    const every = h('select', { id: 'schedule-every', name: 'every' },
      h('option', { value: 'week' }, 'Every week'),
      h('option', { value: 'two_weeks' }, 'Every two weeks'),
      h('option', { value: 'month_weekday' }, 'Monthly, on a weekday (the 2nd Tuesday)'),
      h('option', { value: 'month_day' }, 'Monthly, on a day of the month (the 15th)'));
    const weekday = h('select', { id: 'schedule-weekday', name: 'weekday' },
      ...WEEKDAYS.map(([key, name]) => h('option', { value: key }, name)));
    const week = h('select', { id: 'schedule-week', name: 'week' },
      h('option', { value: '1' }, '1st'), h('option', { value: '2' }, '2nd'), h('option', { value: '3' }, '3rd'),
      h('option', { value: '4' }, '4th'), h('option', { value: '-1' }, 'Last'));
    const day = h('input', { type: 'number', id: 'schedule-day', name: 'day', min: 1, max: 28, value: 1, inputmode: 'numeric' });
    const startsOn = h('input', { type: 'date', id: 'schedule-starts-on', name: 'starts_on', required: true });
    const startTime = h('input', { type: 'time', id: 'schedule-start-time', name: 'start_time', required: true, value: '09:00' });
    const duration = h('input', { type: 'number', id: 'schedule-duration', name: 'duration_minutes', min: 15, max: 480, step: 5, value: 90, inputmode: 'numeric' });
    const zone = h('select', { id: 'schedule-time-zone', name: 'time_zone' });
    const weekdayField = field('Day of the week', weekday, 'schedule-weekday-field');
    const weekField = field('Which one in the month', week, 'schedule-week-field');
    const dayField = field('Day of the month (1 to 28)', day, 'schedule-day-field');
    const saveSchedule = h('button', { type: 'submit', class: 'button primary small', id: 'schedule-save' }, 'Save schedule');
    const removeSchedule = h('button', { type: 'button', class: 'button secondary small', id: 'schedule-remove' }, 'Delete schedule');
    const scheduleForm = h('form', { class: 'schedule-form', id: 'schedule-form', 'aria-labelledby': 'schedule-form-title' },
      h('h3', { id: 'schedule-form-title' }, 'When the group meets'),
      field('Repeats', every), weekdayField, weekField, dayField,
      field('First meeting on or after', startsOn), field('Start time (the group\'s time zone)', startTime),
      field('Planned length (minutes)', duration), field('Time zone of the schedule', zone),
      h('div', { class: 'actions' }, saveSchedule, removeSchedule));
    const moveOccurrence = h('input', { type: 'date', id: 'move-occurrence', name: 'occurrence', required: true });
    const moveTo = h('input', { type: 'datetime-local', id: 'move-to', name: 'to', required: true, step: 60 });
    const moveButton = h('button', { type: 'submit', class: 'button secondary small', id: 'move-meeting' }, 'Move meeting');
    const moveForm = h('form', { class: 'schedule-form', id: 'move-form', 'aria-labelledby': 'move-form-title' },
      h('h3', { id: 'move-form-title' }, 'Move one meeting'),
      field('The meeting of (its usual date)', moveOccurrence), field('New date and time (the group\'s time zone)', moveTo),
      h('div', { class: 'actions' }, moveButton));
    const movesList = h('ul', { class: 'moves-list', id: 'moves-list', 'aria-label': 'Moved meetings' });
    const feedsTitle = h('h3', { id: 'feeds-title' }, 'Calendar feeds');
    const feedsList = h('ul', { class: 'moves-list', id: 'feeds-list', 'aria-labelledby': 'feeds-title' });
    const feedsArea = h('div', { id: 'feeds-area', hidden: true }, feedsTitle,
      h('p', { class: 'hint' }, 'Members whose calendar feed is on. Turning one off makes its link stop working (removing a member does so too).'),
      feedsList);
    const facilitatorArea = h('div', { class: 'schedule-facilitator', id: 'schedule-facilitator', hidden: true },
      scheduleForm, moveForm, movesList, feedsArea);

    const element = h('section', { class: 'panel schedule-panel', id: 'panel-schedule', 'aria-labelledby': 'schedule-title' },
      h('h2', { id: 'schedule-title' }, 'Schedule'),
      line.element, summary,
      h('div', { class: 'actions' }, downloadButton, subscribeButton),
      feedArea, feedActions, facilitatorArea);

    const showCadenceFields = () => {
      const kind = /** @type {HTMLSelectElement} */ (every).value;
      weekdayField.hidden = kind === 'month_day';
      weekField.hidden = kind !== 'month_weekday';
      dayField.hidden = kind !== 'month_day';
    };
    listen(every, 'change', showCadenceFields);

    const subscribe = async () => {
      const reply = await context.act({ type: 'renew_calendar_feed' }, 'Could not make your calendar feed');
      if (!reply || reply.kind !== 'calendar_feed') return;
      feedsMadeHere.set(groupId, reply.url);
      drawFeed();
      announce('Your calendar feed link is ready to copy.');
      document.getElementById('calendar-feed-url')?.focus();
    };
    listen(subscribeButton, 'click', subscribe);
    listen(renewButton, 'click', async () => {
      const confirmed = await confirmDialog('Make a new calendar feed link?',
        'Calendars subscribed to your current link stop getting the meetings; subscribe them to the new link.', 'Make a new link');
      if (confirmed) await subscribe();
    });
    listen(offButton, 'click', async () => {
      const done = await context.act({ type: 'revoke_calendar_feed' }, 'Could not turn off your feed');
      if (!done) return;
      feedsMadeHere.delete(groupId);
      drawFeed();
      toast('Your calendar feed is off; its link no longer works.', 'info');
    });
    listen(downloadButton, 'click', () => downloadNextMeeting(groupId));

    listen(scheduleForm, 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const draft = scheduleDraft(new FormData(/** @type {HTMLFormElement} */ (scheduleForm)));
      if (!draft.starts_on || !draft.start_time) {
        toast('Give the first day and the start time.');
        return;
      }
      const done = await context.act({ type: 'set_schedule', schedule: draft }, 'Schedule not saved');
      if (done) toast(`Saved: ${describeSchedule({ ...draft, moves: [] })}.`, 'info');
    });
    listen(removeSchedule, 'click', async () => {
      const confirmed = await confirmDialog('Delete the schedule?', 'Moved meetings go with it, and calendars subscribed to the group show no more meetings.', 'Delete schedule');
      if (!confirmed) return;
      await context.act({ type: 'set_schedule', schedule: null }, 'Could not remove the schedule');
    });
    listen(moveForm, 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const occurrence = /** @type {HTMLInputElement} */ (moveOccurrence).value;
      const to = /** @type {HTMLInputElement} */ (moveTo).value.slice(0, 16);
      if (!occurrence || !to) {
        toast('Give the meeting\'s usual date and its new date and time.');
        return;
      }
      const done = await context.act({ type: 'move_meeting', occurrence, to }, 'Meeting not moved');
      if (done) toast(`The meeting of ${formatDay(occurrence)} is moved.`, 'info');
    });

    const drawFeed = () => {
      const me = store.myMemberId;
      const state = store.state;
      /** @type {string[]} */
      const feeds = /** @type {any} */ (state?.features.schedule)?.feeds ?? [];
      const on = !!me && feeds.includes(me);
      const url = on ? feedsMadeHere.get(groupId) : undefined;
      if (!on) feedsMadeHere.delete(groupId);
      const shown = feedArea.dataset.url ?? '';
      const wanted = url ?? (on ? 'on' : '');
      if (shown !== wanted) {
        feedArea.dataset.url = wanted;
        if (url) {
          const webcal = url.replace(/^https?:/, 'webcal:');
          feedArea.replaceChildren(
            copyField('Your calendar feed', url, 'calendar-feed-url', 'Paste this link into your calendar app ("Add calendar from URL" or "Subscribe"). It is yours alone: it shows the group\'s meetings to whoever has it.'),
            h('p', {}, h('a', { href: webcal, id: 'calendar-feed-open' }, 'Open in my calendar app')));
        } else if (on) {
          feedArea.replaceChildren(h('p', { class: 'hint', id: 'calendar-feed-on' }, 'Your calendar feed is on. Its link is shown only once; make a new link to see one again (the current one then stops working).'));
        } else {
          feedArea.replaceChildren();
        }
      }
      subscribeButton.hidden = on;
      feedActions.hidden = !on;
      // Facilitators: every member's feed, each with a way to turn it off.
      const others = store.iAmFacilitator() ? feeds.filter((id) => id !== me) : [];
      const drawnFeeds = feedsList.dataset.feeds ?? '';
      if (drawnFeeds !== others.join(',')) {
        feedsList.dataset.feeds = others.join(',');
        feedsList.replaceChildren(...others.map((memberId) => {
          const name = store.member(memberId)?.display_name ?? 'a member';
          const off = h('button', { type: 'button', class: 'button secondary small', 'data-member': memberId }, 'Turn off');
          off.setAttribute('aria-label', `Turn off ${name}'s calendar feed`);
          listen(off, 'click', () => context.act({ type: 'revoke_calendar_feed', member_id: memberId }, `Could not turn off ${name}'s feed`));
          return h('li', { class: 'moved-meeting' }, h('span', {}, name), off);
        }));
      }
      feedsArea.hidden = others.length === 0;
    };

    /** The schedule the form was last filled from, so typing is never overwritten. */
    let drawnSchedule = /** @type {Schedule | null | undefined} */ (undefined);
    const drawSchedule = () => {
      const state = store.state;
      const schedule = state?.group.schedule ?? null;
      summary.textContent = schedule ? describeSchedule(schedule) : '';
      summary.hidden = !schedule;
      downloadButton.disabled = !schedule;
      const facilitator = store.iAmFacilitator();
      facilitatorArea.hidden = !facilitator;
      if (!facilitator || schedule === drawnSchedule) return;
      drawnSchedule = schedule;
      const groupZone = schedule?.time_zone ?? state?.group.time_zone ?? viewerTimeZone();
      const zones = timeZones();
      if (!zones.includes(groupZone)) zones.unshift(groupZone);
      zone.replaceChildren(...zones.map((name) => h('option', { value: name, selected: name === groupZone }, name.replaceAll('_', ' '))));
      /** @type {HTMLSelectElement} */ (zone).value = groupZone;
      if (schedule) {
        const cadence = schedule.cadence;
        /** @type {HTMLSelectElement} */ (every).value = cadence.every;
        if ('weekday' in cadence) /** @type {HTMLSelectElement} */ (weekday).value = cadence.weekday;
        if (cadence.every === 'month_weekday') /** @type {HTMLSelectElement} */ (week).value = String(cadence.week);
        if (cadence.every === 'month_day') /** @type {HTMLInputElement} */ (day).value = String(cadence.day);
        /** @type {HTMLInputElement} */ (startsOn).value = schedule.starts_on;
        /** @type {HTMLInputElement} */ (startTime).value = schedule.start_time;
        /** @type {HTMLInputElement} */ (duration).value = String(schedule.duration_minutes);
      }
      showCadenceFields();
      movesList.replaceChildren(...(schedule?.moves ?? []).map((moved) => {
        const back = h('button', { type: 'button', class: 'button secondary small', 'data-occurrence': moved.occurrence },
          `Move back`);
        back.setAttribute('aria-label', `Move the meeting of ${formatDay(moved.occurrence)} back`);
        listen(back, 'click', () => context.act({ type: 'clear_move', occurrence: moved.occurrence }, 'Could not move the meeting back'));
        const [date, time] = moved.to.split('T');
        return h('li', { class: 'moved-meeting' },
          h('span', {}, `${formatDay(moved.occurrence)} → ${formatDay(date)}, ${time}`), back);
      }));
    };

    return {
      element,
      update() {
        line.update();
        drawSchedule();
        drawFeed();
        const connected = context.isConnected();
        for (const control of [downloadButton, subscribeButton, renewButton, offButton, saveSchedule, removeSchedule, moveButton]) {
          if (control === downloadButton) continue;
          /** @type {HTMLButtonElement} */ (control).disabled = !connected;
        }
        /** @type {HTMLButtonElement} */ (removeSchedule).disabled = !connected || !store.state?.group.schedule;
        const next = line.current();
        if (next && !/** @type {HTMLInputElement} */ (moveOccurrence).value && store.iAmFacilitator()) {
          /** @type {HTMLInputElement} */ (moveOccurrence).value = next.occurrence;
        }
      },
    };
  },
};

/**
 * Downloads the next meeting's `.ics`, fetched with this browser's member token in the
 * `Authorization` header (never in the URL).
 * @param {string} groupId
 */
async function downloadNextMeeting(groupId) {
  const token = loadGroupMemory(groupId).member_token;
  if (!token) {
    toast('Could not download: this browser has no member token for the group. Reopen your link.');
    return;
  }
  try {
    const response = await fetch(`/api/groups/${encodeURIComponent(groupId)}/next-meeting.ics`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!response.ok) {
      let message = response.statusText;
      try {
        message = (/** @type {import('../../protocol').HttpError} */ (await response.json())).error.message;
      } catch { /* not JSON: keep the status text */ }
      toast(`Could not download the next meeting: ${message}.`);
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const link = h('a', { href: url, download: 'next-meeting.ics', hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    toast(`Could not download the next meeting: ${error instanceof Error ? error.message : String(error)}.`);
  }
}

/** Every IANA time zone the browser knows, UTC first. */
function timeZones() {
  /** @type {string[]} */
  let zones = [];
  try {
    zones = /** @type {any} */ (Intl).supportedValuesOf('timeZone');
  } catch { /* an older browser: UTC and the group's own zone only */ }
  return ['UTC', ...zones.filter((name) => name !== 'UTC')];
}
