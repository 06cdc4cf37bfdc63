/**
 * Conformance with the kube-apiserver proxy subresource, over real HTTP: the
 * fake API server feeds the real client, echo backends record what arrived.
 * Each case: the request a client makes → what it gets back → what the
 * upstream saw. Deliberate differences from the apiserver are marked
 * "improvement" and listed in docs/apiserver-compatibility.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { endpointSlice, node, pod, service } from '../support/fake-apiserver.js';
import { startEchoPair, startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send, type Reply } from '../support/http.js';
import { createTestCA } from '../support/tls.js';

const NS = '/api/v1/namespaces/team-a';

let h: Harness;
let a: EchoServer; // 127.0.0.2
let b: EchoServer; // 127.0.0.3, same port
let secure: EchoServer; // https on 127.0.0.4

before(async () => {
  [a, b] = await startEchoPair([
    { host: '127.0.0.2', name: 'a' },
    { host: '127.0.0.3', name: 'b' },
  ]);
  const ca = await createTestCA();
  secure = await startEchoServer({ host: '127.0.0.4', name: 'secure', tls: await ca.issue(['127.0.0.4']) });
  const P = a.port;
  h = await startHarness({
    config: { authorization: { nodeProxy: true } },
    objects: [
      service('team-a', 'web', [
        { name: 'http', port: 80, targetPort: P },
        { name: 'metrics', port: 9100, targetPort: P },
      ]),
      endpointSlice(
        'team-a',
        'web',
        [{ ip: '127.0.0.2' }, { ip: '127.0.0.3' }],
        [
          { name: 'http', port: P },
          { name: 'metrics', port: P },
        ],
      ),
      service('team-a', 'single', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'single', [{ ip: '127.0.0.2' }], [{ name: 'http', port: P }]),
      service('team-a', 'tls', [{ name: 'https', port: 443 }]),
      endpointSlice('team-a', 'tls', [{ ip: '127.0.0.4' }], [{ name: 'https', port: secure.port }]),
      service('team-a', 'empty', [{ name: 'http', port: 80 }]),
      service('team-a', 'notready', [{ name: 'http', port: 80 }]),
      endpointSlice(
        'team-a',
        'notready',
        [{ ip: '127.0.0.2', ready: false, serving: false }],
        [{ name: 'http', port: P }],
      ),
      service('team-a', 'dead', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'dead', [{ ip: '127.0.0.5' }], [{ name: 'http', port: 1 }]),
      service('team-a', 'foreign', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'foreign', [{ ip: '127.0.0.2', pod: null }], [{ name: 'http', port: P }]),
      pod('team-a', 'web-0', '127.0.0.2', [{ name: 'http', containerPort: P }]),
      pod('team-a', 'pending', ''),
      // No Hostname address and an empty hostname label: InternalIP is the preferred address.
      node('node-1', '127.0.0.4', secure.port, { labels: { 'kubernetes.io/hostname': '' } }),
    ],
  });
});

after(async () => {
  await h?.close();
  await Promise.all([a?.close(), b?.close(), secure?.close()]);
});

/** The request the echo backends last saw (either of them). */
function upstream() {
  return [...a.requests, ...b.requests, ...secure.requests].reduce((x, y) => (y.at > x.at ? y : x));
}
const seen = () => a.requests.length + b.requests.length + secure.requests.length;
const status = (body: string) =>
  JSON.parse(body) as { kind: string; status: string; message: string; reason?: string; code: number };

interface Case {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  status: number;
  /** Kubernetes Status message expected in the body. */
  message?: string;
  reason?: string;
  /** The exact URL (path + query) the upstream must receive; null: nothing may reach an upstream. */
  upstreamURL?: string | null;
  location?: string;
  check?: (reply: Reply) => void;
}

const cases: Case[] = [
  // Name segments and ports
  {
    name: 'named service port',
    path: `${NS}/services/web:http/proxy/a/b?x=1`,
    status: 200,
    upstreamURL: '/a/b?x=1',
  },
  {
    name: 'numbered service port maps to its name',
    path: `${NS}/services/web:80/proxy/`,
    status: 200,
    upstreamURL: '/',
  },
  {
    name: 'improvement: single-port service by bare name',
    path: `${NS}/services/single/proxy/x`,
    status: 200,
    upstreamURL: '/x',
  },
  {
    name: 'multi-port service needs a port',
    path: `${NS}/services/web/proxy/`,
    status: 503,
    message: 'no endpoints available for service "web"',
    reason: 'ServiceUnavailable',
    upstreamURL: null,
  },
  {
    name: 'unknown port number',
    path: `${NS}/services/web:81/proxy/`,
    status: 503,
    message: 'no service port 81 found for service "web"',
    upstreamURL: null,
  },
  {
    name: 'unknown port name',
    path: `${NS}/services/web:nope/proxy/`,
    status: 503,
    message: 'no endpoints available for service "web:nope"',
    upstreamURL: null,
  },
  {
    name: 'missing service',
    path: `${NS}/services/nope/proxy/`,
    status: 404,
    message: 'services "nope" not found',
    reason: 'NotFound',
    upstreamURL: null,
  },
  {
    name: 'service in another namespace',
    path: '/api/v1/namespaces/team-b/services/web:http/proxy/',
    status: 404,
    message: 'services "web" not found',
    upstreamURL: null,
  },
  {
    name: 'four-part segment',
    path: `${NS}/services/a:b:c:d/proxy/`,
    status: 400,
    message: 'invalid service request "a:b:c:d"',
    reason: 'BadRequest',
    upstreamURL: null,
  },
  {
    name: 'unknown scheme',
    path: `${NS}/services/ftp:web:80/proxy/`,
    status: 400,
    message: 'invalid service request "ftp:web:80"',
    upstreamURL: null,
  },
  {
    name: 'https scheme, encoded segment, backend cert not verified',
    path: `${NS}/services/https%3Atls%3Ahttps/proxy/s`,
    status: 200,
    upstreamURL: '/s',
  },
  {
    name: 'https with empty port on a single-port service',
    path: `${NS}/services/https:tls:/proxy/`,
    status: 200,
    upstreamURL: '/',
  },
  {
    name: 'two parts never carry a scheme: service "https"',
    path: `${NS}/services/https:web/proxy/`,
    status: 404,
    message: 'services "https" not found',
    upstreamURL: null,
  },
  // Redirect of the bare proxy path
  {
    name: 'GET bare /proxy redirects, keeping the query',
    path: `${NS}/services/web:http/proxy?a=1`,
    status: 301,
    location: `${NS}/services/web:http/proxy/?a=1`,
    upstreamURL: null,
  },
  {
    name: 'HEAD bare /proxy redirects',
    method: 'HEAD',
    path: `${NS}/services/web:http/proxy`,
    status: 301,
    location: `${NS}/services/web:http/proxy/`,
    upstreamURL: null,
  },
  {
    name: 'POST bare /proxy goes to /',
    method: 'POST',
    path: `${NS}/services/web:http/proxy`,
    body: 'x',
    status: 200,
    upstreamURL: '/',
  },
  // Endpoints
  {
    name: 'service without endpoints',
    path: `${NS}/services/empty/proxy/`,
    status: 503,
    message: 'no endpoints available for service "empty"',
    upstreamURL: null,
  },
  {
    // The apiserver quotes the bare name when there are no endpoints at all, the segment when none is usable.
    name: 'service without any endpoints, named by its port: the bare name',
    path: `${NS}/services/empty:http/proxy/`,
    status: 503,
    message: 'no endpoints available for service "empty"',
    upstreamURL: null,
  },
  {
    name: 'only unready endpoints',
    path: `${NS}/services/notready/proxy/`,
    status: 503,
    message: 'no endpoints available for service "notready"',
    upstreamURL: null,
  },
  {
    name: 'only unready endpoints, named by port: the segment as written',
    path: `${NS}/services/notready:http/proxy/`,
    status: 503,
    message: 'no endpoints available for service "notready:http"',
    upstreamURL: null,
  },
  {
    name: 'dead endpoint',
    path: `${NS}/services/dead/proxy/`,
    status: 503,
    upstreamURL: null,
    check: (r) => assert.match(status(r.body).message, /^error trying to reach service: /),
  },
  {
    name: 'endpoint without a Pod targetRef is never dialled (CVE-2021-25740)',
    path: `${NS}/services/foreign/proxy/`,
    status: 503,
    upstreamURL: null,
  },
  // Not proxy routes
  {
    name: 'the Kubernetes API itself is not exposed',
    path: `${NS}/services/web`,
    status: 404,
    upstreamURL: null,
  },
  {
    name: 'other subresources are not exposed',
    path: `${NS}/secrets/x/proxy/`,
    status: 404,
    upstreamURL: null,
  },
  {
    name: 'legacy /api/v1/proxy paths are gone',
    path: '/api/v1/proxy/namespaces/team-a/services/web/',
    status: 404,
    upstreamURL: null,
  },
  {
    name: 'TRACE is not a proxy method',
    method: 'TRACE',
    path: `${NS}/services/web:http/proxy/`,
    status: 405,
    reason: 'MethodNotAllowed',
    upstreamURL: null,
  },
  {
    name: 'dryRun is refused',
    path: `${NS}/services/web:http/proxy/?dryRun=All`,
    status: 400,
    message: 'dryRun is not supported',
    upstreamURL: null,
  },
  // Path cleaning and query
  {
    name: 'double slashes merged',
    path: `${NS}/services/web:http/proxy//a//b`,
    status: 200,
    upstreamURL: '/a/b',
  },
  {
    name: 'dot segments resolved',
    path: `${NS}/services/web:http/proxy/a/../b`,
    status: 200,
    upstreamURL: '/b',
  },
  {
    name: 'cannot climb above the proxy root',
    path: `${NS}/services/web:http/proxy/../../../../services/secret/proxy/x`,
    status: 200,
    upstreamURL: '/services/secret/proxy/x',
  },
  {
    name: 'encoded dots resolved too',
    path: `${NS}/services/web:http/proxy/%2e%2e/%2E%2E/x`,
    status: 200,
    upstreamURL: '/x',
  },
  {
    name: 'encoded slash becomes a separator',
    path: `${NS}/services/web:http/proxy/a%2Fb`,
    status: 200,
    upstreamURL: '/a/b',
  },
  {
    name: 'space re-escaped',
    path: `${NS}/services/web:http/proxy/a%20b`,
    status: 200,
    upstreamURL: '/a%20b',
  },
  {
    name: 'trailing slash kept',
    path: `${NS}/services/web:http/proxy/a/b/`,
    status: 200,
    upstreamURL: '/a/b/',
  },
  {
    name: 'query byte-identical',
    path: `${NS}/services/web:http/proxy/q?a=%2F&b='x'&c&&d=%zz&path=/etc`,
    status: 200,
    upstreamURL: `/q?a=%2F&b='x'&c&&d=%zz&path=/etc`,
  },
  {
    name: 'bad escape in the path',
    path: `${NS}/services/web:http/proxy/%zz`,
    status: 400,
    upstreamURL: null,
  },
  // Responses
  {
    name: 'upstream redirects are not followed; Location gets the prefix',
    path: `${NS}/services/web:http/proxy/redirect?to=/elsewhere`,
    status: 302,
    location: `${NS}/services/web:http/proxy/elsewhere`,
    upstreamURL: '/redirect?to=/elsewhere',
  },
  {
    name: 'redirect to a foreign host is passed on untouched, not followed',
    path: `${NS}/services/web:http/proxy/redirect?to=https://evil.example/x`,
    status: 302,
    location: 'https://evil.example/x',
    upstreamURL: '/redirect?to=https://evil.example/x',
  },
  {
    name: 'upstream 500 passes through',
    path: `${NS}/services/web:http/proxy/status/500`,
    status: 500,
    upstreamURL: '/status/500',
  },
  {
    name: 'upstream 404 passes through',
    path: `${NS}/services/web:http/proxy/status/404`,
    status: 404,
    upstreamURL: '/status/404',
  },
  {
    name: 'server-sent events stream through',
    path: `${NS}/services/web:http/proxy/stream?chunks=3`,
    status: 200,
    upstreamURL: '/stream?chunks=3',
    check: (r) => assert.equal(r.body, 'data: 3\n\ndata: 2\n\ndata: 1\n\n'),
  },
  // Pods
  {
    name: 'pod: first declared container port',
    path: `${NS}/pods/web-0/proxy/p`,
    status: 200,
    upstreamURL: '/p',
  },
  {
    name: 'pod: port by number',
    path: `${NS}/pods/web-0:${0}/proxy/p`.replace(':0', ':PORT'),
    status: 200,
    upstreamURL: '/p',
  },
  {
    name: 'improvement: pod port by container port name',
    path: `${NS}/pods/web-0:http/proxy/p`,
    status: 200,
    upstreamURL: '/p',
  },
  {
    name: 'missing pod',
    path: `${NS}/pods/nope/proxy/`,
    status: 404,
    message: 'pods "nope" not found',
    upstreamURL: null,
  },
  {
    name: 'pod without an IP',
    path: `${NS}/pods/pending/proxy/`,
    status: 400,
    message: 'address not allowed',
    upstreamURL: null,
  },
  {
    name: 'invalid pod segment',
    path: `${NS}/pods/:80/proxy/`,
    status: 400,
    message: 'invalid pod request ":80"',
    upstreamURL: null,
  },
  // Nodes
  {
    name: 'node: kubelet port over https',
    path: '/api/v1/nodes/node-1/proxy/stats/summary',
    status: 200,
    upstreamURL: '/stats/summary',
  },
  {
    name: 'missing node',
    path: '/api/v1/nodes/nope/proxy/',
    status: 404,
    message: 'nodes "nope" not found',
    upstreamURL: null,
  },
];

describe('apiserver proxy conformance', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const path = c.path.replace(':PORT', `:${a.port}`);
      const before = seen();
      const r = await send(h.url, c.method ?? 'GET', path, c.headers, c.body);
      assert.equal(r.status, c.status, `status for ${path}: ${r.body}`);
      if (c.message !== undefined || c.reason !== undefined) {
        const s = status(r.body);
        assert.equal(s.kind, 'Status');
        assert.equal(s.code, c.status);
        if (c.message !== undefined) assert.equal(s.message, c.message);
        if (c.reason !== undefined) assert.equal(s.reason, c.reason);
      }
      if (c.location !== undefined) assert.equal(r.headers.location, c.location);
      if (c.upstreamURL === null) assert.equal(seen(), before, 'nothing may reach an upstream');
      else if (c.upstreamURL !== undefined) assert.equal(upstream().url, c.upstreamURL);
      c.check?.(r);
    });
  }
});

describe('headers in and out', () => {
  const path = `${NS}/services/web:http/proxy/h`;

  test('credentials and impersonation never reach the upstream', async () => {
    await send(h.url, 'GET', path, {
      authorization: 'Bearer secret-token',
      'proxy-authorization': 'Basic eDp5',
      'impersonate-user': 'admin',
      'impersonate-group': 'system:masters',
      'x-remote-user': 'admin',
    });
    const hdrs = upstream().headers;
    for (const name of [
      'authorization',
      'proxy-authorization',
      'impersonate-user',
      'impersonate-group',
      'x-remote-user',
    ]) {
      assert.equal(hdrs[name], undefined, name);
    }
  });

  test('hop-by-hop headers, including those named by Connection, are dropped', async () => {
    await send(h.url, 'GET', path, {
      connection: 'keep-alive, x-hop',
      'x-hop': '1',
      'keep-alive': 'timeout=5',
      'x-kept': 'yes',
    });
    const hdrs = upstream().headers;
    assert.equal(hdrs['x-hop'], undefined);
    assert.equal(hdrs['keep-alive'], undefined);
    assert.equal(hdrs['x-kept'], 'yes');
  });

  test('te, proxy-connection and a stray upgrade never reach the upstream as sent', async () => {
    const r = await send(h.url, 'GET', path, {
      te: 'trailers, deflate;q=0.5',
      'proxy-connection': 'keep-alive',
      upgrade: 'websocket',
      'x-kept': 'yes',
    });
    assert.equal(r.status, 200, 'a GET with Upgrade but no Connection: upgrade is a plain request');
    const hdrs = upstream().headers;
    assert.equal(hdrs.te, 'trailers', 'only the trailers token of TE is forwarded');
    for (const name of ['proxy-connection', 'upgrade'])
      assert.equal(hdrs[name], undefined, `${name} reached the upstream`);
    assert.notEqual(hdrs.connection?.toLowerCase(), 'upgrade');
    assert.equal(hdrs['x-kept'], 'yes');
    await send(h.url, 'GET', path, { te: 'deflate', 'x-kept': 'again' });
    assert.equal(upstream().headers['x-kept'], 'again');
    assert.equal(upstream().headers.te, undefined, 'a TE without trailers is dropped');
  });

  test('a transfer coding other than chunked is refused: the body is not forwarded as something else', async () => {
    const before = a.requests.length + b.requests.length;
    const r = await send(
      h.url,
      'POST',
      path,
      { 'transfer-encoding': 'gzip, chunked', trailer: 'x-checksum', 'content-type': 'text/plain' },
      'not gzip at all',
    );
    assert.equal(r.status, 400, r.body);
    assert.match(JSON.parse(r.body).message, /unsupported transfer encoding/);
    assert.equal(a.requests.length + b.requests.length, before, 'nothing reached an upstream');
  });

  test('a chunked body arrives whole, framed, without the client’s Trailer header', async () => {
    const r = await send(
      h.url,
      'POST',
      path,
      { 'transfer-encoding': 'chunked', trailer: 'x-checksum', 'content-type': 'text/plain' },
      'chunked body',
    );
    assert.equal(r.status, 200, r.body);
    const u = upstream();
    assert.equal(u.body, 'chunked body');
    assert.equal(u.headers['transfer-encoding'], 'chunked');
    assert.equal(u.headers.trailer, undefined, 'trailer reached the upstream');
  });

  test('X-Forwarded-For is replaced (no trusted proxy); Proto, Host, Prefix and Uri are ours', async () => {
    await send(h.url, 'GET', `${path}/deep?q=1`, {
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'gopher',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-prefix': '/evil',
      'x-forwarded-uri': '/admin',
      host: 'bastion.example.com',
    });
    const hdrs = upstream().headers;
    assert.equal(hdrs['x-forwarded-for'], '127.0.0.1', 'only a trusted proxy’s chain is kept');
    assert.equal(hdrs['x-forwarded-proto'], 'http');
    // publicURL's host (the harness default), not the Host the client sent (issue 11 §5).
    assert.equal(hdrs['x-forwarded-host'], 'localhost:8080');
    assert.equal(hdrs['x-forwarded-prefix'], `${NS}/services/web:http/proxy`);
    assert.equal(hdrs['x-forwarded-uri'], `${NS}/services/web:http/proxy/h/deep`);
    assert.equal(hdrs.host, 'localhost:8080', 'the gateway’s own host, as the apiserver sends its own');
  });

  test('spoofed identity headers in any spelling are replaced by ours', async () => {
    await send(h.url, 'GET', path, {
      'x-forwarded-user': 'admin',
      X_Forwarded_User: 'admin',
      'x-forwarded-groups': 'system:masters',
      'x-bastion-assertion': 'forged',
    });
    const u = upstream();
    assert.equal(u.headers['x-forwarded-user'], 'system:anonymous');
    assert.ok(!u.rawHeaders.some((n) => n.toLowerCase() === 'x_forwarded_user'));
    assert.notEqual(u.headers['x-bastion-assertion'], 'forged');
  });

  test('other cookies and headers pass through', async () => {
    await send(h.url, 'GET', path, { cookie: 'app=1; theme=dark', 'x-app': 'v' });
    assert.equal(upstream().headers.cookie, 'app=1; theme=dark');
    assert.equal(upstream().headers['x-app'], 'v');
  });

  test('CORS allow-headers from the upstream are removed, like the apiserver', async () => {
    const r = await send(h.url, 'GET', `${NS}/services/web:http/proxy/status/200`);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });
});

test('a WebSocket to a Service with no usable endpoint quotes the segment as written', async () => {
  const r = await send(h.url, 'GET', `${NS}/services/notready:http/proxy/ws`, {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    accept: 'application/json',
  });
  assert.equal(r.status, 503);
  assert.equal(status(r.body).message, 'no endpoints available for service "notready:http"');
});
