// @ts-check
// The facilitator's controls: start the next meeting (after a confirmation), the time zone the
// minutes give times in, the group's video call link, and download the minutes, the commitment board and the benchmarks. Downloads go through `fetch` with the
// facilitator's member token in the `Authorization` header (never in the URL, so it stays out
// of logs and history), then are saved from a Blob.

import { h, confirmDialog, toast } from '../../ui.js';
import { listen } from '../../render.js';
import { loadGroupMemory } from '../../memory.js';

/**
 * What can be exported: label, route under `/api/groups/<id>/` and the file name's ending.
 * @type {{ id: string, label: string, route: string, extension: string }[]}
 */
export const EXPORTS = [
  { id: 'minutes-md', label: 'Minutes (Markdown)', route: 'minutes?format=md', extension: 'md' },
  { id: 'minutes-json', label: 'Minutes (JSON)', route: 'minutes?format=json', extension: 'json' },
  { id: 'commitments-csv', label: 'Commitments (CSV)', route: 'commitments.csv', extension: 'csv' },
  { id: 'benchmarks-csv', label: 'Benchmarks (CSV)', route: 'benchmarks.csv', extension: 'csv' },
];

/** @type {import('../index.js').Panel} */
export const facilitatorPanel = {
  id: 'facilitator',
  view: 'agenda',
  mount(context) {
    const { store, groupId } = context;
    const nextButton = h('button', { type: 'button', class: 'button primary', id: 'start-next-meeting' }, 'End meeting');
    const exportButtons = EXPORTS.map((entry) => {
      const button = h('button', { type: 'button', class: 'menu-item', role: 'menuitem', id: `export-${entry.id}` }, entry.label);
      listen(button, 'click', () => download(entry));
      return button;
    });
    const exportMenu = h('details', { class: 'export-menu', id: 'export-menu' },
      h('summary', { class: 'button secondary' }, 'Export minutes'),
      h('div', { class: 'menu static-menu', role: 'menu' }, ...exportButtons));
    const zoneSelect = h('select', { id: 'time-zone-select', name: 'time_zone' });
    const zoneSave = h('button', { type: 'submit', class: 'button secondary small', id: 'time-zone-save' }, 'Save time zone');
    // The group's links and the members' sessions live under People; this is the way there
    // from the group's settings.
    const accessButton = h('button', { type: 'button', class: 'button secondary', id: 'open-links-and-sessions' }, 'Links and sessions');
    listen(accessButton, 'click', () => {
      const tab = document.getElementById('tab-people');
      if (tab && tab.getClientRects().length > 0 && tab.getAttribute('aria-selected') !== 'true') tab.click();
      const heading = document.getElementById('access-title');
      if (!heading) return;
      heading.tabIndex = -1;
      heading.focus();
    });
    const zoneForm = h('form', { class: 'time-zone-form', id: 'time-zone-form' },
      h('label', { for: 'time-zone-select' }, 'Time zone of the minutes'), zoneSelect, zoneSave);
    const callInput = h('input', {
      type: 'url', id: 'call-link-input', name: 'call_url', inputmode: 'url', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'https://…', maxlength: 500, 'aria-describedby': 'call-link-hint',
    });
    const callSave = h('button', { type: 'submit', class: 'button secondary small', id: 'call-link-save' }, 'Save link');
    const callRemove = h('button', { type: 'button', class: 'button secondary small', id: 'call-link-remove' }, 'Remove');
    const callForm = h('form', { class: 'time-zone-form', id: 'call-link-form', novalidate: true },
      h('label', { for: 'call-link-input' }, 'Video call link'), callInput, callSave, callRemove,
      h('p', { class: 'hint', id: 'call-link-hint' }, 'An https link from Zoom, Meet, Teams, Jitsi or any other service. Everyone sees "Join the call" in the room.'));
    const element = h('section', { class: 'panel', id: 'panel-facilitator', 'aria-labelledby': 'facilitator-title', hidden: true },
      h('h2', { id: 'facilitator-title' }, 'Facilitator'),
      h('div', { class: 'facilitator-actions' }, nextButton, exportMenu, accessButton),
      zoneForm, callForm);

    listen(callForm, 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const wanted = callInput.value.trim();
      if (!wanted) {
        callInput.focus();
        toast('Paste the call link first (it starts with https://).');
        return;
      }
      if (wanted === (store.state?.group.call_url ?? '')) return;
      const done = await context.act({ type: 'set_call_link', url: wanted }, 'Not saved');
      if (done) toast('Saved: everyone now sees "Join the call".', 'info');
    });
    listen(callRemove, 'click', async () => {
      const done = await context.act({ type: 'set_call_link', url: null }, 'Could not remove the call link');
      if (done) {
        callInput.value = '';
        toast('The call link is removed.', 'info');
      }
    });
    /** The link the field was last filled from, so typing is never overwritten by a redraw. */
    let drawnCallUrl = /** @type {string | null} */ (null);

    listen(zoneForm, 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const wanted = zoneSelect.value;
      if (!wanted || wanted === (store.state?.group.time_zone ?? 'UTC')) return;
      const done = await context.act({ type: 'set_time_zone', time_zone: wanted }, 'Could not set the time zone');
      if (done) toast(`The minutes now give times in ${wanted}.`, 'info');
    });
    /** The zone the options were drawn for, so the list is built once per change. */
    let drawnZone = /** @type {string | null} */ (null);

    listen(nextButton, 'click', async () => {
      const number = store.state?.meeting.number ?? 0;
      const confirmed = await confirmDialog(`End meeting ${number}?`,
        `Its minutes are kept and meeting ${number + 1} opens in the lobby until a facilitator starts it. Open commitments, the practice library and the members carry over; this meeting's benchmarks go into everyone's trend.`,
        'End meeting');
      if (!confirmed) return;
      await context.act({ type: 'start_next_meeting' }, 'Could not end the meeting');
    });

    /** @param {typeof EXPORTS[number]} entry */
    async function download(entry) {
      exportMenu.open = false;
      const token = loadGroupMemory(groupId).member_token;
      if (!token) {
        toast('Could not export: this browser has no facilitator token for the group. Reopen the facilitator link.');
        return;
      }
      try {
        const response = await fetch(`/api/groups/${encodeURIComponent(groupId)}/${entry.route}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        if (!response.ok) {
          /** @type {string} */
          let message = response.statusText;
          try {
            message = (/** @type {import('../../protocol').HttpError} */ (await response.json())).error.message;
          } catch { /* not JSON: keep the status text */ }
          toast(`Could not export ${entry.label.toLowerCase()}: ${message}.`);
          return;
        }
        const blob = await response.blob();
        const url = URL.createObjectURL(blob);
        const meeting = store.state?.meeting.number ?? '';
        const link = h('a', { href: url, download: `${entry.id.replace(/-(md|json|csv)$/, '')}-meeting-${meeting}.${entry.extension}`, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        // Revoked later: the download needs the URL a moment after the click.
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      } catch (error) {
        toast(`Could not export ${entry.label.toLowerCase()}: ${error instanceof Error ? error.message : String(error)}.`);
      }
    }

    return {
      element,
      update() {
        element.hidden = !store.iAmFacilitator();
        nextButton.disabled = !context.isConnected();
        // Only a live meeting ends; an upcoming one starts from the lobby.
        nextButton.hidden = store.state?.meeting.phase === 'upcoming';
        zoneSave.disabled = !context.isConnected();
        callSave.disabled = !context.isConnected();
        const callUrl = store.state?.group.call_url ?? '';
        callRemove.disabled = !context.isConnected() || !callUrl;
        if (callUrl !== drawnCallUrl) {
          drawnCallUrl = callUrl;
          callInput.value = callUrl;
        }
        const zone = store.state?.group.time_zone ?? 'UTC';
        if (!element.hidden && zone !== drawnZone) {
          drawnZone = zone;
          const zones = timeZones();
          if (!zones.includes(zone)) zones.unshift(zone);
          zoneSelect.replaceChildren(...zones.map((name) => h('option', { value: name, selected: name === zone }, name.replaceAll('_', ' '))));
          zoneSelect.value = zone;
        }
      },
    };
  },
};

/** Every IANA time zone the browser knows, UTC first. */
function timeZones() {
  /** @type {string[]} */
  let zones = [];
  try {
    zones = /** @type {any} */ (Intl).supportedValuesOf('timeZone');
  } catch { /* an older browser: UTC and the group's own zone only */ }
  return ['UTC', ...zones.filter((name) => name !== 'UTC')];
}
