/**
 * X-Forwarded-For is a claim (oauth2-proxy CVE-2026-40575): it is kept and
 * appended to only when the direct peer is a configured trusted proxy
 * (`listen.trustedProxies`), and only then does it name the client for
 * sessionAffinity ClientIP. From any other peer it is replaced by the peer's
 * address. The gateway trusts 127.0.0.1 here; the "internet" connects from
 * 127.0.0.9.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { endpointSlice, pod, service, type KubeObject } from '../support/fake-apiserver.js';
import { NS_A, RULES, startWorld, type World } from './support/world.js';

const STICKY = `${NS_A}/services/sticky:http/proxy`;
let w: World;
let one: EchoServer;
let two: EchoServer;

before(
  async () => {
    one = await startEchoServer({ host: '127.0.0.7', name: 'one' });
    // The same port: an EndpointSlice names one port for all its endpoints.
    two = await startEchoServer({ host: '127.0.0.8', name: 'two', port: one.port });
    const rule = { ...RULES[0], names: ['sticky:http'], verbs: ['get' as const] };
    w = await startWorld({
      config: { listen: { trustedProxies: ['127.0.0.1/32'] }, authorization: { rules: [...RULES, rule] } },
    });
    w.h.api.upsert<KubeObject>(
      service('team-a', 'sticky', [{ name: 'http', port: 80 }], { sessionAffinity: 'ClientIP' }),
      endpointSlice(
        'team-a',
        'sticky',
        [
          { ip: one.host, pod: 'sticky-0' },
          { ip: two.host, pod: 'sticky-1' },
        ],
        [{ name: 'http', port: one.port }],
      ),
      pod('team-a', 'sticky-0', one.host, [{ name: 'http', containerPort: one.port }]),
      pod('team-a', 'sticky-1', two.host, [{ name: 'http', containerPort: one.port }]),
    );
    await eventually(async () => (await get('127.0.0.1', '/ready')).status === 200, 10_000, 20);
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
  await Promise.all([one?.close(), two?.close()]);
});

/** A request to team-a/sticky from `from` (a local address), optionally with an X-Forwarded-For. */
function get(
  from: string,
  path: string,
  xff?: string,
): Promise<{ status: number; server: string; xff: string }> {
  const u = new URL(w.h.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${w.alice}` };
    if (xff !== undefined) headers['x-forwarded-for'] = xff;
    const req = http.request(
      { host: u.hostname, port: u.port, path: `${STICKY}${path}`, headers, localAddress: from, agent: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve({ status: res.statusCode!, server: '', xff: '' });
          const echo = JSON.parse(body) as { server: string; headers: Record<string, string> };
          resolve({ status: 200, server: echo.server, xff: echo.headers['x-forwarded-for'] });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Which endpoint each of `clients` lands on, asked three times each. */
async function endpointsOf(from: string, clients: string[]): Promise<Map<string, Set<string>>> {
  const seen = new Map<string, Set<string>>();
  for (let round = 0; round < 3; round++) {
    for (const c of clients) {
      const r = await get(from, `/who?${c}`, c);
      assert.equal(r.status, 200);
      seen.set(c, (seen.get(c) ?? new Set()).add(r.server));
    }
  }
  return seen;
}

const clients = Array.from({ length: 16 }, (_, i) => `203.0.113.${i + 1}`);

describe('from a trusted proxy', () => {
  test('its chain is kept and the proxy appended; the access log names the client', async () => {
    const mark = w.log.mark();
    assert.equal((await get('127.0.0.1', '/a', '203.0.113.7')).xff, '203.0.113.7, 127.0.0.1');
    assert.equal((await get('127.0.0.1', '/b', 'junk, 203.0.113.7')).xff, 'junk, 203.0.113.7, 127.0.0.1');
    assert.equal((await get('127.0.0.1', '/c')).xff, '127.0.0.1');
    const clientsLogged = w.log
      .since(mark)
      .map((l) => JSON.parse(l) as { msg?: string; client?: string })
      .filter((l) => l.msg === 'request')
      .map((l) => l.client);
    assert.deepEqual(clientsLogged, ['203.0.113.7', '203.0.113.7', '127.0.0.1']);
  });
  test('sessionAffinity ClientIP follows the client it names', async () => {
    const seen = await endpointsOf('127.0.0.1', clients);
    for (const [c, servers] of seen) assert.equal(servers.size, 1, `${c} stuck to one endpoint`);
    const used = new Set([...seen.values()].flatMap((s) => [...s]));
    assert.equal(used.size, 2, 'different clients behind the proxy are spread over both endpoints');
  });
});

describe('from any other peer', () => {
  test('its X-Forwarded-For is replaced by its address, in the access log too', async () => {
    const mark = w.log.mark();
    assert.equal((await get('127.0.0.9', '/d', '203.0.113.7')).xff, '127.0.0.9');
    const logged = w.log.since(mark).map((l) => JSON.parse(l) as { msg?: string; client?: string });
    assert.equal(logged.find((l) => l.msg === 'request')?.client, '127.0.0.9');
    assert.equal((await get('127.0.0.9', '/e', '127.0.0.1')).xff, '127.0.0.9');
  });
  test('sessionAffinity ClientIP sticks to the peer, whatever it claims', async () => {
    const seen = await endpointsOf('127.0.0.9', clients);
    const used = new Set([...seen.values()].flatMap((s) => [...s]));
    assert.equal(used.size, 1, 'one client, one endpoint, whatever X-Forwarded-For says');
  });
});
