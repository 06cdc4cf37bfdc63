/**
 * An endpoint is dialled only if its Pod owns its IP (the apiserver's
 * isValidAddress): whoever can write an EndpointSlice in team-a must not be
 * able to point the gateway at a pod of team-b by naming a team-a Pod — or a
 * Pod that does not exist — beside team-b's IP. Checked against the fake API
 * server with the real client: the Pods are read on demand, cached, and a
 * Pod whose IP changes is followed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { endpointSlice, pod, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';

let h: Harness;
let app: EchoServer; // 127.0.0.2: team-a/app-0
let db: EchoServer; // 127.0.0.3: team-b/db-0, never to be reached through team-a
let moved: EchoServer; // 127.0.0.4: where app-0 goes when it is rescheduled

const A = '/api/v1/namespaces/team-a/services';
const port = () => app.port;

before(async () => {
  app = await startEchoServer({ host: '127.0.0.2', name: 'app' });
  db = await startEchoServer({ host: '127.0.0.3', port: app.port, name: 'db' });
  moved = await startEchoServer({ host: '127.0.0.4', port: app.port, name: 'moved' });
  const svc = (name: string) => service('team-a', name, [{ name: 'http', port: 80, targetPort: port() }]);
  const slice = (name: string, endpoints: { ip: string; pod: string }[]) =>
    endpointSlice('team-a', name, endpoints, [{ name: 'http', port: port() }], { name: `${name}-1` });
  h = await startHarness({
    // Only the Pods listed below exist: nothing plays the kubelet for the slices.
    api: { createPodsForSlices: false },
    config: { kubernetes: { endpointRecheck: '1s' } },
    objects: [
      pod('team-a', 'app-0', '127.0.0.2', [port()]),
      pod('team-b', 'db-0', '127.0.0.3', [port()]),
      svc('app'),
      slice('app', [{ ip: '127.0.0.2', pod: 'app-0' }]),
      // A hand-written slice: a real Pod of team-a beside team-b's IP…
      svc('borrowed'),
      slice('borrowed', [{ ip: '127.0.0.3', pod: 'app-0' }]),
      // … an invented Pod …
      svc('ghost'),
      slice('ghost', [{ ip: '127.0.0.3', pod: 'ghost-0' }]),
      // A hand-written copy of app's slice: right today, stale once app-0 moves.
      svc('stale'),
      slice('stale', [{ ip: '127.0.0.2', pod: 'app-0' }]),
      // … and both beside a genuine endpoint.
      svc('mixed'),
      slice('mixed', [
        { ip: '127.0.0.3', pod: 'app-0' },
        { ip: '127.0.0.2', pod: 'app-0' },
        { ip: '127.0.0.3', pod: 'ghost-0' },
      ]),
    ],
  });
});

after(async () => {
  await h?.close();
  await Promise.all([app?.close(), db?.close(), moved?.close()]);
});

const get = (service: string) =>
  send(h.url, 'GET', `${A}/${service}:http/proxy/x`, { accept: 'application/json' });
const podReads = () => h.api.count({ verb: 'get', resource: 'pods' });

test('a slice that names a Pod which does not own the IP is never dialled', async () => {
  for (const name of ['borrowed', 'ghost']) {
    const r = await get(name);
    assert.equal(r.status, 503, `${name}: ${r.body}`);
    assert.equal(
      (JSON.parse(r.body) as { message: string }).message,
      `no endpoints available for service "${name}:http"`,
    );
  }
  for (let i = 0; i < 10; i++) assert.equal((await get('mixed')).status, 200);
  assert.equal(db.requests.length, 0, "team-b's pod received a request through team-a");
  assert.equal(app.requests.length, 10, 'the genuine endpoint served them all');
});

test('the Pods are read when the endpoint list is built, not per request', async () => {
  assert.equal((await get('app')).status, 200);
  const reads = podReads();
  for (let i = 0; i < 50; i++) assert.equal((await get('app')).status, 200);
  assert.ok(podReads() - reads <= 1, `${podReads() - reads} Pod reads for 50 requests`);
});

test('a Pod rescheduled to a new IP is followed, and its old IP is dropped', async () => {
  assert.equal((await get('app')).status, 200);
  assert.equal((await get('stale')).status, 200, 'the copy is right while app-0 is at 127.0.0.2');
  // The kubelet reports the new IP, then the EndpointSlice controller rewrites app's slice (not the copy).
  h.api.upsert(pod('team-a', 'app-0', '127.0.0.4', [port()]));
  h.api.upsert(
    endpointSlice('team-a', 'app', [{ ip: '127.0.0.4', pod: 'app-0' }], [{ name: 'http', port: port() }], {
      name: 'app-1',
    }),
  );
  await eventually(async () => (await get('app')).status === 200 && moved.requests.length > 0, 5000, 20);
  // The copy still names the old IP: once rechecked (endpointRecheck 1s) it is no longer dialled.
  await eventually(async () => (await get('stale')).status === 503, 5000, 50);
  const before = app.requests.length;
  assert.equal((await get('stale')).status, 503);
  assert.equal(app.requests.length, before, 'the old IP is no longer dialled');
});

test('a slice that runs ahead of its Pod is used as soon as the Pod confirms it', async () => {
  h.api.upsert(
    service('team-a', 'early', [{ name: 'http', port: 80, targetPort: port() }]),
    endpointSlice(
      'team-a',
      'early',
      [{ ip: '127.0.0.2', pod: 'early-0' }],
      [{ name: 'http', port: port() }],
      {
        name: 'early-1',
      },
    ),
  );
  await eventually(async () => (await get('early')).status === 503, 3000, 20);
  h.api.upsert(pod('team-a', 'early-0', '127.0.0.2', [port()]));
  await eventually(async () => (await get('early')).status === 200, 5000, 50);
});
