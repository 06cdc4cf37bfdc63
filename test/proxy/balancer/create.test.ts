import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { configSchema } from '../../../src/config/schema.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { createBalancer, type FailedAttempt } from '../../../src/proxy/balancer/index.js';
import { endpoint, fail, service, Clock } from './fixtures.js';

const loadBalancing = (input: object) =>
  configSchema.parse({ upstream: { loadBalancing: input } }).upstream.loadBalancing;

/** Sends requests to a real server and hands each IncomingMessage to `inspect`. */
async function withRequests(
  inspect: (req: IncomingMessage) => void,
  send: (port: number) => Promise<void>,
): Promise<void> {
  const server = http.createServer((req, res) => {
    inspect(req);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await send((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

async function request(port: number, method: string, body?: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { method, body });
  await res.text();
}

const web = service([endpoint('10.0.0.1'), endpoint('10.0.0.2')]);
const refused: FailedAttempt = { errorCode: 'ECONNREFUSED', requestWritten: false, bodyStarted: false };
const resetMidBody: FailedAttempt = { errorCode: 'ECONNRESET', requestWritten: true, bodyStarted: true };

test('the assembled retry policy retries refused connections, not streamed bodies, and counts retries', async () => {
  const metrics = createMetrics();
  const { retry } = createBalancer(loadBalancing({ retries: 1 }), { metrics });
  const answers: boolean[] = [];
  await withRequests(
    (req) => {
      retry.recordRequest(web);
      const failure = req.method === 'PUT' ? resetMidBody : refused;
      answers.push(retry.mayRetry(web, req, failure, 1), retry.mayRetry(web, req, failure, 2));
    },
    async (port) => {
      await request(port, 'GET');
      await request(port, 'POST', 'unsent body'); // refused: nothing left the gateway
      await request(port, 'PUT', 'streamed body'); // part of it went up: it cannot be sent again
    },
  );
  assert.deepEqual(answers, [true, false, true, false, false, false]);
  assert.equal((await metrics.retries.get()).values[0].value, 2);
});

test("the assembled retry policy takes each retry from its own target's budget", async () => {
  const { retry } = createBalancer(loadBalancing({ retries: 1, retryBudgetPercent: 0 }));
  const down = service([endpoint('10.0.1.1')], { key: 'services/team-a/down:http' });
  let downRetries = 0;
  let webRetries = 0;
  await withRequests(
    (req) => {
      // "down" fails every request; once its budget (the floor) is spent it gets no more retries…
      for (let i = 0; i < 50; i++) {
        retry.recordRequest(down);
        if (retry.mayRetry(down, req, refused, 1)) downRetries++;
      }
      // …while "web", next door, still retries its refused connect.
      retry.recordRequest(web);
      if (retry.mayRetry(web, req, refused, 1)) webRetries++;
    },
    (port) => request(port, 'GET'),
  );
  assert.ok(downRetries > 0 && downRetries < 50, `down retried ${downRetries} times`);
  assert.equal(webRetries, 1);
});

test('the assembled picker follows the configured policy and reports ejections', async () => {
  const metrics = createMetrics();
  const clock = new Clock();
  const { picker } = createBalancer(
    loadBalancing({ policy: 'round-robin', outlierDetection: { consecutiveFailures: 2 } }),
    {
      metrics,
      now: clock.now,
    },
  );
  const target = service([endpoint('10.0.0.1'), endpoint('10.0.0.2')]);
  assert.deepEqual(
    [0, 1, 2].map(() => picker.pick(target, { key: 'c' })!.ip),
    ['10.0.0.1', '10.0.0.2', '10.0.0.1'],
  );
  fail(picker, target, target.endpoints[1], 2, 'server-error');
  assert.equal(picker.stats(target).ejected, 1);
  assert.equal((await metrics.ejections.get()).values[0].value, 1);
});
