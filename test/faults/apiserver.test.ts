/**
 * The API server goes away and comes back, and its watches are cut or
 * forget their history (410 Gone). The gateway keeps routing from its caches
 * and stays ready while they are fresh, catches up without an outage, and
 * converges to what the server holds. Authorization that needs a
 * SubjectAccessReview fails closed once its cached answer expires.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { endpointSlice, pod, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';
import { ManualClock } from '../support/manual-clock.js';
import { startWorld, type World } from '../security/support/world.js';

const NS = '/api/v1/namespaces/team-a';
const web = (e: EchoServer, name = 'web') => [
  service('team-a', name, [{ name: 'http', port: 80, targetPort: e.port }]),
  endpointSlice('team-a', name, [{ ip: e.host }], [{ name: 'http', port: e.port }], {
    name: `${name}-slice`,
  }),
  pod('team-a', `${name}-${e.host.split('.').pop()}`, e.host),
];
const get = (h: Harness, path: string) => send(h.url, 'GET', path, { accept: 'application/json' });
const ready = async (h: Harness) => (await fetch(`${h.adminURL}/readyz`)).status;

describe('cluster state through API server outages', () => {
  let h: Harness;
  let a: EchoServer;
  let b: EchoServer;
  before(
    async () => {
      [a, b] = await Promise.all([
        startEchoServer({ host: '127.0.0.2', name: 'a' }),
        startEchoServer({ host: '127.0.0.3', name: 'b' }),
      ]);
      h = await startHarness({ objects: web(a), api: { bookmarkIntervalMs: 200 } });
    },
    { timeout: 60_000 },
  );
  after(async () => {
    await h?.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  /** Routes to `name` answer from `echo` (each test its own Service: no test relies on another's). */
  const servedBy = async (name: string, server: 'a' | 'b') => {
    const r = await get(h, `${NS}/services/${name}:http/proxy/x`);
    return r.status === 200 && (JSON.parse(r.body) as { server: string }).server === server;
  };

  test('the API server gone: routing from the caches and ready; back: watches resume with no outage', async () => {
    assert.equal((await get(h, `${NS}/services/web:http/proxy/x`)).status, 200);
    const watchesBefore = h.api.count({ verb: 'watch' });
    await h.api.stop();
    for (let i = 0; i < 20; i++) {
      const r = await get(h, `${NS}/services/web:http/proxy/during-${i}`);
      assert.equal(r.status, 200, `request ${i} while the API server is gone: ${r.body}`);
      assert.equal(await ready(h), 200, '/readyz stays ready while the cache is fresh');
    }
    // While it was away the world moved on: a new service appeared.
    h.api.upsert(...web(b, 'late'));
    await h.api.restart();
    await eventually(
      async () => (await get(h, `${NS}/services/late:http/proxy/`)).status === 200,
      15_000,
      100,
    );
    assert.ok(h.api.count({ verb: 'watch' }) > watchesBefore, 'watches were re-established');
    assert.equal((await get(h, `${NS}/services/web:http/proxy/after`)).status, 200);
    assert.equal(await ready(h), 200);
  });

  test('a watch cut mid-stream: the cache converges to the server', async () => {
    h.api.upsert(...web(a, 'cut'), ...web(a, 'cut-gone'));
    await eventually(async () => await servedBy('cut', 'a'), 15_000, 100);
    await eventually(
      async () => (await get(h, `${NS}/services/cut-gone:http/proxy/`)).status === 200,
      15_000,
      100,
    );
    assert.ok(h.api.cutWatches() > 0);
    h.api.remove('services', 'team-a', 'cut-gone');
    h.api.upsert(
      endpointSlice('team-a', 'cut', [{ ip: b.host, pod: 'cut-3' }], [{ name: 'http', port: b.port }], {
        name: 'cut-slice',
      }),
    );
    h.api.upsert(service('team-a', 'cut', [{ name: 'http', port: 80, targetPort: b.port }]));
    await eventually(
      async () => (await get(h, `${NS}/services/cut-gone:http/proxy/`)).status === 404,
      15_000,
      100,
    );
    await eventually(async () => await servedBy('cut', 'b'), 15_000, 100);
  });

  test('410 Gone (history compacted while the watch was down): a relist converges', async () => {
    h.api.upsert(...web(a, 'before-gone'));
    await eventually(
      async () => (await get(h, `${NS}/services/before-gone:http/proxy/`)).status === 200,
      15_000,
      100,
    );
    const lists = h.api.count({ verb: 'list' });
    await h.api.stop();
    h.api.upsert(...web(a, 'after-gone'));
    h.api.remove('services', 'team-a', 'before-gone');
    h.api.compactHistory();
    await h.api.restart();
    await eventually(
      async () => (await get(h, `${NS}/services/after-gone:http/proxy/`)).status === 200,
      20_000,
      100,
    );
    await eventually(
      async () => (await get(h, `${NS}/services/before-gone:http/proxy/`)).status === 404,
      20_000,
      100,
    );
    assert.ok(h.api.count({ verb: 'list' }) > lists, 'the caches were relisted');
    assert.equal(await ready(h), 200);
  });
});

describe('SubjectAccessReview without an API server', () => {
  let w: World;
  const clock = new ManualClock();
  before(
    async () => {
      w = await startWorld({
        clock, // the cached answers' lifetime passes when the test says
        config: {
          authorization: {
            rules: [],
            kubernetesRBAC: { enabled: true, cacheTTL: '1s', deniedCacheTTL: '1s' },
          },
        },
      });
      w.h.api.grants.push({
        user: 'alice',
        namespace: 'team-a',
        resource: 'services',
        subresource: 'proxy',
        verbs: ['get'],
      });
    },
    { timeout: 60_000 },
  );
  after(async () => {
    await w?.close();
  });

  test('a cached allow keeps working briefly; after it expires the request fails closed with 503', async () => {
    const path = `${NS}/services/web:http/proxy/rbac`;
    const headers = { authorization: `Bearer ${w.alice}`, accept: 'application/json' };
    assert.equal((await send(w.h.url, 'GET', path, headers)).status, 200);
    const seen = w.a.requests.length;
    await w.h.api.stop();
    assert.equal((await send(w.h.url, 'GET', path, headers)).status, 200, 'the cached answer still counts');
    clock.advance(999);
    assert.equal((await send(w.h.url, 'GET', path, headers)).status, 200, 'until it expires');
    clock.advance(2);
    const r = await send(w.h.url, 'GET', path, headers);
    assert.equal(r.status, 503, r.body);
    const s = JSON.parse(r.body) as { kind: string; reason: string; message: string };
    assert.equal(s.kind, 'Status');
    assert.match(s.message, /authorization is unavailable/);
    assert.equal(w.a.requests.length, seen + 2, 'nothing was forwarded once the answer expired');
    await w.h.api.restart();
    await eventually(async () => (await send(w.h.url, 'GET', path, headers)).status === 200, 5000, 100);
  });
});
