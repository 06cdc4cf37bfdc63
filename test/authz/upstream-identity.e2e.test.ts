/**
 * The whole gateway between a caller and a real echo upstream: what the
 * upstream receives (identity headers, a verifiable assertion, no gateway
 * credentials, no spoofed copies), what a denied or cross-site caller gets,
 * and the audit trail it all leaves.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import WebSocket from 'ws';
import { parseConfig } from '../../src/config/load.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { startEchoServer, type EchoServer, type Recorded } from '../support/echo-server.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import { startJwtIssuer, type JwtIssuer } from '../support/jwt-issuer.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { createTestCA } from '../support/tls.js';
import { freePort } from '../support/free-port.js';

let echo: EchoServer;
let issuer: JwtIssuer;
let idp: TestIdP;
let gateway: Gateway;
let base = '';
const dir = mkdtempSync(join(tmpdir(), 'bastion-e2e-'));
const auditFile = join(dir, 'audit.log');
const PROXY = '/api/v1/namespaces/team-a/services/echo:http/proxy';

before(async () => {
  const ca = await createTestCA();
  echo = await startEchoServer();
  issuer = await startJwtIssuer(ca);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  idp = await startTestIdP({ clients: [gatewayClient(base)] });
  const config = parseConfig(
    {
      listen: { address: '127.0.0.1', port },
      admin: { address: '127.0.0.1', port: 0 },
      publicURL: base,
      kubernetes: 'none',
      static: {
        services: [
          {
            namespace: 'team-a',
            name: 'echo',
            ports: [{ name: 'http', port: 80, targetPort: echo.port }],
            endpoints: ['127.0.0.1'],
          },
        ],
      },
      authentication: {
        oidc: { issuer: idp.issuer, clientID: 'kube-bastion', clientSecret: 'kube-bastion-secret' },
        jwt: [
          {
            issuer: { url: issuer.url, audiences: ['kube-bastion'], certificateAuthority: ca.caPem },
            claimMappings: {
              username: { claim: 'sub', prefix: '' },
              groups: { claim: 'groups', prefix: '' },
              email: { claim: 'email' },
            },
          },
        ],
        session: { secret: 'an-e2e-session-secret-of-at-least-32-chars' },
      },
      authorization: {
        rules: [
          { groups: ['devs'], namespaces: ['team-a'], resources: ['services'], verbs: ['*'] },
          { users: ['alice@example.com'], namespaces: ['team-a'], resources: ['services'], verbs: ['*'] },
        ],
      },
      upstream: { allowedAddresses: ['127.0.0.0/8'] },
      logging: { level: 'silent', audit: { file: auditFile } },
    },
    { env: {} },
  );
  gateway = await createGateway({
    config,
    logger: process.env.E2E_LOG ? createLogger({ level: 'debug', format: 'json' }) : silentLogger(),
  });
  await gateway.listen();
});

after(async () => {
  await gateway?.close();
  await Promise.all([echo?.close(), issuer?.close(), idp?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const SPOOFED: Record<string, string> = {
  'X-Forwarded-User': 'admin',
  X_Forwarded_User: 'admin',
  'x-forwarded_groups': 'system:masters',
  'X-FORWARDED-EMAIL': 'root@example.com',
  'X-Bastion-Assertion': 'forged.jwt.value',
  X_Bastion_Assertion: 'forged.jwt.value',
  'X-Remote-User': 'admin',
  'X-Remote-Group': 'system:masters',
  'X-Remote-Extra-Scopes': 'all',
  'Impersonate-User': 'admin',
  'Impersonate-Group': 'system:masters',
};

/** Every value the upstream received for a header name, whatever its case or `_`/`-` spelling. */
function received(r: Recorded, name: string): string[] {
  const want = name.toLowerCase().replaceAll('_', '-');
  const out: string[] = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    if (r.rawHeaders[i].toLowerCase().replaceAll('_', '-') === want) out.push(r.rawHeaders[i + 1]);
  }
  return out;
}

async function verifyAssertion(token: string, audience = 'team-a/echo') {
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', base));
  return jwtVerify(token, jwks, { issuer: base, audience, algorithms: ['ES256'] });
}

function assertNoSpoofing(r: Recorded): void {
  for (const name of [
    'x-remote-user',
    'x-remote-group',
    'x-remote-extra-scopes',
    'impersonate-user',
    'impersonate-group',
  ]) {
    assert.deepEqual(received(r, name), [], `${name} never reaches the upstream`);
  }
  for (const name of ['x-forwarded-user', 'x-forwarded-groups', 'x-forwarded-email', 'x-bastion-assertion']) {
    assert.ok(received(r, name).length <= 1, `exactly one ${name}, the gateway's`);
  }
  assert.ok(!received(r, 'x-bastion-assertion').includes('forged.jwt.value'));
}

test('a bearer caller: the upstream sees who it is, a verifying assertion, and nothing the caller made up', async () => {
  const token = await issuer.mint({
    aud: 'kube-bastion',
    sub: 'alice',
    groups: ['devs'],
    email: 'alice@example.com',
  });
  const before = echo.requests.length;
  const res = await fetch(`${base}${PROXY}/hello?x=1`, {
    headers: { authorization: `Bearer ${token}`, cookie: 'app=1', ...SPOOFED },
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(echo.requests.length, before + 1);
  const r = echo.last()!;
  assert.equal(r.url, '/hello?x=1');
  assert.deepEqual(received(r, 'authorization'), [], 'the bearer token stays at the gateway');
  assert.deepEqual(received(r, 'cookie'), ['app=1'], 'the application’s own cookies pass');
  assert.deepEqual(received(r, 'x-forwarded-user'), ['alice']);
  assert.deepEqual(received(r, 'x-forwarded-groups'), ['devs,system:authenticated']);
  assert.deepEqual(received(r, 'x-forwarded-email'), ['alice@example.com']);
  assertNoSpoofing(r);
  const [assertion] = received(r, 'x-bastion-assertion');
  const { payload } = await verifyAssertion(assertion);
  assert.equal(payload.sub, 'alice');
  assert.deepEqual(payload.groups, ['devs', 'system:authenticated']);
  assert.equal(payload.email, 'alice@example.com');
  assert.ok(payload.exp! - payload.iat! <= 120);
  assert.ok(!readFileSync(auditFile, 'utf8').includes(token), 'no token in the audit log');
});

test('a denied caller gets the apiserver’s 403 and nothing reaches the upstream', async () => {
  const token = await issuer.mint({ aud: 'kube-bastion', sub: 'bob', groups: ['qa'] });
  const before = echo.requests.length;
  const res = await fetch(`${base}${PROXY}/hello`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 403);
  const status = (await res.json()) as { message: string; reason: string };
  assert.equal(status.reason, 'Forbidden');
  assert.equal(
    status.message,
    'services "echo:http" is forbidden: User "bob" cannot get resource "services/proxy" in API group "" in the namespace "team-a"',
  );
  assert.equal(echo.requests.length, before);
});

test('a browser session: no session cookie upstream, cross-site writes refused, same-site writes pass', async () => {
  const browser = new FetchBrowser();
  const landing = await browser.signIn(`${base}${PROXY}/start`, 'alice');
  assert.equal(landing.status, 200, await landing.clone().text());
  // The jar is per host name and the IdP shares 127.0.0.1: only cookies the gateway set are its own.
  const sessionCookies = browser.hops
    .filter((h) => h.url.startsWith(base))
    .flatMap((h) => h.setCookies.map((c) => c.slice(0, c.indexOf('='))))
    .filter((name) => browser.cookies('127.0.0.1').has(name));
  assert.ok(sessionCookies.length > 0, 'signed in');
  browser.cookies('127.0.0.1').set('app', '2');

  const r = echo.last()!;
  assert.equal(r.url, '/start');
  const cookies = received(r, 'cookie').join('; ');
  for (const name of sessionCookies)
    assert.ok(!cookies.includes(`${name}=`), `session cookie ${name} stays at the gateway`);
  assert.deepEqual(received(r, 'x-forwarded-user'), ['alice@example.com']);
  await verifyAssertion(received(r, 'x-bastion-assertion')[0]);

  const before = echo.requests.length;
  const forged = await browser.request(`${base}${PROXY}/transfer`, {
    method: 'POST',
    body: 'x',
    headers: { origin: 'https://evil.example', accept: 'application/json' },
  });
  assert.equal(forged.status, 403);
  assert.match(((await forged.json()) as { message: string }).message, /cross-site request refused/);
  const noOrigin = await browser.request(`${base}${PROXY}/transfer`, {
    method: 'POST',
    body: 'x',
    headers: { accept: 'application/json' },
  });
  assert.equal(noOrigin.status, 403);
  // Cross-site WebSocket hijacking: another site opens a socket with the user's cookie.
  const hijack = await openSocket({
    cookie: browser.cookieHeader(new URL(base)),
    origin: 'https://evil.example',
  });
  assert.equal(hijack.status, 403);
  assert.equal(echo.requests.length, before, 'no forged write or socket reached the upstream');

  const own = await browser.request(`${base}${PROXY}/transfer`, {
    method: 'POST',
    body: 'x',
    headers: { origin: base, accept: 'application/json' },
  });
  assert.equal(own.status, 200, await own.clone().text());
  assert.equal(echo.last()!.body, 'x');
  assert.ok(received(echo.last()!, 'cookie').join('').includes('app=2'));
});

function openSocket(
  headers: Record<string, string>,
): Promise<{ ws?: WebSocket; status?: number; first?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}${PROXY}/ws`, { headers });
    ws.once('message', (data) => resolve({ ws, first: (data as Buffer).toString('utf8') }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      res.resume();
    });
    ws.once('error', () => resolve({}));
  });
}

test('WebSocket: a foreign Origin is refused; the upstream handshake carries the identity and no spoofs', async () => {
  const token = await issuer.mint({ aud: 'kube-bastion', sub: 'alice', groups: ['devs'] });
  const ok = await openSocket({ authorization: `Bearer ${token}`, origin: base, ...SPOOFED });
  assert.ok(ok.ws, 'upgrade succeeded');
  assert.match(ok.first!, /^hello from/);
  const r = echo.requests.filter((x) => x.upgrade).at(-1)!;
  assert.deepEqual(received(r, 'authorization'), []);
  assert.deepEqual(received(r, 'x-forwarded-user'), ['alice']);
  assertNoSpoofing(r);
  await verifyAssertion(received(r, 'x-bastion-assertion')[0]);
  await new Promise<void>((resolve) => {
    ok.ws!.once('close', () => resolve());
    ok.ws!.close();
  });

  // Cross-site WebSocket hijacking: refused whatever the credentials.
  const refused = await openSocket({ authorization: `Bearer ${token}`, origin: 'https://evil.example' });
  assert.equal(refused.status, 403);
});

test('the audit log has one line per decision, allow and deny, with the rule that answered', () => {
  const lines = readFileSync(auditFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const allow = lines.find((l) => l.user === 'alice' && l.decision === 'allow' && l.method === 'GET');
  assert.ok(allow);
  assert.equal(allow.by, 'rule[0]');
  assert.equal(allow.namespace, 'team-a');
  assert.equal(allow.name, 'echo:http');
  assert.equal(allow.status, 200);
  assert.equal(allow.upstream, `127.0.0.1:${echo.port}`);
  const deny = lines.find((l) => l.user === 'bob');
  assert.ok(deny);
  assert.equal(deny.decision, 'deny');
  assert.equal(deny.by, 'no-rule');
  assert.equal(deny.status, 403);
  assert.ok(
    lines.some((l) => l.upgrade === true && l.verb === 'create'),
    'the WebSocket was audited as create',
  );
});
