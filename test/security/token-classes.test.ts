/**
 * Bearer-token classes beyond the forgeries in tokens.test.ts: tokens whose
 * signature is the issuer's own but whose shape asks the gateway to read
 * them differently — unencoded payloads, nested tokens, encrypted tokens,
 * duplicate JSON keys, prototype keys, claims nested thousands deep,
 * lifetimes at the edges of the clock skew — and the gateway's own identity
 * assertion, which every upstream receives, sent back as a credential
 * (token-type confusion, Pomerium CVE-2024-47616).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompactEncrypt, importJWK, type JWTPayload } from 'jose';
import { parseConfig, ConfigError } from '../../src/config/load.js';
import { send } from '../support/http.js';
import { runCase, type HostileCase } from './support/cases.js';
import { WEB, startWorld, trustedIssuer, type World } from './support/world.js';
import { aliceClaims, now } from './support/claims.js';

let w: World;
let withTokenReview: World;
before(
  async () => {
    [w, withTokenReview] = await Promise.all([
      startWorld({
        // A CEL rule reads the claims, so a deeply nested claim reaches the expression engine too.
        issuer: {
          claimValidationRules: [
            { expression: '!has(claims.deep) || claims.deep == claims.deep', message: 'deep' },
          ],
        },
      }),
      startWorld({
        config: {
          kubernetes: {},
          authentication: { serviceAccountTokens: { enabled: true, audiences: ['kube-bastion'] } },
        },
      }),
    ]);
  },
  { timeout: 60_000 },
);
after(async () => {
  await Promise.all([w?.close(), withTokenReview?.close()]);
});

const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');
const claims = (over: JWTPayload = {}): JWTPayload => aliceClaims(w, over);
/** Signs exactly these header and payload bytes with the issuer's real key (RS256). */
async function signRaw(headerJSON: string, payloadBytes: string | Buffer, encode = true): Promise<string> {
  const key = w.issuer.keys[0];
  const input = `${b64(headerJSON)}.${encode ? b64(payloadBytes) : payloadBytes.toString()}`;
  const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}
const header = (extra = '') => `{"alg":"RS256","typ":"JWT","kid":"${w.issuer.keys[0].kid}"${extra}}`;
const json = (c: JWTPayload) => JSON.stringify(c);

function row(
  name: string,
  token: () => Promise<string>,
  status: number,
  over: Partial<HostileCase> = {},
  world: () => World = () => w,
): void {
  test(name, async () => {
    const t = await token();
    world().secrets.add(t);
    const ok = status === 200;
    await runCase(world(), {
      name,
      path: `${WEB}/t`,
      headers: { authorization: `Bearer ${t}` },
      status,
      shape: ok ? 'echo' : 'status',
      upstream: ok ? { url: '/t' } : null,
      ...over,
    });
  });
}

/** The upstream saw exactly this user, in the header and in the assertion (authorization saw it too: the status). */
const arrivesAs = (user: string) => ({
  upstream: {
    url: '/t',
    check: (r: { headers: Record<string, string | string[] | undefined> }) => {
      assert.equal(r.headers['x-forwarded-user'], user);
      const assertion = String(r.headers['x-bastion-assertion']);
      const sub = (
        JSON.parse(Buffer.from(assertion.split('.')[1], 'base64url').toString()) as { sub: string }
      ).sub;
      assert.equal(sub, user);
    },
  },
});

describe('the payload is read one way only', () => {
  row(
    'b64:false (an unencoded payload) is refused',
    () => signRaw(header(',"b64":false,"crit":["b64"]'), json(claims()), false),
    401,
  );
  row(
    'a nested JWT (cty: JWT, the payload another signed token) is refused',
    async () => signRaw(header(',"cty":"JWT"'), await w.issuer.mint(claims())),
    401,
  );
  row(
    'a JWE encrypted to the issuer’s public key (anyone can make one) is refused',
    async () => {
      const { kty, n, e } = w.issuer.keys[0].publicJwk;
      const key = await importJWK({ kty, n, e }, 'RSA-OAEP-256');
      return new CompactEncrypt(new TextEncoder().encode(json(claims())))
        .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT' })
        .encrypt(key);
    },
    401,
  );
  row('control: the same claims signed plainly pass', () => signRaw(header(), json(claims())), 200);
});

describe('duplicate JSON keys: the name decided on is the name the upstream gets', () => {
  const dup = (first: string, last: string) =>
    json(claims()).replace('"sub":"alice"', `"sub":${JSON.stringify(first)},"sub":${JSON.stringify(last)}`);
  row(
    'sub twice, bob then alice: alice everywhere',
    () => signRaw(header(), dup('bob', 'alice')),
    200,
    arrivesAs('alice'),
  );
  row(
    'sub twice, alice then bob: bob everywhere',
    () => signRaw(header(), dup('alice', 'bob')),
    200,
    arrivesAs('bob'),
  );
  const twoIssuers = (first: string, last: string) =>
    json(claims()).replace(`"iss":"${w.issuer.url}"`, `"iss":"${first}","iss":"${last}"`);
  row(
    'iss twice, an untrusted one last: refused',
    () => signRaw(header(), twoIssuers(w.issuer.url, 'https://evil.example')),
    401,
  );
  row(
    'iss twice, the trusted one last: the token is that issuer’s',
    () => signRaw(header(), twoIssuers('https://evil.example', w.issuer.url)),
    200,
  );
  row(
    'alg twice in the header, none last: refused',
    () => signRaw(`{"alg":"RS256","kid":"${w.issuer.keys[0].kid}","alg":"none"}`, json(claims())),
    401,
  );
  row(
    'groups twice, the granted one first: the last one counts',
    () => signRaw(header(), json(claims()).replace('"groups":["devs"]', '"groups":["devs"],"groups":["qa"]')),
    403,
    { reason: 'Forbidden' },
  );
});

describe('prototype keys in claims grant nothing', () => {
  // 403: mallory, without groups. 401: the CEL engine refuses a map whose `constructor` is data.
  const expected = new Map([
    ['__proto__', 403],
    ['constructor', 401],
    ['prototype', 403],
  ]);
  for (const [key, status] of expected)
    row(
      `mallory with a "${key}" claim holding groups: [devs]`,
      () =>
        signRaw(
          header(),
          `{"iss":"${w.issuer.url}","aud":"kube-bastion","sub":"mallory","${key}":{"groups":["devs"]},"exp":${now() + 300}}`,
        ),
      status,
    );
});

describe('claims nested deeply or sized to hurt', () => {
  row(
    'a claim nested 3,000 arrays deep, compared whole by a CEL rule: answered, no crash',
    () => signRaw(header(), json(claims()).replace('{', `{"deep":${'['.repeat(3000)}${']'.repeat(3000)},`)),
    200,
  );
  row(
    'a claim nested 1,000 objects deep: answered, no crash',
    () =>
      signRaw(header(), json(claims()).replace('{', `{"deep":${'{"a":'.repeat(1000)}1${'}'.repeat(1000)},`)),
    200,
  );
});

describe('lifetimes at the edges of the 30 s clock skew', () => {
  row('exp 20 s ago: inside the skew', () => signRaw(header(), json(claims({ exp: now() - 20 }))), 200);
  row('exp 40 s ago: expired', () => signRaw(header(), json(claims({ exp: now() - 40 }))), 401);
  row('nbf 20 s ahead: inside the skew', () => signRaw(header(), json(claims({ nbf: now() + 20 }))), 200);
  row('nbf 40 s ahead: not yet valid', () => signRaw(header(), json(claims({ nbf: now() + 40 }))), 401);
  row(
    'iat an hour ahead: accepted, as the apiserver does (it does not check iat)',
    () => signRaw(header(), json(claims({ iat: now() + 3600 }))),
    200,
  );
  row('iat a string: refused', () => signRaw(header(), json(claims({ iat: 'now' as never }))), 401);
  row('exp 0: refused', () => signRaw(header(), json(claims({ exp: 0 }))), 401);
  row(
    'exp in the year 275760 (1e13): accepted, remembered for at most 10 minutes',
    () => signRaw(header(), json(claims({ exp: 1e13 }))),
    200,
  );
  row(
    'exp 1e400 (Infinity to JSON.parse): refused',
    () => signRaw(header(), json(claims()).replace(/"exp":\d+/, '"exp":1e400')),
    401,
  );
});

describe("the gateway's own identity assertion is no credential", () => {
  async function assertionFor(world: World): Promise<string> {
    const r = await send(world.h.url, 'GET', `${WEB}/a`, { authorization: `Bearer ${world.alice}` });
    assert.equal(r.status, 200, r.body);
    const assertion = String(world.a.last()!.headers['x-bastion-assertion']);
    assert.match(assertion, /^eyJ/);
    world.secrets.add(assertion);
    return assertion;
  }
  test('sent back as a bearer token: 401, and it says what it is', async () => {
    const assertion = await assertionFor(w);
    await runCase(w, {
      name: '',
      path: `${WEB}/t`,
      headers: { authorization: `Bearer ${assertion}` },
      status: 401,
      shape: 'status',
      message: /identity assertion .* not a credential/,
      upstream: null,
    });
  });
  test('with ServiceAccount tokens on, it is not handed to the API server either', async () => {
    const assertion = await assertionFor(withTokenReview);
    withTokenReview.h.api.clearRequests();
    await runCase(withTokenReview, {
      name: '',
      path: `${WEB}/t`,
      headers: { authorization: `Bearer ${assertion}` },
      status: 401,
      shape: 'status',
      upstream: null,
    });
    assert.equal(withTokenReview.h.api.count({ resource: 'tokenreviews' }), 0);
  });
  test('a config that trusts the gateway’s own publicURL as a JWT issuer is refused, with the key’s path', () => {
    for (const url of ['https://bastion.example.com', 'https://BASTION.example.com/'])
      assert.throws(
        () =>
          parseConfig({
            publicURL: 'https://bastion.example.com/',
            authentication: {
              jwt: [{ ...trustedIssuer(w.issuer, w.ca), issuer: { url, audiences: ['team-a/web'] } }],
            },
          }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.problems.some(
            (p) => p.path === 'authentication.jwt[0].issuer.url' && /own publicURL/.test(p.message),
          ),
        url,
      );
  });
});
