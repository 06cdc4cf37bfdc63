/**
 * What one portal load costs the API server. 1,000 Services × 2 ports in 50
 * namespaces, Kubernetes RBAC deciding, and a person whose grants are one
 * namespace and one port of one Service elsewhere: the page must stay within
 * its SubjectAccessReview budget (counted at the fake API server), list what
 * the person may open as far as the budget reaches, say when it was cut
 * short, and let a search find the rest.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { service } from '../support/fake-apiserver.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';

const BUDGET = 100;
let h: Harness;

interface Listing {
  incomplete: boolean;
  truncated?: { unchecked: number };
  namespaces: { namespace: string; services: { name: string; ports: { name: string }[] }[] }[];
}

before(
  async () => {
    const services = Array.from({ length: 1000 }, (_, i) =>
      service(`ns-${i % 50}`, `svc-${i}`, [
        { name: 'http', port: 80 },
        { name: 'metrics', port: 9090 },
      ]),
    );
    const me = 'system:anonymous'; // the caller under --insecure-no-auth
    h = await startHarness({
      objects: services,
      api: {
        grants: [
          { user: me, namespace: 'ns-3', resource: 'services/proxy', verbs: ['get'] },
          {
            user: me,
            namespace: 'ns-40',
            resource: 'services/proxy',
            verbs: ['get'],
            resourceNames: ['svc-40:http'],
          },
        ],
      },
      config: { authorization: { kubernetesRBAC: { enabled: true } } },
    });
  },
  { timeout: 60_000 },
);
after(async () => {
  await h?.close();
});

const reviews = () => h.api.count({ resource: 'subjectaccessreviews' });

async function portal(query = ''): Promise<{ listing: Listing; reviews: number }> {
  const before = reviews();
  const r = await send(h.url, 'GET', `/${query}`, { accept: 'application/json' });
  assert.equal(r.status, 200, r.body);
  return { listing: JSON.parse(r.body) as Listing, reviews: reviews() - before };
}

const names = (l: Listing, namespace: string) =>
  l.namespaces.find((n) => n.namespace === namespace)?.services.map((s) => s.name) ?? [];

test('one portal load stays within its review budget and lists what the budget reached', async () => {
  const { listing, reviews: spent } = await portal();
  assert.ok(spent <= BUDGET, `${spent} SubjectAccessReviews for one page`);
  assert.ok(spent >= 50, 'one namespace-wide review per namespace comes first');
  // ns-3 is open as a whole: its namespace-wide review answered for all 20 Services.
  assert.equal(names(listing, 'ns-3').length, 20);
  assert.ok(listing.truncated && listing.truncated.unchecked > 0, 'the listing says it was cut short');
  assert.equal(listing.incomplete, false, 'nothing failed: the budget ran out');

  const html = await send(h.url, 'GET', '/', { accept: 'text/html' });
  assert.match(html.body, /not all services could be checked/i);
  assert.ok(reviews() - spent <= BUDGET * 2, 'the HTML load costs no more than its own budget');
});

test('a search checks only what matches, so it finds a grant the full list did not reach', async () => {
  const { listing, reviews: spent } = await portal('?q=svc-40');
  assert.ok(spent <= BUDGET, `${spent} reviews`);
  assert.equal(listing.truncated, undefined, 'eleven matches fit in the budget');
  const ns40 = listing.namespaces.find((n) => n.namespace === 'ns-40')!;
  assert.deepEqual(
    ns40.services.map((s) => [s.name, s.ports.map((p) => p.name)]),
    [['svc-40', ['http']]],
  );
});

test('loading the page again costs no review', async () => {
  await portal();
  assert.equal((await portal()).reviews, 0);
});
