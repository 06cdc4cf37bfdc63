/**
 * Costs that could grow faster than what a caller sends: patterns matched
 * against names the caller chooses, thousands of cookies, query parameters
 * and path segments in one request, a long host label, many WebSockets from
 * one user, and one request multiplied into retries across endpoints. Each
 * case sends the most a request may carry and asserts the answer and exactly
 * what reached an upstream; a backtracking matcher would not answer at all.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { endpointSlice, pod, service, type KubeObject } from '../support/fake-apiserver.js';
import { eventually } from '../support/eventually.js';
import { send } from '../support/http.js';
import { openSocket } from '../support/websocket.js';
import { rawRequest } from './support/raw.js';
import { NS_A, RULES, WEB, startWorld, type World } from './support/world.js';

const DEAD_IPS = ['127.0.0.8', '127.0.0.9', '127.0.0.10', '127.0.0.11', '127.0.0.12'];
/** Endpoints that accept a connection and reset it at once: every attempt is a connect-level failure. */
const resetters: net.Server[] = [];
let accepted = 0;
let w: World;

before(
  async () => {
    const resetter = (ip: string, port: number) =>
      new Promise<net.Server>((resolve) => {
        const s = net.createServer((socket) => {
          accepted++;
          socket.resetAndDestroy();
        });
        s.listen(port, ip, () => resolve(s));
      });
    resetters.push(await resetter(DEAD_IPS[0], 0));
    const port = (resetters[0].address() as AddressInfo).port;
    // The others on the same port, as a Service's endpoints are.
    for (const ip of DEAD_IPS.slice(1)) resetters.push(await resetter(ip, port));
    w = await startWorld({
      config: {
        routing: { hostSuffix: 'apps.test' },
        upstream: { allowedAddresses: ['127.0.0.0/8'], maxUpgradesPerUser: 3 },
        authorization: {
          rules: [
            ...RULES,
            // An admin's glob with many stars, matched against a name the caller chooses.
            {
              groups: ['devs'],
              namespaces: ['team-a'],
              resources: ['pods'],
              names: ['*-*-*-*-*-*-*-*-b'],
              verbs: ['get'],
            },
            {
              groups: ['devs'],
              namespaces: ['team-a'],
              resources: ['services'],
              names: ['dead'],
              verbs: ['get'],
            },
          ],
        },
      },
    });
    w.h.api.upsert<KubeObject>(
      service('team-a', 'dead', [{ name: 'http', port: 80, targetPort: port }]),
      endpointSlice(
        'team-a',
        'dead',
        DEAD_IPS.map((ip, i) => ({ ip, pod: `dead-${i}` })),
        [{ name: 'http', port }],
      ),
      ...DEAD_IPS.map((ip, i) => pod('team-a', `dead-${i}`, ip, [{ name: 'http', containerPort: port }])),
    );
    await eventually(
      async () => (await send(w.h.url, 'GET', `${NS_A}/services/dead/proxy/`, asAlice())).status === 503,
      10_000,
      20,
    );
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
  await Promise.all(resetters.map((s) => new Promise((r) => s.close(r))));
});

const asAlice = (extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${w.alice}`,
  accept: 'application/json',
  ...extra,
});

describe('patterns against names the caller chooses', () => {
  test('a 253-byte pod name against a rule glob with eight stars: a 403 at once', async () => {
    const name = 'a-'.repeat(126) + 'a';
    const before = w.seen();
    const r = await send(w.h.url, 'GET', `${NS_A}/pods/${name}/proxy/`, asAlice());
    assert.equal(r.status, 403, r.body);
    assert.equal(w.seen(), before);
  });
});

describe('the most one request may carry', () => {
  test('1,800 cookies: passed on in one header, the gateway’s own taken out', async () => {
    const cookies = Array.from({ length: 1800 }, (_, i) => `c${i}=${i % 10}`);
    const header = [...cookies.slice(0, 900), 'kube_bastion=not-for-upstreams', ...cookies.slice(900)].join(
      '; ',
    );
    const r = await send(w.h.url, 'GET', `${WEB}/cookies`, asAlice({ cookie: header }));
    assert.equal(r.status, 200, r.body);
    assert.equal(w.a.last()!.headers.cookie, cookies.join('; '));
  });

  test('1,500 query parameters, dryRun look-alikes among them: byte for byte upstream', async () => {
    const query = Array.from({ length: 1500 }, (_, i) => (i % 100 === 0 ? `xdryRun${i}=1` : `p${i}=v`)).join(
      '&',
    );
    const r = await send(w.h.url, 'GET', `${WEB}/q?${query}`, asAlice());
    assert.equal(r.status, 200, r.body);
    assert.equal(w.a.last()!.url, `/q?${query}`);
  });

  test('3,000 path segments: cleaned once, passed on whole (X-Forwarded-Uri repeats them: an upstream’s own header limit comes first)', async () => {
    const path = '/s'.repeat(3000);
    const r = await send(w.h.url, 'GET', `${WEB}${path}`, asAlice());
    assert.equal(r.status, 200, r.body);
    assert.equal(w.a.last()!.url, path);
  });

  test('a 15 KB host label under the routing suffix: refused, nothing upstream', async () => {
    const before = w.seen();
    const label = `${'w'.repeat(15_000)}--team-a.apps.test`;
    const reply = await rawRequest(
      w.h.url,
      `GET /x HTTP/1.1\r\nHost: ${label}\r\nAuthorization: Bearer ${w.alice}\r\nConnection: close\r\n\r\n`,
    );
    assert.ok([400, 404].includes(reply.status), reply.text.slice(0, 300));
    assert.equal(w.seen(), before);
  });
});

describe('many WebSockets from one user', () => {
  const ws = (token: string) =>
    openSocket(`${w.h.url.replace('http', 'ws')}${WEB}/ws`, { authorization: `Bearer ${token}` });
  const closeAll = (sockets: WebSocket[]) =>
    Promise.all(sockets.map((s) => new Promise<void>((r) => (s.once('close', () => r()), s.close()))));

  test('past upstream.maxUpgradesPerUser a 429, for that user only; a closed one frees its place', async () => {
    const upgradesBefore = w.a.requests.filter((r) => r.upgrade).length;
    const open = await Promise.all([ws(w.alice), ws(w.alice), ws(w.alice)]);
    await assert.rejects(ws(w.alice), /HTTP 429/);
    assert.equal(
      w.a.requests.filter((r) => r.upgrade).length,
      upgradesBefore + 3,
      'the refused one never reached the upstream',
    );
    // Another user is not held back by alice's (carol may reach team-a/web as alice does).
    const carol = await w.issuer.mint({ aud: 'kube-bastion', sub: 'carol', groups: ['devs'] });
    w.secrets.add(carol);
    const carols = await ws(carol);
    await closeAll([open.pop()!.ws]);
    await eventually(() => w.h.gateway.assembly.upgrades.size === 3, 5000, 10);
    const again = await ws(w.alice);
    await closeAll([...open.map((o) => o.ws), again.ws, carols.ws]);
  });
});

describe('one request multiplied across endpoints', () => {
  test('a Service whose five endpoints all reset: one request makes at most 1 + retries attempts', async () => {
    const before = accepted;
    const r = await send(w.h.url, 'GET', `${NS_A}/services/dead/proxy/one`, asAlice());
    assert.equal(r.status, 503, r.body);
    assert.ok(accepted - before >= 1 && accepted - before <= 3, `${accepted - before} attempts`);
  });

  test('a burst of 30: the retries stay within the budget (10 + 20 % of the requests)', async () => {
    const before = accepted;
    for (let i = 0; i < 30; i++) {
      const r = await send(w.h.url, 'GET', `${NS_A}/services/dead/proxy/burst`, asAlice());
      assert.equal(r.status, 503);
    }
    const attempts = accepted - before;
    assert.ok(attempts >= 30 && attempts <= 30 + 10 + 6 + 1, `${attempts} attempts for 30 requests`);
  });
});
