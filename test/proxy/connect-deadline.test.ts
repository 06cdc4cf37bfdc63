/**
 * The connect deadline names what timed out: the TCP connect, or (for TLS)
 * the handshake after it. A busy event loop can reach the deadline's timer
 * before it has read the socket's `connect`, though the kernel finished the
 * connect long before: the verdict must not be "connect timeout" then (a
 * stress run on a loaded machine met exactly that).
 */
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { connectDeadline } from '../../src/proxy/upstream-attempt.js';

/** Accepts connections and never says a word: a TLS client waits for ever for the ServerHello. */
const mute = createServer();
const held = new Set<Socket>();
mute.on('connection', (s) => held.add(s));

before(() => new Promise<void>((r) => mute.listen(0, '127.0.0.1', r)));
after(() => {
  for (const s of held) s.destroy();
  return new Promise<void>((r) => mute.close(() => r()));
});

/** Blocks the event loop (a loaded gateway): timers and socket events fall due meanwhile. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('a handshake that times out after a connect the loop had not read yet is a TLS handshake timeout', async () => {
  const socket = connect((mute.address() as AddressInfo).port, '127.0.0.1');
  try {
    const verdict = new Promise<string>((resolve) => {
      connectDeadline(socket, true, 20, {
        established: () => resolve('established'),
        expired: (err) => resolve(err.message),
      });
    });
    // The connect completes in the kernel; the timer falls due; the loop reads neither until this returns.
    busy(100);
    assert.equal(await verdict, 'TLS handshake timeout');
  } finally {
    socket.destroy();
  }
});
