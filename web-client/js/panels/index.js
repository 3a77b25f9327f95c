// @ts-check
// The room's panels. The room view lays them out: `main` panels in the main column, in this
// order, and `side` panels in the sidebar (below the main column on a phone).
//
// A feature adds itself here with one import and one line: the agenda and timer panel goes
// first in `main` (it is what everyone looks at), then the speaker queue; role play,
// commitments and benchmarks follow in `main`. A feature's state comes from the store (see
// `registerFeature` in store.js); its requests go through `context.act`.

import { agendaPanel } from './agenda.js';
import { queuePanel } from './queue.js';
import { rolePlayPanel } from './roleplay.js';
import { peoplePanel } from './people.js';
import { commitmentsPanel } from './commitments.js';
import { benchmarksPanel } from './benchmarks.js';
import { practicesPanel } from './practices.js';
import { facilitatorPanel } from './facilitator.js';

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
 * @property {() => void} update Called after every change to the room or the connection.
 */

/**
 * @typedef {object} Panel
 * @property {string} id
 * @property {'main' | 'side'} area
 * @property {(context: PanelContext) => MountedPanel} mount
 */

/** @type {Panel[]} */
export const PANELS = [
  agendaPanel,
  queuePanel,
  rolePlayPanel,
  commitmentsPanel,
  benchmarksPanel,
  practicesPanel,
  facilitatorPanel,
  peoplePanel,
];
