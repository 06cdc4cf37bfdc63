/**
 * CI callers: bearer JWTs from two issuers with different claim mappings,
 * a long list of tokens that must be refused (each with a clear 401 and no
 * stack trace), the verification cache, and ServiceAccount tokens through a
 * TokenReview against a (fake) apiserver.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import { ManualClock } from '../support/manual-clock.js';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.js';
import { makeKey, startJwtIssuer, type JwtIssuer } from '../support/jwt-issuer.js';
import { createTestCA, type TestCA } from '../support/tls.js';
import { capturedLogs, startAuthApp, whoami, type AuthApp } from './helpers.js';

let ca: TestCA;
let gha: JwtIssuer;
let corp: JwtIssuer;
let app: AuthApp;
const logs = capturedLogs();

const ghaClaims = {
  aud: 'kube-bastion',
  repository: 'acme/app',
  ref: 'refs/heads/main',
  repository_owner: 'acme',
  sub: 'repo:acme/app:ref:refs/heads/main',
};
const corpClaims = {
  aud: 'bastion-b',
  sub: 'c-1',
  email: 'carol@example.com',
  email_verified: true,
  roles: ['ops', 'dev'],
  env: 'prod',
};

before(async () => {
  ca = await createTestCA();
  gha = await startJwtIssuer(ca);
  corp = await startJwtIssuer(ca, { path: '/realms/corp', alg: 'ES256' });
  app = await startAuthApp(
    {
      authentication: {
        jwt: [
          {
            issuer: { url: gha.url, audiences: ['kube-bastion'], certificateAuthority: ca.caPem },
            claimMappings: {
              username: { expression: '"gha:" + claims.repository + ":" + claims.ref' },
              groups: { expression: '["gha:" + claims.repository_owner]' },
            },
            claimValidationRules: [{ claim: 'repository_owner', requiredValue: 'acme' }],
          },
          {
            issuer: { url: corp.url, audiences: ['bastion-b', 'other'], certificateAuthority: ca.caPem },
            claimMappings: {
              username: { claim: 'email', prefix: '' },
              groups: { claim: 'roles', prefix: 'corp:' },
            },
            claimValidationRules: [
              { expression: 'claims.env == "prod"', message: 'only prod tokens are accepted' },
            ],
            userValidationRules: [
              {
                expression: '!user.username.startsWith("system:")',
                message: 'system: user names are reserved',
              },
            ],
          },
        ],
      },
    },
    { logger: logs.logger },
  );
});

after(async () => {
  await app?.close();
  await Promise.all([gha?.close(), corp?.close()]);
});

describe('accepted tokens', () => {
  test('a GitHub-Actions-shaped token maps to the repository and ref, grouped by owner', async () => {
    const r = await whoami(app.url, `Bearer ${await gha.mint(ghaClaims)}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, {
      username: 'gha:acme/app:refs/heads/main',
      groups: ['gha:acme', 'system:authenticated'],
      extra: {},
      method: 'jwt',
    });
  });

  test('a corporate token maps email and prefixed roles, with an ES256 key', async () => {
    const r = await whoami(app.url, `Bearer ${await corp.mint(corpClaims)}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.username, 'carol@example.com');
    assert.deepEqual(r.body.groups, ['corp:ops', 'corp:dev', 'system:authenticated']);
    assert.equal(r.body.email, 'carol@example.com');
  });

  test('an email user name without email_verified is accepted, as the apiserver does', async () => {
    const r = await whoami(
      app.url,
      `Bearer ${await corp.mint({ ...corpClaims, email_verified: undefined })}`,
    );
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.username, 'carol@example.com');
    assert.equal(r.body.email, 'carol@example.com');
  });

  test('an audience list in the token is fine when one entry matches', async () => {
    const r = await whoami(app.url, `Bearer ${await corp.mint({ ...corpClaims, aud: ['x', 'other'] })}`);
    assert.equal(r.status, 200, r.text);
  });

  test('a token expired by less than the clock skew is still accepted', async () => {
    const now = Math.floor(Date.now() / 1000);
    const r = await whoami(app.url, `Bearer ${await gha.mint({ ...ghaClaims, exp: now - 10 })}`);
    assert.equal(r.status, 200, r.text);
  });

  test('a CI burst costs one signature check, however its requests arrive', async () => {
    const token = await gha.mint({ ...ghaClaims, run_id: 'burst' });
    const verified = () => logs.lines.filter((l) => l.msg === 'bearer token verified').length;
    const before = verified();
    // Twenty at the very same moment (in-process: HTTP parsing would space them out), then twenty over HTTP.
    const req = { headers: { authorization: `Bearer ${token}` } } as IncomingMessage;
    const together = await Promise.all(Array.from({ length: 20 }, () => app.auth.authenticate(req)));
    assert.deepEqual(new Set(together.map((i) => i?.username)), new Set(['gha:acme/app:refs/heads/main']));
    for (let i = 0; i < 20; i++) assert.equal((await whoami(app.url, `Bearer ${token}`)).status, 200);
    assert.equal(verified() - before, 1, '40 requests, one verification');
    const next = await gha.mint({ ...ghaClaims, run_id: 'next' });
    assert.equal((await whoami(app.url, `Bearer ${next}`)).status, 200);
    assert.equal(verified() - before, 2, 'another token is verified on its own');
  });
});

describe('rejected tokens', () => {
  const now = () => Math.floor(Date.now() / 1000);

  /** Each case: a token (or whole Authorization header) and the words the 401 message must contain. */
  const cases: [string, () => string | Promise<string>, RegExp][] = [
    [
      'untrusted issuer',
      async () => `Bearer ${await gha.mint({ ...ghaClaims, iss: 'https://evil.example.com' })}`,
      /issuer "https:\/\/evil.example.com" is not trusted/,
    ],
    [
      'issuer with a trailing slash',
      async () => `Bearer ${await gha.mint({ ...ghaClaims, iss: `${gha.url}/` })}`,
      /is not trusted/,
    ],
    [
      'no iss claim',
      async () => `Bearer ${await gha.mint({ ...ghaClaims, iss: undefined })}`,
      /no "iss" claim/,
    ],
    [
      'wrong audience',
      async () => `Bearer ${await gha.mint({ ...ghaClaims, aud: 'something-else' })}`,
      /audience/,
    ],
    ['no audience', async () => `Bearer ${await gha.mint({ ...ghaClaims, aud: undefined })}`, /audience/],
    [
      "another issuer's audience",
      async () => `Bearer ${await gha.mint({ ...ghaClaims, aud: 'bastion-b' })}`,
      /audience/,
    ],
    ['expired', async () => `Bearer ${await gha.mint({ ...ghaClaims, exp: now() - 120 })}`, /expired/],
    [
      'not yet valid',
      async () => `Bearer ${await gha.mint({ ...ghaClaims, nbf: now() + 300 })}`,
      /not valid yet/,
    ],
    ['no exp', async () => `Bearer ${await gha.mint({ ...ghaClaims, exp: undefined })}`, /"exp"/],
    [
      'exp is a string',
      async () => `Bearer ${await gha.mint({ ...ghaClaims, exp: 'tomorrow' as unknown as number })}`,
      /exp/,
    ],
    [
      'alg none',
      () => `Bearer ${new UnsecuredJWT({ ...ghaClaims, iss: gha.url, exp: now() + 60 }).encode()}`,
      /algorithm/,
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(gha.keys[0].publicJwk));
        const jwt = await new SignJWT({ ...ghaClaims, iss: gha.url, exp: now() + 60 })
          .setProtectedHeader({ alg: 'HS256', kid: gha.keys[0].kid })
          .sign(secret);
        return `Bearer ${jwt}`;
      },
      /algorithm/,
    ],
    [
      'HS256 signed with the modulus bytes',
      () => {
        const [h, p] = [
          { alg: 'HS256', typ: 'JWT' },
          { ...ghaClaims, iss: gha.url, exp: now() + 60 },
        ].map((o) => Buffer.from(JSON.stringify(o)).toString('base64url'));
        const sig = createHmac('sha256', Buffer.from(gha.keys[0].publicJwk.n!, 'base64url'))
          .update(`${h}.${p}`)
          .digest('base64url');
        return `Bearer ${h}.${p}.${sig}`;
      },
      /algorithm/,
    ],
    [
      'unknown kid',
      async () => `Bearer ${await gha.mint(ghaClaims, { key: await makeKey() })}`,
      /no signing key/,
    ],
    [
      "right kid, another key's signature",
      async () => {
        const stranger = await makeKey();
        return `Bearer ${await gha.mint(ghaClaims, { key: { ...stranger, kid: gha.keys[0].kid } })}`;
      },
      /signature is invalid/,
    ],
    [
      'ES256 header against an RSA key id',
      async () => {
        const ec = await makeKey('ES256');
        return `Bearer ${await gha.mint(ghaClaims, { key: { ...ec, kid: gha.keys[0].kid } })}`;
      },
      /no signing key/,
    ],
    [
      "signed by another trusted issuer's key",
      async () => `Bearer ${await gha.mint(ghaClaims, { key: corp.keys[0] })}`,
      /no signing key/,
    ],
    [
      'bad signature',
      async () => {
        const t = await gha.mint(ghaClaims);
        const flipped = t.slice(0, -6) + (t.at(-6) === 'A' ? 'B' : 'A') + t.slice(-5);
        return `Bearer ${flipped}`;
      },
      /signature is invalid/,
    ],
    [
      'payload edited after signing',
      async () => {
        const [h, , s] = (await gha.mint(ghaClaims)).split('.');
        const p = Buffer.from(
          JSON.stringify({ ...ghaClaims, iss: gha.url, repository: 'acme/admin', exp: now() + 60 }),
        ).toString('base64url');
        return `Bearer ${h}.${p}.${s}`;
      },
      /signature is invalid/,
    ],
    [
      'missing username claim',
      async () => `Bearer ${await corp.mint({ ...corpClaims, email: undefined })}`,
      /no "email" claim/,
    ],
    [
      'email not verified',
      async () => `Bearer ${await corp.mint({ ...corpClaims, email_verified: false })}`,
      /not verified/,
    ],
    [
      'email_verified a string',
      async () => `Bearer ${await corp.mint({ ...corpClaims, email_verified: 'true' })}`,
      /not verified/,
    ],
    [
      'failed requiredValue rule',
      async () => `Bearer ${await gha.mint({ ...ghaClaims, repository_owner: 'evil' })}`,
      /"repository_owner" must be "acme"/,
    ],
    [
      'failed expression rule',
      async () => `Bearer ${await corp.mint({ ...corpClaims, env: 'dev' })}`,
      /only prod tokens/,
    ],
    [
      'reserved system: user name',
      async () => `Bearer ${await corp.mint({ ...corpClaims, email: 'system:admin' })}`,
      /system: user names are reserved/,
    ],
    [
      'groups claim of the wrong type',
      async () => `Bearer ${await corp.mint({ ...corpClaims, roles: 5 })}`,
      /string or a list of strings/,
    ],
    [
      'username expression on a missing claim',
      async () => `Bearer ${await gha.mint({ ...ghaClaims, repository: undefined })}`,
      /username expression/,
    ],
    ['oversize token', () => `Bearer ${'a'.repeat(13_000)}`, /larger than/],
    ['garbage', () => 'Bearer not-a-jwt', /not a JWT/],
    ['three garbage segments', () => 'Bearer abc.def.ghi', /not a JWT/],
    [
      'JSON that is not a JWT payload',
      () =>
        `Bearer ${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('[1,2]').toString('base64url')}.x`,
      /not a JWT/,
    ],
    ['Basic credentials', () => `Basic ${Buffer.from('a:b').toString('base64')}`, /must be "Bearer <token>"/],
    ['empty bearer', () => 'Bearer ', /must be "Bearer <token>"/],
  ];

  for (const [name, make, message] of cases) {
    test(`${name} → 401 with a clear message`, async () => {
      const r = await whoami(app.url, await make());
      assert.equal(r.status, 401, r.text);
      assert.equal(r.body.kind, 'Status');
      assert.equal(r.body.reason, 'Unauthorized');
      assert.match(String(r.body.message), message);
      assert.equal(r.wwwAuthenticate, 'Bearer realm="kube-bastion"');
      assert.doesNotMatch(r.text, /\bat .*\.(ts|js):\d+/, 'no stack trace');
    });
  }

  test('there are at least 25 of them', () => assert.ok(cases.length >= 25));

  test('unknown kids do not make the gateway hammer the issuer (JWKS refetch cooldown)', async () => {
    const before = gha.jwksFetches;
    for (let i = 0; i < 10; i++) {
      const r = await whoami(app.url, `Bearer ${await gha.mint(ghaClaims, { key: await makeKey() })}`);
      assert.equal(r.status, 401);
    }
    assert.ok(gha.jwksFetches - before <= 1, `JWKS fetched ${gha.jwksFetches - before} times`);
  });
});

describe('issuer.discoveryURL', () => {
  const claims = { aud: 'kube-bastion', sub: 'job-7' };
  /** A gateway trusting `issuer`, whose discovery document is at `discoveryURL`. */
  const trusting = (issuer: JwtIssuer, discoveryURL: string, logger = capturedLogs().logger) =>
    startAuthApp(
      {
        authentication: {
          jwt: [
            {
              issuer: {
                url: issuer.url,
                discoveryURL,
                audiences: ['kube-bastion'],
                certificateAuthority: ca.caPem,
              },
              claimMappings: { username: { claim: 'sub', prefix: 'ci:' } },
            },
          ],
        },
      },
      { logger },
    );

  test('a discovery document served away from the issuer URL is found there and its keys used', async () => {
    // Nothing at <issuer>/.well-known/openid-configuration: only discoveryURL leads to the keys.
    const issuer = await startJwtIssuer(ca, { path: '/tenant', discoveryPath: '/meta/tenant.json' });
    const gateway = await trusting(issuer, `${new URL(issuer.url).origin}/meta/tenant.json`);
    try {
      const r = await whoami(gateway.url, `Bearer ${await issuer.mint(claims)}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.username, 'ci:job-7');
      assert.equal(issuer.discoveryFetches, 1);
    } finally {
      await gateway.close();
      await issuer.close();
    }
  });

  test('a discovery document that names another issuer is refused: 503 for callers, the reason in the log', async () => {
    const issuer = await startJwtIssuer(ca, { path: '/tenant', discoveryPath: '/meta/tenant.json' });
    issuer.announcedIssuer = 'https://accounts.example.com';
    const logs = capturedLogs();
    const gateway = await trusting(issuer, `${new URL(issuer.url).origin}/meta/tenant.json`, logs.logger);
    try {
      for (let i = 0; i < 2; i++) {
        const r = await whoami(gateway.url, `Bearer ${await issuer.mint(claims)}`);
        assert.equal(r.status, 503, r.text);
        assert.match(String(r.body.message), new RegExp(`signing keys of issuer ${issuer.url}`));
      }
      assert.equal(issuer.jwksFetches, 0, "the impostor's keys were never fetched");
      const reasons = logs.lines
        .filter((l) => l.msg === 'bearer token issuer unavailable')
        .map((l) => String(l.err));
      assert.equal(reasons.length, 2);
      for (const reason of reasons)
        assert.match(
          reason,
          /names issuer https:\/\/accounts\.example\.com, not https:\/\/127\.0\.0\.1:\d+\/tenant/,
        );
    } finally {
      await gateway.close();
      await issuer.close();
    }
  });
});

describe('ServiceAccount tokens (TokenReview)', () => {
  const CACHE_TTL_MS = 1000;
  const clock = new ManualClock();
  let apiserver: FakeApiServer;
  let saApp: AuthApp;
  before(async () => {
    apiserver = await startFakeApiServer({
      tokens: {
        'sa-token-ci': {
          username: 'system:serviceaccount:ci:deployer',
          uid: 'u-1',
          groups: ['system:serviceaccounts', 'system:serviceaccounts:ci'],
          audiences: ['kube-bastion'],
        },
        'sa-token-other-aud': { username: 'system:serviceaccount:ci:other', audiences: ['vault'] },
        'sa-token-burst': { username: 'system:serviceaccount:ci:burst', audiences: ['kube-bastion'] },
      },
    });
    saApp = await startAuthApp(
      {
        kubernetes: {},
        authentication: {
          jwt: [
            {
              issuer: { url: gha.url, audiences: ['kube-bastion'], certificateAuthority: ca.caPem },
              claimMappings: { username: { claim: 'sub', prefix: 'gha:' } },
            },
          ],
          serviceAccountTokens: { enabled: true, audiences: ['kube-bastion'], cacheTTL: `${CACHE_TTL_MS}ms` },
        },
      },
      { kubeConfig: apiserver.kubeConfig(), clock },
    );
  });
  after(async () => {
    await saApp?.close();
    await apiserver?.stop();
  });

  test('a ServiceAccount token becomes system:serviceaccount:ns:name with the groups the apiserver returned', async () => {
    const r = await whoami(saApp.url, 'Bearer sa-token-ci');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.username, 'system:serviceaccount:ci:deployer');
    assert.deepEqual(r.body.groups, [
      'system:serviceaccounts',
      'system:serviceaccounts:ci',
      'system:authenticated',
    ]);
    assert.equal(r.body.method, 'serviceaccount');
  });

  test('concurrent identical reviews collapse into one TokenReview; the answer is reused until cacheTTL', async () => {
    apiserver.clearRequests();
    const burst = await Promise.all(
      Array.from({ length: 10 }, () => whoami(saApp.url, 'Bearer sa-token-burst')),
    );
    assert.deepEqual(new Set(burst.map((r) => r.status)), new Set([200]));
    for (let i = 0; i < 5; i++) await whoami(saApp.url, 'Bearer sa-token-burst');
    assert.equal(apiserver.count({ resource: 'tokenreviews' }), 1, '15 requests, one TokenReview');
    clock.advance(CACHE_TTL_MS);
    assert.equal((await whoami(saApp.url, 'Bearer sa-token-burst')).status, 200);
    assert.equal(apiserver.count({ resource: 'tokenreviews' }), 2, 'asked again once the answer expired');
  });

  test('an unknown token and a token for another audience are refused', async () => {
    for (const token of ['nope', 'sa-token-other-aud']) {
      const r = await whoami(saApp.url, `Bearer ${token}`);
      assert.equal(r.status, 401, r.text);
      assert.match(String(r.body.message), /rejected by the Kubernetes API|audience/);
    }
  });

  test('tokens a jwt issuer claims never go to the apiserver', async () => {
    apiserver.clearRequests();
    const good = await whoami(saApp.url, `Bearer ${await gha.mint(ghaClaims)}`);
    assert.equal(good.body.username, 'gha:repo:acme/app:ref:refs/heads/main');
    const bad = await whoami(saApp.url, `Bearer ${await gha.mint({ ...ghaClaims, aud: 'x' })}`);
    assert.equal(bad.status, 401);
    assert.equal(apiserver.count({ resource: 'tokenreviews' }), 0);
  });

  test('an apiserver that cannot be asked gives 503, not a cached refusal', async () => {
    apiserver.failRequests({ resource: 'tokenreviews' }, 500, 1);
    const r = await whoami(saApp.url, 'Bearer sa-token-fresh');
    assert.equal(r.status, 503, r.text);
  });
});
