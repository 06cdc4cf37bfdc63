/**
 * Memory an outsider (or any signed-in user) can make the gateway hold. Every
 * request below names something new — a namespace, a Service, a Pod, an 8 KB
 * name — so anything keyed by what the client wrote (metric label sets, their
 * cache, lookup caches) would grow with each one. After 10,000 of them the
 * heap (after a full GC) and /metrics must be where they were.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { webService } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';
import { startJwtIssuer, type JwtIssuer } from '../support/jwt-issuer.js';
import { createTestCA } from '../support/tls.js';
import { trustedIssuer } from './support/world.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let h: Harness;
let issuer: JwtIssuer;
let web: EchoServer;
let carol: string;
let bob: string;

before(
  async () => {
    const ca = await createTestCA();
    [issuer, web] = await Promise.all([startJwtIssuer(ca), startEchoServer({ host: '127.0.0.2' })]);
    h = await startHarness({
      insecureNoAuth: false,
      objects: webService('team-a', 'web', web.host, web.port),
      config: {
        authentication: { jwt: [trustedIssuer(issuer, ca)] },
        authorization: {
          rules: [{ groups: ['ops'], namespaces: ['*'], resources: ['services', 'pods'], verbs: ['get'] }],
        },
      },
    });
    carol = await issuer.mint({ aud: 'kube-bastion', sub: 'carol', groups: ['ops'] });
    bob = await issuer.mint({ aud: 'kube-bastion', sub: 'bob', groups: ['qa'] });
  },
  { timeout: 60_000 },
);
after(async () => {
  await h?.close();
  await Promise.all([issuer?.close(), web?.close()]);
});

const unique = (i: number, width = 12) => `n${String(i).padStart(width, '0')}`;

/** One request per kind of novelty, cycling: who sends it and what it names. */
function request(i: number): { path: string; token?: string; status: number } {
  switch (i % 5) {
    case 0: // no credentials, a new (valid) namespace
      return { path: `/api/v1/namespaces/${unique(i, 60)}/services/web/proxy/`, status: 401 };
    case 1: // no credentials, a new 8 KB namespace (issue #15's reproduction)
      return { path: `/api/v1/namespaces/${unique(i, 8192)}/services/web/proxy/`, status: 404 };
    case 2: // allowed everywhere, a namespace that does not exist
      return { path: `/api/v1/namespaces/${unique(i)}/services/web/proxy/`, token: carol, status: 404 };
    case 3: // allowed, a Pod that does not exist (an on-demand lookup)
      return { path: `/api/v1/namespaces/team-a/pods/${unique(i)}/proxy/`, token: carol, status: 404 };
    default: // signed in without a grant, a new Service name
      return { path: `/api/v1/namespaces/team-a/services/${unique(i)}/proxy/`, token: bob, status: 403 };
  }
}

/** Sends requests `from`..`to` over `concurrency` keep-alive connections; returns the statuses seen. */
async function flood(from: number, to: number, concurrency = 16): Promise<Map<number, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const { hostname, port } = new URL(h.url);
  const statuses = new Map<number, number>();
  let next = from;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const r = request(i);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (r.token) headers.authorization = `Bearer ${r.token}`;
      http
        .get({ host: hostname, port, path: r.path, headers, agent }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== r.status) reject(new Error(`${r.path.slice(0, 80)}: ${res.statusCode}`));
            statuses.set(res.statusCode!, (statuses.get(res.statusCode!) ?? 0) + 1);
            resolve();
          });
        })
        .on('error', reject);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < to) await one(next++);
    }),
  );
  agent.destroy();
  return statuses;
}

async function heapAfterGC(): Promise<number> {
  // Twice, with a turn of the event loop between: finalizers and weak maps settle.
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  return process.memoryUsage().heapUsed;
}

const metricsText = async () => (await send(h.adminURL, 'GET', '/metrics')).body;

test(
  '10,000 requests that each name something new leave the heap and /metrics flat',
  { timeout: 120_000 },
  async (t) => {
    await flood(0, 1000); // warm-up: every code path has run and allocated what it keeps
    const metricsBefore = (await metricsText()).length;
    const heapBefore = await heapAfterGC();

    const statuses = await flood(1000, 11_000);
    assert.deepEqual([...statuses.entries()].sort(), [
      [401, 2000],
      [403, 2000],
      [404, 6000],
    ]);

    const metrics = await metricsText();
    const heapGrowthMB = ((await heapAfterGC()) - heapBefore) / 2 ** 20;
    t.diagnostic(`heap +${heapGrowthMB.toFixed(2)} MB, /metrics ${metricsBefore} → ${metrics.length} bytes`);
    assert.ok(
      metrics.length - metricsBefore < 4096,
      `/metrics grew by ${metrics.length - metricsBefore} bytes (${metricsBefore} → ${metrics.length})`,
    );
    // Measured before the fix: ~300 MB for 10,000 such requests.
    assert.ok(heapGrowthMB < 8, `the heap grew by ${heapGrowthMB.toFixed(1)} MB after GC`);
    // Labels are the bounded set: the one namespace that exists, `other`, `unauthenticated`.
    const namespaces = new Set(
      [...metrics.matchAll(/^kube_bastion_requests_total\{namespace="([^"]*)"/gm)].map((m) => m[1]),
    );
    assert.deepEqual([...namespaces].sort(), ['', 'other', 'team-a', 'unauthenticated']);
    // The per-key caches report their size, and stay within their bounds.
    const pods = Number(/^kube_bastion_cache_entries\{cache="pods"\} (\d+)/m.exec(metrics)?.[1]);
    assert.ok(pods > 0 && pods <= 10_000, `pod lookups cached: ${pods}`);
    // Who got in and what decided, counted per request with labels from code, not from clients.
    const counter = (name: string) =>
      [...metrics.matchAll(new RegExp(`^kube_bastion_${name} (\\d+)$`, 'gm'))].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
    assert.ok(counter('authentications_total\\{method="[a-z]+",result="success"\\}') >= 6600);
    assert.ok(counter('authorization_decisions_total\\{allowed="true",by="rule\\[0\\]"\\}') >= 4400);
    assert.ok(counter('authorization_decisions_total\\{allowed="false",by="no-rule"\\}') >= 2200);
    assert.equal((await send(h.adminURL, 'GET', '/readyz')).status, 200);
  },
);
