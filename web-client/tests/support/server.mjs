// Starts the real `roundtable` binary for a test, on 127.0.0.1 with its own data directory,
// and stops it by its process id.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = path.resolve(here, '..', '..');
export const REPO_DIR = path.resolve(WEB_DIR, '..');

/** How long the server may take to print its address. */
const START_TIMEOUT_MS = 20000;
/** How long a graceful stop may take before the test gives up on it. */
const STOP_TIMEOUT_MS = 15000;

/** The binary that `cargo build --bin roundtable` made, honouring CARGO_TARGET_DIR. */
export function serverBinary() {
  const targetDir = process.env.CARGO_TARGET_DIR
    ? path.resolve(REPO_DIR, process.env.CARGO_TARGET_DIR)
    : path.join(REPO_DIR, 'target');
  const binary = path.join(targetDir, 'debug', 'roundtable');
  if (!existsSync(binary)) {
    throw new Error(`the server binary ${binary} is missing; build it with \`cargo build --bin roundtable\` (./scripts/test.sh does)`);
  }
  return binary;
}

/** A fresh data directory, removed by `removeDataDir`. */
export function makeDataDir() {
  return mkdtempSync(path.join(tmpdir(), 'roundtable-browser-test-'));
}

/** @param {string} dir */
export function removeDataDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Starts the server and waits for the address it prints.
 * @param {{ dataDir: string, port?: number, args?: string[] }} options Port 0 picks a free
 *   one; `args` are further command-line arguments.
 */
export async function startServer({ dataDir, port = 0, args = [] }) {
  const child = spawn(serverBinary(), [
    '--listen', `127.0.0.1:${port}`,
    '--data-dir', dataDir,
    '--web-dir', WEB_DIR,
    ...args,
  ], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (stderr.length > 64 * 1024) stderr = stderr.slice(-32 * 1024);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const url = await new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`the server printed no address within ${START_TIMEOUT_MS} ms:\n${stderr}`)), START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /Open (http:\/\/[^\s]+?)\/? in a browser/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited before it was ready (code ${code}, signal ${signal}):\n${stderr}`));
    });
  });
  const boundPort = Number(new URL(url).port);
  return {
    url,
    port: boundPort,
    pid: child.pid,
    dataDir,
    stderr: () => stderr,
    /** Resolves once the process exited: with its exit code, or the signal that ended it. */
    exited: /** @type {Promise<{ code: number | null, signal: string | null }>} */ (exited),
    /** Stops the server with SIGTERM (a graceful stop) and waits for it to exit. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(/** @type {number} */ (child.pid), 'SIGTERM');
      let timer;
      const stopped = await Promise.race([
        exited,
        new Promise((resolve) => { timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS); }),
      ]);
      clearTimeout(timer);
      if (stopped === null) {
        process.kill(/** @type {number} */ (child.pid), 'SIGKILL');
        await exited;
        throw new Error(`the server did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
      }
    },
  };
}
