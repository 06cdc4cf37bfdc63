/**
 * Session cookies under attack: tampered, truncated, chunks reordered,
 * dropped or borrowed from another session, a sign-in cookie passed off as
 * a session, oversize, and secrets retired after rotation. Sessions here span
 * several cookie chunks (users with many groups). Every forgery is a 401 with
 * a Status body and an expiring Set-Cookie, and reaches no upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestIdP } from '../support/oidc-provider.js';
import { runCase, type HostileCase } from './support/cases.js';
import {
  SECRET_NEW,
  SECRET_OLD,
  sessionChunks,
  signedIn,
  startIdP,
  startSignInWorld,
  type SignInWorld,
} from './support/signin-world.js';
import { WEB } from './support/world.js';

let idp: TestIdP;
let w: SignInWorld; // secret: new, previous: old
let oldWorld: SignInWorld; // secret: old
let retired: SignInWorld; // secret: new only — the rotation window is over
let alice: [string, string][];
let carol: [string, string][];
let aliceOld: [string, string][];
let loginCookie = '';

before(
  async () => {
    idp = await startIdP();
    [w, oldWorld, retired] = await Promise.all([
      startSignInWorld(idp, undefined, SECRET_NEW, [SECRET_OLD]),
      startSignInWorld(idp, undefined, SECRET_OLD),
      startSignInWorld(idp, undefined, SECRET_NEW),
    ]);
    alice = sessionChunks(await signedIn(w.base, 'alice'));
    carol = sessionChunks(await signedIn(w.base, 'carol'));
    aliceOld = sessionChunks(await signedIn(oldWorld.base, 'alice'));
    const start = await fetch(`${w.base}/auth/login?rd=/`, { redirect: 'manual' });
    loginCookie = /kube_bastion_login=([^;]+)/.exec(start.headers.getSetCookie().join('\n'))![1];
    for (const chunks of [alice, carol, aliceOld]) for (const [, v] of chunks) w.secrets.add(v);
  },
  { timeout: 60_000 },
);
after(async () => {
  await Promise.all([w?.close(), oldWorld?.close(), retired?.close()]);
  await idp?.close();
});

const header = (chunks: [string, string][]) => chunks.map(([k, v]) => `${k}=${v}`).join('; ');
const flip = (v: string, at: number) => v.slice(0, at) + (v[at] === 'A' ? 'B' : 'A') + v.slice(at + 1);

function cookieCase(name: string, cookie: () => string, over: Partial<HostileCase> = {}): HostileCase {
  return {
    name,
    path: `${WEB}/c`,
    as: 'none',
    headers: { cookie: cookie() },
    status: 401,
    shape: 'status',
    reason: 'Unauthorized',
    upstream: null,
    check: (reply) => {
      if (reply.status !== 401) return;
      const cleared = [reply.headers['set-cookie'] ?? []].flat();
      assert.ok(
        cleared.some((c) => /^kube_bastion=;/.test(c)),
        'the bad cookie is cleared',
      );
    },
    ...over,
  };
}

describe('forged and damaged session cookies', () => {
  const cases: (() => HostileCase)[] = [
    () =>
      cookieCase('control: the genuine multi-chunk session', () => `${header(alice)}; app=1`, {
        status: 200,
        shape: 'echo',
        reason: undefined,
        check: undefined,
        upstream: {
          url: '/c',
          check: (r) => {
            assert.ok(alice.length >= 2, `the session spans ${alice.length} chunks`);
            assert.equal(r.headers.cookie, 'app=1', 'every session chunk stays at the gateway');
            assert.equal(r.headers['x-forwarded-user'], 'alice@example.com');
          },
        },
      }),
    () =>
      cookieCase('one byte flipped in the ciphertext', () =>
        header([[alice[0][0], flip(alice[0][1], 200)], ...alice.slice(1)]),
      ),
    () =>
      cookieCase('one byte flipped in the last chunk', () =>
        header([...alice.slice(0, -1), [alice.at(-1)![0], flip(alice.at(-1)![1], 5)]]),
      ),
    () =>
      cookieCase('the last chunk truncated', () =>
        header([...alice.slice(0, -1), [alice.at(-1)![0], alice.at(-1)![1].slice(0, -10)]]),
      ),
    () => cookieCase('the last chunk missing', () => header(alice.slice(0, -1))),
    () => cookieCase('a middle chunk missing', () => header([alice[0], ...alice.slice(2)])),
    () =>
      cookieCase('chunks reordered', () =>
        header([[alice[0][0], alice[1][1]], [alice[1][0], alice[0][1]], ...alice.slice(2)]),
      ),
    () =>
      cookieCase('a chunk from another session', () =>
        header([alice[0], [alice[1][0], carol[1][1]], ...alice.slice(2)]),
      ),
    () => cookieCase('the first chunk from another session', () => header([carol[0], ...alice.slice(1)])),
    () => cookieCase('the sign-in cookie passed off as a session', () => `kube_bastion=${loginCookie}`),
    () =>
      cookieCase(
        'a JWE header with alg none',
        () => `kube_bastion=${Buffer.from('{"alg":"none","enc":"A256GCM"}').toString('base64url')}....`,
      ),
    () => cookieCase('random base64', () => `kube_bastion=${Buffer.alloc(600, 7).toString('base64url')}`),
    () =>
      cookieCase('nine chunks of junk', () =>
        Array.from({ length: 9 }, (_, i) => `kube_bastion${i ? `_${i}` : ''}=${'j'.repeat(1000)}`).join('; '),
      ),
    () =>
      cookieCase(
        'a forged copy first, the genuine session after',
        () => `kube_bastion=forged; ${header(alice)}`,
      ),
    () =>
      // Node refuses it before any route; the 431 expires our cookies, or the browser would be stuck.
      cookieCase('a 20 KB cookie', () => `kube_bastion=${'x'.repeat(20_000)}`, {
        status: 431,
        shape: 'status',
        reason: undefined,
        message: /its own sign-in cookies; they have been removed: sign in again/,
        check: (reply) => {
          const expired = [reply.headers['set-cookie'] ?? []].flat();
          for (const name of ['kube_bastion', 'kube_bastion_7', 'kube_bastion_login'])
            assert.ok(
              expired.some((c) => c.startsWith(`${name}=;`) && /Max-Age=0/.test(c)),
              `${name} expired`,
            );
        },
      }),
    () =>
      cookieCase(
        'the name in another case is not our cookie',
        () => header(alice).replaceAll('kube_bastion', 'KUBE_BASTION'),
        { check: undefined },
      ),
    () =>
      cookieCase('a genuine session with a bad bearer token: no fallback', () => header(alice), {
        headers: { cookie: header(alice), authorization: 'Bearer forged' },
        check: undefined,
      }),
  ];
  const names = [
    'control: the genuine multi-chunk session',
    'one byte flipped in the ciphertext',
    'one byte flipped in the last chunk',
    'the last chunk truncated',
    'the last chunk missing',
    'a middle chunk missing',
    'chunks reordered',
    'a chunk from another session',
    'the first chunk from another session',
    'the sign-in cookie passed off as a session',
    'a JWE header with alg none',
    'random base64',
    'nine chunks of junk',
    'a forged copy first, the genuine session after',
    'a 20 KB cookie',
    'the name in another case is not our cookie',
    'a genuine session with a bad bearer token: no fallback',
  ];
  cases.forEach((make, i) =>
    test(names[i], async () => {
      const c = make();
      assert.equal(c.name, names[i]);
      await runCase(w, c);
    }),
  );
  test('the session in the query string is not a credential', () =>
    runCase(w, {
      name: '',
      path: `${WEB}/c?${header(alice).replaceAll('; ', '&')}`,
      as: 'none',
      status: 401,
      shape: 'status',
      upstream: null,
    }));
});

describe('secret rotation', () => {
  test('a session sealed with the previous secret still works, and is re-sealed with the new one', async () => {
    await runCase(w, {
      name: '',
      path: `${WEB}/r`,
      as: 'none',
      headers: { cookie: header(aliceOld) },
      status: 200,
      shape: 'echo',
      upstream: { url: '/r' },
      check: (reply) => {
        const lines = [reply.headers['set-cookie'] ?? []].flat();
        assert.ok(
          lines.some((c) => /^kube_bastion=[^;]+;/.test(c)),
          'a re-sealed cookie is sent',
        );
      },
    });
  });
  test('after the rotation window (old secret dropped) the old session is refused', () =>
    runCase(
      retired,
      cookieCase('', () => header(aliceOld)),
    ));
  test('a session of another deployment (different secret) is refused', () =>
    runCase(
      oldWorld,
      cookieCase('', () => header(alice)),
    ));
});
