import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { createBodyRewriter, UnsupportedContentEncodingError } from '../../../src/proxy/rewrite/index.js';
import { PREFIX as P, ctx, throughInChunks } from './support.js';

const page = (n: number) =>
  `<!doctype html><html><head><link rel=stylesheet href="/app.css"></head><body>` +
  Array.from({ length: n }, (_, i) => `<p>Zeile ${i} — grüße <a href="/item/${i}">item ${i}</a></p>\n`).join(
    '',
  ) +
  `</body></html>`;
const rewritten = (html: string) => html.replaceAll('href="/', `href="${P}/`);

const codecs: Record<string, { encode: (b: Buffer) => Buffer; decode: (b: Buffer) => Buffer }> = {
  gzip: { encode: (b) => zlib.gzipSync(b), decode: (b) => zlib.gunzipSync(b) },
  'x-gzip': { encode: (b) => zlib.gzipSync(b), decode: (b) => zlib.gunzipSync(b) },
  deflate: { encode: (b) => zlib.deflateSync(b), decode: (b) => zlib.inflateSync(b) },
  br: { encode: (b) => zlib.brotliCompressSync(b), decode: (b) => zlib.brotliDecompressSync(b) },
};

for (const [encoding, codec] of Object.entries(codecs)) {
  test(`a ${encoding} page is decoded, rewritten and sent back ${encoding}-encoded`, async () => {
    const html = page(300);
    const out = await throughInChunks(createBodyRewriter(encoding, ctx), codec.encode(Buffer.from(html)), 7);
    assert.equal(codec.decode(out).toString(), rewritten(html));
  });
}

test('raw deflate (what the apiserver reads, and some servers send) is accepted and answered as RFC deflate', async () => {
  const html = page(50);
  const out = await throughInChunks(
    createBodyRewriter('deflate', ctx),
    zlib.deflateRawSync(Buffer.from(html)),
    1,
  );
  assert.equal(zlib.inflateSync(out).toString(), rewritten(html));
});

test('an empty body stays empty, whatever its coding says', async () => {
  for (const encoding of ['gzip', 'deflate', 'br', undefined]) {
    const out = await throughInChunks(createBodyRewriter(encoding, ctx), Buffer.alloc(0));
    assert.equal(out.length, 0, String(encoding));
  }
});

test('a corrupt gzip body fails the stream instead of sending garbage', async () => {
  const rewriter = createBodyRewriter('gzip', ctx);
  rewriter.resume();
  const failed = once(rewriter, 'error');
  rewriter.end(Buffer.from('this is not gzip at all'));
  const [error] = (await failed) as [NodeJS.ErrnoException];
  assert.equal(error.code, 'Z_DATA_ERROR');
});

test('a gzip body cut short fails the stream rather than looking complete', async () => {
  const rewriter = createBodyRewriter('gzip', ctx);
  rewriter.resume();
  const failed = once(rewriter, 'error');
  const whole = zlib.gzipSync(Buffer.from(page(100)));
  rewriter.end(whole.subarray(0, whole.length - 20));
  await failed;
});

test('codings it cannot decode are refused up front', () => {
  assert.throws(() => createBodyRewriter('zstd', ctx), UnsupportedContentEncodingError);
  assert.throws(() => createBodyRewriter('gzip, br', ctx), UnsupportedContentEncodingError);
});

test('a page the upstream streams slowly reaches the client gzip-encoded before it ends', async () => {
  const rewriter = createBodyRewriter('gzip', ctx);
  const upstream = zlib.createGzip();
  upstream.pipe(rewriter);
  // What the client's browser does: gunzip what arrives, as it arrives.
  const decoder = zlib.createGunzip();
  rewriter.on('data', (c: Buffer) => decoder.write(c));
  let text = '';
  const firstLink = new Promise<void>((resolve) =>
    decoder.on('data', (c: Buffer) => {
      text += c.toString();
      if (text.includes('</a>')) resolve();
    }),
  );
  // The upstream flushes its first part, then keeps the response open.
  upstream.write('<html><body><a href="/first">first</a>');
  upstream.flush();
  await firstLink; // never, if the rewriter waited for the end (the test timeout says so)
  assert.ok(text.includes(`<a href="${P}/first">first</a>`), `got so far: ${JSON.stringify(text)}`);
  upstream.end('</body></html>');
  await once(rewriter, 'end');
});
