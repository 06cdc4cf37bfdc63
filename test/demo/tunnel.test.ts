/**
 * The terminal side of `kube-bastion demo`: tunnels are on, team-a/kv is a
 * plain TCP service, the banner says what to type. Signed in (here with the
 * browser session, as the portal user is), alice reaches the key-value store
 * through a tunnel; bob, of team-b, is refused before the upgrade.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { banner, startDemo, type Demo } from '../../src/demo/index.js';
import { nextCommand } from '../../src/demo/upstreams/kv-store.js';
import { eventually } from '../support/eventually.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import { openRaw, refusal } from '../tunnel/support/raw-tunnel.js';

const KV = '/api/v1/namespaces/team-a/services/kv:6379/portforward';
let demo: Demo;
before(async () => {
  demo = await startDemo({ port: 0 });
});
after(() => demo?.close());

async function cookieOf(user: string): Promise<string> {
  const browser = new FetchBrowser();
  const res = await browser.signIn(demo.url, user, 'any password');
  assert.equal(res.status, 200);
  return browser.cookieHeader(new URL(demo.url));
}

test('the banner prints the login and connect lines to try', () => {
  const text = banner(demo);
  const origin = new URL(demo.url).origin;
  assert.match(text, new RegExp(`kube-bastion login ${origin.replace(/[.]/g, '\\.')}\\n`));
  assert.match(text, /kube-bastion connect team-a\/kv:6379 --listen 16379\n/);
});

test('alice reaches team-a/kv through a tunnel: PING, SET, GET in the Redis protocol', async () => {
  const t = await openRaw(demo.url.replace(/\/$/, ''), KV, undefined, {
    headers: { cookie: await cookieOf('alice') },
  });
  const resp = (...args: string[]) =>
    `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`;
  t.send(resp('PING') + resp('SET', 'greeting', 'hello') + resp('GET', 'greeting') + 'PING inline\n');
  await eventually(() => t.received().toString() === '+PONG\r\n+OK\r\n$5\r\nhello\r\n$6\r\ninline\r\n');
  t.end();
  await t.ended;
  assert.equal((await t.closed).code, 1000);
});

test('bob (team-b) is refused before the upgrade; nobody at all gets 401', async () => {
  const base = demo.url.replace(/\/$/, '');
  const bob = await refusal(base, KV, undefined, { cookie: await cookieOf('bob') });
  assert.equal(bob.status, 403);
  assert.match(bob.body.message ?? '', /User "bob" cannot create resource "services\/portforward"/);
  assert.equal((await refusal(base, KV, undefined)).status, 401);
});

test('the key-value protocol reader waits for whole commands', () => {
  assert.equal(nextCommand('*2\r\n$3\r\nGET\r\n$1\r'), undefined);
  assert.deepEqual(nextCommand('*2\r\n$3\r\nGET\r\n$1\r\nk\r\nrest'), { args: ['GET', 'k'], rest: 'rest' });
  assert.deepEqual(nextCommand('SET a b\r\n'), { args: ['SET', 'a', 'b'], rest: '' });
  assert.equal(nextCommand('PING'), undefined);
});
