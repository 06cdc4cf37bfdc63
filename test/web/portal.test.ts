/**
 * The portal's decisions without a browser: which links a person gets (the
 * same Authorizer as the proxy, port by port), how the list is searched, and
 * that a refresh does not repeat the authorization work.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import type { Identity } from '../../src/request/identity.js';
import { createAuthorizer, requestAttributes } from '../../src/authz/index.js';
import type { Authorizer } from '../../src/authz/types.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { catalog, portSegment } from '../../src/web/portal/catalog.js';
import { buildListing } from '../../src/web/portal/listing.js';
import { createReachableServices } from '../../src/web/portal/reachable.js';
import { renderPortalPage } from '../../src/web/pages/portal-page.js';

const svc = (namespace: string, name: string, ports: { name?: string; port: number }[]): V1Service => ({
  metadata: { namespace, name },
  spec: { ports },
});

const SERVICES = [
  svc('team-a', 'web', [
    { name: 'http', port: 80 },
    { name: 'metrics', port: 9090 },
  ]),
  svc('team-a', 'grafana', [{ port: 3000 }]),
  svc('team-a', 'secure', [{ name: 'https', port: 8443 }]),
  svc('team-b', 'api', [{ name: 'http', port: 80 }]),
  svc('kube-system', 'dashboard', [{ port: 443 }]),
];

const person = (username: string, groups: string[]): Identity => ({
  username,
  groups,
  extra: {},
  method: 'session',
});

/** The real authorizer, counting the checks that reach it. */
function authorizerFor(rules: unknown[]): Authorizer & { checks: number } {
  const config = parseConfig({ authorization: { rules } }, { env: {} });
  const real = createAuthorizer(config, { logger: createLogger({ level: 'silent', format: 'json' }) });
  const counted = {
    checks: 0,
    authorize(attrs: Parameters<Authorizer['authorize']>[0]) {
      counted.checks++;
      return real.authorize(attrs);
    },
  };
  return counted;
}

test('links use the segment kubectl cluster-info prints', () => {
  assert.equal(portSegment('web', { name: 'http', port: 80 }), 'web:http');
  assert.equal(portSegment('grafana', { port: 3000 }), 'grafana');
  assert.equal(portSegment('secure', { name: 'https', port: 8443 }), 'https:secure:https');
  assert.equal(portSegment('dashboard', { port: 443 }), 'https:dashboard:');
  const paths = catalog(SERVICES).flatMap((e) => e.ports.map((p) => p.path));
  assert.ok(paths.includes('/api/v1/namespaces/kube-system/services/https:dashboard:/proxy/'));
  assert.ok(paths.includes('/api/v1/namespaces/team-a/services/web:metrics/proxy/'));
});

test('a person sees only the services and ports the proxy would let them GET', async () => {
  const authorizer = authorizerFor([
    { groups: ['team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['get'] },
    // RBAC-style resourceNames: bob may open web's http port, not its metrics.
    { users: ['bob'], namespaces: ['team-a'], resources: ['services'], names: ['web:http'], verbs: ['get'] },
    { groups: ['everyone'], namespaces: ['*'], resources: ['services'], verbs: ['*'] },
  ]);
  const reachable = createReachableServices({
    authorizer,
    attributes: requestAttributes,
    services: () => SERVICES,
    hostRouting: false,
  });

  const alice = await reachable.forUser(person('alice', ['team-a']));
  assert.deepEqual(
    alice.services.map((s) => [s.namespace, s.name, s.ports.map((p) => p.segment)]),
    [
      ['team-a', 'grafana', ['grafana']],
      ['team-a', 'secure', ['https:secure:https']],
      ['team-a', 'web', ['web:http', 'web:metrics']],
    ],
  );

  const bob = await reachable.forUser(person('bob', ['team-b']));
  assert.deepEqual(
    bob.services.map((s) => [s.name, s.ports.map((p) => p.segment)]),
    [['web', ['web:http']]],
  );

  // Even a rule for every namespace stops at the namespace fence (kube-system is denied by default).
  const admin = await reachable.forUser(person('carol', ['everyone']));
  assert.ok(!admin.services.some((s) => s.namespace === 'kube-system'));
  assert.equal(admin.services.length, 4);
});

test('a refresh reuses the answer; another set of groups is decided afresh', async () => {
  const authorizer = authorizerFor([
    { groups: ['team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['get'] },
  ]);
  const reachable = createReachableServices({
    authorizer,
    attributes: requestAttributes,
    services: () => SERVICES,
    hostRouting: true,
  });
  const alice = person('alice', ['team-a']);
  const [first, concurrent] = await Promise.all([reachable.forUser(alice), reachable.forUser(alice)]);
  const perLoad = authorizer.checks;
  // One namespace-wide check per namespace (3); team-a passes it, so its Services need no more.
  // Elsewhere one check per port plus one for each host-routed form: team-b's api (2) and
  // kube-system's dashboard (2).
  assert.equal(perLoad, 3 + 2 + 2);
  assert.deepEqual(first, concurrent);
  await reachable.forUser(alice);
  assert.equal(authorizer.checks, perLoad);
  await reachable.forUser(person('alice', ['team-a', 'team-b']));
  assert.equal(authorizer.checks, perLoad * 2);
});

test('a namespace the person may wholly open costs one check however many Services it has', async () => {
  const many = Array.from({ length: 300 }, (_, i) => svc('team-a', `app-${i}`, [{ name: 'http', port: 80 }]));
  const services = [...many, svc('team-b', 'api', [{ name: 'http', port: 80 }])];
  const authorizer = authorizerFor([
    { groups: ['team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['get'] },
    // Named grants still work one by one.
    {
      users: ['alice'],
      namespaces: ['team-b'],
      resources: ['services'],
      names: ['api:http'],
      verbs: ['get'],
    },
  ]);
  const reachable = createReachableServices({
    authorizer,
    attributes: requestAttributes,
    services: () => services,
    hostRouting: false,
  });
  const r = await reachable.forUser(person('alice', ['team-a']));
  assert.equal(r.services.filter((s) => s.namespace === 'team-a').length, 300);
  assert.deepEqual(
    r.services.filter((s) => s.namespace === 'team-b').map((s) => s.ports.map((p) => p.segment)),
    [['api:http']],
  );
  // team-a: one namespace-wide check; team-b: its namespace-wide check is refused, then one per port.
  assert.equal(authorizer.checks, 1 + 1 + 1);
});

test('a failing check shows what could be decided and says the list may be short', async () => {
  const flaky: Authorizer = {
    authorize: (attrs) =>
      attrs.namespace === 'team-b'
        ? Promise.reject(new Error('apiserver down'))
        : Promise.resolve({ allowed: true, by: 'test' }),
  };
  const reachable = createReachableServices({
    authorizer: flaky,
    attributes: requestAttributes,
    services: () => SERVICES,
    hostRouting: false,
  });
  const r = await reachable.forUser(person('alice', []));
  assert.equal(r.incomplete, true);
  assert.ok(!r.services.some((s) => s.namespace === 'team-b'));
  const html = renderPortalPage(
    buildListing(person('alice', []), r, '', { publicURL: new URL('https://bastion.example.com') }),
    { username: 'alice' },
  );
  assert.match(html, /may be missing services/);
});

test('search narrows by name, namespace or port; host links follow the public URL', async () => {
  const authorizer = authorizerFor([
    { groups: ['team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['get'] },
  ]);
  const reachable = createReachableServices({
    authorizer,
    attributes: requestAttributes,
    services: () => SERVICES,
    hostRouting: true,
  });
  const alice = person('alice', ['team-a']);
  const r = await reachable.forUser(alice);
  const links = { publicURL: new URL('https://bastion.example.com'), hostSuffix: 'apps.example.com' };
  const names = (q: string) =>
    buildListing(alice, r, q, links).namespaces.flatMap((n) => n.services.map((s) => s.name));
  assert.deepEqual(names(''), ['grafana', 'secure', 'web']);
  assert.deepEqual(names('GRAF'), ['grafana']);
  assert.deepEqual(names('metrics'), ['web']);
  assert.deepEqual(names('team-a web'), ['web']);
  assert.deepEqual(names('team-b'), []);
  const web = buildListing(alice, r, 'web', links).namespaces[0].services[0];
  assert.equal(web.hostURL, 'https://web--team-a.apps.example.com/');
  assert.equal(
    web.ports[0].url,
    'https://bastion.example.com/api/v1/namespaces/team-a/services/web:http/proxy/',
  );
});

test('the search text is shown back escaped', () => {
  const listing = buildListing(
    person('alice', []),
    { services: [], incomplete: false, unchecked: 0 },
    '"><script>alert(1)</script>',
    {
      publicURL: new URL('https://bastion.example.com'),
    },
  );
  const html = renderPortalPage(listing, { username: 'alice', logoutPath: '/auth/logout' });
  assert.ok(!html.includes('<script>'));
  assert.match(html, /value="&#34;&#62;&#60;script&#62;/);
  assert.match(html, /Nothing you can open matches that search/);
  assert.match(html, /<form method="post" action="\/auth\/logout"/);
});

test('with tunnels on, each port has its `kube-bastion connect` line, ready to copy; off, none', async () => {
  const authorizer = authorizerFor([
    { groups: ['team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['get'] },
  ]);
  const reachable = createReachableServices({
    authorizer,
    attributes: requestAttributes,
    services: () => SERVICES,
    hostRouting: false,
  });
  const alice = person('alice', ['team-a']);
  const r = await reachable.forUser(alice);
  const publicURL = new URL('https://bastion.example.com');
  const on = buildListing(alice, r, 'web', { publicURL, tunnels: true });
  const web = on.namespaces[0].services[0];
  assert.deepEqual(
    web.ports.map((p) => p.connect),
    web.ports.map((p) => `kube-bastion connect team-a/web:${p.port}`),
  );
  const html = renderPortalPage(on, { username: 'alice' });
  assert.match(html, /<code class="connect">kube-bastion connect team-a\/web:\d+<\/code>/);
  const off = buildListing(alice, r, 'web', { publicURL });
  assert.equal(off.namespaces[0].services[0].ports[0].connect, undefined);
  assert.doesNotMatch(renderPortalPage(off, { username: 'alice' }), /kube-bastion connect/);
});
