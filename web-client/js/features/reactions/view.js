// @ts-check
// Quick reactions: a row of buttons (applause, +1, laugh, idea, heart) and the reactions of
// everyone in the room, each shown for a few seconds floating over the corner of the stage.
// Reactions are ephemeral (PROTOCOL.md, "Reactions and dot votes"): they come as `reaction`
// messages with no seq, are never stored, and a page that reconnects does not get the ones it
// missed, so they are kept here, outside the room's state, only while they are on screen.
// Screen readers hear a short summary at most every few seconds, never one line per click.

import { h, announce, busy } from '../../ui.js';
import { listen } from '../../render.js';

/** @typedef {import('../../protocol').Reaction} Reaction */
/** @typedef {import('../../protocol').ReactionFrame} ReactionFrame */

/**
 * Each reaction: its name and its icon, drawn as lines (like the raised hand, ui.js) so it
 * looks the same everywhere; emoji fonts are not on every machine.
 */
export const REACTIONS = /** @type {{ reaction: Reaction, label: string, paths: string[] }[]} */ ([
  { reaction: 'applause', label: 'Applause', paths: ['M8 12V7', 'M11 11V5', 'M14 11V5.5', 'M17 12V8',
    'M8 12.5 6.5 11a1.5 1.5 0 0 0-2.2 2l3.4 4.8A6.5 6.5 0 0 0 13 21h.5a4.5 4.5 0 0 0 4.5-4.5V12', 'M3 6l2 1.5', 'M6 2.5l.8 2', 'M21 5l-2 1.2'] },
  { reaction: 'plus_one', label: 'Plus one', paths: ['M7 10v10',
    'M7 10l4-7a2 2 0 0 1 2.6 2.4L12.6 9H18a2 2 0 0 1 2 2.4l-1.4 6.8A2 2 0 0 1 16.6 20H4V10h3'] },
  { reaction: 'laugh', label: 'Laugh', paths: ['M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z', 'M8.5 9v1.5', 'M15.5 9v1.5',
    'M7.5 13.5h9a4.5 4.5 0 0 1-9 0z'] },
  { reaction: 'idea', label: 'Idea', paths: ['M12 3a6 6 0 0 0-3.6 10.8c.7.5 1.1 1.3 1.1 2.2v.5h5V16c0-.9.4-1.7 1.1-2.2A6 6 0 0 0 12 3z',
    'M10 19.5h4', 'M10.8 22h2.4'] },
  { reaction: 'heart', label: 'Heart', paths: ['M12 20.5s-7.5-4.6-9.2-9.4A4.8 4.8 0 0 1 12 7a4.8 4.8 0 0 1 9.2 4.1C19.5 15.9 12 20.5 12 20.5z'] },
]);

/**
 * A reaction's icon.
 * @param {Reaction} reaction
 * @returns {SVGSVGElement}
 */
function reactionIcon(reaction) {
  const namespace = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(namespace, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon reaction-icon reaction-icon-${reaction}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of REACTIONS.find((entry) => entry.reaction === reaction)?.paths ?? []) {
    const path = document.createElementNS(namespace, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

/** How long a reaction stays on screen. */
export const REACTION_SHOWN_MS = 4_000;
/** Reactions on screen at once; older ones leave early. */
export const REACTIONS_SHOWN_MAX = 8;
/** Reactions that arrive within this window are announced together. */
export const ANNOUNCE_EVERY_MS = 4_000;

/**
 * What screen readers hear for reactions that came together: "Reactions: applause from Ann
 * and Bob; laugh from Cy."
 * @param {{ reaction: Reaction, name: string }[]} received
 * @returns {string}
 */
export function reactionSummary(received) {
  /** @type {Map<Reaction, string[]>} */
  const byReaction = new Map();
  for (const { reaction, name } of received) {
    const names = byReaction.get(reaction) ?? [];
    if (!names.includes(name)) names.push(name);
    byReaction.set(reaction, names);
  }
  const parts = [...byReaction].map(([reaction, names]) => {
    const label = REACTIONS.find((entry) => entry.reaction === reaction)?.label.toLowerCase() ?? reaction;
    const who = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
    return `${label} from ${who}`;
  });
  return parts.length ? `Reactions: ${parts.join('; ')}.` : '';
}

/**
 * @param {import('../index.js').PanelContext} context
 * @returns {{ element: HTMLElement, stream: HTMLElement, show: (frame: ReactionFrame) => void, update: () => void }}
 */
export function mountReactions(context) {
  const { store } = context;
  // One stop in the Tab order; the arrow keys move between the reactions (a toolbar).
  const buttons = REACTIONS.map((entry, index) => h('button', {
    type: 'button', class: 'reaction-button', 'data-reaction': entry.reaction, 'aria-label': entry.label, title: entry.label,
    tabindex: index === 0 ? '0' : '-1',
  }, reactionIcon(entry.reaction)));
  const element = h('div', { class: 'reactions', id: 'reactions', role: 'toolbar', 'aria-label': 'React' }, ...buttons);
  listen(element, 'keydown', (keyEvent) => {
    const index = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    const steps = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    const step = /** @type {Record<string, number>} */ (steps)[keyEvent.key];
    const target = keyEvent.key === 'Home' ? 0 : keyEvent.key === 'End' ? buttons.length - 1
      : step && index >= 0 ? (index + step + buttons.length) % buttons.length : null;
    if (target === null) return;
    keyEvent.preventDefault();
    for (const [other, button] of buttons.entries()) button.tabIndex = other === target ? 0 : -1;
    buttons[target].focus();
  });
  // What is on screen is decoration; the summary goes to the live region.
  const stream = h('ul', { class: 'reaction-stream', id: 'reaction-stream', 'aria-hidden': 'true' });

  listen(element, 'click', async (clickEvent) => {
    const button = /** @type {HTMLButtonElement | null} */ (/** @type {HTMLElement} */ (clickEvent.target).closest('.reaction-button'));
    const reaction = /** @type {Reaction | undefined} */ (button?.dataset.reaction);
    if (!button || !reaction || button.disabled) return;
    const release = busy(button);
    await context.act({ type: 'react', reaction }, 'Your reaction was not sent');
    release();
  });

  /** @type {{ reaction: Reaction, name: string }[]} */
  let pending = [];
  /** @type {ReturnType<typeof setTimeout> | null} */
  let announceTimer = null;

  /** @param {ReactionFrame} frame */
  const show = (frame) => {
    const mine = frame.member_id === store.myMemberId;
    const name = mine ? 'You' : store.member(frame.member_id)?.display_name ?? 'Someone';
    const item = h('li', { class: 'reaction', 'data-reaction': frame.reaction, 'data-member-id': frame.member_id },
      reactionIcon(frame.reaction), h('span', { class: 'reaction-name' }, name));
    stream.append(item);
    while (stream.children.length > REACTIONS_SHOWN_MAX) stream.firstElementChild?.remove();
    setTimeout(() => item.remove(), REACTION_SHOWN_MS);
    if (mine) return;
    pending.push({ reaction: frame.reaction, name });
    announceTimer ??= setTimeout(() => {
      announce(reactionSummary(pending));
      pending = [];
      announceTimer = null;
    }, ANNOUNCE_EVERY_MS);
  };

  return {
    element,
    stream,
    show,
    update() {
      const me = store.me();
      element.hidden = !me;
      for (const button of buttons) button.disabled = !context.isConnected();
    },
  };
}
