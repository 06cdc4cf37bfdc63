/**
 * What an admin sees before any token arrives: bad CEL is reported with its
 * config path, and cookie names/flags follow publicURL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileClaimMapper } from '../../src/authn/claims/mapping.js';
import {
  clearAll,
  cookieSettings,
  isOurCookie,
  MAX_CHUNKS,
  SessionTooLargeError,
  writeChunked,
} from '../../src/authn/session/cookie-jar.js';
import { configProblems } from '../support/config-problems.js';

test('a CEL expression that does not parse is reported with its path', () => {
  const problems = configProblems(
    {
      authentication: {
        jwt: [
          { issuer: { url: 'https://a.example.com', audiences: ['x'] } },
          {
            issuer: { url: 'https://b.example.com', audiences: ['x'] },
            claimMappings: { username: { expression: 'claims.sub +' } },
            claimValidationRules: [{ expression: 'claims.env ==', message: 'x' }],
          },
        ],
      },
    },
    { env: {} },
  );
  assert.equal(problems.length, 1, 'compilation stops at the first bad expression of an issuer');
  assert.match(
    problems[0],
    /^authentication\.jwt\[1\]\.claimMappings\.username\.expression: invalid CEL expression/,
  );
});

test('Kubernetes defaults: a non-email username claim gets the issuer prefix; an empty prefix opts out', () => {
  const base = { issuerURL: 'https://issuer.example.com', path: 'p' };
  assert.equal(
    compileClaimMapper({ ...base, mappings: { username: { claim: 'sub' } } })({ sub: 'x' }).username,
    'https://issuer.example.com#x',
  );
  assert.equal(
    compileClaimMapper({ ...base, mappings: { username: { claim: 'sub', prefix: '' } } })({ sub: 'x' })
      .username,
    'x',
  );
  const byEmail = compileClaimMapper({ ...base, mappings: { username: { claim: 'email' } } });
  assert.equal(byEmail({ email: 'a@b.c', email_verified: true }).username, 'a@b.c');
});

test('email_verified as the apiserver reads it: absent is fine, present must be the boolean true', () => {
  const byEmail = compileClaimMapper({
    issuerURL: 'https://issuer.example.com',
    path: 'p',
    mappings: { username: { claim: 'email' } },
  });
  const user = byEmail({ email: 'a@b.c' });
  assert.equal(user.username, 'a@b.c');
  assert.equal(user.email, 'a@b.c', 'the email header follows the same rule');
  for (const email_verified of [false, 'true', 'false', null, 1])
    assert.throws(() => byEmail({ email: 'a@b.c', email_verified }), /not verified/, String(email_verified));
  const bySub = compileClaimMapper({
    issuerURL: 'https://issuer.example.com',
    path: 'p',
    mappings: { username: { claim: 'sub', prefix: '' } },
  });
  assert.equal(bySub({ sub: 's', email: 'a@b.c', email_verified: false }).email, undefined);
});

test('a username expression that reads claims.email must read claims.email_verified too', () => {
  const problemsWith = (jwt: Record<string, unknown>) =>
    configProblems(
      { authentication: { jwt: [{ issuer: { url: 'https://a.example.com', audiences: ['x'] }, ...jwt }] } },
      { env: {} },
    );
  for (const expression of ['claims.email', 'claims["email"]', '"u:" + claims.?email.orValue("x")']) {
    const problems = problemsWith({ claimMappings: { username: { expression } } });
    assert.equal(problems.length, 1, expression);
    assert.match(
      problems[0],
      /^authentication\.jwt\[0\]\.claimMappings\.username\.expression: .*claims\.email_verified must be used/,
    );
  }
  for (const ok of [
    { claimMappings: { username: { expression: "claims.email_verified ? claims.email : ''" } } },
    {
      claimMappings: { username: { expression: 'claims["email"]' } },
      claimValidationRules: [{ expression: 'claims.?email_verified.orValue(true)' }],
    },
    {
      claimMappings: {
        username: { expression: 'claims.email' },
        extra: [{ key: 'example.com/v', valueExpression: 'string(claims.email_verified)' }],
      },
    },
    { claimMappings: { username: { expression: 'claims.email_address' } } },
  ])
    assert.deepEqual(problemsWith(ok), [], JSON.stringify(ok));
});

test('uid and extra mappings fill the identity', () => {
  const map = compileClaimMapper({
    issuerURL: 'https://i.example.com',
    path: 'p',
    mappings: {
      username: { claim: 'sub', prefix: 'i:' },
      uid: { claim: 'oid' },
      extra: [
        { key: 'example.com/tenant', valueExpression: 'claims.tid' },
        { key: 'example.com/none', valueExpression: '""' },
      ],
    },
  });
  assert.deepEqual(map({ sub: 's', oid: 'o-1', tid: 't-9' }), {
    username: 'i:s',
    uid: 'o-1',
    groups: [],
    extra: { 'example.com/tenant': ['t-9'] },
  });
});

test('https publicURL: __Host-Http- cookie, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain', () => {
  const s = cookieSettings(new URL('https://bastion.example.com'), 'kube_bastion');
  assert.equal(s.name, '__Host-Http-kube_bastion', 'no Domain, and no document.cookie can set it');
  const [line] = writeChunked(s, 'v', 3600, {});
  assert.match(line, /^__Host-Http-kube_bastion=v; Max-Age=3600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
  const withDomain = cookieSettings(new URL('https://bastion.example.com'), 'kube_bastion', 'example.com');
  assert.equal(withDomain.name, '__Http-kube_bastion', '__Host- forbids Domain; __Http- does not');
  assert.match(writeChunked(withDomain, 'v', 60, {})[0], /Domain=example.com/);
  const plain = cookieSettings(new URL('http://127.0.0.1:8080'), 'kube_bastion');
  assert.equal(plain.name, 'kube_bastion', 'prefixes need Secure');
});

test('chunks: numbered, leftovers from a longer session expire, and there is a ceiling', () => {
  const s = cookieSettings(new URL('http://127.0.0.1:8080'), 'kb');
  const lines = writeChunked(s, 'x'.repeat(3800 * 2 + 1), 60, {
    kb: 'old',
    kb_1: 'old',
    kb_2: 'old',
    kb_3: 'old',
  });
  assert.deepEqual(
    lines.map((l) => l.split('=')[0]),
    ['kb', 'kb_1', 'kb_2', 'kb_3'],
  );
  assert.match(lines[3], /Max-Age=0/);
  assert.throws(() => writeChunked(s, 'x'.repeat(3800 * MAX_CHUNKS + 1), 60, {}), SessionTooLargeError);
  assert.ok(
    isOurCookie(s, 'kb_7') && isOurCookie(s, 'kb_login') && !isOurCookie(s, 'kb_x') && !isOurCookie(s, 'kbx'),
  );
  assert.deepEqual(
    clearAll(s, { kb: '1', kb_1: '2', other: '3', kb_login: '4' }).map((l) => l.split('=')[0]),
    ['kb', 'kb_1', 'kb_login'],
  );
});
