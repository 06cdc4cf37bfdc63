/**
 * The pure parts of the sign-in handoff: what is sealed and who may open it,
 * the checks a handoff must pass (host, time, browser), the routed host's
 * ticket, single use (in process with an injected clock, and across two Redis
 * clients as across two replicas), where a handoff may be sent, and which
 * cookie names are the gateway's.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isGatewayCookieName } from '../../src/authn/gateway-cookies.js';
import {
  MAX_PENDING,
  bindNonce,
  heldNonces,
  nonceCookieName,
  spendNonce,
} from '../../src/authn/handoff/browser-binding.js';
import { hostCookieSettings } from '../../src/authn/handoff/index.js';
import { handoffOrigin, isGatewayHost, originOf } from '../../src/authn/handoff/origins.js';
import { isReservedHostPath } from '../../src/authn/handoff/paths.js';
import {
  HandoffError,
  checkHandoff,
  checkTicket,
  newNonce,
  nonceDigest,
  type Handoff,
  type HostTicket,
} from '../../src/authn/handoff/ticket.js';
import { MemoryUsedIds, RedisUsedIds } from '../../src/authn/handoff/used-ids.js';
import { SealedBox } from '../../src/authn/session/sealed-box.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const SECRET = 'a-handoff-test-secret-that-is-long-enough';
const WEB = 'https://web--team-a.apps.example.com';
const NOW = 1_800_000_000_000;

const ticket = (over: Partial<HostTicket> = {}): HostTicket => ({
  aud: WEB,
  sid: 'sid-1',
  exp: NOW + 300_000,
  user: { username: 'alice', groups: ['team-a'], extra: {} },
  ...over,
});
const nonce = newNonce();
const handoff = (over: Partial<Handoff> = {}): Handoff => ({
  jti: 'j1',
  exp: NOW + 30_000,
  rd: '/dashboard',
  st: nonceDigest(nonce),
  ticket: ticket(),
  ...over,
});

const refusal = (opened: unknown, origin = WEB, now = NOW, nonces = [nonce]) => {
  try {
    checkHandoff(opened, { origin, now, nonces });
    return 'accepted';
  } catch (err) {
    assert.ok(err instanceof HandoffError);
    return err.reason;
  }
};

test('a handoff opens only as a handoff: not as a session, a login state, a host ticket', async () => {
  const secrets = [SECRET];
  const [handoffs, hosts, sessions, logins] = await Promise.all(
    (['handoff', 'host', 'session', 'login'] as const).map((p) => SealedBox.create(secrets, p)),
  );
  const sealed = await handoffs.seal(handoff());
  assert.deepEqual(await handoffs.open(sealed), handoff());
  for (const other of [hosts, sessions, logins]) await assert.rejects(other.open(sealed), /unknown secret/);
  await assert.rejects(hosts.open(await sessions.seal(ticket())), /unknown secret/);
  // Another deployment's secret opens nothing of ours.
  const foreign = await SealedBox.create(['another-deployment-secret-long-enough'], 'handoff');
  await assert.rejects(foreign.open(sealed));
  // One flipped character: refused.
  const i = sealed.length - 5;
  const flipped = sealed.slice(0, i) + (sealed[i] === 'A' ? 'B' : 'A') + sealed.slice(i + 1);
  await assert.rejects(handoffs.open(flipped));
});

test('a handoff is checked for its host, its time and its browser', () => {
  assert.equal(refusal(handoff()), 'accepted');
  assert.equal(refusal(handoff(), 'https://other--team-a.apps.example.com'), 'audience');
  assert.equal(refusal(handoff(), 'http://web--team-a.apps.example.com'), 'audience', 'scheme is part of it');
  assert.equal(refusal(handoff(), 'https://web--team-a.apps.example.com:8443'), 'audience', 'port too');
  assert.equal(refusal(handoff(), WEB, NOW + 30_000), 'expired');
  assert.equal(refusal(handoff(), WEB, NOW, []), 'browser', 'no nonce: another browser');
  assert.equal(refusal(handoff(), WEB, NOW, [newNonce()]), 'browser');
  assert.equal(refusal(handoff(), WEB, NOW, [newNonce(), nonce]), 'accepted', 'one of several tabs');
  assert.equal(refusal(handoff({ st: nonce })), 'browser', 'the nonce itself is not its digest');
  for (const bad of [
    undefined,
    null,
    'x',
    {},
    handoff({ rd: 'https://evil.example.com/' }),
    handoff({ jti: '' }),
  ])
    assert.equal(refusal(bad), 'malformed', JSON.stringify(bad));
  const both = { ...ticket(), h: 'handle' };
  assert.equal(refusal(handoff({ ticket: both })), 'malformed', 'a ticket is a user or a handle, never both');
});

test('a host ticket is good on its own origin until it ends', () => {
  assert.ok(checkTicket(ticket(), WEB, NOW));
  assert.ok(checkTicket(ticket({ user: undefined, h: 'sealed-handle' }), WEB, NOW));
  assert.equal(checkTicket(ticket(), 'https://other--team-a.apps.example.com', NOW), undefined);
  assert.equal(checkTicket(ticket(), WEB, NOW + 300_000), undefined);
  assert.equal(checkTicket({ ...ticket(), user: { username: 'x' } }, WEB, NOW), undefined);
});

test('each sign-in has its own nonce cookie, host-only, spent when redeemed; unfinished ones are capped', () => {
  const cookies = hostCookieSettings(new URL('https://bastion.example.com'), 'kube_bastion');
  assert.equal(cookies.name, '__Host-Http-kube_bastion_host');
  assert.equal(cookies.nonceName, '__Host-Http-kube_bastion_handoff');
  assert.equal(cookies.domain, undefined);
  const present: Record<string, string> = {};
  const nonces = Array.from({ length: MAX_PENDING }, () => newNonce());
  for (const n of nonces) {
    const lines = bindNonce(cookies, present, n);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      /^__Host-Http-kube_bastion_handoff_[\w-]{16}=[\w-]{22}; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    const [name, value] = lines[0].split(';')[0].split('=');
    present[name] = value;
  }
  for (const n of nonces)
    assert.deepEqual(heldNonces(cookies, present, nonceDigest(n)), [n], 'every tab finds its own');
  assert.deepEqual(heldNonces(cookies, present, nonceDigest(newNonce())), []);
  assert.match(
    spendNonce(cookies, nonceDigest(nonces[0])),
    /^__Host-Http-kube_bastion_handoff_[\w-]{16}=; Max-Age=0/,
  );
  // A ninth unfinished sign-in: the browser forgets the eight before binding it.
  const ninth = bindNonce(cookies, present, newNonce());
  assert.equal(ninth.filter((l) => /Max-Age=0/.test(l)).length, MAX_PENDING);
  assert.equal(ninth.length, MAX_PENDING + 1);
  const forged = { ...present, [nonceCookieName(cookies, nonceDigest(nonces[1]))]: '<script>' };
  assert.deepEqual(heldNonces(cookies, forged, nonceDigest(nonces[1])), [], 'only nonce-shaped values');
});

test('single use in process: an id is claimed once, forgotten when it would have expired', async () => {
  let now = NOW;
  const used = new MemoryUsedIds(() => now, 3);
  assert.equal(await used.claim('a', NOW + 30_000), true);
  assert.equal(await used.claim('a', NOW + 30_000), false);
  now += 29_000;
  assert.equal(await used.claim('a', NOW + 30_000), false, 'still remembered while it could be redeemed');
  now += 2_000;
  assert.equal(
    await used.claim('a', NOW + 30_000),
    true,
    'forgotten once expired (and then refused as expired)',
  );
  await used.close();
});

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

test('single use with Redis holds across replicas (two clients, one SET NX)', async () => {
  const now = () => Date.now();
  const [a, b] = await Promise.all([
    RedisUsedIds.connect(redis.url, now),
    RedisUsedIds.connect(redis.url, now),
  ]);
  try {
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).claim('jti-1', now() + 30_000)),
    );
    assert.equal(claims.filter(Boolean).length, 1, 'exactly one replica redeems it');
    assert.equal(await a.claim('jti-2', now() + 30_000), true);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('a handoff is sent only to a routed host on publicURL’s scheme and port', () => {
  const publicURL = new URL('https://bastion.apps.example.com');
  const routed = (h: string) => /^[a-z0-9-]+--[a-z0-9-]+\.apps\.example\.com(:\d+)?$/.test(h);
  assert.equal(handoffOrigin(publicURL, 'web--team-a.apps.example.com', routed), WEB);
  assert.equal(handoffOrigin(publicURL, 'web--team-a.apps.example.com:443', routed), WEB);
  for (const host of [
    'web--team-a.apps.example.com:8443',
    'bastion.apps.example.com',
    'evil.example.com',
    'web--team-a.apps.example.com@evil.example.com',
    'web--team-a.apps.example.com/evil',
    'web--team-a.apps.example.com\\@evil.example.com',
    'web--team-a.apps.example.com#',
    '',
    undefined,
  ])
    assert.equal(handoffOrigin(publicURL, host, routed), undefined, String(host));
  assert.equal(originOf(publicURL, 'WEB--team-a.apps.example.com:443'), WEB);
  assert.equal(isGatewayHost(publicURL, 'bastion.apps.example.com:8443'), true, 'cookies ignore ports');
  assert.equal(isGatewayHost(publicURL, 'web--team-a.apps.example.com'), false);
});

test('the reserved prefix on routed hosts, however it is spelled once decoded', () => {
  for (const p of ['/.kube-bastion/callback', '/.KUBE-BASTION/signin', '/.kube-bastion', '/.kube-bastion/'])
    assert.equal(isReservedHostPath(p), true, p);
  for (const p of ['/', '/.kube-bastionx', '/kube-bastion/callback', '/a/.kube-bastion/callback'])
    assert.equal(isReservedHostPath(p), false, p);
});

test('gateway cookie names, however an upstream spells them', () => {
  for (const name of [
    'kube_bastion',
    '__Host-kube_bastion',
    '__Secure-kube_bastion_1',
    'KUBE_BASTION_login',
    '__HOST-Kube_Bastion_host_2',
    '__host-__secure-kube_bastion',
    'kube_bastion_handoff',
    ' kube_bastion_anything',
  ])
    assert.equal(isGatewayCookieName(name, 'kube_bastion'), true, name);
  for (const name of ['kube_bastionx', 'kube-bastion', 'session', '__Host-other', 'xkube_bastion'])
    assert.equal(isGatewayCookieName(name, 'kube_bastion'), false, name);
  assert.equal(isGatewayCookieName('__Host-Corp_SSO_host', 'corp_sso'), true, 'the configured name');
});
