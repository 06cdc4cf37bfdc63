/**
 * What the rewriter holds while an upstream keeps a token open: the body
 * rewriter in this process, fed 8 MiB of an unclosed attribute, stopped there
 * (the upstream has not finished), then the heap collected and measured.
 *
 * The same measurement runs twice: with the default `maxTokenBytes` (1 MiB),
 * where the rewriter must have let go of the token and passed the bytes on,
 * and with the limit out of reach, where parse5 holds all of it. The second
 * arm shows the measurement sees a held token, so the first one can fail;
 * test/security/rewriter-limits.test.ts reads a real gateway's peak resident
 * set, which cannot tell a held token from garbage V8 has not collected yet.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createBodyRewriter } from '../../../src/proxy/rewrite/index.js';
import { DEFAULT_LIMITS, type RewriteLimitReason } from '../../../src/proxy/rewrite/limits.js';
import { ctx } from './support.js';

const MB = 1024 * 1024;
const TOKEN_BYTES = 8 * MB;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

// gc() for this test only: the runner starts files without --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap and buffers in use once everything unreachable is collected (bytes). */
function retained(): number {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Feeds `<a title="` and TOKEN_BYTES of its value, reading what comes out (and dropping it),
 * without ending the body; returns the memory retained meanwhile over what was before, and the
 * stream, which the caller keeps alive until after the measurement.
 */
async function holdOpenToken(maxTokenBytes: number) {
  const reasons: RewriteLimitReason[] = [];
  const before = retained();
  const stream = createBodyRewriter(undefined, ctx, {
    limits: { ...DEFAULT_LIMITS, maxTokenBytes },
    onLimit: (r) => reasons.push(r),
  });
  let out = 0;
  stream.on('data', (c: Buffer) => (out += c.length));
  const write = (b: Buffer) =>
    stream.write(b) ? Promise.resolve() : new Promise<void>((r) => stream.once('drain', () => r()));
  await write(Buffer.from('<!doctype html><a href="/first">first</a><a title="'));
  for (let sent = 0; sent < TOKEN_BYTES; sent += CHUNK.length) await write(CHUNK);
  await new Promise((r) => setImmediate(r));
  const held = retained() - before;
  return { held, out, reasons, stream };
}

test('an upstream holding a token open past maxTokenBytes: the rewriter lets go of it, and the bytes flow on', async (t) => {
  // Once first, so that what loading and compiling the rewriter keeps is not counted as held (kept
  // open to the end: one being destroyed would be freed during the next measurement).
  const warmUp = await holdOpenToken(DEFAULT_LIMITS.maxTokenBytes);
  const limited = await holdOpenToken(DEFAULT_LIMITS.maxTokenBytes);
  const unlimited = await holdOpenToken(64 * MB);
  t.diagnostic(
    `retained with the limit ${(limited.held / MB).toFixed(1)} MB, without ${(unlimited.held / MB).toFixed(1)} MB`,
  );
  // The measurement can see a held token: without the limit, parse5 keeps all 8 MiB of it.
  assert.deepEqual(unlimited.reasons, []);
  assert.ok(unlimited.held > TOKEN_BYTES * 0.75, `without the limit ${unlimited.held} bytes retained`);
  // With it, rewriting stopped at 1 MiB and what followed went on to the client as it came.
  assert.deepEqual(limited.reasons, ['token']);
  assert.ok(limited.out > TOKEN_BYTES - 2 * DEFAULT_LIMITS.maxTokenBytes, `${limited.out} bytes came out`);
  // Not even the 1 MiB it had when it stopped.
  assert.ok(
    limited.held < 0.75 * DEFAULT_LIMITS.maxTokenBytes,
    `with the limit ${limited.held} bytes retained`,
  );
  for (const arm of [warmUp, limited, unlimited]) arm.stream.destroy();
});
