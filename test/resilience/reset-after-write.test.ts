/**
 * A connection reset after the request went out: the upstream may have read
 * it and acted (created the order, charged the card) before dying. A GET is
 * tried on another endpoint; a POST is not repeated, even without a body —
 * the client gets a 503 and decides.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';

const WEB = '/api/v1/namespaces/team-a/services/web:http/proxy';
const servers: net.Server[] = [];
/** Request heads the "pods" read before resetting the connection. */
const received: string[] = [];
let h: Harness;

/** A pod that reads a whole request head, then resets the connection without answering. */
async function resetsAfterReading(host: string, port: number): Promise<number> {
  const server = net.createServer((socket) => {
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      received.push(head.slice(0, head.indexOf(' ')));
      socket.resetAndDestroy();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

before(async () => {
  const port = await resetsAfterReading('127.0.0.5', 0);
  await resetsAfterReading('127.0.0.6', port);
  h = await startHarness({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'web', [{ ip: '127.0.0.5' }, { ip: '127.0.0.6' }], [{ name: 'http', port }]),
    ],
  });
});

after(async () => {
  await h?.close();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

test('a POST without a body, reset after it was sent, is not sent again', async () => {
  received.length = 0;
  const reply = await send(h.url, 'POST', `${WEB}/orders`, { 'content-length': '0' });
  assert.equal(reply.status, 503);
  assert.deepEqual(received, ['POST'], 'one endpoint saw the POST, and only once');
});

test('a GET reset after it was sent is tried on the other endpoint', async () => {
  received.length = 0;
  const reply = await send(h.url, 'GET', `${WEB}/orders`);
  assert.equal(reply.status, 503);
  assert.deepEqual(received, ['GET', 'GET'], 'both endpoints were tried');
});
