/**
 * Graceful shutdown, as a rolling update sees it: on SIGTERM the gateway turns
 * unready at once, keeps serving through `listen.shutdown.delay`, then stops
 * accepting connections while every request already in flight finishes, and
 * WebSocket clients are told "going away" (1001). In process on a clock the
 * test moves (the delay and the timeout pass when the test says so), and once
 * with the real CLI receiving SIGTERM under load.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { startHarness } from '../support/gateway-harness.js';
import { ManualClock } from '../support/manual-clock.js';
import { FROM_SOURCE } from '../cli/cli-process.js';

const WEB = '/api/v1/namespaces/team-a/services/web:http/proxy';

interface Result {
  id: string;
  status?: number;
  body?: string;
  error?: string;
  /** The client side port of the connection, once connected. */
  localPort?: number;
}

let sequence = 0;

/** One request (its own connection unless an agent is given), with an x-request-id; never rejects. */
function get(base: string, path: string, agent: http.Agent | false = false): Promise<Result> {
  const id = `req-${++sequence}`;
  return new Promise((resolve) => {
    const r: Result = { id };
    const req = http.get(`${base}${path}`, { agent, headers: { 'x-request-id': id } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ ...r, status: res.statusCode, body }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ ...r, error: err.code ?? err.message }));
    });
    req.on('socket', (socket) => {
      if (!socket.connecting) r.localPort = socket.localPort;
      else socket.once('connect', () => (r.localPort = socket.localPort));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ ...r, error: err.code ?? err.message }));
  });
}

/**
 * Steady keep-alive load: `workers` loops of sequential requests until stopped,
 * as from a load balancer that has not noticed yet that the pod is going away.
 * A worker stops at its first connection error (the listener has closed), as
 * a load balancer takes the pod out.
 */
function steadyLoad(base: string, workers: number) {
  const agent = new http.Agent({ keepAlive: true });
  const results: Result[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const r = await get(base, `${WEB}/ping`, agent);
      results.push(r);
      if (r.error) break;
    }
  });
  return {
    results,
    succeeded: () => results.filter((r) => r.status === 200).length,
    failed: () => results.filter((r) => r.status !== 200),
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** A gateway in front of one echo backend, on a clock the test moves. */
async function smallGateway(delay: string, timeout: string) {
  const clock = new ManualClock();
  const backend = await startEchoServer({ host: '127.0.0.2' });
  const h = await startHarness({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'web', [{ ip: '127.0.0.2' }], [{ name: 'http', port: backend.port }]),
    ],
    config: { listen: { address: '127.0.0.1', port: 0, shutdown: { delay, timeout } } },
    clock,
  });
  return {
    h,
    backend,
    clock,
    close: async () => {
      await h.close().catch(() => undefined);
      await backend.close();
    },
  };
}

/** Resolves once the public listener refuses new connections (the drain has begun). */
const listenerClosed = (url: string) =>
  eventually(async () => assert.equal((await get(url, `${WEB}/after`)).error, 'ECONNREFUSED'));

test('shutdown(): unready at once, serves through the delay, drains in-flight requests, WebSockets get 1001', async () => {
  const { h, backend, clock, close } = await smallGateway('400ms', '5s');
  try {
    const ws = new WebSocket(`${h.url.replace('http', 'ws')}${WEB}/ws`);
    await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const inFlight = Array.from({ length: 5 }, () => get(h.url, `${WEB}/held`));
    await backend.waitFor(1 + 5); // the upgrade, the held requests
    // Client ports of every connection the gateway accepted: a request on any other never reached it.
    const accepted = new Set<number>();
    h.gateway.server.on('connection', (socket: import('node:net').Socket) =>
      accepted.add(socket.remotePort!),
    );
    const load = steadyLoad(h.url, 4);
    await eventually(() => load.succeeded() >= 10);

    const done = h.gateway.shutdown();
    const readyz = await get(h.adminURL, '/readyz');
    assert.equal(readyz.status, 503, 'unready as soon as shutdown starts');
    assert.match(readyz.body!, /not-draining/);

    // Within the delay (the clock has not moved), new connections are still served, the load goes on.
    const during = await get(h.url, `${WEB}/during-delay`);
    assert.equal(during.status, 200, 'a new connection during the delay is served');
    const servedBefore = load.succeeded();
    await eventually(() => load.succeeded() >= servedBefore + 10);
    assert.equal(ws.readyState, WebSocket.OPEN, 'WebSockets stay open through the delay');

    clock.advance(400);
    assert.equal(await wsClosed, 1001, 'the WebSocket client is told the server is going away');
    await listenerClosed(h.url);
    backend.release(); // the requests in flight when the listener closed answer now
    for (const r of await Promise.all(inFlight))
      assert.equal(r.status, 200, 'every in-flight request finished');
    await done; // without the 5 s timeout (the clock stays put): the drain ended with the last request
    await load.stop();

    // Connections still in the kernel's accept queue when the listener closes are refused or
    // reset: they never reached the gateway (the delay exists so that load balancers stop first).
    const failed = load.failed().filter((r) => r.localPort !== undefined && accepted.has(r.localPort));
    assert.deepEqual(failed, [], 'every request on a connection the gateway accepted succeeded');
  } finally {
    await close();
  }
});

test('a request outliving shutdown.timeout is cut, upstream too, and the gateway still finishes closing', async () => {
  const { h, backend, clock, close } = await smallGateway('100ms', '400ms');
  try {
    const hanging = get(h.url, `${WEB}/hang`);
    await backend.waitFor(1);
    let finished = false;
    const done = h.gateway.shutdown().then(() => (finished = true));
    clock.advance(100); // the delay
    await listenerClosed(h.url);
    await clock.whenPending(1); // the drain waits, up to the timeout, for the hanging request
    assert.equal(finished, false, 'shutdown waits for the request in flight');
    assert.equal(backend.requests[0].aborted, false, 'which is still going on upstream');

    clock.advance(400); // the timeout
    await done;
    const r = await hanging;
    assert.equal(r.status, undefined, `the hanging request got no answer: ${JSON.stringify(r)}`);
    assert.ok(r.error, 'its connection was cut');
    await eventually(() => backend.requests[0].aborted && backend.openConnections() === 0);
    assert.equal((await get(h.url, `${WEB}/after`)).error, 'ECONNREFUSED', 'the port is closed');
  } finally {
    await close();
  }
});

test('an idle keep-alive client connection is closed after the delay, and shutdown does not wait for it', async () => {
  const { h, clock, close } = await smallGateway('300ms', '10s');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    let socket: import('node:net').Socket | undefined;
    const first = await new Promise<number>((resolve, reject) => {
      const req = http.get(`${h.url}${WEB}/first`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('socket', (s) => (socket = s));
      req.on('error', reject);
    });
    assert.equal(first, 200);
    assert.ok(socket && !socket.destroyed, 'the connection is kept alive');
    const closed = new Promise((resolve) => socket!.once('close', resolve));
    let kept = true;
    void closed.then(() => (kept = false));

    const done = h.gateway.shutdown();
    // A round trip on another connection during the delay: the idle one is still open after it.
    assert.equal((await get(h.url, `${WEB}/during-delay`)).status, 200);
    assert.equal(kept, true, 'the idle connection is kept through the delay');
    clock.advance(300);
    await closed;
    await done; // the clock never reached the 10 s timeout: shutdown did not wait for the idle client
  } finally {
    agent.destroy();
    await close();
  }
});

test('the CLI on SIGTERM under load: zero failed requests, in-flight ones finish, exit 0', async () => {
  const backend = await startEchoServer({ host: '127.0.0.1' });
  const dir = mkdtempSync(path.join(tmpdir(), 'kb-shutdown-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(
    file,
    `listen: { address: 127.0.0.1, port: 0, shutdown: { delay: 500ms, timeout: 10s } }
admin: { address: 127.0.0.1, port: 0 }
kubernetes: none
static:
  services:
    - { namespace: team-a, name: web, ports: [{ name: http, port: 80 }], endpoints: ["127.0.0.1:${backend.port}"] }
upstream: { allowedAddresses: ["127.0.0.0/8"] }
logging: { level: info, audit: { enabled: false } }
`,
  );
  const [node, ...cli] = FROM_SOURCE;
  const child = spawn(node, [...cli, 'serve', '--config', file, '--insecure-no-auth'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await eventually(() => /kube-bastion listening/.test(output), 60_000, 50);
    const line = JSON.parse(output.split('\n').find((l) => l.includes('kube-bastion listening'))!) as {
      url: string;
      adminURL: string;
    };
    const load = steadyLoad(line.url, 6);
    const inFlight = Array.from({ length: 4 }, () => get(line.url, `${WEB}/held`));
    await backend.waitFor(4);
    await eventually(() => load.succeeded() >= 20);

    child.kill('SIGTERM');
    await eventually(async () => (await get(line.adminURL, '/readyz')).status === 503);
    await listenerClosed(line.url); // after the delay
    backend.release(); // the requests in flight when the listener closed answer now
    const code = await exited;
    await load.stop();

    assert.equal(code, 0, `exit code 0\n${output}`);
    for (const r of await Promise.all(inFlight))
      assert.equal(r.status, 200, 'every in-flight request finished');
    // A request the gateway received has an access-log line; the failed ones (refused or reset
    // in the accept queue as the listener closed) must have none.
    const logged = new Set(
      output
        .split('\n')
        .filter((l) => l.includes('"msg":"request"'))
        .map((l) => (JSON.parse(l) as { reqId: string }).reqId),
    );
    const failed = load.failed().filter((r) => logged.has(r.id));
    assert.deepEqual(failed, [], 'every request the gateway received succeeded');
    for (const r of load.results.filter((x) => x.status === 200)) assert.ok(logged.has(r.id), 'access log');
    assert.match(output, /shutting down: unready, still serving[\s\S]*shutdown complete/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    await backend.close();
  }
});
