/**
 * WebSocket upgrades (k8s CVE-2018-1002105, CVE-2020-8559, KEP-4006,
 * cross-site WebSocket hijacking): no credentials, a foreign Origin, a target
 * outside the grant, a backend that answers the upgrade with 200 or a
 * redirect, non-WebSocket upgrades. A refused upgrade never reaches a
 * backend; a failed one leaves no connection over which later bytes could.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import WebSocket from 'ws';
import { assertAftermath, runCase, type HostileCase } from './support/cases.js';
import { rawRequest } from './support/raw.js';
import { NS_A, NS_B, WEB, startWorld, type World } from './support/world.js';

let w: World;
before(
  async () => {
    w = await startWorld();
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
});

const upgradeHead = (path: string, extra: string[] = [], method = 'GET', upgrade = 'websocket') =>
  [
    `${method} ${path} HTTP/1.1`,
    'Host: {host}',
    'Connection: Upgrade',
    `Upgrade: ${upgrade}`,
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...extra,
  ].join('\r\n') + '\r\n\r\n';

function upgradeCase(
  name: string,
  path: string,
  o: { extra?: (w: World) => string[]; method?: string; upgrade?: string; status: number; reason?: string },
): () => HostileCase {
  return () => ({
    name,
    raw: (host) => upgradeHead(path, o.extra?.(w), o.method, o.upgrade).replace('{host}', host),
    status: o.status,
    shape: 'any',
    upstream: null,
    check: (reply) => {
      const s = JSON.parse(reply.body) as { kind: string; code: number; reason?: string };
      assert.equal(s.kind, 'Status');
      assert.equal(s.code, o.status);
      if (o.reason) assert.equal(s.reason, o.reason);
    },
  });
}
const bearer = (who: 'alice' | 'bob') => (x: World) => [`Authorization: Bearer ${x[who]}`];

describe('refused upgrades reach no backend', () => {
  const cases = [
    upgradeCase('no credentials', `${WEB}/ws`, { status: 401, reason: 'Unauthorized' }),
    upgradeCase('a forged token', `${WEB}/ws`, { extra: () => ['Authorization: Bearer a.b.c'], status: 401 }),
    upgradeCase('the token only in the query', `${WEB}/ws?access_token=x`, { status: 401 }),
    upgradeCase('a foreign Origin with a genuine token', `${WEB}/ws`, {
      extra: (x) => [...bearer('alice')(x), 'Origin: https://evil.example'],
      status: 403,
      reason: 'Forbidden',
    }),
    upgradeCase('Origin: null', `${WEB}/ws`, {
      extra: (x) => [...bearer('alice')(x), 'Origin: null'],
      status: 403,
    }),
    upgradeCase('a look-alike Origin', `${WEB}/ws`, {
      extra: (x) => [...bearer('alice')(x), 'Origin: http://127.0.0.1.evil.example'],
      status: 403,
    }),
    upgradeCase('a service outside the grant', `${NS_A}/services/secret:http/proxy/ws`, {
      extra: bearer('alice'),
      status: 403,
    }),
    upgradeCase('another namespace', `${NS_B}/services/web:http/proxy/ws`, {
      extra: bearer('alice'),
      status: 403,
    }),
    upgradeCase(
      'a traversal to another namespace',
      `${NS_A}/services/web:http%2F..%2F..%2F..%2Fteam-b/proxy/ws`,
      { extra: bearer('alice'), status: 404 },
    ),
    upgradeCase('a node (node proxy is off)', '/api/v1/nodes/node-1/proxy/exec', {
      extra: bearer('alice'),
      status: 403,
    }),
    upgradeCase('a user with no grant', `${WEB}/ws`, { extra: bearer('bob'), status: 403 }),
    upgradeCase(
      'a pod granted only get and create, upgraded as create: allowed target, SPDY refused',
      `${NS_A}/pods/web-0:http/proxy/exec`,
      { extra: bearer('alice'), upgrade: 'SPDY/3.1', status: 400 },
    ),
    upgradeCase('h2c is not proxied', `${WEB}/ws`, { extra: bearer('alice'), upgrade: 'h2c', status: 400 }),
    upgradeCase('an upgrade on POST', `${WEB}/ws`, { extra: bearer('alice'), method: 'POST', status: 400 }),
  ];
  for (const make of cases) test(make().name, () => runCase(w, make()));
});

describe('backends that misbehave on upgrade', () => {
  for (const code of [200, 302, 400, 500]) {
    test(`a backend answering ${code} to the upgrade: no second request rides the connection`, async () => {
      const mark = w.log.mark();
      const before = w.a.requests.length;
      const smuggle = `GET /smuggled-after-${code} HTTP/1.1\r\nHost: x\r\n\r\n`;
      const reply = await rawRequest(
        w.h.url,
        upgradeHead(`${WEB}/status/${code}`, [`Authorization: Bearer ${w.alice}`]).replace(
          '{host}',
          new URL(w.h.url).host,
        ) + smuggle,
        600,
      );
      assert.notEqual(reply.status, 101, 'no switch to a raw tunnel');
      // A refusal (≥ 400) is relayed; a backend that neither switches nor refuses gets a 502 (the
      // apiserver's "invalid upgrade response").
      const expected = code >= 400 ? code : 502;
      assert.equal(reply.status, expected);
      assert.ok(reply.closed, 'the client connection is closed');
      // Once the backend connection is closed, the backend has read all that came on it.
      await eventually(() => assert.equal(w.a.openConnections(), 0, 'the backend connection is closed too'));
      const reached = w.a.requests.slice(before).map((r) => r.url);
      assert.deepEqual(reached, [`/status/${code}`], 'only the upgrade itself reached the backend');
      if (code === 302)
        assert.equal(reply.headers.location, undefined, 'a redirect is not passed on or followed');
      // The access log says what the client got, not a 101 that never happened.
      const logged = w.log
        .since(mark)
        .map((l) => JSON.parse(l) as { msg?: string; path?: string; status?: number })
        .find((l) => l.msg === 'request' && l.path?.endsWith(`/status/${code}`));
      assert.equal(logged?.status, expected);
      await assertAftermath(w, { status: reply.status, headers: reply.headers, body: reply.body }, mark);
    });
  }
});

test('control: a granted WebSocket opens and echoes; the backend sees no token', async () => {
  const ws = new WebSocket(`${w.h.url.replace('http', 'ws')}${WEB}/ws`, {
    headers: { authorization: `Bearer ${w.alice}` },
  });
  const first = await new Promise<string>((resolve, reject) => {
    ws.once('message', (d: Buffer) => resolve(d.toString()));
    ws.once('error', reject);
  });
  assert.match(first, /^hello from a \/ws/);
  const echoed = new Promise<string>((r) => ws.once('message', (d: Buffer) => r(d.toString())));
  ws.send('ping');
  assert.equal(await echoed, 'echo:ping');
  const up = w.a.requests.filter((r) => r.upgrade).at(-1)!;
  assert.equal(up.headers.authorization, undefined);
  assert.equal(up.headers['x-forwarded-user'], 'alice');
  await new Promise<void>((r) => {
    ws.once('close', () => r());
    ws.close();
  });
  assert.deepEqual(w.forbiddenSeen(), []);
});
