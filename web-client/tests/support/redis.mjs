// A Redis of the test's own for the tests that run several server processes on one store:
// `redis-server` on loopback, on a free port, without persistence, stopped by its process id.

import { spawn } from 'node:child_process';
import net from 'node:net';

/** A free loopback port (taken and given back at once). */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = /** @type {net.AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(() => resolve(undefined)));
  return address.port;
}

/**
 * Whether a Redis on `port` answers PING.
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function answersPing(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(500, () => { socket.destroy(); resolve(false); });
    socket.on('error', () => resolve(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => { socket.destroy(); resolve(String(data).startsWith('+PONG')); });
  });
}

/** Starts a `redis-server` of the test's own on loopback, without persistence. */
export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const failed = new Promise((resolve) => child.once('error', (error) => resolve(error)));
  const deadline = Date.now() + 10000;
  for (;;) {
    const error = await Promise.race([failed, new Promise((resolve) => setTimeout(() => resolve(null), 50))]);
    if (error) throw new Error(`redis-server did not start (is it installed? apt-get install redis-server): ${error}`);
    if (await answersPing(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer PING on port ${port} within 10 s`);
    }
  }
  return {
    url: `redis://127.0.0.1:${port}/`,
    stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(/** @type {number} */ (child.pid), 'SIGKILL');
    },
  };
}
