// A small TCP load balancer of the tests' own, on loopback, for the tests that run several
// server processes behind one address: every new connection goes to the first of the ports
// `target.ports` names now that accepts it (a draining node closes its port, so the next one
// gets its clients); connections already open stay where they are.

import net from 'node:net';

/**
 * @typedef {object} Balancer
 * @property {number} port Where the pages connect.
 * @property {{ port: number, at: number }[]} connections Each connection passed on: the port
 *   that took it, and when (`Date.now()`).
 * @property {() => Promise<void>} stop
 */

/**
 * Starts the balancer. `target.ports` may change while it runs: it is read at each new
 * connection.
 * @param {{ ports: number[] }} target
 * @returns {Promise<Balancer>}
 */
export async function startBalancer(target) {
  /** @type {Set<net.Socket>} */
  const open = new Set();
  /** @type {{ port: number, at: number }[]} */
  const connections = [];
  const server = net.createServer((client) => {
    open.add(client);
    const ports = [...target.ports];
    /** @type {net.Socket | null} */
    let upstream = null;
    const end = () => {
      client.destroy();
      upstream?.destroy();
      open.delete(client);
      if (upstream) open.delete(upstream);
    };
    client.on('error', end);
    client.on('close', end);
    // The client's bytes wait in its socket (not flowing until piped) while a port is tried.
    /** @param {number} index */
    const tryPort = (index) => {
      if (index >= ports.length || client.destroyed) {
        end();
        return;
      }
      const candidate = net.connect(ports[index], '127.0.0.1');
      upstream = candidate;
      open.add(candidate);
      const refused = () => {
        open.delete(candidate);
        candidate.destroy();
        tryPort(index + 1);
      };
      candidate.once('error', refused);
      candidate.once('connect', () => {
        candidate.off('error', refused);
        connections.push({ port: ports[index], at: Date.now() });
        candidate.on('error', end);
        candidate.on('close', end);
        client.pipe(candidate);
        candidate.pipe(client);
      });
    };
    tryPort(0);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const port = /** @type {net.AddressInfo} */ (server.address()).port;
  return {
    port,
    connections,
    async stop() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
