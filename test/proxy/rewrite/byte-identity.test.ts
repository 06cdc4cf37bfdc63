/**
 * The rewriter changes link values and nothing else: markup without links
 * comes out byte for byte, whatever it is, however it is chunked and wherever
 * a limit stops the rewriting — including source no parse5 token covers —
 * and links differ by the prefix alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBodyRewriter } from '../../../src/proxy/rewrite/index.js';
import { ctx, rewriteHTML, throughInChunks } from './support.js';

test('source that no token covers is copied: an empty CDATA section in SVG', async () => {
  for (const html of ['<svg><![CDATA[]]></svg><a href="/x">', '<math><![CDATA[]]><![CDATA[a]]></math>'])
    assert.equal(await rewriteHTML(html), html.replace('"/x"', `"${ctx.prefix}/x"`));
});

// A small deterministic generator (no wall clock, no Math.random): the same cases every run.
function generator(seed: number) {
  return (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
}

const PIECES = [
  '<p>',
  '</p>',
  '<!--',
  '-->',
  '<a title="',
  '"',
  "'",
  '>',
  '<',
  ' ',
  '\n',
  '\r\n',
  'x'.repeat(50),
  'y'.repeat(3000),
  '<svg>',
  '</svg>',
  '<math>',
  '<mi>',
  '<![CDATA[',
  ']]>',
  '<script>',
  '</script>',
  '<textarea>',
  '<style>',
  '</style>',
  '<pre>',
  '&amp;',
  '&',
  '\u00e9',
  '<!DOCTYPE html>',
  '<img alt=',
  '=',
  '/',
];

test('random link-free markup, random chunks, tight limits: byte for byte', async () => {
  const rnd = generator(12345);
  for (let i = 0; i < 600; i++) {
    let html = '';
    for (let n = 1 + rnd(200); n > 0; n--) html += PIECES[rnd(PIECES.length)];
    const limits = { maxBodyBytes: 1024 + rnd(20_000), maxTokenBytes: 1024 + rnd(8000) };
    const chunk = 1 + rnd(rnd(2) ? 10 : 5000);
    const input = Buffer.from(html, 'latin1');
    const out = await throughInChunks(createBodyRewriter(undefined, ctx, { limits }), input, chunk);
    assert.ok(out.equals(input), `case ${i}: ${chunk}-byte chunks, ${JSON.stringify(limits)}`);
  }
});

test('random markup with links: undo the prefix and the input is back, byte for byte', async () => {
  const rnd = generator(777);
  const links = [
    '<a href="/l">',
    '<img src="/i.png">',
    '<img srcset="/a.png 1x, /b.png 2x">',
    '<form action="/f">',
  ];
  for (let i = 0; i < 300; i++) {
    let html = '';
    for (let n = 1 + rnd(200); n > 0; n--)
      html += rnd(4) ? PIECES[rnd(PIECES.length)] : links[rnd(links.length)];
    const limits = { maxBodyBytes: 1024 + rnd(20_000), maxTokenBytes: 1024 + rnd(8000) };
    const chunk = 1 + rnd(rnd(2) ? 10 : 5000);
    const out = await throughInChunks(
      createBodyRewriter(undefined, ctx, { limits }),
      Buffer.from(html, 'latin1'),
      chunk,
    );
    assert.equal(out.toString('latin1').replaceAll(`${ctx.prefix}/`, '/'), html, `case ${i}`);
  }
});
