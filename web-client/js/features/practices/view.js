// @ts-check
// The best-practice library: what worked (or did not) for someone, with tags, upvotes and
// comments. The snapshot holds the newest practices; the search box asks the server
// (`search_practices`) so older ones are found too.

import { patch, listen, formField } from '../../render.js';
import { h, busy } from '../../ui.js';

/** @typedef {import('../../protocol').Practice} Practice */

/** @typedef {import('./state.js').PracticesState} PracticesState */

/** The server's limits (PROTOCOL.md, "Best practices"). */
export const PRACTICE_TITLE_CHARS_MAX = 120;
export const PRACTICE_DESCRIPTION_CHARS_MAX = 2000;
export const PRACTICE_TAGS_MAX = 6;
export const PRACTICE_COMMENT_CHARS_MAX = 1000;



/**
 * Tags as typed: separated by commas or spaces, lowercased, without duplicates.
 * @param {string} text
 * @returns {string[]}
 */
export function parseTags(text) {
  return [...new Set(text.split(/[,\s]+/).map((tag) => tag.trim().toLowerCase()).filter(Boolean))];
}

/** @type {import('../index.js').Panel} */
export const practicesPanel = {
  id: 'practices',
  view: 'practices',
  mount(context) {
    const { store } = context;
    const titleInput = h('input', { type: 'text', id: 'practice-title', maxlength: PRACTICE_TITLE_CHARS_MAX, required: true });
    const descriptionInput = h('textarea', { id: 'practice-description', rows: 3, maxlength: PRACTICE_DESCRIPTION_CHARS_MAX });
    const tagsInput = h('input', { type: 'text', id: 'practice-tags', placeholder: 'e.g. discovery, cold-calls' });
    const outcomeSelect = h('select', { id: 'practice-outcome' },
      h('option', { value: 'worked' }, 'It worked'), h('option', { value: 'did_not_work' }, 'It did not work'));
    const postButton = h('button', { type: 'submit', class: 'button primary', id: 'practice-post' }, 'Share practice');
    const postForm = h('form', { class: 'stack-small', id: 'practice-form' },
      h('div', { class: 'field' }, h('label', { for: 'practice-title' }, 'Title'), titleInput),
      h('div', { class: 'field' }, h('label', { for: 'practice-description' }, 'What did you do, and what happened?'), descriptionInput),
      h('div', { class: 'form-row' },
        h('div', { class: 'field grow' }, h('label', { for: 'practice-tags' }, `Tags (up to ${PRACTICE_TAGS_MAX})`), tagsInput),
        h('div', { class: 'field' }, h('label', { for: 'practice-outcome' }, 'Outcome'), outcomeSelect)),
      h('div', { class: 'actions' }, postButton));
    const postDetails = h('details', { class: 'practice-new' }, h('summary', {}, 'Share a practice'), postForm);

    const searchText = h('input', { type: 'search', id: 'practice-search', placeholder: 'Search words', 'aria-label': 'Search practices' });
    const searchTag = h('input', { type: 'text', id: 'practice-search-tag', placeholder: 'tag', 'aria-label': 'Search by tag' });
    const clearButton = h('button', { type: 'button', class: 'button secondary small', id: 'practice-search-clear', hidden: true }, 'Clear');
    const searchForm = h('form', { class: 'search-row', id: 'practice-search-form', role: 'search' },
      searchText, searchTag, h('button', { type: 'submit', class: 'button secondary small' }, 'Search'), clearButton);
    const summary = h('p', { class: 'hint', id: 'practice-summary' });
    const list = h('ul', { class: 'practice-list', id: 'practice-list' });
    const element = h('section', { class: 'panel', id: 'panel-practices', 'aria-labelledby': 'practices-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'practices-title' }, 'Best practices')),
      postDetails, searchForm, summary, list);

    /** @type {{ practices: Practice[], total: number, label: string } | null} The search shown, if any. */
    let search = null;

    listen(postForm, 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const title = titleInput.value.trim();
      if (!title) return;
      const release = busy(postButton);
      const reply = await context.act({
        type: 'post_practice', title, description: descriptionInput.value.trim(),
        tags: parseTags(tagsInput.value).slice(0, PRACTICE_TAGS_MAX),
        outcome: outcomeSelect.value === 'did_not_work' ? 'did_not_work' : 'worked',
      }, 'Could not share the practice');
      release();
      if (reply) {
        titleInput.value = '';
        descriptionInput.value = '';
        tagsInput.value = '';
        postDetails.open = false;
      }
    });

    listen(searchForm, 'submit', async (submitEvent) => {
      submitEvent.preventDefault();
      const text = searchText.value.trim();
      const tag = searchTag.value.trim().toLowerCase();
      if (!text && !tag) {
        search = null;
        draw(true);
        return;
      }
      const reply = await context.act({ type: 'search_practices', text, tag: tag || null }, 'Could not search');
      if (reply && reply.kind === 'practices') {
        search = { practices: reply.practices, total: reply.total_matches, label: [text && `“${text}”`, tag && `#${tag}`].filter(Boolean).join(' ') };
        draw(true);
      }
    });
    listen(clearButton, 'click', () => {
      searchText.value = '';
      searchTag.value = '';
      search = null;
      draw(true);
    });

    /**
     * The live copy of a practice when the store has it (search answers are a moment's view).
     * @param {Practice} practice
     */
    const live = (practice) => {
      const own = /** @type {PracticesState | undefined} */ (store.state?.features.practices);
      return own?.practices.find((candidate) => candidate.practice_id === practice.practice_id) ?? practice;
    };

    /** @param {Practice} practice */
    const renderPractice = (practice) => {
      const upvoted = !!store.myMemberId && practice.upvoters.includes(store.myMemberId);
      const upvote = async () => {
        const reply = await context.act({ type: 'upvote_practice', practice_id: practice.practice_id, up: !upvoted }, 'Could not change your upvote');
        // A search result is a copy: count the change there too once the server agreed.
        if (reply && search) {
          const copy = search.practices.find((candidate) => candidate.practice_id === practice.practice_id);
          if (copy && store.myMemberId) {
            copy.upvoters = copy.upvoters.filter((id) => id !== store.myMemberId);
            if (!upvoted) copy.upvoters.push(store.myMemberId);
            draw(true);
          }
        }
      };
      // The count is in the name, as it is on the button.
      const upvoteButton = h('button', {
        type: 'button', class: `button small ${upvoted ? 'primary' : 'secondary'} upvote`, 'aria-pressed': String(upvoted),
        'aria-label': `▲ ${practice.upvoters.length} upvote${practice.upvoters.length === 1 ? '' : 's'}: ${upvoted ? 'take back your upvote of' : 'upvote'} “${practice.title}”`,
        'data-key': `upvote-${practice.practice_id}`,
        onclick: upvote,
      }, `▲ ${practice.upvoters.length}`);
      /** @param {Event} submitEvent */
      const comment = async (submitEvent) => {
        submitEvent.preventDefault();
        // The field on the page (a redraw may have kept it for this draw's copy).
        const commentInput = formField(submitEvent, 'comment');
        const text = commentInput.value.trim();
        if (!text) return;
        const reply = await context.act({ type: 'comment_on_practice', practice_id: practice.practice_id, text }, 'Could not comment');
        if (reply) {
          commentInput.value = '';
          // The redraw for this comment's event may have waited for the field to empty.
          draw(true);
        }
      };
      const commentInput = h('input', { type: 'text', name: 'comment', maxlength: PRACTICE_COMMENT_CHARS_MAX, placeholder: 'Add a comment', 'aria-label': `Comment on “${practice.title}”` });
      const commentForm = h('form', { class: 'comment-form', onsubmit: comment }, commentInput, h('button', { type: 'submit', class: 'button secondary small' }, 'Comment'));
      return h('li', { class: 'practice', 'data-practice-id': practice.practice_id },
        h('div', { class: 'practice-head' },
          h('h3', { class: 'practice-title' }, practice.title),
          h('span', { class: `tag outcome ${practice.outcome}` }, practice.outcome === 'worked' ? 'worked' : 'did not work'),
          upvoteButton),
        practice.description ? h('p', { class: 'practice-description' }, practice.description) : null,
        h('p', { class: 'hint' }, `${store.member(practice.author)?.display_name ?? 'A former member'} · meeting ${practice.meeting_number}`,
          ...practice.tags.map((tag) => h('span', { class: 'tag practice-tag' }, `#${tag}`))),
        practice.comments.length
          ? h('ul', { class: 'comments' }, ...practice.comments.map((comment) =>
            h('li', {}, h('b', {}, store.member(comment.author)?.display_name ?? 'A former member'), ' ', comment.text)))
          : null,
        commentForm);
    };

    /** @type {unknown} */
    let drawnState = null;
    let drawnKey = '';
    /** @param {boolean} force */
    function draw(force) {
      const state = store.state;
      const own = /** @type {PracticesState | undefined} */ (state?.features.practices);
      if (!state || !own) return;
      const key = `${state.members.length}`;
      if (!force && drawnState === own && drawnKey === key) return;
      // A comment being typed would be lost by a redraw: keep it when the page is busy.
      const focused = /** @type {HTMLElement | null} */ (document.activeElement);
      if (!force && focused && list.contains(focused) && focused.tagName === 'INPUT' && /** @type {HTMLInputElement} */ (focused).value) return;
      drawnState = own;
      drawnKey = key;
      const shown = search ? search.practices.map(live) : own.practices;
      clearButton.hidden = !search;
      summary.textContent = search
        ? `${search.total} match${search.total === 1 ? '' : 'es'} for ${search.label}.`
        : own.total ? `${own.total} practice${own.total === 1 ? '' : 's'} in the library${own.total > own.practices.length ? `; the newest ${own.practices.length} shown, search for older ones` : ''}.` : 'No practices yet. Share what worked for you.';
      patch(list, () => shown.map(renderPractice));
    }

    return {
      element,
      update() {
        postButton.disabled = !context.isConnected() || !store.state;
        draw(false);
      },
    };
  },
};
