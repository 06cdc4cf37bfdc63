/**
 * The gateway's CLI tokens at the gateway: refresh rotation, a replayed
 * refresh token revoking the whole family (its access tokens stop at the
 * next request), revocation, lifetimes that follow the session settings,
 * WebSockets closed when their sign-in ends — and the tokens that must never
 * count as one: an upstream's identity assertion, another gateway's token,
 * a token with its header or signature changed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import {
  ECHO_A,
  bearerGET,
  cliWebSocket,
  postForm,
  protocolLogin,
  refresh,
  startWorld,
  type World,
} from './world.js';

let world: World;

before(async () => {
  world = await startWorld({ session: { ttl: '8h', idleTimeout: '2h' } });
});

after(() => world?.close());

const echo = () => `${world.publicURL}${ECHO_A}`;

test('refresh rotates both tokens; the old refresh token replayed revokes the family, its access tokens included', async () => {
  const { tokens: first } = await protocolLogin(world, 'alice');
  assert.equal((await bearerGET(echo(), first.access_token)).status, 200);

  const second = await refresh(world.publicURL, first.refresh_token);
  assert.equal(second.status, 200);
  const rotated = second.body as { access_token: string; refresh_token: string };
  assert.notEqual(rotated.refresh_token, first.refresh_token);
  assert.notEqual(rotated.access_token, first.access_token);
  assert.equal((await bearerGET(echo(), rotated.access_token)).status, 200);

  // Someone replays the first refresh token (a copy of the credentials file).
  const replay = await refresh(world.publicURL, first.refresh_token);
  assert.equal(replay.body.error, 'invalid_grant');
  assert.match(String(replay.body.error_description), /already used.*revoked/);
  // Everything of that sign-in stops, without waiting for any token to expire.
  assert.equal((await refresh(world.publicURL, rotated.refresh_token)).body.error, 'invalid_grant');
  for (const token of [first.access_token, rotated.access_token]) {
    const res = await bearerGET(echo(), token);
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { message: string }).message, /revoked or has ended/);
  }
});

test('revoking (logout) ends the family at once; an unknown token is answered 200 and changes nothing', async () => {
  const { tokens } = await protocolLogin(world, 'alice');
  const { tokens: other } = await protocolLogin(world, 'alice');
  assert.equal(
    (await postForm(`${world.publicURL}/auth/cli/revoke`, { token: 'kbr1.nonsense' })).status,
    200,
  );
  assert.equal(
    (await postForm(`${world.publicURL}/auth/cli/revoke`, { token: tokens.refresh_token })).status,
    200,
  );
  assert.equal((await bearerGET(echo(), tokens.access_token)).status, 401);
  assert.equal((await refresh(world.publicURL, tokens.refresh_token)).body.error, 'invalid_grant');
  assert.equal(
    (await bearerGET(echo(), other.access_token)).status,
    200,
    'another sign-in of the same user stays',
  );
});

test('an access token lasts an hour (gateway clock); the refresh token replaces it', async () => {
  const { tokens } = await protocolLogin(world, 'alice');
  assert.equal(tokens.expires_in, 3600);
  const claims = decodeJwt(tokens.access_token);
  assert.equal(claims.aud, `${world.publicURL}/auth/cli`);
  assert.equal(claims.sub, 'alice@example.com');
  assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'kb-cli+jwt');
  world.clock.advance(3600_000);
  const res = await bearerGET(echo(), tokens.access_token);
  assert.equal(res.status, 401);
  assert.match(((await res.json()) as { message: string }).message, /expired/);
  const next = await refresh(world.publicURL, tokens.refresh_token);
  assert.equal(next.status, 200);
  assert.equal((await bearerGET(echo(), String(next.body.access_token))).status, 200);
});

test('a refresh token unused for the session idle timeout after its access token ran out expires', async () => {
  const { tokens } = await protocolLogin(world, 'alice');
  assert.equal(tokens.refresh_token_expires_in, 3600 + 7200, 'an hour of token, then two idle');
  world.clock.advance((3600 + 7200) * 1000);
  assert.equal((await refresh(world.publicURL, tokens.refresh_token)).body.error, 'invalid_grant');
});

test('a terminal sign-in never outlives the browser session that confirmed it', async () => {
  const { person, tokens: fresh } = await protocolLogin(world, 'bob');
  assert.equal(fresh.refresh_token_expires_in, 3600 + 7200, 'a new session: the idle limit decides');
  // Bob keeps using his browser session (8 h) for 7.5 hours, then confirms another terminal.
  for (let hour = 0; hour < 7; hour++) {
    world.clock.advance(3600_000);
    assert.equal((await person.get(`${world.publicURL}/auth/whoami`)).status, 200);
  }
  world.clock.advance(1800_000);
  const { tokens: late } = await protocolLogin(world, 'bob', { person });
  assert.ok(late.expires_in <= 1800, `access token cut to the session's end: ${late.expires_in}`);
  assert.ok(late.refresh_token_expires_in <= 1800, `so is the sign-in: ${late.refresh_token_expires_in}`);
});

test('a WebSocket opened with a CLI token closes (1008) when its sign-in is revoked', async () => {
  const { tokens } = await protocolLogin(world, 'alice');
  const socket = await cliWebSocket(world, world.publicURL, `${ECHO_A}ws`, tokens.access_token);
  await postForm(`${world.publicURL}/auth/cli/revoke`, { token: tokens.refresh_token });
  // The connection re-checks its sign-in every recheckInterval (10 s) on the gateway's clock.
  assert.equal(await socket.closeCode(), 1008);
});

test('tokens that are not this gateway’s CLI tokens are refused: an upstream’s assertion, another key, tampering', async () => {
  const { tokens } = await protocolLogin(world, 'alice');
  // Every upstream receives a signed identity assertion; it must not work as a bearer token here.
  const before = world.echo.requests.length;
  await bearerGET(`${echo()}whoami`, tokens.access_token);
  const assertion = String(world.echo.requests[before].headers['x-bastion-assertion']);
  assert.match(assertion, /^ey/);
  const replayed = await bearerGET(echo(), assertion);
  assert.equal(replayed.status, 401);
  assert.equal(world.echo.requests.length, before + 1, 'nothing reached the upstream');

  const claims = decodeJwt(tokens.access_token);
  const forged = await new SignJWT(claims)
    .setProtectedHeader({
      alg: 'HS256',
      typ: 'kb-cli+jwt',
      kid: decodeProtectedHeader(tokens.access_token).kid,
    })
    .sign(new TextEncoder().encode('not-the-gateway-key-not-the-gateway-key'));
  const [h, p] = tokens.access_token.split('.');
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'kb-cli+jwt' })).toString('base64url')}.${p}.`;
  const otherAudience = `${h}.${Buffer.from(JSON.stringify({ ...claims, aud: 'team-a/echo' })).toString('base64url')}.${tokens.access_token.split('.')[2]}`;
  for (const [why, token] of [
    ['another key', forged],
    ['alg none', unsigned],
    ['changed claims', otherAudience],
  ]) {
    assert.equal((await bearerGET(echo(), token)).status, 401, why);
  }
});
