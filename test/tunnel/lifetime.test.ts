/**
 * How long a tunnel lives, on the gateway's injected clock (no test waits for
 * time to pass): idle timeout (4000) counted from the last byte, maximum
 * lifetime (4001) however busy, the bearer token's `exp` (1008), a revoked
 * credential (1008, through the credential-liveness interface), keepalive
 * pings that drop a silent client, and graceful shutdown (1001). Every end
 * drops the backend connection too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CredentialLiveness } from '../../src/authn/liveness.js';
import { eventually } from '../support/eventually.js';
import { openRaw, type RawTunnel } from './support/raw-tunnel.js';
import { NS, startTunnelWorld, type TunnelWorld } from './support/world.js';

const ECHO = `${NS}/services/echo:7/portforward`;
const MINUTE = 60_000;

/** The audit close event of the tunnel opened with `x-request-id: id`. */
async function closeEvent(w: TunnelWorld, id: string): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await eventually(() => {
    found = w.audit().find((e) => e.requestId === id && (e.tunnel as { event?: string })?.event === 'close');
    return found !== undefined;
  });
  return found!.tunnel as Record<string, unknown>;
}

async function roundTrip(t: RawTunnel, text: string): Promise<void> {
  const before = t.received().length;
  t.send(text);
  await eventually(() => t.received().subarray(before).toString() === text);
}

describe('limits (idleTimeout 10m, maxLifetime 1h, no keepalive)', () => {
  let w: TunnelWorld;
  before(async () => {
    w = await startTunnelWorld({
      config: { tunnels: { idleTimeout: '10m', maxLifetime: '1h', keepalive: '0s' } },
    });
  });
  after(() => w?.close());

  /** A token good for a day of the gateway's clock: these tests move it by hours. */
  const alice = () => w.mint('alice', ['devs'], 24 * 3600);

  test('idle timeout: counted from the last byte, then close 4000 and the backend connection dropped', async () => {
    const open = w.echo.open();
    const t = await openRaw(w.h.url, ECHO, await alice());
    w.clock.advance(9 * MINUTE);
    await roundTrip(t, 'still here'); // a byte resets the count
    w.clock.advance(9 * MINUTE);
    await roundTrip(t, 'and here');
    w.clock.advance(10 * MINUTE);
    assert.deepEqual(await t.closed, { code: 4000, reason: 'idle timeout' });
    await eventually(() => w.echo.open() === open);
  });

  test('maximum lifetime: close 4001 however busy the tunnel is', async () => {
    const t = await openRaw(w.h.url, ECHO, await alice());
    for (let i = 0; i < 6; i++) {
      w.clock.advance(9 * MINUTE);
      await roundTrip(t, `busy ${i}`);
    }
    w.clock.advance(6 * MINUTE);
    assert.deepEqual(await t.closed, { code: 4001, reason: 'maximum tunnel lifetime reached' });
  });

  test('the bearer token expires: close 1008 "token expired" at its exp, not before', async () => {
    const token = await w.mint('alice', ['devs'], 120);
    const t = await openRaw(w.h.url, ECHO, token, { headers: { 'x-request-id': 'expiring-token' } });
    w.clock.advance(119_000);
    await roundTrip(t, 'a second to go');
    w.clock.advance(1_000);
    assert.deepEqual(await t.closed, { code: 1008, reason: 'token expired' });
    const summary = await closeEvent(w, 'expiring-token');
    assert.equal(summary.endedBy, 'credential-lapsed');
    assert.equal(summary.bytesToClient, 'a second to go'.length);
  });

  test('the credential is revoked: close 1008 with the reason, within its recheck interval', async () => {
    // The credential-liveness interface, as a browser session or a revocable CLI token offers it.
    let revoked = false;
    const liveness: CredentialLiveness = {
      recheckMs: 30_000,
      check: () =>
        Promise.resolve(revoked ? { alive: false, reason: 'signed out' } : { alive: true as const }),
    };
    const authn = w.h.gateway.assembly.authentication;
    const original = authn.liveness.bind(authn);
    authn.liveness = () => liveness;
    try {
      const t = await openRaw(w.h.url, ECHO, await alice());
      w.clock.advance(30_000);
      await roundTrip(t, 'alive');
      revoked = true;
      await roundTrip(t, 'nothing happens before the next check');
      w.clock.advance(30_000);
      assert.deepEqual(await t.closed, { code: 1008, reason: 'signed out' });
    } finally {
      authn.liveness = original;
    }
  });
});

describe('keepalive (every 30s) and shutdown', () => {
  let w: TunnelWorld;
  before(async () => {
    w = await startTunnelWorld({ config: { tunnels: { keepalive: '30s' } } });
  });
  after(() => w?.close());

  test('an idle tunnel is pinged; a client that answers stays, one that does not is dropped', async () => {
    const live = await openRaw(w.h.url, ECHO, w.alice);
    const silent = await openRaw(w.h.url, ECHO, w.alice, {
      autoPong: false,
      headers: { 'x-request-id': 'silent-client' },
    });
    let pings = 0;
    live.ws.on('ping', () => pings++);
    // Bytes through both: each tunnel is set up at the gateway (its timers on the clock) first.
    await Promise.all([roundTrip(live, 'up'), roundTrip(silent, 'up')]);
    w.clock.advance(30_000);
    await eventually(() => pings === 1);
    // The live client's pong went out before these bytes, on the same connection: once they come
    // back, the gateway has seen it (else a loaded machine may move the clock on before it has).
    await roundTrip(live, 'after the pong');
    w.clock.advance(30_000); // the silent one did not answer the first ping
    await eventually(() => pings === 2);
    assert.equal((await silent.closed).code, 1006, 'dropped: a close frame would wait for an answer too');
    await roundTrip(live, 'still open');
    assert.equal((await closeEvent(w, 'silent-client')).endedBy, 'client-lost');
  });

  test('graceful shutdown closes every tunnel with 1001', async () => {
    const t = await openRaw(w.h.url, ECHO, w.alice);
    await roundTrip(t, 'before');
    const stopping = w.h.gateway.shutdown();
    w.clock.advance(0); // listen.shutdown.delay (0s) is on the gateway's clock: the drain starts
    assert.deepEqual(await t.closed, { code: 1001, reason: 'the gateway is shutting down' });
    await stopping;
  });
});
