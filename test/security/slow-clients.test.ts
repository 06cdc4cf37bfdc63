/**
 * Slow-read clients: a client that asks for a large response (or opens a
 * WebSocket to a chatty backend) and then reads nothing. Backpressure keeps
 * the gateway's memory flat, but the client would hold its connection, the
 * upstream connection and the upstream's response for ever; with
 * `listen.sendTimeout` both are closed once the waiting bytes have not moved
 * for that long. A response or WebSocket that is merely quiet is never cut.
 * (Slow writers — slowloris on heads and bodies — are in resources.test.ts
 * and test/resilience/slow-upload.test.ts.)
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { endpointSlice, pod, service } from '../support/fake-apiserver.js';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

const HOST = '127.0.0.7';
const P = '/api/v1/namespaces/team-a/services/web:http/proxy';
/** The longest a scripted quiet backend stays quiet: well past sendTimeout. */
const QUIET_MS = 1500;
/** /big's length: 128 MiB. */
const BIG = 128 * 1024 * 1024;

let h: Harness;
let upstream: http.Server;
let wss: WebSocketServer;
/** Upstream responses (by path) and WebSockets that ended, and whether they were cut. */
const ended: { what: string; cut: boolean }[] = [];

before(async () => {
  upstream = http.createServer((req, res) => {
    res.once('close', () => ended.push({ what: req.url!, cut: !res.writableFinished }));
    if (req.url === '/flood') {
      // As much as the gateway will take, for ever: backpressure decides the pace.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const piece = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (!res.destroyed && res.write(piece));
      };
      res.on('drain', pump);
      pump();
    } else if (req.url === '/big') {
      // A finite body far larger than every buffer between the two (socket buffers, stream marks):
      // only a gateway that stops reading when its client does keeps the upstream from finishing it.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG });
      const piece = Buffer.alloc(256 * 1024, 'z');
      let sent = 0;
      const pump = () => {
        while (!res.destroyed && sent < BIG) {
          sent += piece.length;
          if (!res.write(piece)) return;
        }
        if (sent >= BIG) res.end();
      };
      res.on('drain', pump);
      pump();
    } else if (req.url === '/quiet') {
      const t = setTimeout(() => res.end('late but whole'), QUIET_MS);
      res.on('close', () => clearTimeout(t));
    } else res.end('ok');
  });
  wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws, req) => {
    ws.once('close', () => ended.push({ what: `ws:${req.url}`, cut: true }));
    if (req.url === '/ws-flood') {
      const piece = Buffer.alloc(64 * 1024, 'y');
      const pump = () => {
        // ws buffers without bound: send only while the socket keeps up.
        while (ws.readyState === ws.OPEN && ws.bufferedAmount < 1024 * 1024) ws.send(piece);
        if (ws.readyState === ws.OPEN) setImmediate(pump);
      };
      pump();
    } else if (req.url === '/ws-quiet') {
      setTimeout(() => ws.readyState === ws.OPEN && ws.send('late'), QUIET_MS);
    }
  });
  await new Promise<void>((r) => upstream.listen(0, HOST, r));
  const port = (upstream.address() as AddressInfo).port;
  h = await startHarness({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80, targetPort: port }]),
      endpointSlice('team-a', 'web', [{ ip: HOST, pod: 'web-0' }], [{ name: 'http', port }]),
      pod('team-a', 'web-0', HOST, [{ name: 'http', containerPort: port }]),
    ],
    config: { listen: { address: '127.0.0.1', port: 0, sendTimeout: '500ms' } },
  });
});

after(async () => {
  await h?.close();
  for (const c of wss?.clients ?? []) c.terminate();
  wss?.close();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
});

/** A raw client that sends `bytes`, reads until it has `upTo` bytes, then reads nothing more. */
function stallingClient(bytes: string, upTo: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const u = new URL(h.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    // A small receive window, so the gateway's side fills up early.
    socket.setNoDelay(true);
    let got = 0;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    socket.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= upTo) {
        socket.pause();
        resolve({ socket, closed });
      }
    });
    socket.once('connect', () => socket.write(bytes));
    socket.once('error', reject);
  });
}

describe('a client that stops reading', () => {
  test('a response it does not read: both connections closed, the upstream’s response cut', async () => {
    const { socket } = await stallingClient(`GET ${P}/flood HTTP/1.1\r\nHost: x\r\n\r\n`, 64 * 1024);
    await eventually(() => ended.some((e) => e.what === '/flood' && e.cut), 10_000, 20);
    await eventually(() => socket.destroyed || socket.readableEnded || h.gateway.server.listening, 1000);
    socket.destroy();
  });

  test('a large response it stops reading is not taken from the upstream whole (backpressure)', async () => {
    const { socket } = await stallingClient(`GET ${P}/big HTTP/1.1\r\nHost: x\r\n\r\n`, 64 * 1024);
    // sendTimeout ends it; had the gateway kept reading, the upstream would have finished first.
    await eventually(() => ended.some((e) => e.what === '/big'), 10_000, 20);
    assert.deepEqual(
      ended.filter((e) => e.what === '/big'),
      [{ what: '/big', cut: true }],
    );
    socket.destroy();
  });

  test('a WebSocket it does not read: both connections closed', async () => {
    const { socket } = await stallingClient(
      `GET ${P}/ws-flood HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      64 * 1024,
    );
    await eventually(() => ended.some((e) => e.what === 'ws:/ws-flood'), 10_000, 20);
    await eventually(() => h.gateway.assembly.upgrades.size === 0, 5000, 20);
    socket.destroy();
  });
});

describe('a quiet answer is not a slow reader', () => {
  test('a response whose upstream is silent for longer than sendTimeout arrives whole', async () => {
    const r = await fetch(`${h.url}${P}/quiet`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'late but whole');
  });

  test('a WebSocket silent for longer than sendTimeout stays open', async () => {
    const ws = new WebSocket(`${h.url.replace('http', 'ws')}${P}/ws-quiet`);
    const message = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d: Buffer) => resolve(d.toString()));
      ws.once('error', reject);
      ws.once('close', () => reject(new Error('closed while quiet')));
    });
    assert.equal(message, 'late');
    ws.terminate();
  });
});
