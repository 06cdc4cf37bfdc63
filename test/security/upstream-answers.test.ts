/**
 * What an upstream's answer can do to the client, through a real gateway, in
 * the path form and with host routing: the upstream is hostile and answers
 * whatever each case sets. It may not set a cookie of the gateway (in any
 * spelling, also on a WebSocket 101), reach beyond its own prefix or host
 * with a cookie, set origin-wide state, or send the client to an address it
 * cannot reach. Every drop is logged at debug with the upstream, never with
 * the cookie's value. (A line with control characters never gets this far:
 * Node's HTTP parser refuses the whole response; cookie-guard.test.ts has it.)
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { endpointSlice, pod, service } from '../support/fake-apiserver.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { captureLogs, type LogCapture } from './support/log-capture.js';

const P = '/api/v1/namespaces/team-a/services/web:http/proxy';
const ROUTED = 'web--team-a.apps.test';
const SECRET_VALUE = 'planted-session-value-never-logged';

type Answer = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let answer: Answer = (_req, res) => res.end();
let upgradeHeaders: string[] = [];
let upstream: http.Server;
let wss: WebSocketServer;
let upstreamPort = 0;
let h: Harness;
let log: LogCapture;
const HOST = '127.0.0.6';

before(async () => {
  upstream = http.createServer((req, res) => answer(req, res));
  wss = new WebSocketServer({ server: upstream });
  wss.on('headers', (headers) => headers.push(...upgradeHeaders));
  wss.on('connection', (ws) => ws.send('hello'));
  await new Promise<void>((r) => upstream.listen(0, HOST, r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  log = captureLogs();
  h = await startHarness({
    logger: log.logger,
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80, targetPort: upstreamPort }]),
      endpointSlice('team-a', 'web', [{ ip: HOST, pod: 'web-0' }], [{ name: 'http', port: upstreamPort }]),
      pod('team-a', 'web-0', HOST, [{ name: 'http', containerPort: upstreamPort }]),
    ],
    config: {
      routing: { hostSuffix: 'apps.test' },
      upstream: { allowedAddresses: ['127.0.0.0/8'], rewrite: { sandbox: [`${P}/sandboxed/**`] } },
      logging: { level: 'debug', audit: { enabled: false } },
    },
  });
});

after(async () => {
  await h?.close();
  wss?.close();
  await new Promise((r) => upstream?.close(r));
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
}

/** A request through the gateway with the given Host: the path form on the gateway's host, or a routed host. */
function get(path: string, host: string): Promise<Reply> {
  const { port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

const answering =
  (headers: http.OutgoingHttpHeaders, status = 200): Answer =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end('ok');
  };

function droppedLines(mark: number): Record<string, unknown>[] {
  return log
    .since(mark)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'upstream Set-Cookie dropped');
}

const PLANTED = [
  `kube_bastion=${SECRET_VALUE}; Path=/; HttpOnly`,
  `KUBE_BASTION=${SECRET_VALUE}; Path=/`,
  `__Host-kube_bastion=${SECRET_VALUE}; Path=/; Secure`,
  `__Host-Http-kube_bastion=${SECRET_VALUE}; Path=/; Secure; HttpOnly`,
  `__Secure-kube_bastion=${SECRET_VALUE}; Path=/; Secure`,
  `kube_bastion_1=${SECRET_VALUE}; Path=/`,
  `kube_bastion_login=${SECRET_VALUE}; Path=/`,
  `=kube_bastion=${SECRET_VALUE}; Path=/`,
  `kube_bastion`,
];

describe('Set-Cookie from an upstream', () => {
  test('path form: gateway names and malformed lines dropped, __Host- dropped, Domain removed, the rest scoped', async () => {
    answer = answering({
      'set-cookie': [
        ...PLANTED,
        '__Host-pref=1; Path=/; Secure',
        'sid=1; Path=/; Domain=apps.test; HttpOnly',
        'theme=dark',
      ],
    });
    const mark = log.mark();
    const reply = await get(`${P}/login`, 'bastion.example.com');
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.headers['set-cookie'], [`sid=1; Path=${P}; HttpOnly`, `theme=dark; Path=${P}`]);
    const dropped = droppedLines(mark);
    assert.equal(dropped.length, PLANTED.length + 1);
    assert.ok(
      dropped.every(
        (l) => l.upstream === 'services/team-a/web:http' && l.endpoint === `${HOST}:${upstreamPort}`,
      ),
    );
    assert.deepEqual(
      dropped.map((l) => l.reason),
      [...Array(7).fill('gateway-cookie'), 'nameless', 'malformed', 'host-prefix'],
    );
    assert.ok(!log.since(mark).join('\n').includes(SECRET_VALUE), 'no cookie value in the log');
  });

  test('host routing: gateway names dropped; a cookie stays on the app host', async () => {
    answer = answering({
      'set-cookie': [
        ...PLANTED,
        'wide=1; Domain=apps.test; Path=/',
        'parent=1; Domain=.test',
        `own=1; Domain=${ROUTED}; Path=/`,
        '__Host-pref=1; Path=/; Secure',
      ],
    });
    const mark = log.mark();
    const reply = await get('/login', ROUTED);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.headers['set-cookie'], ['own=1; Path=/', '__Host-pref=1; Path=/; Secure']);
    assert.deepEqual(
      droppedLines(mark).map((l) => l.reason),
      [...Array(7).fill('gateway-cookie'), 'nameless', 'malformed', 'foreign-domain', 'foreign-domain'],
    );
  });

  test('a WebSocket 101 cannot plant a cookie either, in either form', async () => {
    upgradeHeaders = [`Set-Cookie: kube_bastion=${SECRET_VALUE}; Path=/`, 'Set-Cookie: ws=1'];
    const { port } = new URL(h.url);
    for (const [path, host, expected] of [
      [`${P}/socket`, 'bastion.example.com', `ws=1; Path=${P}`],
      ['/socket', ROUTED, 'ws=1'],
    ]) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host } });
      const greeted = new Promise((r) => ws.once('message', r));
      const [res] = await new Promise<[http.IncomingMessage]>((resolve, reject) => {
        ws.once('upgrade', (r) => resolve([r]));
        ws.once('unexpected-response', (_q, r) => reject(new Error(`HTTP ${r.statusCode}`)));
        ws.once('error', reject);
      });
      assert.deepEqual(res.headers['set-cookie'], [expected], host);
      await greeted;
      ws.close();
    }
    upgradeHeaders = [];
  });
});

describe('origin-wide headers from an upstream', () => {
  const WIDE = {
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    nel: '{"report_to":"x","max_age":86400}',
    'report-to': '{"group":"x","max_age":86400,"endpoints":[{"url":"https://collector.example/"}]}',
    'clear-site-data': '"cookies", "storage"',
    'alt-svc': `h2="${HOST}:443"`,
    'service-worker-allowed': '/',
  };

  test('path form: none reaches the client; a service worker scope stays under the prefix', async () => {
    answer = answering(WIDE);
    const reply = await get(`${P}/sw.js`, 'bastion.example.com');
    for (const name of ['strict-transport-security', 'nel', 'report-to', 'clear-site-data', 'alt-svc'])
      assert.equal(reply.headers[name], undefined, name);
    assert.equal(reply.headers['service-worker-allowed'], `${P}/`);
  });

  test('host routing: the app owns its origin, but cannot clear the site’s cookies', async () => {
    answer = answering(WIDE);
    const reply = await get('/sw.js', ROUTED);
    assert.equal(reply.headers['strict-transport-security'], WIDE['strict-transport-security']);
    assert.equal(reply.headers['service-worker-allowed'], '/');
    assert.equal(reply.headers['clear-site-data'], '"storage"');
    assert.equal(reply.headers['alt-svc'], undefined);
  });

  test('upstream.rewrite.sandbox: matching path-form responses get a sandbox CSP next to their own', async () => {
    answer = answering({ 'content-security-policy': "default-src 'self'" });
    const inside = await get(`${P}/sandboxed/page?x=1`, 'bastion.example.com');
    assert.match(
      String(inside.headers['content-security-policy']),
      /^default-src 'self', sandbox allow-scripts /,
    );
    assert.doesNotMatch(String(inside.headers['content-security-policy']), /allow-same-origin/);
    const outside = await get(`${P}/page`, 'bastion.example.com');
    assert.equal(outside.headers['content-security-policy'], "default-src 'self'");
  });
});

describe('Location naming the backend itself', () => {
  // PORT: the upstream's, known once it listens.
  const cases: [string, string, string][] = [
    ['the endpoint ip:port', `http://${HOST}:PORT/moved?x=1`, '/moved?x=1'],
    ['the Service’s cluster DNS name at its port', 'http://web.team-a.svc.cluster.local/moved', '/moved'],
    ['web.team-a.svc:80', 'http://web.team-a.svc:80/a/', '/a/'],
  ];
  for (const [why, location, path] of cases) {
    test(`${why}: absolute, on the host the client used`, async () => {
      answer = answering({ location: location.replace('PORT', String(upstreamPort)) }, 302);
      const viaPath = await get(`${P}/old`, 'bastion.example.com:8443');
      assert.equal(viaPath.headers.location, `http://bastion.example.com:8443${P}${path}`);
      const viaHost = await get('/old', ROUTED);
      assert.equal(viaHost.headers.location, `http://${ROUTED}${path}`);
    });
  }

  test('a foreign Location is left alone, a relative one gets the prefix', async () => {
    answer = answering({ location: 'https://idp.example.com/authorize?x=1' }, 302);
    assert.equal(
      (await get(`${P}/x`, 'bastion.example.com')).headers.location,
      'https://idp.example.com/authorize?x=1',
    );
    answer = answering({ location: '/login' }, 302);
    assert.equal((await get(`${P}/x`, 'bastion.example.com')).headers.location, `${P}/login`);
    assert.equal((await get('/x', ROUTED)).headers.location, '/login');
  });

  test('a Host that is no host name gives no absolute URL: path-only, as the apiserver', async () => {
    answer = answering({ location: `http://${HOST}:${upstreamPort}/moved` }, 302);
    assert.equal((await get(`${P}/x`, 'under_score.example')).headers.location, `${P}/moved`);
    // One that is not even a Host never gets this far (decision-differentials.test.ts).
    assert.equal((await get(`${P}/x`, 'evil.example/x?')).status, 400);
  });
});
