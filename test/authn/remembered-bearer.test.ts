/**
 * A bearer JWT verified once is answered from memory on the requests after
 * it (no promise, no signature check: the hot path). That shortcut must
 * answer exactly what the full path would: the same identity and headers,
 * each request counted, and nothing once the token has expired, however
 * recently it was remembered.
 */
import assert from 'node:assert/strict';
import { after, before, mock, test } from 'node:test';
import { TokenCache } from '../../src/authn/token-cache.js';
import { webService } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';
import { startJwtIssuer, type JwtIssuer } from '../support/jwt-issuer.js';
import { ManualClock } from '../support/manual-clock.js';
import { createTestCA } from '../support/tls.js';
import { trustedIssuer } from '../security/support/world.js';

const P = '/api/v1/namespaces/team-a/services/web/proxy/';
let h: Harness;
let issuer: JwtIssuer;
let web: EchoServer;
const clock = new ManualClock();

before(async () => {
  const ca = await createTestCA();
  [issuer, web] = await Promise.all([startJwtIssuer(ca), startEchoServer({ host: '127.0.0.2' })]);
  h = await startHarness({
    insecureNoAuth: false,
    clock,
    objects: webService('team-a', 'web', web.host, web.port),
    config: {
      authentication: { jwt: [trustedIssuer(issuer, ca)] },
      authorization: {
        rules: [{ groups: ['ops'], namespaces: ['team-a'], resources: ['services'], verbs: ['get'] }],
      },
    },
  });
});
after(async () => {
  await h?.close();
  await Promise.all([issuer?.close(), web?.close()]);
});

const successes = async () =>
  Number(
    /^kube_bastion_authentications_total\{method="jwt",result="success"\} (\d+)$/m.exec(
      (await send(h.adminURL, 'GET', '/metrics')).body,
    )?.[1] ?? 0,
  );

test('a remembered token gets what the first request got, is counted each time, and is refused once expired', async () => {
  const exp = Math.floor(clock.now() / 1000) + 120;
  const token = await issuer.mint({ aud: 'kube-bastion', sub: 'carol', groups: ['ops'], exp });
  const get = () => send(h.url, 'GET', P, { authorization: `Bearer ${token}` });
  const before = await successes();

  const first = await get();
  assert.equal(first.status, 200, first.body);
  const firstSeen = JSON.parse(first.body) as { headers: Record<string, string> };
  for (let i = 0; i < 3; i++) {
    const again = await get();
    assert.equal(again.status, 200, again.body);
    const seen = JSON.parse(again.body) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-forwarded-user'], 'carol');
    assert.equal(seen.headers['x-forwarded-groups'], firstSeen.headers['x-forwarded-groups']);
    assert.equal(seen.headers['x-bastion-assertion'], firstSeen.headers['x-bastion-assertion']);
  }
  assert.equal((await successes()) - before, 4);

  // Past its exp (and the clock skew allowed): the memory of it is no answer.
  clock.advance(120_000 + 5 * 60_000);
  const late = await get();
  assert.equal(late.status, 401, late.body);
});

test('a token met for the first time is hashed once on its way through, accepted or refused', async (t) => {
  const exp = Math.floor(clock.now() / 1000) + 120;
  const fresh = await issuer.mint({ aud: 'kube-bastion', sub: 'dave', groups: ['ops'], exp });
  const key = mock.method(TokenCache, 'key');
  t.after(() => key.mock.restore());

  const accepted = await send(h.url, 'GET', P, { authorization: `Bearer ${fresh}` });
  assert.equal(accepted.status, 200, accepted.body);
  assert.equal(
    key.mock.callCount(),
    1,
    'the remembered-token lookup and the full path hash the same token once',
  );

  // A junk flood is the case that matters: every token is new, and each costs its hash once, not twice.
  key.mock.resetCalls();
  const junk = await send(h.url, 'GET', P, { authorization: `Bearer ${'x'.repeat(4000)}` });
  assert.equal(junk.status, 401, junk.body);
  assert.equal(key.mock.callCount(), 1);
});
