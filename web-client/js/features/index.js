// @ts-check
// The room's views, one folder per feature (js/features/<name>/): `state.js` is the feature's
// pure state (snapshot + events -> state, listed in states.js and unit-tested in Node), and
// the view modules draw it with `h()` and render.js's `patch`. The room view lays them out.
// A view's requests go through `context.act`.

import { agendaPanel } from './flow/view.js';
import { queuePanel } from './people/queue.js';
import { rolePlayPanel } from './roleplay/view.js';
import { peoplePanel } from './people/people.js';
import { commitmentsPanel } from './commitments/view.js';
import { benchmarksPanel } from './benchmarks/view.js';
import { practicesPanel } from './practices/view.js';
import { facilitatorPanel } from './people/facilitator.js';
import { reportBackPanel } from './commitments/reportback.js';
import { summaryPanel } from './meeting/summary.js';
import { accessPanel } from './people/access.js';
import { leavePanel } from './people/leave.js';
import { schedulePanel } from './schedule/view.js';
import { prepPanel } from './prep/view.js';
import { lobbyPanel } from './meeting/lobby.js';

/** @typedef {import('../store.js').RoomStore} RoomStore */
/** @typedef {import('../connection.js').Connection} Connection */
/** @typedef {import('../protocol').Request} Request */
/** @typedef {import('../protocol').Reply} Reply */

/**
 * What a panel gets from the room.
 * @typedef {object} PanelContext
 * @property {RoomStore} store
 * @property {Connection} connection
 * @property {string} groupId
 * @property {() => boolean} isConnected Whether requests can be sent now.
 * @property {(request: Request, what: string) => Promise<Reply | null>} act Sends a request;
 *   on failure shows a toast starting with `what` ("Could not raise your hand: …") and
 *   resolves null, so the caller can keep what the person typed.
 */

/**
 * @typedef {object} MountedPanel
 * @property {HTMLElement} element
 * @property {Record<string, HTMLElement>} [more] Further parts for other views, by view id.
 * @property {() => void} update Called after every change to the room or the connection.
 */

/**
 * @typedef {object} Panel
 * @property {string} id
 * @property {string} view The view (tab) it is drawn in: an id of `VIEWS` (meeting/model.js).
 * @property {(context: PanelContext) => MountedPanel} mount
 */

/** @type {Panel[]} */
export const PANELS = [
  agendaPanel,
  queuePanel,
  rolePlayPanel,
  reportBackPanel,
  commitmentsPanel,
  benchmarksPanel,
  practicesPanel,
  schedulePanel,
  facilitatorPanel,
  peoplePanel,
  summaryPanel,
  accessPanel,
  leavePanel,
  prepPanel,
  lobbyPanel,
];
