/**
 * /metrics on the admin port after real traffic: what an operator's
 * dashboard shows — requests by namespace/kind/code, latencies, in-flight,
 * connect errors, retries, ejections, endpoints per Service, cache state and
 * watch restarts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoPair, type EchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';

let h: Harness;
let a: EchoServer;
let b: EchoServer;
const WEB = '/api/v1/namespaces/team-a/services/web:http/proxy';
const DEAD = '/api/v1/namespaces/team-b/services/dead:http/proxy';

before(async () => {
  [a, b] = await startEchoPair([
    { host: '127.0.0.2', name: 'a' },
    { host: '127.0.0.3', name: 'b' },
  ]);
  h = await startHarness({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice(
        'team-a',
        'web',
        [{ ip: '127.0.0.2' }, { ip: '127.0.0.3' }, { ip: '127.0.0.4', ready: false }],
        [{ name: 'http', port: a.port }],
      ),
      // Nothing listens on port 1: every attempt is a connection refused.
      service('team-b', 'dead', [{ name: 'http', port: 80 }]),
      endpointSlice(
        'team-b',
        'dead',
        [{ ip: '127.0.0.5' }, { ip: '127.0.0.6' }],
        [{ name: 'http', port: 1 }],
      ),
    ],
    config: {
      upstream: {
        allowedAddresses: ['127.0.0.0/8'],
        loadBalancing: { outlierDetection: { consecutiveFailures: 1 } },
      },
    },
  });
});

after(async () => {
  await h?.close();
  await Promise.all([a?.close(), b?.close()]);
});

/** Prometheus text format → `name{labels}` → value (labels as written by prom-client). */
async function scrape(): Promise<Map<string, number>> {
  const res = await send(h.adminURL, 'GET', '/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  const out = new Map<string, number>();
  for (const line of res.body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const value = (m: Map<string, number>, key: string) => m.get(key) ?? 0;

test('requests are counted by namespace, kind and code, with request and upstream latency', async () => {
  const before = await scrape();
  for (let i = 0; i < 6; i++) assert.equal((await send(h.url, 'GET', `${WEB}/x`)).status, 200);
  assert.equal((await send(h.url, 'GET', `${WEB}/status/404`)).status, 404);
  assert.equal((await send(h.url, 'GET', '/api/v1/namespaces/team-a/services/nope/proxy/')).status, 404);
  const m = await scrape();

  const ok = 'kube_bastion_requests_total{namespace="team-a",kind="services",code="200"}';
  assert.equal(value(m, ok) - value(before, ok), 6);
  const upstream404 = 'kube_bastion_requests_total{namespace="team-a",kind="services",code="404"}';
  assert.equal(
    value(m, upstream404) - value(before, upstream404),
    2,
    'the upstream 404 and the unknown Service',
  );
  const count = 'kube_bastion_request_duration_seconds_count{kind="services"}';
  assert.equal(value(m, count) - value(before, count), 8);
  const upstream = 'kube_bastion_upstream_response_seconds_count';
  assert.equal(
    value(m, upstream) - value(before, upstream),
    7,
    'one upstream response per forwarded request',
  );
  assert.ok(value(m, 'kube_bastion_upstream_response_seconds_sum') > 0);
  assert.equal(
    value(m, 'kube_bastion_upstream_response_seconds_bucket{le="+Inf"}'),
    value(m, upstream),
    'histogram buckets add up',
  );
});

test('in-flight requests are visible while they run', async () => {
  const slow = send(h.url, 'GET', `${WEB}/slow?ms=600`);
  await eventually(async () => value(await scrape(), 'kube_bastion_requests_in_flight') === 1, 2000, 20);
  assert.equal((await slow).status, 200);
  assert.equal(value(await scrape(), 'kube_bastion_requests_in_flight'), 0);
});

test('open WebSocket connections are a gauge of their own', async () => {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`${h.url.replace('http', 'ws')}${WEB}/ws`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  await eventually(async () => value(await scrape(), 'kube_bastion_upgrades_open') === 1, 2000, 20);
  assert.equal(value(await scrape(), 'kube_bastion_requests_in_flight'), 0, 'not counted as a request');
  ws.close();
  await eventually(async () => value(await scrape(), 'kube_bastion_upgrades_open') === 0, 2000, 20);
});

test('connect errors, retries and ejections of a Service whose endpoints are all down', async () => {
  const before = await scrape();
  const res = await send(h.url, 'GET', `${DEAD}/x`);
  assert.equal(res.status, 503);
  const m = await scrape();
  const delta = (k: string) => value(m, k) - value(before, k);
  assert.equal(delta('kube_bastion_upstream_connect_errors_total'), 2, 'both endpoints refused');
  assert.equal(delta('kube_bastion_upstream_retries_total'), 1, 'one retry on the other endpoint');
  assert.equal(delta('kube_bastion_endpoint_ejections_total'), 1, 'at most half of the endpoints ejected');
  assert.equal(
    delta('kube_bastion_requests_total{namespace="team-b",kind="services",code="503"}'),
    1,
    'the client saw one 503',
  );
});

test('endpoints per Service, cache sync and cache sizes are read at scrape time', async () => {
  let m = await scrape();
  assert.equal(value(m, 'kube_bastion_service_endpoints{namespace="team-a",service="web"}'), 2, 'ready only');
  assert.equal(value(m, 'kube_bastion_service_endpoints{namespace="team-b",service="dead"}'), 2);
  assert.equal(value(m, 'kube_bastion_cache_synced'), 1);
  assert.equal(value(m, 'kube_bastion_cache_objects{resource="services"}'), 2);
  assert.equal(value(m, 'kube_bastion_cache_objects{resource="endpoints"}'), 5);

  h.api.upsert(
    endpointSlice('team-a', 'web', [{ ip: '127.0.0.2' }], [{ name: 'http', port: a.port }], {
      name: 'web-more',
    }),
  );
  await eventually(
    async () =>
      value(await scrape(), 'kube_bastion_service_endpoints{namespace="team-a",service="web"}') === 3,
    3000,
    20,
  );
  m = await scrape();
  assert.equal(value(m, 'kube_bastion_cache_objects{resource="endpointslices"}'), 3, 'the new slice is held');
  assert.equal(value(m, 'kube_bastion_cache_objects{resource="endpoints"}'), 6);
  assert.ok(value(m, 'kube_bastion_process_resident_memory_bytes') > 0, 'process metrics are there too');
});

test('a watch cut by the API server shows as a watch restart', async () => {
  const before = await scrape();
  assert.ok(h.api.cutWatches() > 0);
  await eventually(
    async () => {
      const m = await scrape();
      const restarts = [...m.entries()]
        .filter(([k]) => k.startsWith('kube_bastion_watch_restarts_total'))
        .reduce((sum, [k, v]) => sum + v - value(before, k), 0);
      return restarts >= 1;
    },
    5000,
    50,
  );
  assert.equal(value(await scrape(), 'kube_bastion_cache_synced'), 1, 'still synced after the restart');
});

test('authorization decisions are counted by outcome and what decided', async () => {
  const before = await scrape();
  assert.equal((await send(h.url, 'GET', `${WEB}/x`)).status, 200);
  // kube-system is outside the default namespace fence.
  const fenced = '/api/v1/namespaces/kube-system/services/dns:http/proxy/';
  assert.equal((await send(h.url, 'GET', fenced)).status, 403);
  const m = await scrape();
  const delta = (k: string) => value(m, k) - value(before, k);
  assert.equal(delta('kube_bastion_authorization_decisions_total{allowed="true",by="rule[0]"}'), 1);
  assert.equal(delta('kube_bastion_authorization_decisions_total{allowed="false",by="namespace-fence"}'), 1);
  // A namespace without Services is not a label value of its own.
  assert.equal(delta('kube_bastion_requests_total{namespace="other",kind="services",code="403"}'), 1);
});
