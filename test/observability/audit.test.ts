/**
 * The audit trail an operator reads: one JSON line per decision in its own
 * file, with who/what/which rule/outcome, and never a credential — including
 * the refusals that come after an allowing decision and an authorization that
 * could not be asked, through a whole gateway.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Identity } from '../../src/request/identity.js';
import { requestAttributes } from '../../src/authz/attributes.js';
import { createAuditLog } from '../../src/observability/audit.js';
import { parseProxyPath } from '../../src/request/proxy-path.js';
import { newRequestContext, type RequestContext } from '../../src/request/context.js';
import type { IncomingMessage } from 'node:http';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer } from '../support/echo-server.js';
import { startHarness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';
import { rawRequest } from '../security/support/raw.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const alice: Identity = {
  username: 'alice',
  groups: ['devs'],
  email: 'a@example.com',
  extra: {},
  method: 'session',
};
const SECRET_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.c2VjcmV0.sig';

function context(method: string, url: string, upgrade = false, id = 'req-1'): RequestContext {
  const req = {
    method,
    url,
    headers: {
      authorization: `Bearer ${SECRET_TOKEN}`,
      cookie: `kube_bastion=${SECRET_TOKEN}`,
      'x-request-id': id,
    },
  } as unknown as IncomingMessage;
  const ctx = newRequestContext(req, upgrade);
  ctx.proxyPath = parseProxyPath(url);
  ctx.identity = alice;
  ctx.attributes = requestAttributes(method, ctx.proxyPath!, alice, upgrade);
  return ctx;
}

/** A request allowed by `by` to team-a's web:http, forwarded as `path` to 10.0.0.7:8080. */
function allowWebAt(ctx: RequestContext, path: string, by: string): void {
  ctx.decision = { allowed: true, by };
  ctx.target = {
    kind: 'services',
    namespace: 'team-a',
    name: 'web',
    segment: 'web:http',
    scheme: 'http',
    endpoints: [],
    path,
    key: 'k',
  };
  ctx.endpoint = { ip: '10.0.0.7', port: 8080, ready: true, serving: true, terminating: false };
}

test('one line per decision with who, what, which rule, outcome and upstream; no token or cookie', async () => {
  const file = join(dir, 'nested', 'audit.log');
  const audit = createAuditLog({ enabled: true, file });

  const allowed = context('POST', '/api/v1/namespaces/team-a/services/web:http/proxy/api/items?token=abc');
  allowWebAt(allowed, '/api/items', 'rule[0]');
  audit.record(allowed, 201, 512, 12.3456);

  const denied = context('GET', '/api/v1/namespaces/kube-system/pods/etcd-0/proxy/', true);
  denied.decision = {
    allowed: false,
    by: 'namespace-fence',
    reason: 'namespace "kube-system" is not open to this gateway',
  };
  audit.record(denied, 403, 0, 0.5);

  const unauthenticated = newRequestContext({
    method: 'GET',
    url: '/x',
    headers: {},
  } as unknown as IncomingMessage);
  audit.record(unauthenticated, 401, 0, 0.1);
  await audit.close();

  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(SECRET_TOKEN), 'no credential in the audit log');
  assert.ok(!text.includes('token=abc'), 'no query string in the audit log');
  const lines = text
    .trim()
    .split('\n')
    .map((l): Record<string, unknown> => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2, 'requests without a decision are not audit events');
  const [a, d] = lines;
  assert.equal(a.audit, true);
  assert.ok(!Number.isNaN(Date.parse(String(a.time))));
  assert.deepEqual(
    {
      requestId: a.requestId,
      user: a.user,
      groups: a.groups,
      authMethod: a.authMethod,
      method: a.method,
      verb: a.verb,
      namespace: a.namespace,
      kind: a.kind,
      name: a.name,
      decision: a.decision,
      by: a.by,
      status: a.status,
      upstream: a.upstream,
      path: a.path,
      bytes: a.bytes,
      durationMs: a.durationMs,
    },
    {
      requestId: 'req-1',
      user: 'alice',
      groups: ['devs'],
      authMethod: 'session',
      method: 'POST',
      verb: 'create',
      namespace: 'team-a',
      kind: 'services',
      name: 'web:http',
      decision: 'allow',
      by: 'rule[0]',
      status: 201,
      upstream: '10.0.0.7:8080',
      path: '/api/items',
      bytes: 512,
      durationMs: 12.346,
    },
  );
  assert.equal(d.decision, 'deny');
  assert.equal(d.by, 'namespace-fence');
  assert.equal(d.verb, 'create', 'upgrade audited as create');
  assert.equal(d.upgrade, true);
  assert.match(String(d.reason), /kube-system/);
  assert.equal(d.upstream, undefined);
});

test("a line is pino's, byte for byte: level, time of writing, service, audit, the event's fields in order, msg", async () => {
  // Log pipelines parse these lines; the writer is the gateway's own (one JSON.stringify per event), so it is held
  // to what pino writes with the audit log's settings, for the same event at the same instant (well-formed
  // strings: an unpaired surrogate is escaped where pino wrote it raw, the test below).
  const file = join(dir, 'shape.log');
  let now = Date.UTC(2026, 11, 5, 1, 2, 3, 4);
  const audit = createAuditLog({ enabled: true, file }, undefined, () => now);
  const allowed = context('GET', '/api/v1/namespaces/team-a/services/web:http/proxy/a', false, 'req-a');
  allowWebAt(allowed, '/a', 'rule[1]');
  audit.record(allowed, 200, 10, 1.23456);
  audit.record(allowed, 200, 10, 2);
  now += 1;
  const denied = context('GET', '/api/v1/namespaces/kube-system/pods/etcd-0/proxy/', true, 'req-"d"\u2028');
  denied.decision = { allowed: false, by: 'namespace-fence', reason: 'not "open"' };
  audit.record(denied, 403, 0, 0.5);
  await audit.close();

  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'every line ends with a newline');
  assert.equal(lines.length, 3);
  const [a, , d] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(Object.keys(a), [
    'level',
    'time',
    'service',
    'audit',
    'requestId',
    'user',
    'groups',
    'authMethod',
    'method',
    'verb',
    'namespace',
    'kind',
    'name',
    'decision',
    'by',
    'status',
    'upstream',
    'path',
    'via',
    'upgrade',
    'bytes',
    'durationMs',
    'msg',
  ]);
  assert.equal(a.time, '2026-12-05T01:02:03.004Z');
  assert.equal(d.time, '2026-12-05T01:02:03.005Z', 'the time is of each line, not of the first one written');
  assert.deepEqual(
    Object.keys(d).filter((k) => ['reason', 'upstream', 'path', 'subresource'].includes(k)),
    ['reason'],
    'absent fields are absent, not null',
  );

  // The same events through pino with the audit log's settings, at the same instants.
  const { pino } = await import('pino');
  const written: string[] = [];
  const reference = (time: number) =>
    pino(
      {
        level: 'info',
        base: { service: 'kube-bastion', audit: true },
        timestamp: () => `,"time":"${new Date(time).toISOString()}"`,
        formatters: { level: (label: string) => ({ level: label }) },
      },
      { write: (line: string) => void written.push(line) },
    );
  const shape = (line: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(line).filter(([k]) => !['level', 'time', 'service', 'audit', 'msg'].includes(k)),
    );
  reference(now - 1).info(shape(a), 'audit');
  reference(now).info(shape(d), 'audit');
  assert.deepEqual(
    [lines[0], lines[2]],
    written.map((l) => l.replace(/\n$/, '')),
  );
});

test('names that differ only in a lone surrogate stay apart in the file (a JSON escape, not U+FFFD)', async () => {
  // An issuer's claims may carry any JSON string, unpaired surrogates included: written raw (as pino did),
  // both names would reach the file as U+FFFD and two users would read as one.
  const file = join(dir, 'surrogates.log');
  const audit = createAuditLog({ enabled: true, file });
  for (const [username, id] of [
    ['eve\ud800', 'req-1'],
    ['eve\udbff', 'req-2'],
  ]) {
    const ctx = context('GET', '/api/v1/namespaces/team-a/services/web:http/proxy/', false, id);
    ctx.identity = { ...alice, username, groups: [`${username}-group`] };
    allowWebAt(ctx, '/', 'rule[0]');
    audit.record(ctx, 200, 0, 1);
  }
  await audit.close();
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes('\ufffd'), 'nothing replaced');
  const users = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { user: string; groups: string[] });
  assert.deepEqual(
    users.map((u) => [u.user, u.groups[0]]),
    [
      ['eve\ud800', 'eve\ud800-group'],
      ['eve\udbff', 'eve\udbff-group'],
    ],
  );
});

test('appends to an existing file; disabled audit writes nothing', async () => {
  const file = join(dir, 'append.log');
  for (let i = 0; i < 2; i++) {
    const audit = createAuditLog({ enabled: true, file });
    const ctx = context('GET', '/api/v1/namespaces/a/services/web/proxy/');
    ctx.decision = { allowed: true, by: 'kubernetes-rbac', reason: 'RBAC: allowed by RoleBinding "view/a"' };
    audit.record(ctx, 200, 1, 1);
    await audit.close();
  }
  assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 2);

  const off = createAuditLog({ enabled: false, file: join(dir, 'off.log') });
  const ctx = context('GET', '/api/v1/namespaces/a/services/web/proxy/');
  ctx.decision = { allowed: true, by: 'rule[0]' };
  off.record(ctx, 200, 1, 1);
  await off.close();
  assert.throws(() => readFileSync(join(dir, 'off.log')), { code: 'ENOENT' });
});

test(
  'lines written in one event-loop turn reach the file together, while the gateway runs (no close, no more traffic)',
  { timeout: 10_000 },
  async (t) => {
    const file = join(dir, 'live.log');
    const audit = createAuditLog({ enabled: true, file });
    try {
      for (const id of ['a', 'b', 'c']) {
        const ctx = context('GET', '/api/v1/namespaces/a/services/web/proxy/', false, id);
        ctx.decision = { allowed: true, by: 'rule[0]' };
        audit.record(ctx, 200, 1, 1);
      }
      // The turn's lines are written after it: wait for them, by watching, not by sleeping.
      const ids = await new Promise<string[]>((resolve, reject) => {
        const look = () => {
          if (t.signal.aborted) return void reject(new Error('the lines never reached the file'));
          let text = '';
          try {
            text = readFileSync(file, 'utf8');
          } catch {
            // not created yet
          }
          const lines = text.split('\n').filter(Boolean);
          if (lines.length < 3) return void setImmediate(look);
          resolve(lines.map((l) => String((JSON.parse(l) as { requestId: unknown }).requestId)));
        };
        look();
      });
      assert.deepEqual(ids, ['a', 'b', 'c'], 'each event once, in order');
    } finally {
      await audit.close();
    }
  },
);

test('a line is in the file when its turn ends, even while the thread pool is busy (slow DNS, crypto, files)', async () => {
  const file = join(dir, 'pool-busy.log');
  const audit = createAuditLog({ enabled: true, file });
  // Every thread of libuv's pool blocked in open() on a FIFO nobody writes: no asynchronous file write can finish.
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const fifos = Array.from({ length: threads }, (_, i) => join(dir, `pool-${i}.fifo`));
  for (const fifo of fifos) assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const blocked = fifos.map((fifo) => open(fifo, 'r'));
  try {
    const ctx = context('GET', '/api/v1/namespaces/a/services/web/proxy/', false, 'while-busy');
    ctx.decision = { allowed: true, by: 'rule[0]' };
    audit.record(ctx, 200, 1, 1);
    await new Promise(setImmediate); // the turn that recorded it has ended
    assert.match(readFileSync(file, 'utf8'), /"requestId":"while-busy"/);
  } finally {
    // A writer for each FIFO releases the pool's threads.
    for (const fifo of fifos) closeSync(openSync(fifo, 'w'));
    await Promise.all(blocked.map(async (handle) => (await handle).close()));
    await audit.close();
  }
});

test('a process that exits in the turn it audited still has the line, in the file and on stdout', () => {
  const MODULE = new URL('../../src/observability/audit.ts', import.meta.url).pathname;
  const exitAfterOneEvent = (file: string | undefined) => `
    import { readFileSync } from 'node:fs';
    import { createAuditLog } from ${JSON.stringify(MODULE)};
    const file = ${JSON.stringify(file ?? null)};
    const audit = createAuditLog({ enabled: true, ...(file ? { file } : {}) });
    const event = (requestId) => ({ requestId, user: 'alice', verb: 'get', allowed: true });
    // A first event, seen in the file (so it is open), then the last one and exit in the same turn.
    audit.write(event('first'));
    const opened = () => !file || readFileSync(file, { encoding: 'utf8', flag: 'a+' }).includes('first');
    const last = () => {
      if (!opened()) return void setImmediate(last);
      audit.write(event('last-words'));
      process.exit(0);
    };
    last();`;
  const run = (file?: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', exitAfterOneEvent(file)], {
      encoding: 'utf8',
    });
  const file = join(dir, 'exit.log');
  const toFile = run(file);
  assert.equal(toFile.status, 0, toFile.stderr);
  assert.match(readFileSync(file, 'utf8'), /"requestId":"last-words"/);
  const toStdout = run();
  assert.equal(toStdout.status, 0, toStdout.stderr);
  assert.match(toStdout.stdout, /"requestId":"last-words"/);
});

test('refusals after the decision and an unavailable SubjectAccessReview are audited as deny, with what refused', async () => {
  const backend = await startEchoServer({ host: '127.0.0.7' });
  const file = join(dir, 'refusals.log');
  const h = await startHarness({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'web', [{ ip: '127.0.0.7' }], [{ name: 'http', port: backend.port }]),
    ],
    config: {
      authorization: { kubernetesRBAC: { enabled: true } },
      logging: { level: 'silent', audit: { enabled: true, file } },
    },
    api: {
      grants: [{ user: 'system:anonymous', namespace: 'team-a', resource: 'services/proxy', verbs: ['*'] }],
    },
  });
  const WEB = '/api/v1/namespaces/team-a/services/web/proxy';
  const statuses: Record<string, number> = {};
  try {
    h.api.failRequests({ resource: 'subjectaccessreviews' }, 500);
    statuses.unavailable = (await send(h.url, 'GET', `${WEB}/x`, { 'x-request-id': 'unavailable' })).status;
    statuses.dryRun = (
      await send(h.url, 'POST', `${WEB}/x?dryRun=All`, { 'x-request-id': 'dry-run' })
    ).status;
    statuses.method = (await send(h.url, 'PROPFIND', `${WEB}/x`, { 'x-request-id': 'propfind' })).status;
    const host = new URL(h.url).host;
    statuses.csrf = (
      await rawRequest(
        h.url,
        `GET ${WEB}/ws HTTP/1.1\r\nHost: ${host}\r\nX-Request-ID: cross-site\r\nOrigin: https://evil.example\r\n` +
          'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        1000,
      )
    ).status;
    statuses.allowed = (await send(h.url, 'GET', `${WEB}/x`, { 'x-request-id': 'allowed' })).status;
  } finally {
    await h.close();
    await backend.close();
  }
  assert.deepEqual(statuses, { unavailable: 503, dryRun: 400, method: 405, csrf: 403, allowed: 200 });
  assert.deepEqual(
    backend.requests.map((r) => r.url),
    ['/x'],
    'only the allowed request reached the backend',
  );

  const events = new Map(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .map((e) => [e.requestId, e]),
  );
  const seen = (id: string) => {
    const e = events.get(id);
    assert.ok(e, `an audit event for ${id}`);
    return { decision: e.decision, by: e.by, status: e.status };
  };
  assert.deepEqual(seen('unavailable'), { decision: 'deny', by: 'kubernetes-rbac-unavailable', status: 503 });
  assert.match(String(events.get('unavailable')?.reason), /authorization is unavailable/);
  assert.deepEqual(seen('dry-run'), { decision: 'deny', by: 'dry-run', status: 400 });
  assert.deepEqual(seen('propfind'), { decision: 'deny', by: 'method-not-allowed', status: 405 });
  assert.deepEqual(seen('cross-site'), { decision: 'deny', by: 'csrf', status: 403 });
  assert.equal(events.get('cross-site')?.upgrade, true);
  assert.deepEqual(seen('allowed'), { decision: 'allow', by: 'kubernetes-rbac', status: 200 });
});
