/**
 * One hostile request as a row of a table, and what every row asserts:
 * the status, the shape of the body, exactly what reached an upstream
 * (usually nothing), and the aftermath — the gateway still healthy and
 * serving, no stack trace and no credential in the response or in any log
 * line the request produced.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Recorded } from '../../support/echo-server.js';
import { send, type Reply } from '../../support/http.js';
import { rawRequest } from './raw.js';
import { WEB, type World } from './world.js';

/** `status`: a Kubernetes Status object; `echo`: the upstream's answer; `empty`: no body; `html`: a page. */
export type Shape = 'status' | 'echo' | 'empty' | 'html' | 'any';

export interface HostileCase {
  name: string;
  method?: string;
  /** Sent byte for byte with node:http. */
  path?: string;
  /** Or: raw bytes on a socket; gets the gateway's `host:port`. */
  raw?: (host: string) => string;
  headers?: Record<string, string>;
  body?: string;
  /** Whose token goes in Authorization (default alice); `none` sends none. */
  as?: 'alice' | 'bob' | 'none';
  status: number | readonly number[];
  shape: Shape;
  reason?: string;
  message?: RegExp;
  /** null: nothing reaches any upstream. Otherwise the one request upstream `a` must receive. */
  upstream: null | { url: string; check?: (received: Recorded) => void };
  check?: (reply: Reply) => void;
}

/** A stack frame as V8 prints it. */
export const STACK = /\n\s+at \S|\bat [\w$.<>]+ \((?:file:|node:|\/)[^)]*:\d+:\d+\)/;

/** Registers every case as a test. */
export function table(world: () => World, cases: readonly HostileCase[]): void {
  for (const c of cases) test(c.name, () => runCase(world(), c));
}

export async function runCase(w: World, c: HostileCase): Promise<void> {
  const mark = w.log.mark();
  const before = w.seen();
  const beforeA = w.a.requests.length;
  let reply: Reply;
  if (c.raw) {
    const r = await rawRequest(w.h.url, c.raw(new URL(w.h.url).host));
    reply = { status: r.status, headers: r.headers, body: r.body };
  } else {
    const headers: Record<string, string> = { accept: 'application/json', ...c.headers };
    const who = c.as ?? 'alice';
    if (who !== 'none' && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization'))
      headers.authorization = `Bearer ${w[who]}`;
    reply = await send(w.h.url, c.method ?? 'GET', c.path!, headers, c.body);
  }

  const statuses = [c.status].flat();
  assert.ok(
    statuses.includes(reply.status),
    `status ${reply.status}, want ${statuses.join('|')}: ${reply.body}`,
  );
  assertShape(c, reply);
  if (c.upstream === null) {
    assert.equal(w.seen(), before, `nothing may reach an upstream: ${JSON.stringify(w.a.last()?.url)}`);
  } else {
    assert.equal(w.a.requests.length, beforeA + 1, 'exactly one request reaches team-a/web');
    assert.equal(w.seen(), before + 1, 'and nothing else');
    const got = w.a.last()!;
    assert.equal(got.url, c.upstream.url, 'the upstream path is the one that was authorized');
    c.upstream.check?.(got);
  }
  c.check?.(reply);
  await assertAftermath(w, reply, mark);
}

function assertShape(c: HostileCase, reply: Reply): void {
  const type = String(reply.headers['content-type'] ?? '');
  switch (c.shape) {
    case 'status': {
      assert.match(type, /application\/json/);
      const s = JSON.parse(reply.body) as Record<string, unknown>;
      assert.equal(s.kind, 'Status');
      assert.equal(s.apiVersion, 'v1');
      assert.equal(s.status, 'Failure');
      assert.equal(s.code, reply.status);
      assert.equal(typeof s.message, 'string');
      if (c.reason) assert.equal(s.reason, c.reason);
      if (c.message) assert.match(String(s.message), c.message);
      break;
    }
    case 'echo':
      assert.equal((JSON.parse(reply.body) as { server: string }).server, 'a');
      break;
    case 'empty':
      // Node's own parser errors (400, 431) carry no body and no content type.
      assert.equal(reply.body, '');
      assert.equal(type, '', 'an empty reply has no content type');
      break;
    case 'html':
      assert.match(type, /text\/html/);
      if (c.message) assert.match(reply.body, c.message);
      break;
    case 'any':
      break;
  }
}

/** How many audit lines of each world the leak scan has read. */
const auditScanned = new WeakMap<World, number>();

/** The end of every case: nothing leaked (response, pino log, audit log), nothing broke. */
export async function assertAftermath(w: World, reply: Reply, mark: number): Promise<void> {
  const headerText = JSON.stringify(reply.headers);
  assert.doesNotMatch(reply.body, STACK, 'no stack trace in the response');
  for (const token of w.secrets) {
    assert.ok(!reply.body.includes(token) && !headerText.includes(token), 'no token in the response');
  }
  // The audit stream is written asynchronously, so every line not scanned yet is read (a late line of
  // an earlier case is caught by the next one). Each line once: rescanning the whole file after every
  // case made a file of 60 cases quadratic.
  const audit = w.auditLines();
  const lines = [
    ...w.log.since(mark).map((line) => ['log', line] as const),
    ...audit.slice(auditScanned.get(w) ?? 0).map((line) => ['audit log', line] as const),
  ];
  auditScanned.set(w, audit.length);
  for (const [where, line] of lines) {
    assert.doesNotMatch(line, STACK, `no stack trace in the ${where}: ${line.slice(0, 300)}`);
    assert.ok(!line.includes('"stack"'), `no stack in the ${where}: ${line.slice(0, 300)}`);
    for (const token of w.secrets)
      assert.ok(!line.includes(token), `no token in the ${where}: ${line.slice(0, 300)}`);
    // Any JWT-shaped string in a log line would be a token of some kind.
    assert.doesNotMatch(line, /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/, `no JWT in the ${where}: ${line}`);
  }
  const health = await fetch(`${w.h.adminURL}/healthz`);
  assert.equal(health.status, 200, 'the gateway is alive');
  assert.deepEqual(w.forbiddenSeen(), [], 'no upstream outside the grant was ever reached');
}

/** A granted request still works (run after a batch of hostile ones). */
export async function assertStillServing(w: World): Promise<void> {
  const r = await send(w.h.url, 'GET', `${WEB}/canary`, { authorization: `Bearer ${w.alice}` });
  assert.equal(r.status, 200, r.body);
  assert.equal(w.a.last()!.url, '/canary');
}
