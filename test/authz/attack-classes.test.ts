/**
 * Authorization attacked as a class at a time, through a real gateway with
 * static rules and Kubernetes RBAC (SubjectAccessReviews answered by the
 * fake API server's grants):
 *
 *   - glob cost: a rule with several `*` and a long name from a token;
 *   - glob syntax: `?`, `[…]`, `{a,b}`, extglobs and `**` mean nothing;
 *   - the name decided on is the name segment, port and scheme included;
 *   - SubjectAccessReview cache keys: callers whose names or groups contain
 *     what a naive key would use as a separator never share an answer, and a
 *     caller with many groups cannot make the cache hold megabytes;
 *   - a decision is never reused for another identity;
 *   - the node-proxy switch holds whatever RBAC grants;
 *   - the portal lists exactly what the proxy lets through.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { send, type Reply } from '../support/http.js';
import { RULES, NS_A, startWorld, type World } from '../security/support/world.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let w: World;
before(
  async () => {
    w = await startWorld({
      config: {
        authorization: {
          rules: [
            ...RULES,
            // A rule an admin might write for CI deployers; the value is a token's `sub`.
            {
              users: ['ci:*-*-*-*-deployer'],
              namespaces: ['team-a'],
              resources: ['services'],
              names: ['web'],
              verbs: ['get'],
            },
            // picomatch would read every one of these as matching `secret:http`; ours are literal.
            {
              users: ['meta'],
              namespaces: ['team-?', 'team-[a]', '{team-a,x}', '!(kube-system)', 'team-@(a)'],
              resources: ['services'],
              names: ['se?ret:http', 'secre[t]:http', '{secret,web}:http', '!(web):http', '+(secret):http'],
              verbs: ['get'],
            },
            { users: ['stars'], namespaces: ['**'], resources: ['services'], names: ['**:http'], verbs: ['get'] },
          ],
          kubernetesRBAC: { enabled: true, cacheTTL: '5m', deniedCacheTTL: '5m' },
        },
      },
    });
    w.h.api.grants.push(
      { name: 'ops', group: 'ops', namespace: 'team-a', resource: 'services/proxy', verbs: ['get'] },
      {
        name: 'frank-web-http',
        user: 'frank',
        namespace: 'team-a',
        resource: 'services/proxy',
        verbs: ['get'],
        resourceNames: ['web:http'],
      },
      { name: 'nodes', user: 'nina', resource: 'nodes/proxy', verbs: ['get', 'create'] },
    );
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
});

const token = async (sub: string, groups: string[] = []) => {
  const t = await w.issuer.mint({ aud: 'kube-bastion', sub, groups });
  w.secrets.add(t);
  return t;
};
const get = async (path: string, bearer: string, accept = 'application/json'): Promise<Reply> =>
  send(w.h.url, 'GET', path, { authorization: `Bearer ${bearer}`, accept });
const svc = (segment: string, ns = 'team-a') => `/api/v1/namespaces/${ns}/services/${segment}/proxy/x`;
const reviews = () => w.h.api.count({ resource: 'subjectaccessreviews' });

describe('glob cost', () => {
  test('a 3 KB user name against a rule with four stars is decided at once', async () => {
    // With the globs compiled to RegExps (`^ci:.*-.*-.*-.*-deployer$`), a 200-character name took
    // 0.2 s and each doubling of the name 16 times as long: this one would have held the event loop,
    // and every other caller, for about half an hour.
    const sub = `ci:${'-'.repeat(3000)}x`;
    const r = await get(svc('web'), await token(sub));
    assert.equal(r.status, 403, r.body);
    const ok = await get(svc('web'), await token('ci:team-a-prod-eu-deployer'));
    assert.equal(ok.status, 200, 'the rule still matches what it was written for');
    assert.equal(w.a.last()!.url, '/x');
  });
});

describe('glob syntax other than * is literal', () => {
  test('?, […], {a,b}, extglobs: none of them matches secret in team-a', async () => {
    const meta = await token('meta');
    const r = await get(svc('secret:http'), meta);
    assert.equal(r.status, 403, r.body);
    assert.equal((await get(svc('web:http'), meta)).status, 403, '!(web) is not a negation either');
    assert.deepEqual(w.forbiddenSeen(), []);
  });
  test('** is two stars: any run, like *', async () => {
    const r = await get(svc('web:http'), await token('stars'));
    assert.equal(r.status, 200, r.body);
  });
});

describe('the name decided on is the whole name segment', () => {
  // frank's RoleBinding names `web:http` only (resourceNames, as the apiserver sees the segment).
  const rows: [string, number][] = [
    ['web:http', 200],
    ['web', 403], // the same port by default, but not the name granted
    ['http:web:http', 403], // the scheme makes it another name
    ['web:80', 403], // the port by number, ditto
    ['https:web:http', 403],
    ['WEB:http', 404], // not a name any object can have: refused before authorization
    ['web:HTTP', 400], // a port name in capitals: an invalid service request
    ['we%62:http', 200], // percent-encoded letters decode to the granted name
  ];
  for (const [segment, status] of rows)
    test(`frank → services/${segment}: ${status}`, async () => {
      const r = await get(svc(segment), await token('frank'));
      assert.equal(r.status, status, r.body);
      if (status === 200) assert.equal(w.a.last()!.url, '/x');
    });
});

describe('SubjectAccessReview answers are never shared between callers', () => {
  // Pairs a naive key (fields joined with `,`, `|`, `:` or `/`) would confuse. The first of each
  // pair is in group ops (granted), the second is not; the second asks after the first was cached.
  const pairs: [string, string[], string, string[]][] = [
    ['eve', ['ops', 'x'], 'eve', ['ops,x']],
    ['eve', ['ops'], 'eve|ops', []],
    ['eve', ['ops'], 'eve,ops', []],
    ['eve', ['ops'], 'eve:ops', []],
    ['eve', ['ops'], 'eve","ops', []],
    ['eve', ['x', 'ops'], 'eve', ['x","ops']],
    ['eve', ['ops'], 'eve', ['ops ']],
  ];
  for (const [user1, groups1, user2, groups2] of pairs)
    test(`${JSON.stringify([user1, groups1])} allowed, then ${JSON.stringify([user2, groups2])}`, async () => {
      const first = await get(svc('web:http'), await token(user1, groups1));
      assert.equal(first.status, 200, first.body);
      const before = reviews();
      const second = await get(svc('web:http'), await token(user2, groups2));
      // `ops ` (a trailing space) is refused at authentication; every other one asks the API server.
      if (groups2.some((g) => g.endsWith(' '))) assert.equal(second.status, 401, second.body);
      else {
        assert.equal(second.status, 403, second.body);
        assert.equal(reviews(), before + 1, 'the second caller got its own review');
      }
    });

  test('the same user without the granting group is not served the cached allow', async () => {
    assert.equal((await get(svc('web:http'), await token('dana', ['ops']))).status, 200);
    assert.equal((await get(svc('web:http'), await token('dana', []))).status, 403);
    assert.equal((await get(svc('web:http'), await token('dana', ['ops']))).status, 200);
  });
});

describe('the node-proxy switch', () => {
  test('an RBAC grant of nodes/proxy opens nothing while nodeProxy is off, and asks nothing', async () => {
    const before = reviews();
    const r = await get('/api/v1/nodes/node-1/proxy/pods', await token('nina'));
    assert.equal(r.status, 403, r.body);
    assert.match(r.body, /node proxy is disabled/);
    assert.equal(reviews(), before);
    assert.deepEqual(w.node.requests, []);
  });
});

describe('the portal lists exactly what the proxy lets through', () => {
  const callers: [string, string[]][] = [
    ['alice', ['devs']], // static rules: web and pod web-0
    ['frank', []], // RBAC resourceNames: web:http
    ['olga', ['ops']], // RBAC, the whole namespace team-a
    ['meta', []], // literal globs: nothing
    ['bob', ['qa']], // nothing
  ];
  for (const [user, groups] of callers)
    test(`${user}: every link works, every other Service port is refused`, async () => {
      const t = await token(user, groups);
      const listing = JSON.parse((await get('/', t)).body) as {
        namespaces: { namespace: string; services: { name: string; ports: { path: string }[] }[] }[];
      };
      const listed = new Set(
        listing.namespaces.flatMap((ns) => ns.services.flatMap((s) => s.ports.map((p) => p.path))),
      );
      const everyPort = ['team-a', 'team-b'].flatMap((ns) =>
        ['web', 'secret'].map((name) => `/api/v1/namespaces/${ns}/services/${name}:http/proxy/`),
      );
      for (const path of everyPort) {
        const r = await get(path, t);
        assert.equal(listed.has(path), r.status !== 403, `${path}: listed ${listed.has(path)}, got ${r.status}`);
      }
    });
});

describe('cache memory', () => {
  test('one caller with 7 KB of groups asking about 5,000 names leaves the heap flat', async () => {
    // Before, every SubjectAccessReview answer was kept under a key holding the caller's groups:
    // 10,000 answers for one such caller held 120 MB.
    const groups = Array.from({ length: 220 }, (_, i) => `group-with-a-longish-name-${i}`);
    const t = await token('greta', groups);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const { hostname, port } = new URL(w.h.url);
    const ask = (i: number) =>
      new Promise<number>((resolve, reject) => {
        const path = `${NS_A}/services/n${String(i).padStart(8, '0')}/proxy/`;
        http
          .get({ host: hostname, port, path, agent, headers: { authorization: `Bearer ${t}` } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          })
          .on('error', reject);
      });
    const flood = async (from: number, to: number) => {
      let next = from;
      const seen = new Set<number>();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < to) seen.add(await ask(next++));
        }),
      );
      return seen;
    };
    // The fake API server keeps every review it was sent: that is the test's memory, not the gateway's.
    const forgetReviews = () => void (w.h.api.accessReviews.length = 0);
    await flood(0, 500);
    forgetReviews();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    assert.deepEqual([...(await flood(500, 5_500))], [403]);
    forgetReviews();
    gc();
    const growthMB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    agent.destroy();
    // Keys holding the groups grew it by ~60 MB here; a loaded machine's GC leaves some 13 MB behind.
    assert.ok(growthMB < 25, `the heap grew by ${growthMB.toFixed(1)} MB`);
  });
});
