/**
 * A WebSocket opened with a browser session ends with that session: signed
 * out, or past its absolute end, the client gets a close frame (1008, with the
 * reason) within `session.recheckInterval`, and the backend's connection is
 * closed too. Through the real gateway, with a real redis-server, the real
 * IdP and the echo backend; the gateway's clock is injected and moved, so
 * "30 seconds later" takes no time.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import type { Gateway } from '../../src/server/gateway.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import { ManualClock } from '../support/manual-clock.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { openSocket } from '../support/websocket.js';
import { ECHO_PATH, startGateway } from './gateway-fixture.js';
import { capturedLogs } from './helpers.js';

const RECHECK_MS = 30_000; // the default session.recheckInterval
let idp: TestIdP;
let echo: EchoServer;
let redis: RedisServer;
const gateways: Gateway[] = [];

before(async () => {
  [idp, echo, redis] = await Promise.all([startTestIdP(), startEchoServer(), startRedis()]);
});

after(async () => {
  await Promise.allSettled(gateways.map((g) => g.close()));
  await Promise.allSettled([idp?.close(), echo?.close(), redis?.stop()]);
});

interface Stack {
  url: string;
  clock: ManualClock;
  gateway: Gateway;
  logs: Record<string, unknown>[];
}

async function stack(session: Record<string, unknown>): Promise<Stack> {
  const clock = new ManualClock();
  const { logger, lines } = capturedLogs();
  const { gateway, url } = await startGateway({ idp, echo, session, clock, logger });
  gateways.push(gateway);
  idp.setClients([gatewayClient(url)]);
  return { url, clock, gateway, logs: lines };
}

async function signedIn(s: Stack): Promise<FetchBrowser> {
  const browser = new FetchBrowser();
  const res = await browser.signIn(`${s.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`, 'alice');
  assert.equal(res.status, 200);
  return browser;
}

/** Opens a WebSocket through the gateway with the browser's session cookie; records how it ends. */
async function open(s: Stack, browser: FetchBrowser) {
  const cookie = browser.cookieHeader(new URL(s.url));
  const { ws, first } = await openSocket(`${s.url.replace('http', 'ws')}${ECHO_PATH}ws`, { cookie });
  assert.match(first, /^hello from/);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const errors: Error[] = [];
  ws.on('error', (err) => errors.push(err));
  return { ws, closed, errors };
}

async function roundTrip(ws: WebSocket, text: string): Promise<string> {
  const answer = new Promise<string>((r) => ws.once('message', (m: Buffer) => r(m.toString())));
  ws.send(text);
  return answer;
}

const signOut = (s: Stack, browser: FetchBrowser) =>
  browser.request(`${s.url}/auth/logout`, { method: 'POST', headers: { origin: s.url } });

describe('Redis store', () => {
  let s: Stack;
  before(async () => {
    s = await stack({ store: 'redis', redis: { url: redis.url }, ttl: '1h' });
  });

  test('signed out: the WebSocket gets close 1008 "signed out" within recheckInterval; the backend connection ends', async () => {
    const browser = await signedIn(s);
    const upstreamBefore = echo.openConnections();
    const { ws, closed, errors } = await open(s, browser);
    await eventually(() => echo.openConnections() > upstreamBefore);
    assert.equal((await signOut(s, browser)).status, 303);
    assert.equal(
      await roundTrip(ws, 'still here'),
      'echo:still here',
      'nothing happens before the next check',
    );
    s.clock.advance(RECHECK_MS);
    assert.deepEqual(await closed, { code: 1008, reason: 'signed out' });
    assert.deepEqual(errors, []);
    await eventually(() => echo.openConnections() === upstreamBefore);
  });

  test('the session reaches its end (ttl): close 1008 "session expired", though nobody signed out', async () => {
    const browser = await signedIn(s);
    const { ws, closed } = await open(s, browser);
    for (let i = 0; i < 3; i++) {
      s.clock.advance(RECHECK_MS);
      assert.equal(await roundTrip(ws, `check ${i}`), `echo:check ${i}`, 'alive while the session is');
    }
    s.clock.advance(60 * 60_000);
    assert.deepEqual(await closed, { code: 1008, reason: 'session expired' });
  });

  test('a backend frame under way is finished before the close frame goes in (never cut in two)', async () => {
    const browser = await signedIn(s);
    const { ws, closed, errors } = await open(s, browser);
    const big = 'x'.repeat(16 * 1024 * 1024);
    const received: number[] = [];
    ws.on('message', (m: Buffer) => received.push(m.length));
    ws.pause(); // the client stops reading: the 16 MB echo stalls half-way through the gateway
    ws.send(big);
    const client = () => [...s.gateway.assembly.upgrades].at(-1) as Socket;
    await eventually(() => client().bytesWritten > 1024 * 1024, 10_000);
    assert.equal((await signOut(s, browser)).status, 303);
    s.clock.advance(RECHECK_MS);
    // The check ran and found the session over; the close frame waits for the backend's frame to end.
    await eventually(() => s.logs.some((l) => l.msg === 'closing WebSocket: its session ended'), 5000);
    assert.deepEqual(received, [], 'still mid-frame');
    ws.resume();
    const ending = await closed;
    assert.deepEqual(errors, [], 'no protocol error');
    assert.deepEqual(received, [big.length + 'echo:'.length], 'the whole message arrived, then');
    assert.deepEqual(ending, { code: 1008, reason: 'signed out' });
  });
});

describe('cookie store', () => {
  test('signed out on this replica: the WebSocket is closed the same way', async () => {
    const s = await stack({ ttl: '1h' });
    const browser = await signedIn(s);
    const { closed } = await open(s, browser);
    assert.equal((await signOut(s, browser)).status, 303);
    s.clock.advance(RECHECK_MS);
    assert.deepEqual(await closed, { code: 1008, reason: 'signed out' });
  });
});
