/**
 * SIGTERM under load, through `gateway.shutdown()` (what the signal handler
 * calls): the gateway turns unready at once, still serves what arrives during
 * the delay, and lets every in-flight request finish — none is dropped.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { endpointSlice, pod, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send, type Reply } from '../support/http.js';

const PATH = '/api/v1/namespaces/team-a/services/web:http/proxy';
let h: Harness;
let echo: EchoServer;

before(
  async () => {
    echo = await startEchoServer({ host: '127.0.0.2' });
    h = await startHarness({
      config: { listen: { shutdown: { delay: '1s', timeout: '5s' } } },
      objects: [
        service('team-a', 'web', [{ name: 'http', port: 80, targetPort: echo.port }]),
        endpointSlice('team-a', 'web', [{ ip: echo.host }], [{ name: 'http', port: echo.port }]),
        pod('team-a', 'web-2', echo.host),
      ],
    });
  },
  { timeout: 60_000 },
);
after(async () => {
  await h?.api.stop();
  await echo?.close();
});

test('shutdown under load drops no in-flight request', async () => {
  const outcome = (p: Promise<Reply>) =>
    p.then(
      (r) => r.status,
      (e: Error) => e.message,
    );
  // 40 slow requests in flight, plus a steady stream of quick ones.
  const inflight = Array.from({ length: 40 }, (_, i) =>
    outcome(send(h.url, 'GET', `${PATH}/slow?ms=${600 + i * 10}`)),
  );
  await sleep(100);
  const done = h.gateway.shutdown();
  assert.equal((await fetch(`${h.adminURL}/readyz`)).status, 503, 'unready at once');
  // During the delay, load balancers are still sending: those requests are served too.
  const duringDelay: Promise<number | string>[] = [];
  for (let i = 0; i < 10; i++) {
    duringDelay.push(outcome(send(h.url, 'GET', `${PATH}/late-${i}`)));
    await sleep(20);
  }
  const statuses = await Promise.all([...inflight, ...duringDelay]);
  await done;
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    'every request that reached the gateway before it stopped listening was answered 200',
  );
  assert.equal(echo.requests.filter((r) => r.aborted).length, 0, 'no upstream request was cut');
  // After the drain the port is closed.
  await assert.rejects(send(h.url, 'GET', `${PATH}/after`));
});
