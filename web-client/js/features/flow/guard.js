// @ts-check
// Starting a timer (a round, a problem's phase, a member called from the queue with a time
// box) stops whatever timer runs. When that timer still had time left for something else,
// the facilitator confirms first, told what it replaces; nothing is sent if they decline.

import { flowOf } from './state.js';
import { timerToReplace } from './time.js';
import { confirmDialog } from '../../ui.js';

/**
 * Resolves true when the timer for `intent` may start: nothing would be lost, or the
 * facilitator confirmed replacing the running timer.
 * @param {import('../index.js').PanelContext} context
 * @param {import('./time.js').TimerIntent} intent
 * @param {string} action What starting does, as a button says it ("Start round").
 * @returns {Promise<boolean>}
 */
export async function mayReplaceTimer(context, intent, action) {
  const state = context.store.state;
  if (!state) return false;
  const nameOf = (/** @type {string} */ id) => context.store.member(id)?.display_name ?? 'Someone';
  const replaced = timerToReplace(flowOf(state), intent, context.connection.clock.serverNow(), nameOf);
  if (!replaced) return true;
  return confirmDialog('Replace the running timer?',
    `The timer is running for ${replaced}. “${action}” stops it and starts a new one; the time left is lost.`,
    action, 'Keep the timer');
}
