import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { createBodyRewriter } from '../../../src/proxy/rewrite/index.js';
import { PREFIX as P, ctx } from './support.js';

const MB = 1024 * 1024;
const LINK = `href="${P}/detail"`;

/** A 5 MB page of table rows, each with a link and some incompressible text. */
function bigPage(): Buffer {
  const rows: string[] = ['<!doctype html><html><body><table>\n'];
  let size = 0;
  for (let i = 0; size < 5 * MB; i++) {
    const row = `<tr><td>${i} ${randomBytes(24).toString('base64')} — ü</td><td><a href="/detail">d</a></td></tr>\n`;
    rows.push(row);
    size += Buffer.byteLength(row);
  }
  rows.push('</table></body></html>');
  return Buffer.from(rows.join(''));
}

/** `body` handed out 64 KiB at a time, only as fast as the consumer pulls, counting what was pulled. */
function upstream(body: Buffer) {
  const counter = { pulled: 0 };
  function* pieces() {
    for (let i = 0; i < body.length; i += 65536) {
      const piece = body.subarray(i, i + 65536);
      counter.pulled += piece.length;
      yield piece;
    }
  }
  return { stream: Readable.from(pieces(), { objectMode: false }), counter };
}

const countLinks = (html: string) => html.split('href="/detail"').length - 1;

/**
 * Resolves once the rewriter pushes back on its source: its output is unread and full, so its
 * input buffer is full too (write() said "wait for drain") and the pipe has paused the upstream.
 * From then on nothing more is pulled until someone reads.
 */
async function untilHeldBack(rewriter: Writable): Promise<void> {
  while (!rewriter.writableNeedDrain) await new Promise((r) => setImmediate(r));
}

test('a 5 MB page starts coming out long before it has all gone in', async () => {
  const page = bigPage();
  const { stream, counter } = upstream(page);
  const rewriter = createBodyRewriter(undefined, ctx);
  stream.pipe(rewriter);
  let pulledAtFirstOutput = -1;
  const out: Buffer[] = [];
  rewriter.on('data', (c: Buffer) => {
    if (pulledAtFirstOutput === -1) pulledAtFirstOutput = counter.pulled;
    out.push(c);
  });
  await once(rewriter, 'end');
  assert.ok(pulledAtFirstOutput <= 256 * 1024, `first output only after ${pulledAtFirstOutput} bytes in`);
  const text = Buffer.concat(out).toString();
  assert.equal(text.split(LINK).length - 1, countLinks(page.toString()));
  assert.equal(text.length, page.toString().length + countLinks(page.toString()) * P.length);
});

test('a client that does not read holds the upstream back: the page is never held in memory whole', async () => {
  const { stream, counter } = upstream(bigPage());
  const rewriter = createBodyRewriter(undefined, ctx);
  stream.pipe(rewriter);
  await untilHeldBack(rewriter); // nobody reads the output
  assert.ok(counter.pulled < 1 * MB, `pulled ${counter.pulled} bytes with no reader`);
  rewriter.resume();
  await once(rewriter, 'end');
  assert.ok(counter.pulled > 5 * MB);
});

test('the same holds for a gzip page: decoding stops when the client stops reading', async () => {
  const page = bigPage();
  const compressed = zlib.gzipSync(page);
  assert.ok(compressed.length > 1.5 * MB); // the random text keeps it large
  const { stream, counter } = upstream(compressed);
  const rewriter = createBodyRewriter('gzip', ctx);
  stream.pipe(rewriter);
  await untilHeldBack(rewriter);
  assert.ok(counter.pulled < 1 * MB, `pulled ${counter.pulled} gzip bytes with no reader`);
  const gunzip = zlib.createGunzip();
  rewriter.pipe(gunzip);
  const out: Buffer[] = [];
  gunzip.on('data', (c: Buffer) => out.push(c));
  await once(gunzip, 'end');
  assert.equal(Buffer.concat(out).toString().split(LINK).length - 1, countLinks(page.toString()));
});
