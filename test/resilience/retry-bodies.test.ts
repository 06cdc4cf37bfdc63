/**
 * Retries when the request carries a body, and retry budgets per Service.
 *
 * A refused connection means nothing reached the upstream: the client's body
 * is still unread, so any request — POST included — goes to another endpoint,
 * which gets the whole body, once. And one Service with every endpoint down
 * spends its own retry budget, not its neighbours'.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoPair, startEchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { startHarness } from '../support/gateway-harness.js';

const proxyPath = (name: string) => `/api/v1/namespaces/team-a/services/${name}:http/proxy`;

function serviceOn(name: string, ips: string[], port: number) {
  return [
    service('team-a', name, [{ name: 'http', port: 80 }]),
    endpointSlice(
      'team-a',
      name,
      ips.map((ip) => ({ ip })),
      [{ name: 'http', port }],
      { name: `${name}-1` },
    ),
  ];
}

/** One request on a keep-alive agent; resolves with the status (0 when the connection failed). */
function call(agent: http.Agent, url: string, method = 'GET', body?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/** Runs `jobs` with `concurrency` workers; returns their results in order. */
async function pool<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

test('POST and PUT with bodies are retried past a refusing endpoint; each body arrives once, whole', async () => {
  const [a, b] = await startEchoPair([
    { host: '127.0.0.2', name: 'a' },
    { host: '127.0.0.3', name: 'b' },
  ]);
  // 127.0.0.4 listens on nothing: that endpoint refuses every connection.
  const h = await startHarness({
    objects: serviceOn('web', ['127.0.0.2', '127.0.0.3', '127.0.0.4'], a.port),
    config: {
      upstream: {
        allowedAddresses: ['127.0.0.0/8'],
        // Keep the refusing endpoint in rotation (no ejection), with budget for a retry every third request.
        loadBalancing: {
          policy: 'round-robin',
          retryBudgetPercent: 60,
          outlierDetection: { consecutiveFailures: 10_000 },
        },
      },
    },
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
  try {
    const sent: string[] = [];
    const jobs = Array.from({ length: 120 }, (_, i) => {
      const method = i % 2 === 0 ? 'POST' : 'PUT';
      const body = `${method}-${i}:${'x'.repeat(48 * 1024)}`; // several chunks on the wire
      sent.push(body);
      return () => call(agent, `${h.url}${proxyPath('web')}/upload`, method, body);
    });
    const statuses = await pool(jobs, 6);

    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'every request succeeded',
    );
    const received = [...a.requests, ...b.requests].map((r) => r.body);
    assert.equal(received.length, sent.length, 'each request reached a backend exactly once');
    assert.deepEqual(new Set(received), new Set(sent), 'every body arrived complete');
    const m = await (await fetch(`${h.adminURL}/metrics`)).text();
    assert.match(m, /kube_bastion_upstream_retries_total [1-9]/, 'the refusing endpoint was tried');
  } finally {
    agent.destroy();
    await h.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test("a Service with every endpoint down does not spend another Service's retries", async () => {
  const healthy = await startEchoServer({ host: '127.0.0.2', name: 'healthy' });
  const port = healthy.port;
  // Nothing listens on 127.0.0.4..7 at this port: those endpoints refuse.
  const h = await startHarness({
    objects: [
      ...serviceOn('down', ['127.0.0.5', '127.0.0.6', '127.0.0.7'], port),
      ...serviceOn('half', ['127.0.0.4', '127.0.0.2'], port),
    ],
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  try {
    let running = true;
    let downAnswers = 0;
    const outage = Array.from({ length: 8 }, async () => {
      while (running) {
        await call(agent, `${h.url}${proxyPath('down')}/x`);
        downAnswers++;
      }
    });
    // Enough failed requests on "down" to use up any shared budget (floor 10 + 20 %).
    await eventually(() => downAnswers >= 200, 10_000);
    const half = await pool(
      Array.from({ length: 60 }, () => () => call(agent, `${h.url}${proxyPath('half')}/x`)),
      4,
    );
    running = false;
    await Promise.all(outage);

    assert.deepEqual(
      half.filter((s) => s !== 200),
      [],
      '"half" retried its refusing endpoint despite the outage next door',
    );
    assert.equal(healthy.requests.length, 60);
  } finally {
    agent.destroy();
    await h.close();
    await healthy.close();
  }
});
