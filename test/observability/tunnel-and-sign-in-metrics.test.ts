/**
 * The metrics no other suite reads off /metrics, moved by real traffic through
 * a gateway with bearer-token sign-in and tunnels (the tunnel suites' world):
 * kube_bastion_authentications_total for a good and a bad token, and
 * kube_bastion_tunnel_duration_seconds for a tunnel held open a known time on
 * the gateway's clock (and that tunnel's bytes, open and close, exactly).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { sampleSum, scrape, type Scrape } from '../support/scrape.js';
import { openRaw, refusal } from '../tunnel/support/raw-tunnel.js';
import { NS, startTunnelWorld, type TunnelWorld } from '../tunnel/support/world.js';

const ECHO = `${NS}/services/echo:7/portforward`;
const AUTHN = 'kube_bastion_authentications_total';
const DURATION = 'kube_bastion_tunnel_duration_seconds';

let w: TunnelWorld;
before(async () => {
  w = await startTunnelWorld();
});
after(() => w?.close());

const metrics = () => scrape(w.h.adminURL);
const moved = (now: Scrape, before: Scrape, name: string, labels: Record<string, string> = {}) =>
  sampleSum(now, name, labels) - sampleSum(before, name, labels);

test('a good bearer token is a jwt success, a bad one a jwt failure', async () => {
  const before = await metrics();
  // bob is signed in, then refused by authorization (viewers may not tunnel): no tunnel is left open.
  assert.equal((await refusal(w.h.url, ECHO, w.bob)).status, 403);
  assert.equal((await refusal(w.h.url, ECHO, 'not-a-token')).status, 401);
  assert.equal((await refusal(w.h.url, ECHO, await w.mint('carol', ['devs'], -3600))).status, 401);
  const now = await metrics();
  assert.equal(moved(now, before, AUTHN, { method: 'jwt', result: 'success' }), 1);
  assert.equal(moved(now, before, AUTHN, { result: 'failure' }), 2, 'a malformed and an expired token');
  assert.equal(moved(now, before, AUTHN, { result: 'error' }), 0, 'bad tokens are not IdP trouble');
});

test('a tunnel held open 5 s of the gateway’s clock is observed as 5 s when it ends, with its bytes', async () => {
  const before = await metrics();
  const t = await openRaw(w.h.url, ECHO, w.alice);
  t.send('ping');
  await eventually(() => t.received().toString() === 'ping'); // relaying: the tunnel has opened
  w.clock.advance(5000);
  t.end(); // our FIN; the echo backend answers with its own, and the tunnel closes 1000
  await t.ended;
  assert.equal((await t.closed).code, 1000);
  let now = before;
  await eventually(async () => {
    now = await metrics();
    return moved(now, before, `${DURATION}_count`) === 1;
  });
  assert.equal(moved(now, before, `${DURATION}_sum`), 5);
  assert.equal(moved(now, before, `${DURATION}_bucket`, { le: '1' }), 0);
  assert.equal(moved(now, before, `${DURATION}_bucket`, { le: '10' }), 1);
  // The same tunnel's other series: 4 bytes each way, one end by the client.
  assert.equal(moved(now, before, 'kube_bastion_tunnel_bytes_total', { direction: 'to-backend' }), 4);
  assert.equal(moved(now, before, 'kube_bastion_tunnel_bytes_total', { direction: 'to-client' }), 4);
  assert.equal(moved(now, before, 'kube_bastion_tunnel_closes_total', { reason: 'client-closed' }), 1);
  assert.equal(moved(now, before, 'kube_bastion_tunnel_opens_total', { result: 'connected' }), 1);
});
