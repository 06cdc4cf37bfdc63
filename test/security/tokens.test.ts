/**
 * Forged bearer tokens (peers.md §4.5 IAP list, §4.6): every class of JWT
 * forgery against the granted path. Each must get 401 with a Status body,
 * reach no upstream, trigger no fetch of attacker-named keys, and leave no
 * token in a response or log line. A few valid variants prove the table
 * would notice if the checks were simply always failing.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportSPKI, type JWTPayload } from 'jose';
import { makeKey, type SigningKey } from '../support/jwt-issuer.js';
import { runCase, type HostileCase } from './support/cases.js';
import { WEB, startWorld, type World } from './support/world.js';
import { aliceClaims, now } from './support/claims.js';

let w: World;
let attackerKey: SigningKey;
let attacker: Server;
let attackerURL = '';
const attackerHits: string[] = [];

before(
  async () => {
    w = await startWorld();
    attackerKey = await makeKey('RS256');
    // An attacker's key server: a token that names it (jku, x5u) must never make the gateway call it.
    attacker = createServer((req, res) => {
      attackerHits.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [attackerKey.publicJwk] }));
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    attackerURL = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  },
  { timeout: 60_000 },
);
after(async () => {
  attacker?.closeAllConnections();
  await new Promise((r) => attacker?.close(r));
  await w?.close();
});

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const claims = (over: JWTPayload = {}): JWTPayload => aliceClaims(w, over);
/** Signed by the real issuer key (the gateway trusts it). */
const genuine = (over: JWTPayload = {}, header: Record<string, unknown> = {}) =>
  w.issuer.mint(claims(over), { header });
/** Signed by the attacker's key, presenting whatever header it likes. */
const forged = (header: Record<string, unknown>, over: JWTPayload = {}) =>
  new SignJWT(claims(over))
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...header })
    .sign(attackerKey.privateKey);
const unsigned = (header: unknown, payload: unknown, sig = '') => `${b64(header)}.${b64(payload)}.${sig}`;
const realKid = () => w.issuer.keys[0].kid;
/** RS256 over any header, with the issuer's real key: what jose itself refuses to produce. */
async function signRaw(header: Record<string, unknown>, payload: JWTPayload): Promise<string> {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', w.issuer.keys[0].privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

interface TokenCase extends Omit<HostileCase, 'path' | 'headers' | 'status' | 'shape' | 'upstream'> {
  /** The Authorization header value. */
  authorization: () => Promise<string> | string;
  path?: string;
  status?: number;
  message?: RegExp;
}

function tokenTable(cases: TokenCase[]): void {
  for (const c of cases) {
    test(c.name, async () => {
      const authorization = await c.authorization();
      // Every credential tried, whatever its length, must stay out of responses and logs.
      for (const token of authorization.replace(/^\w+\s*/, '').split(/\s+/)) if (token) w.secrets.add(token);
      const ok = c.status === 200;
      await runCase(w, {
        path: `${WEB}/t`,
        ...c,
        headers: { authorization },
        status: c.status ?? 401,
        shape: ok ? 'echo' : 'status',
        reason: ok ? undefined : (c.reason ?? 'Unauthorized'),
        upstream: ok ? { url: (c.path ?? `${WEB}/t`).slice(WEB.length) } : null,
        check: (reply) => {
          if (!ok && reply.status === 401) assert.match(String(reply.headers['www-authenticate']), /^Bearer/);
        },
      });
    });
  }
}

describe('controls: genuine tokens pass', () => {
  tokenTable([
    { name: 'a genuine token', authorization: async () => `Bearer ${await genuine()}`, status: 200 },
    {
      name: 'the scheme is case-insensitive',
      authorization: async () => `bearer ${await genuine()}`,
      status: 200,
    },
    {
      name: 'aud as an array holding ours',
      authorization: async () => `Bearer ${await genuine({ aud: ['x', 'kube-bastion'] })}`,
      status: 200,
    },
    {
      name: 'exp just past, inside the clock skew',
      authorization: async () => `Bearer ${await genuine({ exp: now() - 5 })}`,
      status: 200,
    },
  ]);
});

describe('algorithm confusion', () => {
  tokenTable([
    {
      name: 'alg none, no signature',
      authorization: () => `Bearer ${unsigned({ alg: 'none', typ: 'JWT' }, claims())}`,
    },
    { name: 'alg None (case variant)', authorization: () => `Bearer ${unsigned({ alg: 'None' }, claims())}` },
    {
      name: 'alg none with a junk signature',
      authorization: () => `Bearer ${unsigned({ alg: 'none' }, claims(), 'AAAA')}`,
    },
    {
      name: 'HS256 keyed with the issuer’s public key (PEM)',
      authorization: async () => {
        const pem = await exportSPKI(w.issuer.keys[0].privateKey as never).catch(() => '');
        const secret = new TextEncoder().encode(pem || JSON.stringify(w.issuer.keys[0].publicJwk));
        return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: realKid() }).sign(secret)}`;
      },
    },
    {
      name: 'HS256 keyed with the issuer’s public JWK',
      authorization: async () => {
        const secret = new TextEncoder().encode(JSON.stringify(w.issuer.keys[0].publicJwk));
        return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: realKid() }).sign(secret)}`;
      },
    },
    {
      name: 'HS512 keyed with the modulus',
      authorization: async () => {
        const secret = Buffer.from(String(w.issuer.keys[0].publicJwk.n), 'base64url');
        return `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: 'HS512', kid: realKid() }).sign(secret)}`;
      },
    },
    {
      name: 'PS256 header over an RS256 key',
      authorization: async () =>
        `Bearer ${await forged({ alg: 'RS256', kid: realKid() }).then((t) => t.replace(/^[^.]+/, b64({ alg: 'PS256', kid: realKid() })))}`,
    },
    {
      name: 'a JWE instead of a JWS',
      authorization: () =>
        `Bearer ${b64({ alg: 'dir', enc: 'A256GCM' })}..${b64('iv')}.${b64('ct')}.${b64('tag')}`,
    },
  ]);
});

describe('keys the token names for itself', () => {
  tokenTable([
    {
      name: 'the issuer’s kid, signed with another key',
      authorization: async () => `Bearer ${await forged({ kid: realKid() })}`,
    },
    {
      name: 'kid path traversal',
      authorization: async () => `Bearer ${await forged({ kid: '../../../../../dev/null' })}`,
    },
    {
      name: 'kid SQL injection',
      authorization: async () => `Bearer ${await forged({ kid: "x' UNION SELECT 'secret" })}`,
    },
    { name: 'kid of 4 KB', authorization: async () => `Bearer ${await forged({ kid: 'k'.repeat(4096) })}` },
    {
      name: 'jku pointing at the attacker’s keys',
      authorization: async () =>
        `Bearer ${await forged({ jku: `${attackerURL}/jwks`, kid: attackerKey.kid })}`,
    },
    {
      name: 'x5u pointing at the attacker',
      authorization: async () =>
        `Bearer ${await forged({ x5u: `${attackerURL}/cert.pem`, kid: attackerKey.kid })}`,
    },
    {
      name: 'an embedded jwk',
      authorization: async () => `Bearer ${await forged({ jwk: attackerKey.publicJwk })}`,
    },
    {
      name: 'an embedded x5c chain',
      authorization: async () => `Bearer ${await forged({ x5c: ['MIIBfake'], kid: attackerKey.kid })}`,
    },
    {
      name: 'a crit header the gateway does not understand',
      authorization: async () =>
        `Bearer ${await signRaw({ alg: 'RS256', kid: realKid(), crit: ['x-policy'], 'x-policy': 'allow-all' }, claims())}`,
    },
  ]);
});

describe('claims: issuer, audience, lifetime', () => {
  tokenTable([
    {
      name: 'an untrusted issuer',
      authorization: async () => `Bearer ${await genuine({ iss: 'https://evil.example' })}`,
    },
    {
      name: 'the issuer with a trailing slash',
      authorization: async () => `Bearer ${await genuine({ iss: `${w.issuer.url}/` })}`,
    },
    {
      name: 'the issuer in upper case',
      authorization: async () => `Bearer ${await genuine({ iss: w.issuer.url.toUpperCase() })}`,
    },
    { name: 'no issuer', authorization: async () => `Bearer ${await genuine({ iss: undefined })}` },
    { name: 'a wrong audience', authorization: async () => `Bearer ${await genuine({ aud: 'kubernetes' })}` },
    { name: 'no audience', authorization: async () => `Bearer ${await genuine({ aud: undefined })}` },
    {
      name: 'an audience that only contains ours',
      authorization: async () => `Bearer ${await genuine({ aud: 'kube-bastion-evil' })}`,
    },
    {
      name: 'expired an hour ago',
      authorization: async () => `Bearer ${await genuine({ exp: now() - 3600 })}`,
    },
    { name: 'no exp', authorization: async () => `Bearer ${await genuine({ exp: undefined })}` },
    {
      name: 'exp as a string',
      authorization: async () => `Bearer ${await genuine({ exp: String(now() + 300) as never })}`,
    },
    {
      name: 'nbf an hour ahead',
      authorization: async () => `Bearer ${await genuine({ nbf: now() + 3600 })}`,
    },
    {
      name: 'the payload edited after signing',
      authorization: async () =>
        (await genuine({ sub: 'bob', groups: ['qa'] }))
          .replace(/\.[^.]+\./, `.${b64(claims())}.`)
          .replace(/^/, 'Bearer '),
    },
    {
      name: 'the signature stripped',
      authorization: async () => `Bearer ${(await genuine()).replace(/[^.]+$/, '')}`,
    },
    {
      name: 'another token’s signature',
      authorization: async () =>
        `Bearer ${(await genuine({ groups: ['qa'] })).replace(/[^.]+$/, (await genuine()).split('.')[2])}`,
    },
    {
      name: 'a genuine token of a user without a grant',
      authorization: () => `Bearer ${w.bob}`,
      status: 403,
      reason: 'Forbidden',
    },
  ]);
});

describe('shape: size, dots, encodings, schemes', () => {
  tokenTable([
    {
      name: 'a 13 KB token',
      authorization: async () => `Bearer ${await genuine({ pad: 'p'.repeat(9_500) })}`,
    },
    { name: 'many dots', authorization: () => `Bearer ${'a.'.repeat(2000)}a` },
    { name: 'only dots', authorization: () => 'Bearer ...' },
    { name: 'four segments', authorization: async () => `Bearer ${await genuine()}.extra` },
    {
      name: 'a header that is not JSON',
      authorization: () => `Bearer ${b64('not json')}.${b64(claims())}.sig`,
    },
    {
      name: 'a payload that is not JSON',
      authorization: () => `Bearer ${b64({ alg: 'RS256' })}.${b64('{"iss":')}.sig`,
    },
    {
      name: 'a payload that is a JSON array',
      authorization: () => `Bearer ${b64({ alg: 'RS256' })}.${b64([1, 2])}.sig`,
    },
    {
      name: 'standard base64 instead of base64url',
      authorization: async () => `Bearer ${(await genuine()).replace(/-/g, '+').replace(/_/g, '/')}=`,
    },
    { name: 'an empty bearer', authorization: () => 'Bearer ' },
    {
      name: 'two tokens in one header',
      authorization: async () => `Bearer ${await genuine()} ${await genuine()}`,
    },
    { name: 'Basic credentials', authorization: () => `Basic ${b64('alice:alice')}` },
    { name: 'a Token scheme', authorization: async () => `Token ${await genuine()}` },
    {
      name: 'an opaque token (no ServiceAccount tokens here)',
      authorization: () => 'Bearer abcdef0123456789',
    },
  ]);
});

describe('where the token travels', () => {
  const cases: HostileCase[] = [
    {
      name: 'access_token in the query is not a credential',
      path: '',
      as: 'none',
      status: 401,
      shape: 'status',
      upstream: null,
    },
    {
      name: 'token= in the query is not a credential',
      path: '',
      as: 'none',
      status: 401,
      shape: 'status',
      upstream: null,
    },
    {
      name: 'Proxy-Authorization is not a credential',
      path: `${WEB}/t`,
      as: 'none',
      status: 401,
      shape: 'status',
      upstream: null,
    },
  ];
  test(cases[0].name, () => runCase(w, { ...cases[0], path: `${WEB}/t?access_token=${w.alice}` }));
  test(cases[1].name, () => runCase(w, { ...cases[1], path: `${WEB}/t?token=${w.alice}` }));
  test(cases[2].name, () =>
    runCase(w, { ...cases[2], headers: { 'proxy-authorization': `Bearer ${w.alice}` } }),
  );

  const twoHeaders = (first: string, second: string) => (host: string) => {
    for (const v of [first, second]) w.secrets.add(v.replace(/^\w+\s+/, ''));
    return (
      `GET ${WEB}/t HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\n` +
      `Authorization: ${first}\r\nAuthorization: ${second}\r\nConnection: close\r\n\r\n`
    );
  };
  test('two Authorization headers, the genuine one first, are refused', () =>
    runCase(w, {
      name: '',
      raw: twoHeaders(`Bearer ${w.alice}`, 'Bearer forged.Zm9yZ2Vk.c2ln'),
      status: 401,
      shape: 'status',
      upstream: null,
    }));
  test('two Authorization headers, the genuine one second, are refused', () =>
    runCase(w, {
      name: '',
      raw: twoHeaders('Bearer forged.Zm9yZ2Vk.c2ln', `Bearer ${w.alice}`),
      status: 401,
      shape: 'status',
      upstream: null,
    }));
  test('two genuine Authorization headers of different users are refused', () =>
    runCase(w, {
      name: '',
      raw: twoHeaders(`Bearer ${w.bob}`, `Bearer ${w.alice}`),
      status: 401,
      shape: 'status',
      upstream: null,
    }));
});

test('no attacker-named key was ever fetched; unknown kids refetched the JWKS at most once', () => {
  assert.deepEqual(attackerHits, []);
  // Discovery + the initial load, then at most one refetch for all the unknown-kid rows (cooldown).
  assert.ok(w.issuer.jwksFetches <= 2, `JWKS fetched ${w.issuer.jwksFetches} times`);
  assert.deepEqual(w.forbiddenSeen(), []);
});
