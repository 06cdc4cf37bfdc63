/**
 * Endpoints that fail: one killed under load, one slow, one that answers
 * garbage, one that accepts and says nothing, one that dies mid-body. Clients
 * get a retry onto a healthy endpoint or a clean 502/503/504 Status — never
 * a hang.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { endpointSlice, pod, service } from '../support/fake-apiserver.js';
import { startEchoPair, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send, type Reply } from '../support/http.js';

const NS = '/api/v1/namespaces/team-a';
let h: Harness;
let x: EchoServer;
let y: EchoServer;
const raws: Server[] = [];
const rawSockets = new Set<Socket>();

/** A TCP backend on 127.0.0.x that does `behave` with every connection. */
async function rawBackend(host: string, behave: (s: Socket) => void): Promise<number> {
  const srv = createServer((s) => {
    rawSockets.add(s);
    s.on('error', () => undefined);
    s.once('data', () => behave(s));
  });
  await new Promise<void>((r) => srv.listen(0, host, r));
  raws.push(srv);
  return (srv.address() as { port: number }).port;
}

const svc = (name: string, ips: string[], port: number) => [
  service('team-a', name, [{ name: 'http', port: 80, targetPort: port }]),
  endpointSlice(
    'team-a',
    name,
    ips.map((ip) => ({ ip, pod: `${name}-${ip.split('.').pop()}` })),
    [{ name: 'http', port }],
  ),
  ...ips.map((ip) => pod('team-a', `${name}-${ip.split('.').pop()}`, ip)),
];

before(
  async () => {
    [x, y] = await startEchoPair([
      { host: '127.0.0.2', name: 'x' },
      { host: '127.0.0.3', name: 'y' },
    ]);
    const garbage = await rawBackend('127.0.0.6', (s) => s.end('this is not HTTP at all\r\n\r\n'));
    const silent = await rawBackend('127.0.0.7', () => undefined);
    const midBody = await rawBackend('127.0.0.8', (s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\nhalf');
      setTimeout(() => s.destroy(), 50);
    });
    // Interim 103s 300 ms apart, then the answer 1.2 s in: longer than responseHeaderTimeout (700 ms) in all,
    // never that long between two heads.
    const hinting = await rawBackend('127.0.0.10', (s) => {
      let hints = 0;
      const next = () => {
        if (s.destroyed) return;
        if (hints++ < 4) {
          s.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
          setTimeout(next, 300);
        } else s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfinal');
      };
      next();
    });
    // Interim 103s 300 ms apart without end: each would restart responseHeaderTimeout.
    const endlessHints = await rawBackend('127.0.0.11', (s) => {
      const hint = () => {
        if (s.destroyed) return;
        s.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
        setTimeout(hint, 300);
      };
      hint();
    });
    h = await startHarness({
      config: { upstream: { responseHeaderTimeout: '700ms', connectTimeout: '500ms' } },
      objects: [
        ...svc('pair', ['127.0.0.2', '127.0.0.3'], x.port),
        ...svc('garbage', ['127.0.0.6'], garbage),
        ...svc('silent', ['127.0.0.7'], silent),
        ...svc('midbody', ['127.0.0.8'], midBody),
        ...svc('hinting', ['127.0.0.10'], hinting),
        ...svc('endless-hints', ['127.0.0.11'], endlessHints),
      ],
    });
  },
  { timeout: 60_000 },
);
after(async () => {
  await h?.close();
  await Promise.all([x?.close(), y?.close()]);
  rawSockets.forEach((s) => s.destroy());
  await Promise.all(raws.map((s) => new Promise((r) => s.close(r))));
});

/** A request's reply, or 'reset' when its connection failed; a hang fails the test (its timeout). */
function bounded(path: string): Promise<Reply | 'reset'> {
  return send(h.url, 'GET', path, { accept: 'application/json' }).catch(() => 'reset' as const);
}

function assertCleanError(r: Reply, statuses: number[]): void {
  assert.ok(statuses.includes(r.status), `status ${r.status}: ${r.body}`);
  const s = JSON.parse(r.body) as { kind: string; code: number; message: string };
  assert.equal(s.kind, 'Status');
  assert.equal(s.code, r.status);
  assert.doesNotMatch(s.message, /\n\s+at /);
}

test('an endpoint killed under load: retries onto the survivor, no hang, no dirty error', async () => {
  const results: (Reply | 'reset')[] = [];
  let next = 0;
  const worker = async () => {
    while (next < 300) {
      const i = next++;
      if (i === 100) void y.close();
      results.push(await bounded(`${NS}/services/pair:http/proxy/n${i}`));
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  const ok = results.filter((r) => r !== 'reset' && r.status === 200).length;
  for (const r of results) {
    assert.notEqual(r, 'reset', 'no client connection was reset');
    if (r !== 'reset' && r.status !== 200) assertCleanError(r, [502, 503]);
  }
  assert.ok(ok >= 290, `${ok}/300 succeeded`);
  const tail = results.slice(-100);
  assert.ok(
    tail.every((r) => r !== 'reset' && r.status === 200),
    'once the kill is noticed every request succeeds',
  );
});

test('a slow endpoint: 504 after responseHeaderTimeout', async () => {
  const r = await bounded(`${NS}/services/pair:http/proxy/slow?ms=60000`);
  assert.notEqual(r, 'reset');
  assertCleanError(r as Reply, [504]);
  assert.match(
    (JSON.parse((r as Reply).body) as { message: string }).message,
    /timeout awaiting response headers/,
  );
});

test('each interim 1xx answer restarts responseHeaderTimeout: a slow final answer after hints arrives', async () => {
  const r = await bounded(`${NS}/services/hinting:http/proxy/`);
  assert.notEqual(r, 'reset');
  assert.equal((r as Reply).status, 200, (r as Reply).body);
  assert.equal((r as Reply).body, 'final');
});

test(
  'an endpoint that answers only interim 1xx, without end, cannot hold a request: a 502 after a few',
  { timeout: 15_000 },
  async () => {
    const r = await bounded(`${NS}/services/endless-hints:http/proxy/`);
    assert.notEqual(r, 'reset');
    assertCleanError(r as Reply, [502]);
    assert.match((JSON.parse((r as Reply).body) as { message: string }).message, /interim/);
  },
);

test('an endpoint answering garbage: a clean 502/503', async () => {
  const r = await bounded(`${NS}/services/garbage:http/proxy/`);
  assert.notEqual(r, 'reset');
  assertCleanError(r as Reply, [502, 503]);
});

test('an endpoint that accepts and never answers: 504', async () => {
  const r = await bounded(`${NS}/services/silent:http/proxy/`);
  assert.notEqual(r, 'reset');
  assertCleanError(r as Reply, [504]);
});

test('an endpoint dying mid-body: the client connection ends, it does not hang', {}, async () => {
  const r = await bounded(`${NS}/services/midbody:http/proxy/`);
  // Headers were already sent: the only honest signal left is an aborted body.
  assert.ok(r === 'reset' || (r.status === 200 && r.body.length < 1000));
});

test('the gateway is still healthy and serving', async () => {
  assert.equal((await fetch(`${h.adminURL}/healthz`)).status, 200);
  const r = await bounded(`${NS}/services/pair:http/proxy/final`);
  assert.ok(r !== 'reset' && r.status === 200);
});
