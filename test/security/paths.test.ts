/**
 * Path confusion (Pomerium CVE-2023-33189, k8s CVE-2019-11247): alice may
 * reach team-a/web and pod team-a/web-0, nothing else. Every row tries to
 * make the path that is authorized differ from the path that is routed —
 * encoded and double-encoded `..`, `%2F`, `%5C`, `;` parameters, `//`, NUL
 * and control bytes, over-long segments, look-alike characters. A row either
 * fails before any upstream is dialled, or reaches team-a/web with exactly
 * the path the gateway authorized and shows in its audit line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertStillServing, table, type HostileCase } from './support/cases.js';
import { NS_A, NS_B, WEB, startWorld, type World } from './support/world.js';

let w: World;
before(
  async () => {
    w = await startWorld();
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
});
const world = () => w;

/** Authorization runs before resolution: a 503 here would mean an ungranted name was let through. */
const denied = (name: string, path: string, extra: Partial<HostileCase> = {}): HostileCase => ({
  name,
  path,
  status: 403,
  shape: 'status',
  reason: 'Forbidden',
  upstream: null,
  ...extra,
});
const notFound = (name: string, path: string): HostileCase => ({
  name,
  path,
  status: 404,
  shape: 'status',
  reason: 'NotFound',
  upstream: null,
});
/**
 * A namespace or name no Kubernetes object can have (not a DNS label or subdomain, too long) is
 * answered 404 before authentication, as the apiserver answers it after: it never reaches
 * authorization, a cache or a metric label — and neither do its look-alikes of a granted name.
 */
const noSuchName = (name: string, path: string): HostileCase => notFound(name, path);
const badRequest = (name: string, path: string): HostileCase => ({
  name,
  path,
  status: 400,
  shape: 'status',
  reason: 'BadRequest',
  upstream: null,
});
/** Reaches team-a/web, and the upstream sees exactly `url`. */
const reaches = (name: string, path: string, url: string): HostileCase => ({
  name,
  path,
  status: 200,
  shape: 'echo',
  upstream: { url },
});

describe('baseline: what the grant allows and refuses', () => {
  table(world, [
    reaches('the granted service', `${WEB}/hello?x=1`, '/hello?x=1'),
    reaches('the granted pod', `${NS_A}/pods/web-0:http/proxy/p`, '/p'),
    denied('another service in the same namespace', `${NS_A}/services/secret:http/proxy/`),
    denied('the same service name in another namespace', `${NS_B}/services/web:http/proxy/`),
    denied('another pod in the same namespace', `${NS_A}/pods/secret-0/proxy/`),
    denied('a pod in another namespace', `${NS_B}/pods/web-0/proxy/`),
    denied('a node (node proxy is off)', '/api/v1/nodes/node-1/proxy/'),
    denied('kube-system is fenced off', '/api/v1/namespaces/kube-system/services/web/proxy/'),
    notFound('the Kubernetes API itself', '/api/v1/namespaces/team-a/secrets'),
    notFound('a proxy path under another API group', '/apis/apps/v1/namespaces/team-a/services/web/proxy/'),
  ]);
});

describe('dot segments, plain and encoded, never leave the target', () => {
  table(world, [
    reaches(
      '.. after proxy stays inside team-a/web',
      `${WEB}/../../../team-b/services/web/proxy/x`,
      '/team-b/services/web/proxy/x',
    ),
    reaches('%2e%2e after proxy', `${WEB}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/x`, '/x'),
    reaches('%2E%2E%2F after proxy', `${WEB}/a/%2E%2E%2F%2E%2E%2Fb`, '/b'),
    reaches('..%2F climbing past the root', `${WEB}/..%2F..%2F..%2F..%2F..%2Fetc/passwd`, '/etc/passwd'),
    reaches('.%2e mixed', `${WEB}/x/.%2e/y`, '/y'),
    reaches('double-encoded ..%252F stays literal', `${WEB}/..%252F..%252Fteam-b`, '/..%252F..%252Fteam-b'),
    reaches('double-encoded %252e%252e', `${WEB}/%252e%252e/x`, '/%252e%252e/x'),
    reaches('overlong UTF-8 dots %c0%ae%c0%ae', `${WEB}/%c0%ae%c0%ae/x`, '/%C0%AE%C0%AE/x'),
    reaches('./ segments collapse', `${WEB}/./././x/.`, '/x'),
    reaches('a trailing slash is kept', `${WEB}/dir/`, '/dir/'),
    notFound('.. between namespace and resource', `${NS_A}/../team-b/services/web:http/proxy/`),
    notFound('%2e%2e between namespace and resource', `${NS_A}/%2e%2e/team-b/services/web:http/proxy/`),
    notFound(
      '%2F..%2F inside the namespace segment',
      '/api/v1/namespaces/team-a%2F..%2Fteam-b/services/web:http/proxy/',
    ),
    notFound('..%2F inside the name segment', `${NS_A}/services/web:http%2F..%2Fsecret:http/proxy/`),
    notFound('../ from a service to a pod', `${NS_A}/services/web:http/../../pods/secret-0/proxy/`),
    notFound('climbing from namespaces to nodes', `${NS_A}/../../nodes/node-1/proxy/`),
    notFound(
      'climbing from nodes to namespaces',
      '/api/v1/nodes%2F..%2Fnamespaces/team-a/services/web/proxy/',
    ),
    notFound('/api/v1/.. prefix games', '/api/v1/../v1/namespaces/team-b/services/web:http/proxy/'),
    noSuchName(
      'double-encoded slash in the namespace is data, not a separator',
      '/api/v1/namespaces/team-a%252F..%252Fteam-b/services/web:http/proxy/',
    ),
  ]);
});

describe('separators: %2F, %5C, //, ; and #', () => {
  table(world, [
    reaches('%2F after proxy is a separator', `${WEB}/a%2Fb`, '/a/b'),
    reaches('%5C after proxy stays one segment', `${WEB}/..%5C..%5Cteam-b`, '/..%5C..%5Cteam-b'),
    reaches('a literal backslash after proxy', `${WEB}/..\\..\\x`, '/..%5C..%5Cx'),
    reaches('// after proxy collapses', `${WEB}//team-b//x`, '/team-b/x'),
    reaches('; after proxy is path data', `${WEB}/x;/../../y`, '/y'),
    reaches(
      'the query is not a path',
      `${WEB}/x?/../../../team-b/services/web/proxy/`,
      '/x?/../../../team-b/services/web/proxy/',
    ),
    reaches('an encoded ? is a path byte', `${WEB}/x%3F/../y`, '/y'),
    reaches(
      '%2F in the name segment splits, as in the apiserver',
      `${NS_A}/services%2Fweb:http%2Fproxy/z`,
      '/z',
    ),
    noSuchName(
      '%5C in the namespace is not a separator',
      '/api/v1/namespaces/team-a%5C..%5Cteam-b/services/web:http/proxy/',
    ),
    noSuchName(
      '; parameters on the namespace',
      '/api/v1/namespaces/team-a;ns=team-b/services/web:http/proxy/',
    ),
    noSuchName('; parameters on the name', `${NS_A}/services/secret;x=web:http/proxy/`),
    noSuchName('a name that only starts like the grant', `${NS_A}/services/web;:http/proxy/`),
    notFound('// before the namespace', '/api/v1/namespaces//team-b/services/web:http/proxy/'),
    notFound('// inside the API prefix', '/api//v1/namespaces/team-b/services/web:http/proxy/'),
    notFound('a leading // is not the proxy', `//api/v1/namespaces/team-b/services/web:http/proxy/`),
    badRequest('a literal # in the path', `${NS_B}/services/web:http/proxy/#/x`),
    noSuchName('%23 in the namespace', '/api/v1/namespaces/team-b%23/services/web:http/proxy/'),
    badRequest('a malformed escape', `${WEB}/%zz`),
    badRequest('a truncated escape', `${WEB}/%2`),
  ]);
});

describe('NUL, control bytes and look-alike characters', () => {
  const raw = (target: string) => (host: string) =>
    `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
  table(world, [
    reaches('%00 after proxy is escaped on the way up', `${WEB}/x%00y`, '/x%00y'),
    reaches(
      '%0D%0A after proxy is escaped on the way up',
      `${WEB}/x%0D%0AX-Injected:%201`,
      '/x%0D%0AX-Injected:%201',
    ),
    reaches('%7F after proxy', `${WEB}/x%7F`, '/x%7F'),
    noSuchName('%00 in the namespace', '/api/v1/namespaces/team-a%00/services/web:http/proxy/'),
    noSuchName('%00 in the name', `${NS_A}/services/web%00:http/proxy/`),
    noSuchName('%0A in the namespace', '/api/v1/namespaces/team-a%0A/services/web:http/proxy/'),
    noSuchName('%09 in the namespace', '/api/v1/namespaces/team-a%09/services/web:http/proxy/'),
    noSuchName(
      'a look-alike hyphen (U+2010) in the namespace',
      '/api/v1/namespaces/team%E2%80%90a/services/web:http/proxy/',
    ),
    noSuchName('a Cyrillic е in the namespace', '/api/v1/namespaces/t%D0%B5am-a/services/web:http/proxy/'),
    noSuchName(
      'fullwidth letters in the namespace',
      '/api/v1/namespaces/%EF%BD%94eam-a/services/web:http/proxy/',
    ),
    noSuchName('upper case namespace', '/api/v1/namespaces/TEAM-A/services/web:http/proxy/'),
    noSuchName('a zero-width space in the name', `${NS_A}/services/web%E2%80%8B:http/proxy/`),
    noSuchName('a Cyrillic е in the name', `${NS_A}/services/w%D0%B5b:http/proxy/`),
    noSuchName('invalid UTF-8 in the namespace', '/api/v1/namespaces/team-%FF/services/web:http/proxy/'),
    {
      name: 'a raw NUL byte in the request line',
      raw: raw(`${WEB}/x\u0000y`),
      status: 400,
      shape: 'empty',
      upstream: null,
    },
    {
      name: 'a raw TAB in the request line',
      raw: raw(`${NS_A}/services/web:http/proxy/x\ty`),
      status: 400,
      shape: 'empty',
      upstream: null,
    },
    {
      name: 'a raw DEL byte in the request line',
      raw: raw(`${WEB}/x\u007fy`),
      status: 400,
      shape: 'empty',
      upstream: null,
    },
  ]);
});

describe('length and repetition', () => {
  const long = 'a'.repeat(4000);
  table(world, [
    reaches('a 4 KB segment after proxy', `${WEB}/${long}`, `/${long}`),
    reaches('a thousand dot segments', `${WEB}/${'../'.repeat(1000)}x`, '/x'),
    noSuchName('a 4 KB namespace', `/api/v1/namespaces/team-a${long}/services/web:http/proxy/`),
    noSuchName('a 4 KB name', `${NS_A}/services/web${long}:http/proxy/`),
    {
      ...noSuchName(
        'without credentials too: an 8 KB namespace is 404, not 401',
        `/api/v1/namespaces/${long}${long}/services/web/proxy/`,
      ),
      as: 'none',
    },
    badRequest('four colons in the name segment', `${NS_A}/services/http:web:http:x/proxy/`),
    badRequest('an unknown scheme in the name segment', `${NS_A}/services/gopher:web:http/proxy/`),
    {
      name: 'a 20 KB request line answers 431',
      path: `${WEB}/${'b'.repeat(20_000)}`,
      status: 431,
      shape: 'status',
      message: /larger than the 16384 bytes \(or 1000 lines\) this gateway accepts/,
      upstream: null,
    },
  ]);
});

describe('methods and the query', () => {
  table(world, [
    {
      ...reaches(
        'a ?namespace= in the query is only data',
        `${WEB}/x?namespace=team-b&namespace=team-a`,
        '/x?namespace=team-b&namespace=team-a',
      ),
    },
    denied('OPTIONS is not a granted verb', `${WEB}/x`, { method: 'OPTIONS' }),
    denied('a made-up method is not a granted verb', `${WEB}/x`, { method: 'PROPFIND' }),
    badRequest('dryRun is refused like the apiserver', `${WEB}/x?dryRun=All`),
  ]);
});

test('no hostile path reached secret, team-b or the node; the gateway still serves', async () => {
  assert.deepEqual(w.forbiddenSeen(), []);
  await assertStillServing(w);
  // Every allowed request was audited with the target it was authorized for.
  const audits = w.audit().filter((l) => l.decision === 'allow');
  assert.ok(audits.length > 0);
  for (const a of audits) assert.equal(a.namespace, 'team-a', JSON.stringify(a));
});
