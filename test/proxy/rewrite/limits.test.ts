/**
 * The rewriter's limits, one by one, on the body rewriter itself: when each
 * one is reached rewriting stops and the rest of the body passes through
 * byte for byte (never lost, never duplicated) — except a decompression bomb,
 * which is cut. The cost side (time linear in the body) is in
 * bench/rewrite.ts; memory in test/proxy/rewrite/memory.test.ts (what the
 * rewriter holds) and through a real gateway in test/security/rewriter-limits.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { createBodyRewriter, createResponseRewriter } from '../../../src/proxy/rewrite/index.js';
import { InflateLimitError, type RewriteLimitReason } from '../../../src/proxy/rewrite/limits.js';
import { PREFIX as P, ctx, options, throughInChunks } from './support.js';

const KB = 1024;
const LINK = '<a href="/first">first</a>';
const REWRITTEN = `<a href="${P}/first">first</a>`;

function rewriter(limits: { maxBodyBytes?: number; maxTokenBytes?: number }, coding?: string) {
  const reasons: RewriteLimitReason[] = [];
  const stream = createBodyRewriter(coding, ctx, {
    limits: { maxBodyBytes: 16 * 1024 * KB, maxTokenBytes: 1024 * KB, ...limits },
    onLimit: (r) => reasons.push(r),
  });
  return { stream, reasons };
}

test('an unfinished token past maxTokenBytes: the rest passes through, every byte of it', async () => {
  for (const opener of ['<a title="', '<!--', '<a ', '<!DOCTYPE ', "<a href=/x title='"]) {
    const input = `${LINK}${opener}${'x'.repeat(300 * KB)}`;
    const { stream, reasons } = rewriter({ maxTokenBytes: 64 * KB });
    const out = (await throughInChunks(stream, Buffer.from(input), 4096)).toString('latin1');
    assert.deepEqual(reasons, ['token'], opener);
    assert.equal(out, input.replace(LINK, REWRITTEN), opener);
  }
});

test('a long run of text is not a token: it streams out before the body ends, and nothing stops', async () => {
  const { stream, reasons } = rewriter({ maxTokenBytes: 64 * KB });
  let out = 0;
  stream.on('data', (c: Buffer) => (out += c.length));
  for (let i = 0; i < 64; i++)
    if (!stream.write(Buffer.from('x'.repeat(16 * KB)))) await once(stream, 'drain');
  await new Promise(setImmediate);
  assert.ok(out > 900 * KB, `text came out as it went in (${out} of ${1024 * KB} bytes)`);
  stream.end(LINK);
  await once(stream, 'end');
  assert.deepEqual(reasons, [], 'text has no limit but the body’s');
});

test('a token fed a byte at a time stops on the work it costs, long before maxTokenBytes', async () => {
  const input = `${LINK}<a title="${'x'.repeat(160 * KB)}">`;
  const { stream, reasons } = rewriter({ maxTokenBytes: 1024 * KB });
  const out = (await throughInChunks(stream, Buffer.from(input), 1)).toString('latin1');
  assert.deepEqual(reasons, ['work']);
  assert.equal(out, input.replace(LINK, REWRITTEN));
});

test('nested <svg>/<math> past 64 levels: the rest passes through', async () => {
  const input = `${LINK}${'<svg>'.repeat(40)}${'<math><mi>'.repeat(40)}<a href="/late">late</a>`;
  const { stream, reasons } = rewriter({});
  const out = (await throughInChunks(stream, Buffer.from(input), 100)).toString('latin1');
  assert.deepEqual(reasons, ['nesting']);
  assert.equal(out, input.replace(LINK, REWRITTEN), 'the link after the limit is left as it was');
});

test('past maxBodyBytes (decoded) the rest of the body passes through unrewritten', async () => {
  const filler = `<p>${'text '.repeat(40 * KB)}</p>`;
  const input = `${LINK}${filler}<a href="/late">late</a>`;
  const { stream, reasons } = rewriter({ maxBodyBytes: 64 * KB });
  const out = (await throughInChunks(stream, Buffer.from(input), 16 * KB)).toString('latin1');
  assert.deepEqual(reasons, ['body']);
  assert.equal(out, input.replace(LINK, REWRITTEN));
});

test('compressed past maxBodyBytes: a page that inflates like HTML still arrives whole', async () => {
  const rows = Array.from({ length: 20_000 }, (_, i) => `<tr><td>${(i * 7919) % 100_003}</td></tr>`).join('');
  const input = `${LINK}${rows}<a href="/late">late</a>`;
  const { stream, reasons } = rewriter({ maxBodyBytes: 64 * KB }, 'gzip');
  const out = await throughInChunks(stream, zlib.gzipSync(input), 4 * KB);
  assert.deepEqual(reasons, ['body']);
  assert.equal(zlib.gunzipSync(out).toString(), input.replace(LINK, REWRITTEN));
});

test('a decompression bomb is cut once it inflates past maxBodyBytes at more than 100:1', async () => {
  for (const [coding, encode] of [
    ['gzip', zlib.gzipSync],
    ['br', zlib.brotliCompressSync],
    ['deflate', zlib.deflateSync],
  ] as const) {
    const bomb = encode(Buffer.from(`${LINK}<p>${'a'.repeat(32 * 1024 * KB)}</p>`));
    const { stream, reasons } = rewriter({ maxBodyBytes: 256 * KB }, coding);
    const out: Buffer[] = [];
    stream.on('data', (c: Buffer) => out.push(c));
    const failed = once(stream, 'error');
    stream.end(bomb);
    const [error] = (await failed) as [Error];
    assert.ok(error instanceof InflateLimitError, `${coding}: ${error.message}`);
    assert.equal(reasons.at(-1), 'inflate', coding);
    // No more than 100 inflated bytes per byte received once past the limit (plus a zlib chunk).
    const bound = Math.max(256 * KB, 100 * bomb.length) + 64 * KB;
    const inflated = inflate(coding, Buffer.concat(out));
    assert.ok(inflated.length <= bound, `${coding}: ${inflated.length} bytes went out, not 32 MB`);
  }
});

function inflate(coding: string, body: Buffer): Buffer {
  const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  if (coding === 'br')
    return zlib.brotliDecompressSync(body, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
  return coding === 'gzip' ? zlib.gunzipSync(body, options) : zlib.inflateSync(body, options);
}

test('a srcset of a hundred thousand candidates is rewritten, each once', async () => {
  const candidates = Array.from({ length: 100_000 }, (_, i) => `/i/${i}.png ${i + 1}w`);
  const input = `<img srcset="${candidates.join(', ')}">`;
  const { stream, reasons } = rewriter({ maxTokenBytes: 4 * 1024 * KB });
  const out = (await throughInChunks(stream, Buffer.from(input), 64 * KB)).toString('latin1');
  assert.deepEqual(reasons, []);
  assert.equal(out, `<img srcset="${candidates.map((c) => P + c).join(', ')}">`);
});

test('a body declared larger than maxBodyBytes is not decoded at all: headers and bytes as sent', () => {
  const seam = createResponseRewriter({ rewriteHTML: true, rewrite: { maxBodyBytes: 64 * KB } }, options);
  const req = { method: 'GET', url: `${P}/`, proxyPath: { prefix: P } };
  const headers = { 'content-type': 'text/html', 'content-length': String(65 * KB), etag: '"e"' };
  assert.deepEqual(seam.headers(headers, req, 200), headers);
  const small = { ...headers, 'content-length': String(63 * KB) };
  assert.deepEqual(seam.headers(small, req, 200), { 'content-type': 'text/html', etag: 'W/"e"' });
});
