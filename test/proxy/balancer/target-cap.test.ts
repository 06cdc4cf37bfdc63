/**
 * The balancer's per-target state is keyed by the port the client wrote
 * (`pods/team-a/web-0:8080`): a user allowed on one pod names a new target
 * with every port. The state is bounded by count, least recently used first,
 * and what a target learned is kept while it is in use.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { endpointSlice, pod, service as kubeService } from '../../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../../support/echo-server.js';
import { startHarness, type Harness } from '../../support/gateway-harness.js';
import { send } from '../../support/http.js';
import { Clock, endpoint, fail, picker, service } from './fixtures.js';

const podTarget = (port: number) =>
  service([endpoint('10.0.0.1', { port })], {
    kind: 'pods',
    name: 'web-0',
    segment: `web-0:${port}`,
    key: `pods/team-a/web-0:${port}`,
  });

describe('EndpointPicker: at most maxTargets targets', () => {
  test('every port of a pod, one after another: the state stays at the cap', () => {
    const p = picker(new Clock(), { maxTargets: 100 });
    for (let port = 1; port <= 65_535; port++) p.pick(podTarget(port), { key: 'mallory' });
    assert.equal(p.targets, 100);
  });

  test('the least recently used goes first: a target in steady use keeps what it learned', () => {
    const clock = new Clock();
    const p = picker(clock, {
      maxTargets: 10,
      outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 60_000, maxEjectionPercent: 50 },
    });
    const web = service([endpoint('10.0.0.1'), endpoint('10.0.0.2'), endpoint('10.0.0.3')]);
    fail(p, web, web.endpoints[0], 3);
    assert.equal(p.stats(web).ejected, 1);
    for (let port = 1; port <= 1000; port++) {
      p.pick(podTarget(port), { key: 'mallory' });
      if (port % 5 === 0) p.pick(web, { key: 'alice' }); // the Service is used between the flood's requests
    }
    assert.equal(p.targets, 10);
    assert.equal(p.stats(web).ejected, 1, 'the ejection survived the flood');
  });

  test('a target with a request running is never forgotten; its outcome still counts', () => {
    const p = picker(new Clock(), { maxTargets: 2 });
    const web = service([endpoint('10.0.0.1'), endpoint('10.0.0.2')]);
    const chosen = p.pick(web, { key: 'alice' })!;
    const finish = p.start(web, chosen);
    for (let port = 1; port <= 50; port++) p.pick(podTarget(port), { key: 'mallory' });
    assert.equal(p.stats(web).outstanding, 1, 'the running request is still counted');
    finish('success');
    assert.equal(p.stats(web).outstanding, 0);
    assert.ok(p.targets <= 2);
  });
});

describe('through the gateway: client-chosen ports on one granted pod', () => {
  let h: Harness;
  let up: EchoServer;
  before(async () => {
    up = await startEchoServer({ host: '127.0.0.2', name: 'web-0' });
    h = await startHarness({
      objects: [
        kubeService('team-a', 'web', [{ name: 'http', port: 80, targetPort: up.port }]),
        endpointSlice('team-a', 'web', [{ ip: up.host, pod: 'web-0' }], [{ name: 'http', port: up.port }]),
        pod('team-a', 'web-0', up.host, [{ name: 'http', containerPort: up.port }]),
      ],
      config: { upstream: { allowedAddresses: ['127.0.0.0/8'], loadBalancing: { maxTargets: 20 } } },
    });
  });
  after(async () => {
    await h?.close();
    await up?.close();
  });

  const balancerTargets = async () => {
    const text = await (await fetch(`${h.adminURL}/metrics`)).text();
    const m = /^kube_bastion_cache_entries\{cache="balancer-targets"\} (\d+)$/m.exec(text);
    assert.ok(m, 'the balancer-targets gauge is exported');
    return Number(m[1]);
  };

  test('200 ports named by one client leave at most maxTargets entries, and the pod still answers', async () => {
    // Ports nothing listens on: below where freePort() picks (20,000 up) and the kernel's ephemeral range,
    // where the port-0 servers of test files running beside land (one once answered port 40,027 with a 200).
    for (let port = 19_000; port < 19_200; port++) {
      const r = await send(h.url, 'GET', `/api/v1/namespaces/team-a/pods/web-0:${port}/proxy/x`);
      assert.equal(r.status, 503, `port ${port}: nothing listens there`);
    }
    assert.equal(await balancerTargets(), 20);
    const ok = await send(h.url, 'GET', `/api/v1/namespaces/team-a/pods/web-0:${up.port}/proxy/ok`);
    assert.equal(ok.status, 200);
    assert.equal(up.last()?.url, '/ok');
  });
});
