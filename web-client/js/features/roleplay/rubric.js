// @ts-check
// The rubric editor's pure part: a rubric as the facilitator is editing it (numbers kept as the
// typed text, so half-typed input survives a redraw), and the checks the server makes, with
// the server's limits, so that bad input gets a clear message next to its field before anything
// is sent. The server checks again (server/src/room/roleplay/mod.rs, `valid_rubric`); these
// constants are its limits (PROTOCOL.md, "Role play and anonymous scoring").

/** @typedef {import('../../protocol').Rubric} Rubric */

/** Criteria in one rubric. */
export const CRITERIA_MAX = 12;
/** Longest rubric (and template) name, in characters. */
export const RUBRIC_NAME_CHARS_MAX = 60;
/** Longest criterion name, in characters. */
export const CRITERION_NAME_CHARS_MAX = 60;
/** Longest criterion description, in characters. */
export const CRITERION_DESCRIPTION_CHARS_MAX = 300;
/** Most points on one criterion's scale (1 to 100 has 100). */
export const SCALE_POINTS_MAX = 100;
/** Highest criterion weight (the lowest is 1). */
export const WEIGHT_MAX = 100;
/** Templates a group may save besides the built-in ones. */
export const GROUP_TEMPLATES_MAX = 20;

/**
 * @typedef {object} CriterionDraft
 * @property {string} name
 * @property {string} description
 * @property {string} scale_min
 * @property {string} scale_max
 * @property {string} weight
 */

/**
 * @typedef {object} RubricDraft
 * @property {string} name
 * @property {CriterionDraft[]} criteria
 * @property {boolean} one_thing_differently
 */

/**
 * @typedef {object} RubricProblem
 * @property {string} field The id of the input it is about.
 * @property {string} message What is wrong, in words a person can act on.
 */

/**
 * The input ids of one criterion's fields (stable per position, so focus survives redraws).
 * @param {number} index
 */
export function criterionFieldIds(index) {
  return {
    name: `criterion-${index}-name`,
    description: `criterion-${index}-description`,
    scale_min: `criterion-${index}-min`,
    scale_max: `criterion-${index}-max`,
    weight: `criterion-${index}-weight`,
  };
}

/** @param {Rubric} rubric @returns {RubricDraft} */
export function draftOf(rubric) {
  return {
    name: rubric.name,
    one_thing_differently: rubric.one_thing_differently,
    criteria: rubric.criteria.map((criterion) => ({
      name: criterion.name,
      description: criterion.description,
      scale_min: String(criterion.scale_min),
      scale_max: String(criterion.scale_max),
      weight: String(criterion.weight),
    })),
  };
}

/** @returns {CriterionDraft} A new criterion on a 1 to 5 scale with weight 1. */
export function newCriterion() {
  return { name: '', description: '', scale_min: '1', scale_max: '5', weight: '1' };
}

/**
 * Moves the criterion at `from` to `to` (both in range), in place.
 * @param {RubricDraft} draft
 * @param {number} from
 * @param {number} to
 */
export function moveCriterion(draft, from, to) {
  if (from < 0 || to < 0 || from >= draft.criteria.length || to >= draft.criteria.length) return;
  const [moved] = draft.criteria.splice(from, 1);
  draft.criteria.splice(to, 0, moved);
}

/** @param {string} a @param {string} b */
export function sameName(a, b) {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** @param {string} text */
const chars = (text) => [...text].length;

/**
 * A whole number typed into a field, or null.
 * @param {string} text
 */
function wholeNumber(text) {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isSafeInteger(value) && value <= 0xffffffff ? value : null;
}

/**
 * Checks a draft the way the server will, and returns the rubric to send (trimmed) or what is
 * wrong with it, field by field.
 * @param {RubricDraft} draft
 * @returns {{ rubric: Rubric | null, problems: RubricProblem[] }}
 */
export function checkRubric(draft) {
  /** @type {RubricProblem[]} */
  const problems = [];
  const name = draft.name.trim();
  if (!name) problems.push({ field: 'rubric-name', message: 'Give the rubric a name.' });
  else if (chars(name) > RUBRIC_NAME_CHARS_MAX) problems.push({ field: 'rubric-name', message: `The rubric name has ${chars(name)} characters; at most ${RUBRIC_NAME_CHARS_MAX} are allowed.` });
  if (draft.criteria.length === 0) problems.push({ field: 'rubric-add', message: 'A rubric needs at least one criterion: add one.' });
  if (draft.criteria.length > CRITERIA_MAX) problems.push({ field: 'rubric-add', message: `A rubric has at most ${CRITERIA_MAX} criteria; this one has ${draft.criteria.length}. Remove some.` });
  /** @type {Rubric['criteria']} */
  const criteria = [];
  draft.criteria.forEach((criterion, index) => {
    const ids = criterionFieldIds(index);
    const number = index + 1;
    const criterionName = criterion.name.trim();
    if (!criterionName) problems.push({ field: ids.name, message: `Criterion ${number} needs a name.` });
    else if (chars(criterionName) > CRITERION_NAME_CHARS_MAX) problems.push({ field: ids.name, message: `The name of criterion ${number} has ${chars(criterionName)} characters; at most ${CRITERION_NAME_CHARS_MAX} are allowed.` });
    else if (draft.criteria.slice(0, index).some((other) => sameName(other.name, criterionName))) problems.push({ field: ids.name, message: `Two criteria are named "${criterionName}"; give criterion ${number} another name.` });
    const description = criterion.description.trim();
    if (chars(description) > CRITERION_DESCRIPTION_CHARS_MAX) problems.push({ field: ids.description, message: `The description of criterion ${number} has ${chars(description)} characters; at most ${CRITERION_DESCRIPTION_CHARS_MAX} are allowed.` });
    const low = wholeNumber(criterion.scale_min);
    const high = wholeNumber(criterion.scale_max);
    if (low === null) problems.push({ field: ids.scale_min, message: `The lowest score of criterion ${number} must be a whole number (0 or more).` });
    if (high === null) problems.push({ field: ids.scale_max, message: `The highest score of criterion ${number} must be a whole number.` });
    if (low !== null && high !== null) {
      if (low >= high) problems.push({ field: ids.scale_max, message: `The highest score of criterion ${number} must be above its lowest (${low}).` });
      else if (high - low + 1 > SCALE_POINTS_MAX) problems.push({ field: ids.scale_max, message: `Criterion ${number}'s scale has ${high - low + 1} points; at most ${SCALE_POINTS_MAX} are allowed (like 1 to ${SCALE_POINTS_MAX}).` });
    }
    const weight = wholeNumber(criterion.weight);
    if (weight === null || weight < 1 || weight > WEIGHT_MAX) problems.push({ field: ids.weight, message: `The weight of criterion ${number} must be a whole number from 1 to ${WEIGHT_MAX}.` });
    if (low !== null && high !== null && weight !== null) {
      criteria.push({ name: criterionName, description, scale_min: low, scale_max: high, weight });
    }
  });
  if (problems.length) return { rubric: null, problems };
  return { rubric: { name, criteria, one_thing_differently: draft.one_thing_differently }, problems };
}

/**
 * What stands in the way of saving a checked rubric as a group template, given the templates
 * the group has: a built-in name, or a full list. Null when it can be saved.
 * @param {Rubric} rubric
 * @param {import('../../protocol').RubricTemplate[]} templates
 * @returns {RubricProblem | null}
 */
export function templateProblem(rubric, templates) {
  if (templates.some((template) => template.built_in && sameName(template.rubric.name, rubric.name))) {
    return { field: 'rubric-name', message: `"${rubric.name}" is a built-in template; rename the rubric to save it as the group's own.` };
  }
  const own = templates.filter((template) => !template.built_in);
  if (own.length >= GROUP_TEMPLATES_MAX && !own.some((template) => sameName(template.rubric.name, rubric.name))) {
    return { field: 'rubric-name', message: `The group has ${GROUP_TEMPLATES_MAX} templates, the most it may have; delete one first.` };
  }
  return null;
}
