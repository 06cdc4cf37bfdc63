/**
 * Cross-site request forgery and cross-site WebSocket hijacking, checked on
 * real requests to a real server: what a browser on another site could make
 * the user's browser send is refused with 403.
 */
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Identity } from '../../src/authn/identity.js';
import { checkOrigin, type OwnOrigins } from '../../src/authz/csrf.js';
import { GatewayError } from '../../src/errors.js';

const PUBLIC = new URL('https://bastion.example.com');
const viaSession: Identity = { username: 'alice', groups: [], extra: {}, method: 'session' };
const viaBearer: Identity = { ...viaSession, method: 'jwt' };

/** A server that runs checkOrigin on every request and answers with the outcome. */
let port = 0;
let own: OwnOrigins = PUBLIC;
const server = createServer((req: IncomingMessage, res) => {
  const identity = req.headers['x-test-auth'] === 'bearer' ? viaBearer : viaSession;
  const upgrade = req.headers['x-test-upgrade'] === '1';
  try {
    checkOrigin(req, identity, own, upgrade);
    res.end('ok');
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    res.writeHead(err.status).end(err.message);
  }
});
before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

function send(method: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path: '/api/v1/namespaces/a/services/web/proxy/', headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('cookie-authenticated unsafe methods need our own Origin or Referer', async () => {
  const cases: [string, Record<string, string>, number][] = [
    ['POST', { origin: 'https://bastion.example.com' }, 200],
    ['POST', { origin: 'https://BASTION.example.com:443' }, 200],
    ['DELETE', { referer: 'https://bastion.example.com/api/v1/namespaces/a/services/web/proxy/page' }, 200],
    ['POST', { origin: 'https://evil.example' }, 403],
    ['PUT', { origin: 'http://bastion.example.com' }, 403],
    ['PATCH', { origin: 'https://bastion.example.com.evil.example' }, 403],
    ['POST', { origin: 'null' }, 403],
    ['POST', { referer: 'https://evil.example/https://bastion.example.com/' }, 403],
    // Origin is what the browser vouches for; a Referer cannot override a foreign Origin.
    ['POST', { origin: 'https://evil.example', referer: 'https://bastion.example.com/' }, 403],
    ['POST', {}, 403],
    ['GET', { origin: 'https://evil.example' }, 200],
    ['HEAD', {}, 200],
    ['OPTIONS', { origin: 'https://evil.example' }, 200],
  ];
  for (const [method, headers, status] of cases) {
    const res = await send(method, headers);
    assert.equal(res.status, status, `${method} ${JSON.stringify(headers)}`);
    if (status === 403) assert.match(res.body, /cross-site request refused/);
  }
});

test('bearer-authenticated requests are not subject to the cookie CSRF rule', async () => {
  assert.equal((await send('POST', { 'x-test-auth': 'bearer' })).status, 200);
  assert.equal((await send('POST', { 'x-test-auth': 'bearer', origin: 'https://evil.example' })).status, 200);
});

test('WebSocket upgrades with a foreign Origin are refused, whatever the credentials', async () => {
  const up = { 'x-test-upgrade': '1' };
  assert.equal((await send('GET', { ...up, origin: 'https://evil.example' })).status, 403);
  assert.equal(
    (await send('GET', { ...up, 'x-test-auth': 'bearer', origin: 'https://evil.example' })).status,
    403,
  );
  assert.equal((await send('GET', { ...up, origin: 'null' })).status, 403);
  assert.equal((await send('GET', { ...up, origin: 'https://bastion.example.com' })).status, 200);
  // Non-browser clients (kubectl, ws libraries) send no Origin.
  assert.equal((await send('GET', up)).status, 200);
});

test('host routing can add its own hosts as a list or a predicate', async () => {
  own = [PUBLIC, 'https://web--team-a.apps.example.com'];
  assert.equal((await send('POST', { origin: 'https://web--team-a.apps.example.com' })).status, 200);
  assert.equal((await send('POST', { origin: 'https://api--team-b.apps.example.com' })).status, 403);
  own = (origin) => origin.endsWith('.apps.example.com');
  assert.equal((await send('POST', { origin: 'https://api--team-b.apps.example.com' })).status, 200);
  assert.equal((await send('POST', { origin: 'https://bastion.example.com' })).status, 403);
  own = PUBLIC;
});
