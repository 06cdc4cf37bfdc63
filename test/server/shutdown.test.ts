/**
 * Graceful shutdown, as a rolling update sees it: on SIGTERM the gateway turns
 * unready at once, keeps serving through `listen.shutdown.delay`, then stops
 * accepting connections while every request already in flight finishes, and
 * WebSocket clients are told "going away" (1001). Once in process, once with
 * the real CLI receiving SIGTERM under load.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { startHarness } from '../support/gateway-harness.js';

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
 */
function steadyLoad(base: string, workers: number) {
  const agent = new http.Agent({ keepAlive: true });
  const results: Result[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const r = await get(base, `${WEB}/ping`, agent);
      results.push(r);
      if (r.error) await sleep(5);
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

test('shutdown(): unready at once, serves through the delay, drains in-flight requests, WebSockets get 1001', async () => {
  const backend = await startEchoServer({ host: '127.0.0.2' });
  const h = await startHarness({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'web', [{ ip: '127.0.0.2' }], [{ name: 'http', port: backend.port }]),
    ],
    config: { listen: { address: '127.0.0.1', port: 0, shutdown: { delay: '400ms', timeout: '5s' } } },
  });
  try {
    await eventually(async () => (await get(h.url, `${WEB}/ready`)).status === 200, 5000);
    const ws = new WebSocket(`${h.url.replace('http', 'ws')}${WEB}/ws`);
    await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const slow = Array.from({ length: 5 }, () => get(h.url, `${WEB}/slow?ms=1200`));
    await backend.waitFor(1 + 1 + 5); // /ready, the upgrade, the slow ones
    // Client ports of every connection the gateway accepted: a request on any other never reached it.
    const accepted = new Set<number>();
    h.gateway.server.on('connection', (socket: import('node:net').Socket) =>
      accepted.add(socket.remotePort!),
    );
    const load = steadyLoad(h.url, 4);

    const started = performance.now();
    const done = h.gateway.shutdown();
    const readyz = await get(h.adminURL, '/readyz');
    assert.equal(readyz.status, 503, 'unready as soon as shutdown starts');
    assert.match(readyz.body!, /not-draining/);

    // Within the delay, new connections are still served.
    await sleep(150);
    const during = await get(h.url, `${WEB}/during-delay`);
    assert.equal(during.status, 200, 'a new connection during the delay is served');

    assert.equal(await wsClosed, 1001, 'the WebSocket client is told the server is going away');
    const closedAt = performance.now() - started;
    assert.ok(closedAt >= 380, `WebSockets closed after the delay, not before (${closedAt} ms)`);

    for (const r of await Promise.all(slow)) assert.equal(r.status, 200, 'every in-flight request finished');
    await eventually(async () => (await get(h.url, `${WEB}/after`)).error === 'ECONNREFUSED', 3000);
    await load.stop();
    await done;

    // Connections still in the kernel's accept queue when the listener closes are refused or
    // reset: they never reached the gateway (the delay exists so that load balancers stop first).
    const failed = load.failed().filter((r) => r.localPort !== undefined && accepted.has(r.localPort));
    assert.deepEqual(failed, [], 'every request on a connection the gateway accepted succeeded');
    assert.ok(load.succeeded() > 10, 'the load ran through the delay');
  } finally {
    await h.close().catch(() => undefined);
    await backend.close();
  }
});

/** A gateway in front of one echo backend, with short shutdown timings. */
async function smallGateway(delay: string, timeout: string) {
  const backend = await startEchoServer({ host: '127.0.0.2' });
  const h = await startHarness({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'web', [{ ip: '127.0.0.2' }], [{ name: 'http', port: backend.port }]),
    ],
    config: { listen: { address: '127.0.0.1', port: 0, shutdown: { delay, timeout } } },
  });
  return {
    h,
    backend,
    close: async () => {
      await h.close().catch(() => undefined);
      await backend.close();
    },
  };
}

test('a request outliving shutdown.timeout is cut, upstream too, and the gateway still finishes closing', async () => {
  const { h, backend, close } = await smallGateway('100ms', '400ms');
  try {
    const hanging = get(h.url, `${WEB}/hang`);
    await backend.waitFor(1);
    const started = performance.now();
    await h.gateway.shutdown();
    const took = performance.now() - started;
    assert.ok(took >= 480 && took < 2500, `shutdown waited delay + timeout, no longer (${took} ms)`);
    const r = await hanging;
    assert.equal(r.status, undefined, `the hanging request got no answer: ${JSON.stringify(r)}`);
    assert.ok(r.error, 'its connection was cut');
    await eventually(() => backend.requests[0].aborted && backend.openConnections() === 0, 2000);
    assert.equal((await get(h.url, `${WEB}/after`)).error, 'ECONNREFUSED', 'the port is closed');
  } finally {
    await close();
  }
});

test('an idle keep-alive client connection is closed after the delay, and shutdown does not wait for it', async () => {
  const { h, close } = await smallGateway('300ms', '10s');
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
    let closedAfter = -1;
    const started = performance.now();
    socket.once('close', () => (closedAfter = performance.now() - started));
    await h.gateway.shutdown();
    const took = performance.now() - started;
    await eventually(() => closedAfter >= 0, 2000);
    assert.ok(closedAfter >= 280, `the idle connection was kept through the delay (${closedAfter} ms)`);
    assert.ok(closedAfter < 1500, `then closed promptly (${closedAfter} ms)`);
    assert.ok(took < 2000, `shutdown did not wait out the 10 s timeout for an idle client (${took} ms)`);
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
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', file, '--insecure-no-auth'],
    {
      cwd: path.resolve(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await eventually(() => /kube-bastion listening/.test(output), 20_000, 50);
    const line = JSON.parse(output.split('\n').find((l) => l.includes('kube-bastion listening'))!) as {
      url: string;
      adminURL: string;
    };
    const load = steadyLoad(line.url, 6);
    const slow = Array.from({ length: 4 }, () => get(line.url, `${WEB}/slow?ms=1500`));
    await eventually(() => load.results.length > 20, 5000);

    child.kill('SIGTERM');
    const sentAt = performance.now();
    await eventually(async () => (await get(line.adminURL, '/readyz')).status === 503, 1000);
    const code = await exited;
    const exitAfter = performance.now() - sentAt;
    await load.stop();

    assert.equal(code, 0, `exit code 0\n${output}`);
    for (const r of await Promise.all(slow)) assert.equal(r.status, 200, 'every in-flight request finished');
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
    assert.ok(load.succeeded() > 50, 'the load ran');
    for (const r of load.results.filter((x) => x.status === 200)) assert.ok(logged.has(r.id), 'access log');
    assert.ok(exitAfter >= 500 && exitAfter < 8000, `exited after the delay and the drain (${exitAfter} ms)`);
    assert.match(output, /shutdown complete/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    await backend.close();
  }
});
