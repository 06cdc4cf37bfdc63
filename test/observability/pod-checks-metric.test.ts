/**
 * kube_bastion_endpoint_pod_checks_total moves with real traffic: an endpoint
 * whose Pod holds its IP is `confirmed` (and served), one whose Pod holds
 * another IP is `refuted` (and never dialled), one whose Pod cannot be read
 * is an `error` (and not used either).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { endpointSlice, pod, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';
import { sampleSum, scrape } from '../support/scrape.js';

const NS = '/api/v1/namespaces/team-a/services';
const CHECKS = 'kube_bastion_endpoint_pod_checks_total';

let h: Harness;
let echo: EchoServer;

/** A Service `name` with one endpoint at `ip`, whose targetRef names Pod `<name>-0`. */
const backed = (name: string, ip: string, port: number) => [
  service('team-a', name, [{ name: 'http', port: 80, targetPort: port }]),
  endpointSlice('team-a', name, [{ ip, pod: `${name}-0` }], [{ name: 'http', port }]),
];

before(async () => {
  echo = await startEchoServer({ host: '127.0.0.2', name: 'echo' });
  h = await startHarness({
    objects: [
      ...backed('owned', '127.0.0.2', echo.port), // the harness's kubelet gives owned-0 this IP
      ...backed('moved', '127.0.0.2', echo.port),
      pod('team-a', 'moved-0', '127.0.0.9'), // the Pod the slice names holds another IP
      ...backed('unreadable', '127.0.0.2', echo.port),
    ],
  });
});
after(async () => {
  await h?.close();
  await echo?.close();
});

async function checksAfter(path: string, status: number): Promise<Record<string, number>> {
  const before = await scrape(h.adminURL);
  const served = echo.requests.length;
  assert.equal((await send(h.url, 'GET', path)).status, status);
  if (status !== 200) assert.equal(echo.requests.length, served, 'the endpoint was not dialled');
  const now = await scrape(h.adminURL);
  const delta = (result: string) =>
    sampleSum(now, CHECKS, { result }) - sampleSum(before, CHECKS, { result });
  return { confirmed: delta('confirmed'), refuted: delta('refuted'), error: delta('error') };
}

test('an endpoint whose Pod holds its IP is confirmed once, then trusted', async () => {
  assert.deepEqual(await checksAfter(`${NS}/owned:http/proxy/`, 200), { confirmed: 1, refuted: 0, error: 0 });
  assert.deepEqual(await checksAfter(`${NS}/owned:http/proxy/`, 200), { confirmed: 0, refuted: 0, error: 0 });
});

test('an endpoint whose Pod holds another IP is refuted and not used', async () => {
  assert.deepEqual(await checksAfter(`${NS}/moved:http/proxy/`, 503), { confirmed: 0, refuted: 1, error: 0 });
});

test('an endpoint whose Pod cannot be read is an error and not used', async () => {
  h.api.failRequests({ resource: 'pods', name: 'unreadable-0' }, 500, 1000);
  const counted = await checksAfter(`${NS}/unreadable:http/proxy/`, 503);
  assert.equal(counted.confirmed + counted.refuted, 0);
  assert.ok(counted.error >= 1, `error checks: ${counted.error}`);
});
