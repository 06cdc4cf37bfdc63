/**
 * Identity means one thing everywhere (issue 15, issue 11 §5): the name the
 * rules and RBAC decide on is, byte for byte, the name the upstream reads.
 *
 * - Names a header parser would change (control characters, surrounding
 *   whitespace, lone surrogates) are refused at authentication, not silently
 *   "cleaned" on the way out.
 * - A group holding a comma cannot become two groups in X-Forwarded-Groups.
 * - An email is one plain address.
 * - Kubernetes' own `system:` names cannot be minted by an IdP or CI issuer
 *   (here one mapped with empty prefixes), unless the admin allows it.
 * - Every authenticated caller carries `system:authenticated`, as in the apiserver.
 * - A backtracking regex in a claim rule costs nothing (RE2), whatever the CI
 *   job makes its branch name, and other callers are served meanwhile.
 *
 * Every token here is genuinely signed by the trusted issuer: the claims are
 * the attack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JWTPayload } from 'jose';
import type { Recorded } from '../support/echo-server.js';
import { send } from '../support/http.js';
import { runCase, type HostileCase } from './support/cases.js';
import { WEB, startWorld, type World } from './support/world.js';

/** A claim rule with the pattern from issue 15: exponential for a backtracking engine. */
const HOSTILE_RULE = {
  expression: "!has(claims.ref) || claims.ref.matches('^refs/heads/([a-z0-9]+[-/]?)*$')",
  message: 'only branch refs',
};

let w: World;
before(async () => (w = await startWorld({ issuer: { claimValidationRules: [HOSTILE_RULE] } })), {
  timeout: 60_000,
});
after(async () => w?.close());

const token = async (world: World, over: JWTPayload) => {
  const t = await world.issuer.mint({ aud: 'kube-bastion', sub: 'alice', groups: ['devs'], ...over });
  world.secrets.add(t);
  return t;
};
/** The header as the upstream's parser saw its bytes, decoded as UTF-8. */
const header = (r: Recorded, name: string) => {
  const i = r.rawHeaders.findIndex((h, n) => n % 2 === 0 && h.toLowerCase() === name);
  return i < 0 ? undefined : Buffer.from(r.rawHeaders[i + 1], 'latin1').toString('utf8');
};

/** One request with a signed token carrying `claims`, and what must come of it. */
async function withClaims(
  world: World,
  claims: JWTPayload,
  outcome: Pick<HostileCase, 'status' | 'shape' | 'reason' | 'message' | 'upstream'>,
): Promise<void> {
  const authorization = `Bearer ${await token(world, claims)}`;
  await runCase(world, { name: '', path: `${WEB}/x`, headers: { authorization }, ...outcome });
}

const refused = (world: World, claims: JWTPayload, message: RegExp) =>
  withClaims(world, claims, {
    status: 401,
    shape: 'status',
    reason: 'Unauthorized',
    message,
    upstream: null,
  });

const passes = (world: World, claims: JWTPayload, check: (got: Recorded) => void) =>
  withClaims(world, claims, { status: 200, shape: 'echo', upstream: { url: '/x', check } });

describe('names a header parser would change are refused, not cleaned', () => {
  const names: [string, RegExp][] = [
    ['admin\u0000', /control character/],
    ['admin\u007f', /control character/],
    ['ad\u0001min', /control character/],
    ['admin\u0085', /control character/],
    ['admin\r\nX-Forwarded-Groups: system:masters', /control character/],
    ['admin ', /whitespace/],
    [' admin', /whitespace/],
    ['admin\t', /control character|whitespace/],
    ['\u00a0admin', /whitespace/],
    ['admin\ufeff', /whitespace/],
    ['admin\ud800', /not valid Unicode/],
  ];
  for (const [sub, message] of names)
    test(`user name ${JSON.stringify(sub)} → 401`, () => refused(w, { sub }, message));

  for (const group of ['ops\u0000', ' ops', 'ops\n', 'devs\udc00'])
    test(`group ${JSON.stringify(group)} → 401`, () =>
      refused(w, { groups: ['devs', group] }, /^group .*(control character|whitespace|not valid Unicode)/));

  test('control: the same name without them arrives exactly as authorized', () =>
    passes(w, { sub: 'alice' }, (got) => {
      assert.equal(header(got, 'x-forwarded-user'), 'alice');
      assert.equal(header(got, 'x-forwarded-groups'), 'devs,system:authenticated');
    }));

  test('a name in any script arrives as its UTF-8 bytes, unchanged', () =>
    passes(w, { sub: 'José 李 o’brien' }, (got) => {
      assert.equal(header(got, 'x-forwarded-user'), 'José 李 o’brien');
    }));
});

describe('X-Forwarded-Groups is unambiguous', () => {
  const decode = (value: string) => value.split(',').map(decodeURIComponent);

  test('a group with a comma stays one group: the comma is percent-encoded', () =>
    passes(w, { groups: ['devs', 'x,system:masters'] }, (got) => {
      const value = header(got, 'x-forwarded-groups')!;
      assert.equal(value, 'devs,x%2Csystem:masters,system:authenticated');
      assert.deepEqual(decode(value), ['devs', 'x,system:masters', 'system:authenticated']);
    }));

  test('so is a percent sign, so decoding is exact; other characters pass as they are', () =>
    passes(w, { groups: ['devs', '100%', 'cn=ops,ou=groups', 'équipe a'] }, (got) => {
      const value = header(got, 'x-forwarded-groups')!;
      assert.equal(value, 'devs,100%25,cn=ops%2Cou=groups,équipe a,system:authenticated');
      assert.deepEqual(decode(value), [
        'devs',
        '100%',
        'cn=ops,ou=groups',
        'équipe a',
        'system:authenticated',
      ]);
    }));
});

describe('email', () => {
  for (const email of [
    'a@example.com,b@evil.com',
    'a@example.com\u0000',
    'a@evil.com@example.com',
    'a b@example.com',
    'nobody',
  ])
    test(`${JSON.stringify(email)} is not one plain address → 401`, () =>
      refused(w, { email, email_verified: true }, /^email .*(not a single plain address|control character)/));

  test('without email_verified the email is passed on (the apiserver’s rule)', () =>
    passes(w, { email: 'alice@example.com' }, (got) =>
      assert.equal(header(got, 'x-forwarded-email'), 'alice@example.com'),
    ));

  test('with email_verified: false it is not', () =>
    passes(w, { email: 'alice@example.com', email_verified: false }, (got) =>
      assert.equal(header(got, 'x-forwarded-email'), undefined),
    ));
});

describe('system: names', () => {
  for (const [what, claims] of [
    ['a ServiceAccount user name', { sub: 'system:serviceaccount:kube-system:default' }],
    ['a node user name', { sub: 'system:node:node-1' }],
    ['the cluster-admin group', { groups: ['devs', 'system:masters'] }],
    ['in another case', { groups: ['devs', 'System:Masters'] }],
    ['system:authenticated itself', { groups: ['devs', 'system:authenticated'] }],
  ] as const)
    test(`${what} from an issuer → 401`, () => refused(w, claims, /Kubernetes system name/));

  test('every authenticated caller has system:authenticated, last, once', async () => {
    const r = await send(w.h.url, 'GET', '/auth/whoami', {
      accept: 'application/json',
      authorization: `Bearer ${await token(w, { groups: ['devs', 'qa'] })}`,
    });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual((JSON.parse(r.body) as { groups: string[] }).groups, [
      'devs',
      'qa',
      'system:authenticated',
    ]);
  });

  describe('an issuer the admin allowed to assign them', () => {
    let allowed: World;
    before(async () => (allowed = await startWorld({ issuer: { allowSystemNames: true } })), {
      timeout: 60_000,
    });
    after(async () => allowed?.close());

    test('passes them on, exactly', () =>
      passes(allowed, { groups: ['devs', 'system:masters'] }, (got) =>
        assert.equal(header(got, 'x-forwarded-groups'), 'devs,system:masters,system:authenticated'),
      ));
  });
});

describe('a claim rule with a backtracking pattern', () => {
  const branch = (n: number) => `refs/heads/${'a'.repeat(n)}`;

  test(
    'hostile branch names are judged by RE2 while other callers are served',
    { timeout: 30_000 },
    async () => {
      const call = async (claims: JWTPayload) =>
        (await send(w.h.url, 'GET', `${WEB}/ci`, { authorization: `Bearer ${await token(w, claims)}` }))
          .status;
      // 8,000 characters is about the largest ref a bearer token (12 KiB at most) can carry.
      const statuses = await Promise.all([
        call({ ref: `${branch(41)}!` }),
        call({ ref: branch(41) }),
        call({ ref: `${branch(8_000)}!` }),
        call({ ref: branch(8_000) }),
        call({}),
      ]);
      assert.deepEqual(statuses, [401, 200, 401, 200, 200]);
    },
  );
});
