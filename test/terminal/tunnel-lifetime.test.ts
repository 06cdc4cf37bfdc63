/**
 * A tunnel opened with a CLI access token lives as long as the terminal
 * sign-in it came from (src/authn/terminal/bearer.ts): a psql session is not
 * cut when the one-hour access token it was opened with runs out — the CLI
 * renews its token for the next connection, and an open one has nothing to
 * renew. It ends when the sign-in does: revoked (or signed out), or at its
 * end. All on the gateway's clock.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { openRaw, type RawTunnel } from '../tunnel/support/raw-tunnel.js';
import { postForm, protocolLogin, startWorld, type World } from './world.js';

const TUNNEL = '/api/v1/namespaces/team-a/services/echo:80/portforward';
const MINUTE = 60_000;

let world: World;

before(async () => {
  world = await startWorld({ tunnels: true, session: { ttl: '8h', idleTimeout: '8h' } });
});

after(() => world?.close());

/** One HTTP exchange with the echo upstream through the tunnel; fails at once if the tunnel closes. */
async function exchange(t: RawTunnel, path: string): Promise<void> {
  const before = t.received().length;
  const seen: { closed?: { code: number; reason: string } } = {};
  void t.closed.then((c) => (seen.closed = c));
  t.send(`GET ${path} HTTP/1.1\r\nHost: echo\r\n\r\n`);
  await eventually(() => {
    if (seen.closed) throw new Error(`the tunnel closed: ${seen.closed.code} ${seen.closed.reason}`);
    return /HTTP\/1\.1 200/.test(t.received().subarray(before).toString());
  });
}

/** Moves the gateways' clock `ms` forward, a recheck interval at a time, so every watch gets its turns. */
async function pass(ms: number): Promise<void> {
  for (let moved = 0; moved < ms; moved += 10_000) {
    world.clock.advance(Math.min(10_000, ms - moved));
    await new Promise((r) => setImmediate(r));
  }
}

test('a tunnel opened with a CLI access token outlives that token: it lives as long as the sign-in', async () => {
  const { tokens } = await protocolLogin(world, 'alice');
  const t = await openRaw(world.publicURL, TUNNEL, tokens.access_token);
  const seen: { closed?: { code: number; reason: string } } = {};
  void t.closed.then((c) => (seen.closed = c));
  await exchange(t, '/before');
  // Past the access token's hour (the default accessTokenTTL) and well beyond.
  await pass(90 * MINUTE);
  await exchange(t, '/after-the-token');
  assert.equal(seen.closed, undefined, 'still open after the access token it was opened with expired');
  // The sign-in is revoked: the tunnel ends at its next recheck.
  await postForm(`${world.publicURL}/auth/cli/revoke`, { token: tokens.refresh_token });
  await eventually(
    async () => {
      await pass(10_000);
      return seen.closed !== undefined;
    },
    10_000,
    50,
  );
  assert.equal((await t.closed).code, 1008);
});
