/**
 * A JWT issuer that is down or stalled must not become a lever against the
 * gateway (issue 15): tokens signed with keys we already hold keep working;
 * tokens with an unknown `kid` cost one JWKS fetch per pause (a failure
 * starts a backoff that doubles), never one per token, and get a fast 503
 * while the issuer is failing. A real HTTPS issuer is switched between up,
 * down (connections reset) and stalled (accepts, never answers); it counts
 * the JWKS fetches it saw. The gateway's clock is the test's: pauses are
 * crossed by advancing it, never by sleeping.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FETCH_BACKOFF_MS, JWKS_COOLDOWN_MS } from '../../src/authn/jwt/issuer.js';
import { eventually } from '../support/eventually.js';
import { ManualClock } from '../support/manual-clock.js';
import { makeKey, startJwtIssuer, type JwtIssuer, type SigningKey } from '../support/jwt-issuer.js';
import { createTestCA } from '../support/tls.js';
import { capturedLogs, startAuthApp, whoami, type AuthApp } from './helpers.js';

let issuer: JwtIssuer;
let stranger: SigningKey;
let app: AuthApp;
const clock = new ManualClock();
const logs = capturedLogs();
const claims = { aud: 'kube-bastion', sub: 'job' };

before(async () => {
  const ca = await createTestCA();
  issuer = await startJwtIssuer(ca);
  stranger = await makeKey();
  app = await startAuthApp(
    {
      authentication: {
        jwt: [
          {
            issuer: { url: issuer.url, audiences: ['kube-bastion'], certificateAuthority: ca.caPem },
            claimMappings: { username: { claim: 'sub', prefix: 'ci:' } },
          },
        ],
      },
    },
    { clock, issuerTimeoutMs: 1_000, logger: logs.logger },
  );
});
after(async () => {
  await app?.close();
  await issuer?.close();
});

let run = 0;
/** A token signed with the issuer's published key (a new one each time, so no cache answers for it). */
const known = async () => `Bearer ${await issuer.mint({ ...claims, run: run++ }, { expiresIn: 3600 })}`;
/** A token whose kid the issuer never published: only a JWKS fetch could find its key. */
const unknownKid = async () =>
  `Bearer ${await issuer.mint({ ...claims, run: run++ }, { key: stranger, expiresIn: 3600 })}`;
const status = async (authorization: string) => (await whoami(app.url, authorization)).status;
const fetchesDuring = async (action: () => Promise<unknown>) => {
  const before = issuer.jwksFetches;
  await action();
  return issuer.jwksFetches - before;
};

describe('while the issuer is up', () => {
  test('known keys verify; an unknown kid refetches once, then waits out the cooldown (401)', async () => {
    assert.equal(await status(await known()), 200);
    clock.advance(JWKS_COOLDOWN_MS);
    const fetched = await fetchesDuring(async () => {
      for (let i = 0; i < 5; i++) assert.equal(await status(await unknownKid()), 401);
    });
    assert.equal(fetched, 1);
  });

  test('a refused token is judged once; it is judged again after the refusal expired', async () => {
    const token = await unknownKid();
    const judged = () => logs.lines.filter((l) => String(l.msg).startsWith('bearer token rejected')).length;
    const before = judged();
    for (let i = 0; i < 3; i++) assert.equal(await status(token), 401);
    assert.equal(judged() - before, 1);
    clock.advance(10_000);
    assert.equal(await status(token), 401);
    assert.equal(judged() - before, 2);
  });
});

describe('while the issuer is down (connections reset)', () => {
  before(() => {
    issuer.mode = 'down';
    clock.advance(JWKS_COOLDOWN_MS);
  });

  test('unknown kids: one fetch, then fast 503s, sequential or concurrent', async () => {
    const fetched = await fetchesDuring(async () => {
      for (let i = 0; i < 10; i++) assert.equal(await status(await unknownKid()), 503);
      const together = await Promise.all(Array.from({ length: 20 }, async () => status(await unknownKid())));
      assert.deepEqual(new Set(together), new Set([503]));
    });
    assert.equal(fetched, 1, '30 tokens, one JWKS fetch');
  });

  test('the 503 says what is wrong and what to do', async () => {
    const r = await whoami(app.url, await unknownKid());
    assert.equal(r.body.reason, 'ServiceUnavailable');
    assert.match(String(r.body.message), /signing keys of issuer .* try again/);
  });

  test('tokens signed with known keys keep working throughout', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await status(await known()), 200);
  });

  test('the pause doubles with each failure', async () => {
    const attempt = async (advance: number) => {
      clock.advance(advance);
      return fetchesDuring(async () => assert.equal(await status(await unknownKid()), 503));
    };
    assert.equal(await attempt(FETCH_BACKOFF_MS), 1, 'after 1 s: the second failure');
    assert.equal(await attempt(FETCH_BACKOFF_MS), 0, 'the pause is 2 s now');
    assert.equal(await attempt(FETCH_BACKOFF_MS), 1, 'after 2 s: the third failure');
    assert.equal(await attempt(3 * FETCH_BACKOFF_MS), 0, 'the pause is 4 s now');
    assert.equal(await attempt(FETCH_BACKOFF_MS), 1, 'after 4 s');
  });
});

describe('while the issuer is stalled (accepts, never answers)', () => {
  before(() => {
    issuer.mode = 'stalled';
    clock.advance(60_000);
  });

  test('concurrent unknown kids share one fetch; known keys are served while it hangs', async () => {
    const before = issuer.jwksFetches;
    const waiting = Promise.all(Array.from({ length: 10 }, async () => status(await unknownKid())));
    await eventually(() => issuer.stalledRequests() === 1);
    assert.equal(await status(await known()), 200, 'a known key does not wait for the stalled fetch');
    assert.deepEqual(new Set(await waiting), new Set([503]), 'the fetch timed out: 503 for all of them');
    assert.equal(issuer.jwksFetches - before, 1);
  });

  test('after it timed out, unknown kids get a fast 503 without another fetch', async () => {
    const fetched = await fetchesDuring(async () => {
      for (let i = 0; i < 10; i++) assert.equal(await status(await unknownKid()), 503);
    });
    assert.equal(fetched, 0);
    assert.equal(issuer.stalledRequests(), 0, 'the timed-out fetch was abandoned, not left open');
  });
});

describe('when the issuer is back', () => {
  test('a rotated key is picked up at the next allowed fetch', async () => {
    issuer.mode = 'up';
    const rotated = await issuer.rotate();
    clock.advance(60_000);
    const token = `Bearer ${await issuer.mint({ ...claims, run: run++ }, { key: rotated, expiresIn: 3600 })}`;
    assert.equal(await status(token), 200);
    assert.equal(await status(await known()), 200);
  });
});
