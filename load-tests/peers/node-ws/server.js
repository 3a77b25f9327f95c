'use strict';
// Minimal room-broadcast server on Node.js + ws: the same protocol as the Rust baseline
// (load-tests/src/bin/baseline.rs).
//
// - the first text frame must be {"join":"<room>"}; the server answers {"joined":"<room>"};
// - every later text frame is relayed, unchanged, to every member of that room, the sender
//   included (the received Buffer is shared by every send);
// - a member with more than BUFFERED_MAX bytes waiting to be written is a slow consumer and is
//   terminated, so an overloaded run shows up as lost deliveries.
//
// Usage: node server.js [PORT]  (or PORT in the environment). Binds 127.0.0.1 only.

const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || process.env.PORT || 8092);
const FRAME_MAX = 64 * 1024;
// Roughly the baseline's 8192 queued frames of ~128 bytes.
const BUFFERED_MAX = 1024 * 1024;

/** @type {Map<string, Set<import('ws').WebSocket>>} */
const rooms = new Map();

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  maxPayload: FRAME_MAX,
  clientTracking: false,
});

wss.on('connection', (ws) => {
  let room = null;
  let roomName = null;

  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      return;
    }
    if (room === null) {
      let join;
      try {
        join = JSON.parse(data.toString('utf8'));
      } catch {
        ws.close(1008, 'bad join');
        return;
      }
      if (!join || typeof join.join !== 'string') {
        ws.close(1008, 'bad join');
        return;
      }
      roomName = join.join;
      room = rooms.get(roomName);
      if (!room) {
        room = new Set();
        rooms.set(roomName, room);
      }
      ws.send(JSON.stringify({ joined: roomName }));
      room.add(ws);
      return;
    }
    for (const member of room) {
      if (member.bufferedAmount > BUFFERED_MAX) {
        room.delete(member);
        member.terminate();
        continue;
      }
      member.send(data, { binary: false });
    }
  });

  ws.on('close', () => {
    if (room !== null) {
      room.delete(ws);
      if (room.size === 0 && rooms.get(roomName) === room) {
        rooms.delete(roomName);
      }
    }
  });
  ws.on('error', () => {});
});

wss.on('listening', () => {
  process.stderr.write(`node-ws listening on 127.0.0.1:${wss.address().port}\n`);
});

function shutdown() {
  wss.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
