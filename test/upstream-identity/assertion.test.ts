/**
 * The signed assertion as a backend sees it: fetched keys from a real JWKS
 * endpoint, verified with jose, claims checked; plus the key lifecycle.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { Identity } from '../../src/request/identity.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createUpstreamIdentity, SigningKeyError } from '../../src/upstream-identity/index.js';
import { createAssertionSigner } from '../../src/upstream-identity/assertion.js';
import { createKeyRing, parseKeyFile } from '../../src/upstream-identity/signing-keys.js';
import { eventually } from '../support/eventually.js';
import { ManualClock } from '../support/manual-clock.js';

const logger = silentLogger();
const alice: Identity = {
  username: 'alice',
  groups: ['devs'],
  email: 'alice@example.com',
  extra: {},
  method: 'session',
};
const bob: Identity = { username: 'bob', groups: [], extra: {}, method: 'jwt' };
const dir = mkdtempSync(join(tmpdir(), 'bastion-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const config = (extra: ConfigInput = {}) =>
  parseConfig({ publicURL: 'https://bastion.example.com/', ...extra });
const ecPem = (format: 'pkcs8' | 'sec1' = 'pkcs8') =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    type: format,
    format: 'pem',
  }) as string;

async function serveJwks(jwks: () => unknown): Promise<{ url: URL; server: Server }> {
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks())),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`),
    server,
  };
}

test('a backend verifies the assertion with the published JWKS and reads who called', async () => {
  const identity = await createUpstreamIdentity(config(), { logger });
  const { url, server } = await serveJwks(() => identity.jwks());
  try {
    const headers = await identity.headersFor(alice, { kind: 'services', namespace: 'team-a', name: 'web' });
    assert.equal(headers['X-Forwarded-User'], 'alice');
    const token = headers['X-Bastion-Assertion'];
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(url), {
      issuer: 'https://bastion.example.com',
      audience: 'team-a/web',
      algorithms: ['ES256'],
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, 'alice');
    assert.deepEqual(payload.groups, ['devs']);
    assert.equal(payload.email, 'alice@example.com');
    assert.equal(payload.exp! - payload.iat!, 120);
    assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
    // Minted for one target: another backend's audience check refuses it.
    await assert.rejects(jwtVerify(token, createRemoteJWKSet(url), { audience: 'team-a/api' }), {
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
    });
    // Pods and nodes get audiences of their own.
    const podToken = (await identity.headersFor(bob, { kind: 'pods', namespace: 'team-a', name: 'web' }))[
      'X-Bastion-Assertion'
    ];
    const { payload: p } = await jwtVerify(podToken, createRemoteJWKSet(url), {
      audience: 'team-a/pods/web',
    });
    assert.equal(p.sub, 'bob');
    assert.equal(p.email, undefined);
  } finally {
    identity.close();
    server.close();
  }
});

test('an assertion is reused for three quarters of its lifetime, then renewed', async () => {
  let now = Date.UTC(2030, 0, 1, 12, 0, 0);
  const signer = await createAssertionSigner(config(), { logger, now: () => now });
  try {
    const first = await signer.sign(alice, 'team-a/web');
    // Every fresh assertion has its own jti, so the same string means no new signature was made.
    for (let i = 0; i < 200; i++) assert.equal(await signer.sign(alice, 'team-a/web'), first);
    assert.notEqual(await signer.sign(alice, 'team-a/api'), first, 'per audience');
    assert.notEqual(
      await signer.sign({ ...alice, groups: ['devs', 'admins'] }, 'team-a/web'),
      first,
      'per identity',
    );
    now += 89_000;
    assert.equal(await signer.sign(alice, 'team-a/web'), first, 'still reused at 89 s of 120 s');
    now += 2_000;
    const second = await signer.sign(alice, 'team-a/web');
    assert.notEqual(second, first, 'renewed after 90 s');
    const { payload } = await jwtVerify(second, createLocalJWKSet(signer.jwks()), {
      currentDate: new Date(now),
    });
    assert.equal(payload.iat, Math.floor(now / 1000));
  } finally {
    signer.close();
  }
});

test('the headers an upstream gets follow the assertion: the target asked for, and a renewed one', async () => {
  let now = Date.UTC(2030, 0, 1, 12, 0, 0);
  const identity = await createUpstreamIdentity(config(), { logger, now: () => now });
  const aud = async (name: string) => {
    const token = (await identity.headersFor(alice, { kind: 'services', namespace: 'team-a', name }))[
      'X-Bastion-Assertion'
    ];
    return { token, aud: decodeJwt(token).aud };
  };
  try {
    // Alternating targets: each request carries its own target's audience, never the last one sent.
    const web = await aud('web');
    const api = await aud('api');
    assert.equal(web.aud, 'team-a/web');
    assert.equal(api.aud, 'team-a/api');
    assert.deepEqual(await aud('web'), web);
    assert.deepEqual(await aud('api'), api);
    now += 91_000;
    const renewed = await aud('web');
    assert.equal(renewed.aud, 'team-a/web');
    assert.notEqual(renewed.token, web.token, 'renewed after 90 s, and sent');
  } finally {
    identity.close();
  }
});

test('keys from signingKeyFile: the first signs, the others are published, PKCS#8 and SEC1 both read', async () => {
  const file = join(dir, 'two-keys.pem');
  writeFileSync(file, ecPem('sec1') + ecPem('pkcs8'));
  const [signing, extra] = await parseKeyFile(ecPem('sec1') + ecPem('pkcs8'), 'x');
  assert.ok(signing && extra);
  const signer = await createAssertionSigner(config({ upstream: { assertion: { signingKeyFile: file } } }), {
    logger,
  });
  const again = await createAssertionSigner(config({ upstream: { assertion: { signingKeyFile: file } } }), {
    logger,
  });
  try {
    const jwks = signer.jwks();
    assert.equal(jwks.keys.length, 2);
    assert.deepEqual(again.jwks(), jwks, 'replicas reading the same Secret publish the same keys');
    for (const k of jwks.keys) {
      assert.deepEqual(
        Object.keys(k).sort(),
        ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
        'no private part is published',
      );
    }
    const token = await again.sign(alice, 'team-a/web');
    assert.equal(decodeProtectedHeader(token).kid, jwks.keys[0].kid);
    await jwtVerify(token, createLocalJWKSet(jwks));
  } finally {
    signer.close();
    again.close();
  }
});

test('a signing key that is not EC P-256 is refused at start with the file named', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  const file = join(dir, 'rsa.pem');
  writeFileSync(file, rsa);
  await assert.rejects(
    createAssertionSigner(config({ upstream: { assertion: { signingKeyFile: file } } }), { logger }),
    (err: unknown) => err instanceof SigningKeyError && /rsa\.pem: key 1: .*P-256/.test(err.message),
  );
  writeFileSync(file, 'not a key');
  await assert.rejects(
    createAssertionSigner(config({ upstream: { assertion: { signingKeyFile: file } } }), { logger }),
    /no PEM private key found/,
  );
});

/** A logger whose lines the test reads (pino's JSON, one object per line). */
function recordingLogger() {
  const lines: { msg: string }[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(line: Buffer, _enc, done) {
        lines.push(JSON.parse(line.toString()) as { msg: string });
        done();
      },
    }),
  );
  return { logger, said: (msg: string) => lines.filter((l) => l.msg === msg).length };
}

test('a replaced key file takes effect; the old key stays published for the overlap only', async () => {
  const file = join(dir, 'rotating.pem');
  writeFileSync(file, ecPem());
  const clock = new ManualClock(1_000_000);
  const log = recordingLogger();
  const ring = await createKeyRing({
    file,
    rotation: 0,
    overlap: 180_000,
    reloadInterval: 20,
    logger: log.logger,
    clock,
  });
  try {
    const oldKid = ring.current().kid;
    writeFileSync(file, ecPem());
    clock.advance(20); // the file is re-read
    await eventually(() => ring.current().kid !== oldKid);
    const kids = ring.published().map((k) => k.kid);
    assert.equal(kids[0], ring.current().kid);
    assert.ok(kids.includes(oldKid), 'old key still verifies assertions it signed');
    await clock.whenPending(1); // the next re-read is scheduled once this one is done
    clock.advance(181_000);
    assert.deepEqual(
      ring.published().map((k) => k.kid),
      [ring.current().kid],
    );
    // A broken file keeps the keys that work.
    const kid = ring.current().kid;
    writeFileSync(file, 'garbage');
    await clock.whenPending(1);
    clock.advance(20);
    await eventually(
      () => log.said('assertion signing key file unreadable; keeping the previous keys') === 1,
    );
    assert.equal(ring.current().kid, kid);
  } finally {
    ring.close();
  }
});

test('generated keys rotate: the next key is published before it signs, the old one kept for the overlap', async () => {
  const clock = new ManualClock(5_000_000);
  const ring = await createKeyRing({ rotation: 40, overlap: 180_000, logger, clock });
  try {
    const [current, next] = ring.published().map((k) => k.kid);
    assert.equal(current, ring.current().kid);
    clock.advance(40); // one rotation
    await eventually(() => ring.current().kid === next);
    assert.ok(
      ring.published().some((k) => k.kid === current),
      'retired key still published',
    );
    await clock.whenPending(1);
    clock.advance(200_000); // the overlap is over (one more rotation runs on the way)
    await eventually(() => clock.pending() === 1); // that rotation is done
    assert.ok(!ring.published().some((k) => k.kid === current), 'retired key gone after the overlap');
  } finally {
    ring.close();
  }
});

test('with assertions off, no assertion header and an empty key set', async () => {
  const identity = await createUpstreamIdentity(config({ upstream: { assertion: { enabled: false } } }), {
    logger,
  });
  const headers = await identity.headersFor(alice, { kind: 'services', namespace: 'a', name: 'web' });
  assert.equal(headers['X-Bastion-Assertion'], undefined);
  assert.deepEqual(identity.jwks(), { keys: [] });
  identity.close();
});
