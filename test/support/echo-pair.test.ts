/**
 * Two echo servers on one port at two loopback addresses (an EndpointSlice
 * names one port for all its endpoints): the port the kernel gave the first
 * may already be taken on the second address, by another test's server or
 * client. The helper must then try another port, not fail or hang, and a
 * listen that fails must reject, not stall a `before` hook until its timeout.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { startEchoPair, startEchoServer } from './echo-server.js';
import { send } from './http.js';

const listen = (host: string, port = 0) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
const portOf = (s: Server) => (s.address() as { port: number }).port;
const close = (s: Server) => new Promise((r) => s.close(r));

test('a listen that fails rejects with its error', async () => {
  const blocker = await listen('127.0.0.3');
  try {
    await assert.rejects(startEchoServer({ host: '127.0.0.3', port: portOf(blocker) }), {
      code: 'EADDRINUSE',
    });
  } finally {
    await close(blocker);
  }
});

test('a pair moves to another port when the first one is taken on the second address', async () => {
  const blocker = await listen('127.0.0.3');
  const taken = portOf(blocker);
  try {
    const [a, b] = await startEchoPair(
      [
        { host: '127.0.0.2', name: 'a' },
        { host: '127.0.0.3', name: 'b' },
      ],
      [taken, 0],
    );
    try {
      assert.equal(a.port, b.port);
      assert.notEqual(a.port, taken);
      assert.equal((await send(a.url, 'GET', '/')).status, 200);
      assert.equal((await send(b.url, 'GET', '/')).status, 200);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  } finally {
    await close(blocker);
  }
});
