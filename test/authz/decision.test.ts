/**
 * The pure decision core, as a table: who, which verb, which target, which
 * config → allowed or not, and what answered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Identity } from '../../src/request/identity.js';
import { requestAttributes, verbForMethod } from '../../src/authz/attributes.js';
import { compileGlob } from '../../src/authz/glob.js';
import { compilePolicy, decideLocally } from '../../src/authz/policy.js';
import type { RequestAttributes } from '../../src/request/attributes.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { parseProxyPath } from '../../src/request/proxy-path.js';

const user = (username: string, groups: string[] = []): Identity => ({
  username,
  groups,
  extra: {},
  method: 'jwt',
});
const alice = user('alice', ['devs']);
const bob = user('bob', ['ops']);
const ci = user('system:serviceaccount:team-a:ci', [
  'system:serviceaccounts',
  'system:serviceaccounts:team-a',
]);

function attrs(method: string, url: string, who: Identity, upgrade = false): RequestAttributes {
  return requestAttributes(method, parseProxyPath(url)!, who, upgrade);
}
const svc = (ns: string, segment: string) => `/api/v1/namespaces/${ns}/services/${segment}/proxy/`;
const pod = (ns: string, segment: string) => `/api/v1/namespaces/${ns}/pods/${segment}/proxy/x`;
const node = (segment: string) => `/api/v1/nodes/${segment}/proxy/stats`;

const BASE: ConfigInput['authorization'] = {
  rules: [
    // rule[0]: devs read and write services in team-*
    {
      groups: ['devs'],
      namespaces: ['team-*'],
      resources: ['services'],
      verbs: ['get', 'create', 'update', 'patch', 'delete'],
    },
    // rule[1]: bob may only GET the web:http port in shop
    { users: ['bob'], namespaces: ['shop'], resources: ['services'], names: ['web:http'], verbs: ['get'] },
    // rule[2]: ops may do anything (including unknown methods) to pods anywhere
    { groups: ['ops'], namespaces: ['*'], resources: ['pods'], verbs: ['*'] },
    // rule[3]: service accounts of team-a, by user glob, get only, any resource in team-a
    { users: ['system:serviceaccount:team-a:*'], namespaces: ['team-a'], resources: ['*'], verbs: ['get'] },
    // rule[4]: bob reaches node metrics ports only
    { users: ['bob'], namespaces: ['*'], resources: ['nodes'], names: ['node-*:10250'], verbs: ['get'] },
    // rule[5]: everyone may GET the status page in public
    { namespaces: ['public'], resources: ['services'], names: ['status', 'status:*'], verbs: ['get'] },
  ],
};

function decide(a: RequestAttributes, authorization: ConfigInput['authorization'] = BASE) {
  return decideLocally(a, compilePolicy(parseConfig({ authorization }).authorization));
}

test('HTTP methods map to verbs exactly as the apiserver maps them', () => {
  const cases: [string, string][] = [
    ['GET', 'get'],
    ['HEAD', 'get'],
    ['POST', 'create'],
    ['PUT', 'update'],
    ['PATCH', 'patch'],
    ['DELETE', 'delete'],
    ['OPTIONS', ''],
    ['TRACE', ''],
    ['CONNECT', ''],
    ['PROPFIND', ''],
    ['get', 'get'],
  ];
  for (const [method, verb] of cases) assert.equal(verbForMethod(method), verb, method);
});

test('attributes carry the raw name segment, the namespace and the proxy subresource', () => {
  assert.deepEqual(attrs('GET', svc('team-a', 'https:web:8443'), alice), {
    user: alice,
    verb: 'get',
    resource: 'services',
    subresource: 'proxy',
    namespace: 'team-a',
    name: 'https:web:8443',
  });
  const n = attrs('GET', node('node-1:10250'), bob);
  assert.equal(n.namespace, '');
  assert.equal(n.resource, 'nodes');
  assert.equal(n.name, 'node-1:10250');
  // A percent-encoded segment is authorized in its decoded form, as RBAC resourceNames see it.
  assert.equal(attrs('GET', '/api/v1/namespaces/team-a/services/web%3Ahttp/proxy/', alice).name, 'web:http');
});

test('a WebSocket upgrade is authorized as create, not get (KEP-4006)', () => {
  assert.equal(attrs('GET', svc('team-a', 'web'), alice, true).verb, 'create');
  assert.equal(attrs('GET', svc('team-a', 'web'), alice, false).verb, 'get');
  assert.equal(attrs('POST', svc('team-a', 'web'), alice, true).verb, 'create');
});

test('globs: `*` matches any run, everything else is literal and anchored', () => {
  const cases: [string, string, boolean][] = [
    ['team-*', 'team-a', true],
    ['team-*', 'team-', true],
    ['team-*', 'xteam-a', false],
    ['*-prod', 'shop-prod', true],
    ['*-prod', 'shop-prod-2', false],
    ['a*b*c', 'a-x-b-y-c', true],
    ['web.*', 'webx', false],
    ['web.*', 'web.x', true],
    ['*', '', true],
    ['kube-system', 'kube-system2', false],
    ['system:serviceaccount:*', 'system:serviceaccount:ns:sa', true],
    ['(x)', '(x)', true],
    ['a?', 'ab', false],
    // prefix and suffix may not overlap; middle pieces keep their order and fit between them
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['ab*ba', 'aba', false],
    ['*ab*ab*', 'xabyab', true],
    ['*ab*ab*', 'xaby', false],
    ['x*b*a*y', 'xabay', true],
    ['x*b*a*y', 'xaby', false],
    ['**', '', true],
    ['*-*-*-*-prod', `${'-'.repeat(100_000)}x`, false],
  ];
  for (const [pattern, value, expected] of cases)
    assert.equal(compileGlob(pattern)(value), expected, `${pattern} ~ ${value}`);
});

interface Case {
  what: string;
  method: string;
  url: string;
  who: Identity;
  upgrade?: boolean;
  authorization?: ConfigInput['authorization'];
  allowed: boolean;
  by: string;
}

const CASES: Case[] = [
  // static rules: groups × namespace globs × verbs
  {
    what: 'group grant, GET',
    method: 'GET',
    url: svc('team-a', 'web'),
    who: alice,
    allowed: true,
    by: 'rule[0]',
  },
  {
    what: 'group grant, POST',
    method: 'POST',
    url: svc('team-b', 'web:http'),
    who: alice,
    allowed: true,
    by: 'rule[0]',
  },
  {
    what: 'group grant, PUT',
    method: 'PUT',
    url: svc('team-a', 'web'),
    who: alice,
    allowed: true,
    by: 'rule[0]',
  },
  {
    what: 'group grant, PATCH',
    method: 'PATCH',
    url: svc('team-a', 'web'),
    who: alice,
    allowed: true,
    by: 'rule[0]',
  },
  {
    what: 'group grant, DELETE',
    method: 'DELETE',
    url: svc('team-a', 'web'),
    who: alice,
    allowed: true,
    by: 'rule[0]',
  },
  {
    what: 'group grant, HEAD is get',
    method: 'HEAD',
    url: svc('team-a', 'web'),
    who: alice,
    allowed: true,
    by: 'rule[0]',
  },
  {
    what: 'namespace glob does not match',
    method: 'GET',
    url: svc('shop', 'web'),
    who: alice,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'namespace glob is anchored',
    method: 'GET',
    url: svc('my-team-a', 'web'),
    who: alice,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'services grant does not cover pods',
    method: 'GET',
    url: pod('team-a', 'web-0'),
    who: alice,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'empty verb (OPTIONS) not allowed by a verb list',
    method: 'OPTIONS',
    url: svc('team-a', 'web'),
    who: alice,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'empty verb (PROPFIND) not allowed by a verb list',
    method: 'PROPFIND',
    url: svc('team-a', 'web'),
    who: alice,
    allowed: false,
    by: 'no-rule',
  },
  // resourceNames: the raw segment
  {
    what: 'resourceName exact segment',
    method: 'GET',
    url: svc('shop', 'web:http'),
    who: bob,
    allowed: true,
    by: 'rule[1]',
  },
  {
    what: 'resourceName: bare name is not web:http',
    method: 'GET',
    url: svc('shop', 'web'),
    who: bob,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'resourceName: another port',
    method: 'GET',
    url: svc('shop', 'web:8080'),
    who: bob,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'resourceName: with a scheme is another segment',
    method: 'GET',
    url: svc('shop', 'https:web:http'),
    who: bob,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'resourceName grant is get only',
    method: 'POST',
    url: svc('shop', 'web:http'),
    who: bob,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'user rule does not apply to others',
    method: 'GET',
    url: svc('shop', 'web:http'),
    who: alice,
    allowed: false,
    by: 'no-rule',
  },
  // verbs: ['*'] allows the empty verb
  {
    what: 'star verb allows OPTIONS',
    method: 'OPTIONS',
    url: pod('team-z', 'db-0'),
    who: bob,
    allowed: true,
    by: 'rule[2]',
  },
  {
    what: 'star verb allows TRACE',
    method: 'TRACE',
    url: pod('team-z', 'db-0'),
    who: bob,
    allowed: true,
    by: 'rule[2]',
  },
  {
    what: 'star verb allows DELETE',
    method: 'DELETE',
    url: pod('x', 'db-0:5432'),
    who: bob,
    allowed: true,
    by: 'rule[2]',
  },
  // users globs (service accounts), `*` resources
  {
    what: 'SA user glob, service',
    method: 'GET',
    url: svc('team-a', 'api'),
    who: ci,
    allowed: true,
    by: 'rule[3]',
  },
  {
    what: 'SA user glob, pod via *',
    method: 'GET',
    url: pod('team-a', 'api-0'),
    who: ci,
    allowed: true,
    by: 'rule[3]',
  },
  {
    what: 'SA get-only refuses POST',
    method: 'POST',
    url: svc('team-a', 'api'),
    who: ci,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'SA in another namespace',
    method: 'GET',
    url: svc('team-b', 'api'),
    who: ci,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'another namespace’s SA',
    method: 'GET',
    url: svc('team-a', 'api'),
    who: user('system:serviceaccount:team-b:ci'),
    allowed: false,
    by: 'no-rule',
  },
  // upgrade as create
  {
    what: 'upgrade needs create: get-only SA refused',
    method: 'GET',
    upgrade: true,
    url: svc('team-a', 'api'),
    who: ci,
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'upgrade needs create: devs have it',
    method: 'GET',
    upgrade: true,
    url: svc('team-a', 'term'),
    who: alice,
    allowed: true,
    by: 'rule[0]',
  },
  {
    what: 'upgrade by resourceName get-only refused',
    method: 'GET',
    upgrade: true,
    url: svc('shop', 'web:http'),
    who: bob,
    allowed: false,
    by: 'no-rule',
  },
  // a rule without subjects applies to everyone; names as globs
  {
    what: 'subjectless rule, name glob',
    method: 'GET',
    url: svc('public', 'status:http'),
    who: user('carol'),
    allowed: true,
    by: 'rule[5]',
  },
  {
    what: 'subjectless rule, exact name',
    method: 'GET',
    url: svc('public', 'status'),
    who: user('carol'),
    allowed: true,
    by: 'rule[5]',
  },
  {
    what: 'subjectless rule, other name',
    method: 'GET',
    url: svc('public', 'admin'),
    who: user('carol'),
    allowed: false,
    by: 'no-rule',
  },
  // the fence beats every rule
  {
    what: 'fence: kube-system denied by default even for star rules',
    method: 'GET',
    url: pod('kube-system', 'coredns-0'),
    who: bob,
    allowed: false,
    by: 'namespace-fence',
  },
  {
    what: 'fence: custom deny beats group grant',
    method: 'GET',
    url: svc('team-secret', 'web'),
    who: alice,
    authorization: { ...BASE, namespaces: { deny: ['kube-*', 'team-secret'] } },
    allowed: false,
    by: 'namespace-fence',
  },
  {
    what: 'fence: outside allow list',
    method: 'GET',
    url: svc('team-a', 'web'),
    who: alice,
    authorization: { ...BASE, namespaces: { allow: ['shop', 'public'] } },
    allowed: false,
    by: 'namespace-fence',
  },
  {
    what: 'fence: inside allow list',
    method: 'GET',
    url: svc('team-a', 'web'),
    who: alice,
    authorization: { ...BASE, namespaces: { allow: ['team-*'] } },
    allowed: true,
    by: 'rule[0]',
  },
  {
    what: 'fence: deny wins over allow',
    method: 'GET',
    url: svc('team-a', 'web'),
    who: alice,
    authorization: { ...BASE, namespaces: { allow: ['team-*'], deny: ['team-a'] } },
    allowed: false,
    by: 'namespace-fence',
  },
  {
    what: 'fence: emptied deny list opens kube-system',
    method: 'GET',
    url: pod('kube-system', 'coredns-0'),
    who: bob,
    authorization: { ...BASE, namespaces: { deny: [] } },
    allowed: true,
    by: 'rule[2]',
  },
  // nodes: off unless configured, and cluster-scoped
  {
    what: 'nodes disabled by default even with a rule',
    method: 'GET',
    url: node('node-1:10250'),
    who: bob,
    allowed: false,
    by: 'node-proxy-disabled',
  },
  {
    what: 'nodes enabled + rule',
    method: 'GET',
    url: node('node-1:10250'),
    who: bob,
    authorization: { ...BASE, nodeProxy: true },
    allowed: true,
    by: 'rule[4]',
  },
  {
    what: 'nodes enabled, name outside the rule',
    method: 'GET',
    url: node('node-1:10255'),
    who: bob,
    authorization: { ...BASE, nodeProxy: true },
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'nodes enabled, upgrade needs create',
    method: 'GET',
    upgrade: true,
    url: node('node-1:10250'),
    who: bob,
    authorization: { ...BASE, nodeProxy: true },
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'nodes: resources * does not include nodes',
    method: 'GET',
    url: node('node-1'),
    who: alice,
    authorization: {
      nodeProxy: true,
      rules: [{ users: ['alice'], namespaces: ['*'], resources: ['*'], verbs: ['*'] }],
    },
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'nodes: a namespaced rule never grants a node',
    method: 'GET',
    url: node('node-1'),
    who: alice,
    authorization: {
      nodeProxy: true,
      rules: [{ users: ['alice'], namespaces: ['team-*'], resources: ['nodes'], verbs: ['get'] }],
    },
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'nodes: the fence does not apply to cluster scope',
    method: 'GET',
    url: node('node-1'),
    who: alice,
    authorization: {
      nodeProxy: true,
      namespaces: { allow: ['team-a'] },
      rules: [{ users: ['alice'], namespaces: ['*'], resources: ['nodes'], verbs: ['get'] }],
    },
    allowed: true,
    by: 'rule[0]',
  },
  // no rules at all
  {
    what: 'no rules: nothing is allowed',
    method: 'GET',
    url: svc('team-a', 'web'),
    who: alice,
    authorization: {},
    allowed: false,
    by: 'no-rule',
  },
  {
    what: 'first matching rule answers',
    method: 'GET',
    url: svc('team-a', 'web'),
    who: alice,
    authorization: {
      rules: [
        { users: ['nobody'], namespaces: ['*'], resources: ['*'], verbs: ['*'] },
        { users: ['alice'], namespaces: ['*'], resources: ['services'], verbs: ['get'] },
        { groups: ['devs'], namespaces: ['*'], resources: ['*'], verbs: ['*'] },
      ],
    },
    allowed: true,
    by: 'rule[1]',
  },
  {
    what: 'groups glob',
    method: 'GET',
    url: svc('team-a', 'web'),
    who: user('dan', ['oidc:platform-admins']),
    authorization: {
      rules: [{ groups: ['oidc:*-admins'], namespaces: ['*'], resources: ['services'], verbs: ['get'] }],
    },
    allowed: true,
    by: 'rule[0]',
  },
  {
    what: 'users and groups: either matches',
    method: 'GET',
    url: svc('team-a', 'web'),
    who: user('erin', ['qa']),
    authorization: {
      rules: [
        { users: ['frank'], groups: ['qa'], namespaces: ['*'], resources: ['services'], verbs: ['get'] },
      ],
    },
    allowed: true,
    by: 'rule[0]',
  },
];

test(`decision table (${CASES.length} cases)`, () => {
  assert.ok(CASES.length >= 40);
  for (const c of CASES) {
    const d = decide(attrs(c.method, c.url, c.who, c.upgrade ?? false), c.authorization ?? BASE);
    assert.equal(d.allowed, c.allowed, `${c.what}: allowed`);
    assert.equal(d.by, c.by, `${c.what}: by`);
  }
});

const tunnel = (ns: string, kind: 'services' | 'pods', segment: string) =>
  `/api/v1/namespaces/${ns}/${kind}/${segment}/portforward`;

test('a tunnel is create on <kind>/portforward, named by the object alone (as kubectl port-forward asks)', () => {
  assert.deepEqual(attrs('GET', tunnel('team-a', 'pods', 'db-0:5432'), alice, true), {
    user: alice,
    verb: 'create',
    resource: 'pods',
    subresource: 'portforward',
    namespace: 'team-a',
    name: 'db-0',
  });
  // Whatever the method: a plain GET is refused later (400), never authorized as `get`.
  assert.equal(attrs('GET', tunnel('team-a', 'services', 'pg:5432'), alice, false).verb, 'create');
});

test('rules written before tunnels (verbs `*` included) open no tunnel; `subresources` does', () => {
  const withTunnels = (authorization: ConfigInput['authorization']) =>
    decideLocally(
      attrs('GET', tunnel('team-a', 'pods', 'db-0'), bob, true),
      compilePolicy(parseConfig({ authorization }).authorization, true),
    );
  const ops = { groups: ['ops'], namespaces: ['*'], resources: ['pods' as const], verbs: ['*' as const] };
  assert.deepEqual(withTunnels({ rules: [ops] }), { allowed: false, by: 'no-rule' });
  assert.deepEqual(withTunnels({ rules: [{ ...ops, subresources: ['portforward'] }] }), {
    allowed: true,
    by: 'rule[0]',
  });
  assert.deepEqual(withTunnels({ rules: [{ ...ops, subresources: ['*'] }] }), {
    allowed: true,
    by: 'rule[0]',
  });
  // A portforward-only rule opens no HTTP.
  const http = decideLocally(
    attrs('GET', pod('team-a', 'db-0'), bob),
    compilePolicy(
      parseConfig({ authorization: { rules: [{ ...ops, subresources: ['portforward'] }] } }).authorization,
      true,
    ),
  );
  assert.equal(http.allowed, false);
});

test('tunnels switched off: denied before any rule, by `tunnels-disabled`', () => {
  const everything = {
    rules: [
      { namespaces: ['*'], resources: ['*' as const], verbs: ['*' as const], subresources: ['*' as const] },
    ],
  };
  const d = decide(attrs('GET', tunnel('team-a', 'services', 'pg'), alice, true), everything);
  assert.deepEqual(d, {
    allowed: false,
    by: 'tunnels-disabled',
    reason: 'TCP tunnels are disabled on this gateway',
  });
});
