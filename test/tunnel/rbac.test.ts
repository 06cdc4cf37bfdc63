/**
 * Tunnels authorized by the cluster's RBAC (no static rules): a tunnel is
 * `create` on `pods/portforward` — exactly what `kubectl port-forward` needs,
 * so an existing RoleBinding keeps its meaning — or on `services/portforward`.
 * The SubjectAccessReview is read at the fake API server; access to the proxy
 * subresource, even a cached `create` for the same pod, never opens a tunnel,
 * and a refused tunnel never reaches the backend.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { eventually } from '../support/eventually.js';
import { openRaw, refusal } from './support/raw-tunnel.js';
import { NS, startTunnelWorld, type TunnelWorld } from './support/world.js';

let w: TunnelWorld;
let carol: string;
let dave: string;
let erin: string;
before(async () => {
  w = await startTunnelWorld({
    config: { authorization: { rules: [], kubernetesRBAC: { enabled: true } } },
    api: {
      grants: [
        // kubectl port-forward's permission, and nothing else
        {
          name: 'pf',
          user: 'carol',
          namespace: 'team-a',
          resource: 'pods',
          subresource: 'portforward',
          verbs: ['create'],
        },
        // the proxy, every verb a WebSocket through it needs, for Services and Pods
        {
          name: 'proxy',
          user: 'dave',
          namespace: 'team-a',
          resource: 'services',
          subresource: 'proxy',
          verbs: ['get', 'create'],
        },
        {
          name: 'proxy',
          user: 'dave',
          namespace: 'team-a',
          resource: 'pods',
          subresource: 'proxy',
          verbs: ['get', 'create'],
        },
        // one Service's tunnels by name
        {
          name: 'echo-only',
          user: 'erin',
          namespace: 'team-a',
          resource: 'services',
          subresource: 'portforward',
          verbs: ['create'],
          resourceNames: ['echo'],
        },
      ],
    },
  });
  [carol, dave, erin] = await Promise.all([w.mint('carol', []), w.mint('dave', []), w.mint('erin', [])]);
});
after(() => w?.close());

type Review = { spec: { user: string; groups: string[]; resourceAttributes: Record<string, string> } };
const lastReview = (user: string) =>
  (w.h.api.accessReviews as Review[]).findLast((r) => r.spec.user === user);

test('pods/portforward create opens a tunnel to the pod; the review asks exactly that', async () => {
  const t = await openRaw(w.h.url, `${NS}/pods/echo-0:tcp/portforward`, carol);
  t.send('ping');
  await eventually(() => t.received().toString() === 'ping');
  t.ws.close();
  const review = lastReview('carol')!;
  assert.deepEqual(review.spec.resourceAttributes, {
    namespace: 'team-a',
    verb: 'create',
    group: '',
    version: 'v1',
    resource: 'pods',
    subresource: 'portforward',
    name: 'echo-0',
  });
  assert.deepEqual(review.spec.groups, ['system:authenticated']);
});

test('pods/portforward does not reach Services: 403 with the apiserver’s message, no dial', async () => {
  const dials = w.echo.accepted;
  const r = await refusal(w.h.url, `${NS}/services/echo:7/portforward`, carol);
  assert.equal(r.status, 403);
  assert.equal(
    r.body.message,
    'services "echo" is forbidden: User "carol" cannot create resource "services/portforward" in API group "" in the namespace "team-a"',
  );
  assert.equal(w.echo.accepted, dials);
});

test('get and create on services/proxy grant no tunnel: 403 before any dial', async () => {
  const dials = w.echo.accepted;
  const r = await refusal(w.h.url, `${NS}/services/echo:7/portforward`, dave);
  assert.equal(r.status, 403);
  assert.equal(lastReview('dave')!.spec.resourceAttributes.subresource, 'portforward');
  assert.equal(w.echo.accepted, dials);
});

test('an allowed WebSocket through pods/proxy (create, same pod, cached) does not open a tunnel', async () => {
  // The proxy upgrade is authorized (create on pods/proxy, name echo-0) and its answer cached...
  const proxied = new WebSocket(`${w.h.url.replace('http', 'ws')}${NS}/pods/echo-0/proxy/`, {
    headers: { authorization: `Bearer ${dave}` },
  });
  const status = await new Promise<number>((resolve) => {
    proxied.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    proxied.once('open', () => resolve(101));
    proxied.once('error', () => resolve(-1));
  });
  proxied.terminate();
  assert.notEqual(status, 403, 'the proxy WebSocket itself is allowed');
  // ...yet the same verb on the same pod's portforward is asked anew, and refused.
  const dials = w.echo.accepted;
  const r = await refusal(w.h.url, `${NS}/pods/echo-0/portforward`, dave);
  assert.equal(r.status, 403);
  assert.equal(
    r.body.message,
    'pods "echo-0" is forbidden: User "dave" cannot create resource "pods/portforward" in API group "" in the namespace "team-a"',
  );
  assert.equal(w.echo.accepted, dials);
});

test('resourceNames see the Service’s name, without the port', async () => {
  const t = await openRaw(w.h.url, `${NS}/services/echo:7/portforward`, erin);
  t.ws.close();
  assert.equal(lastReview('erin')!.spec.resourceAttributes.name, 'echo');
  const r = await refusal(w.h.url, `${NS}/services/sink:9/portforward`, erin);
  assert.equal(r.status, 403);
});
