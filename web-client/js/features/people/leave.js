// @ts-check
// Leaving and deleting, under the agenda's facilitator controls: any member may leave the
// group and erase their data (a dialog with a choice for each kind of what they contributed,
// in plain words), and a facilitator may delete the whole group (a dialog that asks for the
// group's name, typed, before the button works). Both are for good; the server closes the
// connection afterwards and app.js shows the page that says so.

import { h, toast } from '../../ui.js';
import { listen } from '../../render.js';

/** @typedef {import('../../protocol').ErasureChoice} ErasureChoice */

/** The kinds a leaving member chooses for, in the request's words, with what each covers. */
export const ERASURE_KINDS = /** @type {const} */ ([
  { key: 'commitments', label: 'Your commitments', covers: 'On the board and in past minutes.' },
  { key: 'numbers', label: 'Your numbers shared by name', covers: 'In this meeting\'s and past benchmarks.' },
  { key: 'practices', label: 'Your practices', covers: 'In the library and past minutes, with your comments and upvotes.' },
]);

/**
 * The `leave_group` request for the choices read from the dialog's form.
 * @param {FormData} form
 * @returns {import('../../protocol').Request}
 */
export function leaveRequest(form) {
  /** @param {string} key @returns {ErasureChoice} */
  const choice = (key) => (form.get(key) === 'anonymize' ? 'anonymize' : 'remove');
  return { type: 'leave_group', commitments: choice('commitments'), numbers: choice('numbers'), practices: choice('practices') };
}

/** @type {import('../index.js').Panel} */
export const leavePanel = {
  id: 'leave',
  view: 'agenda',
  mount(context) {
    const { store, connection } = context;
    const leaveButton = h('button', { type: 'button', class: 'button danger secondary', id: 'leave-group' }, 'Leave and erase my data…');
    const leaveHint = h('p', { class: 'hint', id: 'leave-hint' });
    const deleteButton = h('button', { type: 'button', class: 'button danger secondary', id: 'delete-group' }, 'Delete this group…');
    const deleteZone = h('div', { class: 'danger-zone', id: 'delete-zone', hidden: true },
      h('h3', {}, 'Delete this group'),
      h('p', {}, 'Deletes the group for everyone, with all its meetings, minutes, commitments, numbers and practices. Everyone is disconnected and the group\'s links stop working. This cannot be undone.'),
      deleteButton);
    const element = h('section', { class: 'panel', id: 'panel-leave', 'aria-labelledby': 'leave-title' },
      h('h2', { id: 'leave-title' }, 'Leaving and deleting'),
      h('div', { class: 'danger-zone', id: 'leave-zone' },
        h('h3', {}, 'Leave the group'),
        h('p', {}, 'Leave the group and erase your data. Your name becomes “a former member” in the group\'s history, and this browser forgets the group.'),
        leaveHint,
        leaveButton),
      deleteZone);

    /** Whether this member is the group's only facilitator (who cannot leave). */
    const onlyFacilitator = () => store.iAmFacilitator()
      && (store.state?.members.filter((member) => member.role === 'facilitator').length ?? 0) <= 1;

    listen(leaveButton, 'click', async () => {
      const groupName = store.state?.group.name ?? 'the group';
      const form = await leaveDialog(groupName);
      leaveButton.focus();
      if (!form) return;
      try {
        await connection.request(leaveRequest(form));
      } catch (failure) {
        // The server closes the connection right after its answer: a close that overtakes
        // the answer is the leaving itself, not a failure.
        if (connection.status.closing_reason === 'left') return;
        toast(`Could not leave the group: ${failure instanceof Error ? failure.message : String(failure)}.`);
      }
    });

    listen(deleteButton, 'click', async () => {
      const groupName = store.state?.group.name;
      if (!groupName) return;
      const typed = await deleteDialog(groupName);
      deleteButton.focus();
      if (typed === null) return;
      try {
        await connection.request({ type: 'delete_group', confirm_name: typed });
      } catch (failure) {
        if (connection.status.closing_reason === 'group_deleted') return;
        toast(`Could not delete the group: ${failure instanceof Error ? failure.message : String(failure)}.`);
      }
    });

    return {
      element,
      update() {
        const connected = context.isConnected();
        const only = onlyFacilitator();
        leaveButton.disabled = !connected || only;
        leaveHint.textContent = only
          ? 'You are the group\'s only facilitator: make someone else a facilitator first (People), or delete the group.'
          : 'Numbers you shared anonymously and your role-play scores stay as they are, with no name: taking them out could show the others which ones were yours.';
        deleteZone.hidden = !store.iAmFacilitator();
        deleteButton.disabled = !connected;
      },
    };
  },
};

/**
 * Asks what to do with each kind of the member's contributions; resolves the form's data on
 * "Leave and erase", null on Cancel or Escape.
 * @param {string} groupName
 * @returns {Promise<FormData | null>}
 */
function leaveDialog(groupName) {
  return new Promise((resolve) => {
    const cancelButton = h('button', { type: 'submit', value: 'cancel', class: 'button secondary', formnovalidate: true }, 'Cancel');
    const confirmButton = h('button', { type: 'submit', value: 'confirm', class: 'button danger', id: 'leave-confirm' }, 'Leave and erase');
    const fieldsets = ERASURE_KINDS.map((kind) => h('fieldset', { class: 'erasure-choice' },
      h('legend', {}, kind.label),
      h('p', { class: 'hint' }, kind.covers),
      h('div', { class: 'erasure-options' },
        h('label', {}, h('input', { type: 'radio', name: kind.key, value: 'remove', checked: true, id: `erase-${kind.key}-remove` }), ' Remove'),
        h('label', {}, h('input', { type: 'radio', name: kind.key, value: 'anonymize', id: `erase-${kind.key}-anonymize` }), ' Keep, as “a former member”'))));
    const form = h('form', { method: 'dialog' },
      h('h2', { id: 'leave-dialog-title' }, `Leave ${groupName} and erase your data?`),
      h('p', {}, 'Your name is erased from the group\'s history (past minutes say “a former member”). What happens to what you added?'),
      ...fieldsets,
      h('p', { class: 'hint' }, 'Anonymous numbers and role-play scores stay, with no name. This cannot be undone.'),
      h('div', { class: 'actions' }, cancelButton, confirmButton));
    const dialog = h('dialog', { class: 'dialog', id: 'leave-dialog', 'aria-labelledby': 'leave-dialog-title' }, form);
    document.body.append(dialog);
    listen(dialog, 'close', () => {
      const confirmed = dialog.returnValue === 'confirm';
      const data = new FormData(form);
      dialog.remove();
      resolve(confirmed ? data : null);
    });
    dialog.showModal();
    // The safe choice has the focus, so a stray Enter erases nothing.
    cancelButton.focus();
  });
}

/**
 * Asks for the group's name, typed; resolves it on "Delete the group" (which works only once
 * the name matches), null on Cancel or Escape.
 * @param {string} groupName
 * @returns {Promise<string | null>}
 */
function deleteDialog(groupName) {
  return new Promise((resolve) => {
    const input = h('input', { type: 'text', id: 'delete-confirm-name', name: 'confirm_name', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'delete-dialog-body' });
    const cancelButton = h('button', { type: 'submit', value: 'cancel', class: 'button secondary', formnovalidate: true }, 'Cancel');
    const confirmButton = h('button', { type: 'submit', value: 'confirm', class: 'button danger', id: 'delete-confirm', disabled: true }, 'Delete the group');
    const matches = () => input.value.trim() === groupName;
    listen(input, 'input', () => { confirmButton.disabled = !matches(); });
    const form = h('form', { method: 'dialog' },
      h('h2', { id: 'delete-dialog-title' }, `Delete ${groupName} for everyone?`),
      h('p', { id: 'delete-dialog-body' }, 'Every meeting, the minutes, commitments, numbers and practices of this group are deleted from the server for good, everyone in the room is disconnected, and the group\'s links stop working.'),
      h('label', { for: 'delete-confirm-name' }, 'To confirm, type the group\'s name: ', h('strong', {}, groupName)),
      input,
      h('div', { class: 'actions' }, cancelButton, confirmButton));
    // Enter in the field deletes once the name matches, and otherwise does nothing (the form's
    // first button, which Enter would press, is Cancel).
    listen(input, 'keydown', (keyEvent) => {
      if (keyEvent.key !== 'Enter') return;
      keyEvent.preventDefault();
      if (matches()) dialog.close('confirm');
    });
    listen(form, 'submit', (submitEvent) => {
      const submitter = /** @type {SubmitEvent} */ (submitEvent).submitter;
      if (submitter !== cancelButton && !matches()) submitEvent.preventDefault();
    });
    const dialog = h('dialog', { class: 'dialog', id: 'delete-dialog', 'aria-labelledby': 'delete-dialog-title' }, form);
    document.body.append(dialog);
    listen(dialog, 'close', () => {
      const typed = input.value.trim();
      const confirmed = dialog.returnValue === 'confirm' && typed === groupName;
      dialog.remove();
      resolve(confirmed ? typed : null);
    });
    dialog.showModal();
    input.focus();
  });
}
