/**
 * SIGTERM under load, through `gateway.shutdown()` (what the signal handler
 * calls): the gateway turns unready at once, still serves what arrives during
 * the delay, and lets every in-flight request finish — none is dropped. The
 * gateway runs on a clock the test moves: the delay ends when the test says.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { endpointSlice, pod, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send, type Reply } from '../support/http.js';
import { ManualClock } from '../support/manual-clock.js';

const PATH = '/api/v1/namespaces/team-a/services/web:http/proxy';
const clock = new ManualClock();
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
      clock,
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
  // 40 requests in flight that the backend answers only when the test lets it.
  const inflight = Array.from({ length: 40 }, (_, i) => outcome(send(h.url, 'GET', `${PATH}/held?i=${i}`)));
  await echo.waitFor(40);
  const done = h.gateway.shutdown();
  assert.equal((await fetch(`${h.adminURL}/readyz`)).status, 503, 'unready at once');
  // During the delay, load balancers are still sending: those requests are served too.
  const duringDelay: (number | string)[] = [];
  for (let i = 0; i < 10; i++) duringDelay.push(await outcome(send(h.url, 'GET', `${PATH}/late-${i}`)));
  assert.deepEqual(duringDelay, Array(10).fill(200), 'every request during the delay was answered 200');

  clock.advance(1000); // the delay is over: the listener closes, the drain begins
  await eventually(() => assert.rejects(send(h.url, 'GET', `${PATH}/after`)));
  echo.release();
  const statuses = await Promise.all(inflight);
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
