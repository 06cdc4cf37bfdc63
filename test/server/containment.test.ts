/**
 * No exception from one request ends the process (issue 15). The pipeline is
 * given stages and hooks that fail the way a bug would — a page handler that
 * throws, an access log that throws while a refusal is answered — and each
 * failure must stay inside its own request: that client gets a 500 Status or
 * a closed connection, the failure is reported, and the next request is served.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { GatewayError } from '../../src/errors.js';
import type { ProxyPath } from '../../src/request/proxy-path.js';
import { createPipeline, type PipelineHooks, type Stages } from '../../src/server/pipeline.js';
import { rawRequest } from '../security/support/raw.js';
import { send } from '../support/http.js';

/** What each test makes fail; reset before each. */
const faults = { pageThrows: false, finishedThrows: false, forwardRejects: false };
const reported: unknown[] = [];

const path = {
  kind: 'services',
  namespace: 'ns',
  name: 'web',
  prefix: '/p',
  rawQuery: '',
} as unknown as ProxyPath;
const stages: Stages = {
  route: (req) => (req.url?.startsWith('/p/') ? path : undefined),
  authenticate: () => Promise.resolve({ username: 'u', groups: [], extra: {}, method: 'bearer' } as never),
  attributes: () => ({}) as never,
  authorize: () => Promise.resolve({ allowed: true, by: 'test' }),
  admit: () => undefined,
  resolve: () => Promise.resolve({} as never),
  forward: (_req, res) => {
    if (faults.forwardRejects) return Promise.reject(new GatewayError(503, 'ServiceUnavailable', 'down'));
    res.end('forwarded');
    return Promise.resolve();
  },
  forwardUpgrade: () => Promise.reject(new GatewayError(502, 'BadGateway', 'no')),
};
const hooks: PipelineHooks = {
  pages: (_req, res) => {
    if (faults.pageThrows) throw new TypeError('a bug in a page');
    res.end('page');
  },
  denied: () => new GatewayError(403, 'Forbidden', 'no'),
  finished: () => {
    if (faults.finishedThrows) throw new TypeError('a bug in the access log');
  },
  unexpected: (err) => void reported.push(err),
};

let server: http.Server;
let base: string;
before(async () => {
  const pipeline = createPipeline(stages, hooks);
  server = http.createServer((req, res) => void pipeline.handleRequest(req, res));
  server.on('upgrade', (req, socket, head) => void pipeline.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise((r) => server.close(r)));

async function withFault(fault: keyof typeof faults, run: () => Promise<void>): Promise<void> {
  reported.length = 0;
  faults[fault] = true;
  try {
    await run();
  } finally {
    faults[fault] = false;
  }
  assert.equal(reported.length, 1, 'the failure is reported once');
  const next = await send(base, 'GET', '/p/next');
  assert.equal(next.body, 'forwarded', 'the next request is served');
}

test('a page handler that throws: a 500 Status for that request only', () =>
  withFault('pageThrows', async () => {
    const r = await send(base, 'GET', '/home');
    assert.equal(r.status, 500);
    const s = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(s.kind, 'Status');
    assert.equal(s.reason, 'InternalError');
    assert.doesNotMatch(r.body, /a bug in a page/, 'the bug is logged, not told');
  }));

test('an access log that throws after the answer: the answer stands', () =>
  withFault('finishedThrows', async () => {
    const r = await send(base, 'GET', '/p/x');
    assert.equal(r.body, 'forwarded');
  }));

test('an access log that throws while a refusal is answered: the refusal stands', () =>
  withFault('finishedThrows', async () => {
    faults.forwardRejects = true;
    try {
      const r = await send(base, 'GET', '/p/x');
      assert.equal(r.status, 503);
    } finally {
      faults.forwardRejects = false;
    }
  }));

test('an access log that throws for a refused upgrade: that connection ends, nothing else', () =>
  withFault('finishedThrows', async () => {
    const r = await rawRequest(
      base,
      'GET /p/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    assert.equal(r.status, 502);
    assert.equal(r.closed, true);
  }));
