/**
 * A connection reset after the whole request, body included, went out. An
 * idempotent request (PUT) with a small body is sent again to another
 * endpoint from the gateway's copy of the body; a POST is not repeated; a
 * body too large to keep is not repeated either. Each request carries its
 * own id, so the test can tell which endpoint saw what.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { onOnePort, startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';

const WEB = '/api/v1/namespaces/team-a/services/web:http/proxy';
let h: Harness;
let echo: EchoServer;
let resetter: net.Server;
/** Request ids whose whole body the resetting endpoint read before resetting. */
const swallowed: string[] = [];

/** Reads a whole request (head and Content-Length body), then resets the connection. */
function resetsAfterBody(): net.Server {
  return net.createServer((socket) => {
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(
        /content-length: (\d+)/i.exec(data.subarray(0, end).toString('latin1'))?.[1] ?? 0,
      );
      if (data.length < end + 4 + length) return;
      swallowed.push(/"id":"([^"]+)"/.exec(data.subarray(end + 4, end + 24).toString('latin1'))?.[1] ?? '?');
      socket.resetAndDestroy();
    });
    socket.on('error', () => undefined);
  });
}

before(async () => {
  // Both endpoints on one port (one EndpointSlice port), found free on both addresses.
  [echo, resetter] = await onOnePort(
    (port) => startEchoServer({ host: '127.0.0.7', name: 'echo', port }),
    (port) =>
      new Promise<net.Server>((resolve, reject) => {
        const server = resetsAfterBody().once('error', reject);
        server.listen(port, '127.0.0.8', () => resolve(server));
      }),
  );
  h = await startHarness({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice(
        'team-a',
        'web',
        [{ ip: '127.0.0.7' }, { ip: '127.0.0.8' }],
        [{ name: 'http', port: echo.port }],
      ),
    ],
    // Never eject the resetting endpoint, and let every request retry: each one should have a chance to
    // meet the resetting endpoint, and the budget (tested elsewhere) should not decide the outcome here.
    config: {
      upstream: {
        allowedAddresses: ['127.0.0.0/8'],
        loadBalancing: { retryBudgetPercent: 100, outlierDetection: { maxEjectionPercent: 0 } },
      },
    },
  });
});

after(async () => {
  await h?.close();
  await echo?.close();
  await new Promise((resolve) => resetter.close(resolve));
});

/** Sends requests until `hits` of them met the resetting endpoint first; returns every reply by id. */
async function untilReset(method: string, size: number, hits = 3) {
  const replies = new Map<string, number>();
  for (let i = 0; swallowed.length < hits && i < 200; i++) {
    const id = `${method}-${size}-${i}`;
    const body = JSON.stringify({ id, pad: 'x'.repeat(size) });
    const reply = await send(
      h.url,
      method,
      `${WEB}/things/${id}`,
      { 'content-type': 'application/json' },
      body,
    );
    replies.set(id, reply.status);
  }
  assert.ok(swallowed.length >= hits, 'the resetting endpoint was met');
  return replies;
}

const seenByEcho = (id: string) => echo.requests.filter((r) => r.body.includes(`"id":"${id}"`));

test('a PUT with a small body, reset after it was sent, is sent again from the copy: nobody notices', async () => {
  swallowed.length = 0;
  const replies = await untilReset('PUT', 10_000);
  for (const [id, status] of replies) {
    assert.equal(status, 200, `${id} answered`);
    const seen = seenByEcho(id);
    assert.equal(seen.length, 1, `${id} reached the healthy endpoint once`);
    assert.equal(JSON.parse(seen[0].body).pad.length, 10_000, 'with its whole body');
  }
});

test('a POST with a body, reset after it was sent, is not sent again', async () => {
  swallowed.length = 0;
  const replies = await untilReset('POST', 1_000);
  for (const id of swallowed) {
    assert.equal(replies.get(id), 503, `${id}: the client decides, the gateway does not repeat it`);
    assert.equal(seenByEcho(id).length, 0);
  }
});

test('a PUT whose body is too large to keep is not sent again', async () => {
  swallowed.length = 0;
  const replies = await untilReset('PUT', 100_000, 1);
  for (const id of swallowed) {
    assert.equal(replies.get(id), 503);
    assert.equal(seenByEcho(id).length, 0);
  }
});
