import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBodyRewriter } from '../../../src/proxy/rewrite/index.js';
import { PREFIX as P, ctx, rewriteHTML, throughInChunks } from './support.js';

test('every URL attribute of the apiserver table gets the prefix', async () => {
  const table: [string, string][] = [
    ['a', 'href'],
    ['area', 'href'],
    ['base', 'href'],
    ['link', 'href'],
    ['img', 'src'],
    ['img', 'longdesc'],
    ['img', 'usemap'],
    ['script', 'src'],
    ['audio', 'src'],
    ['embed', 'src'],
    ['source', 'src'],
    ['form', 'action'],
    ['iframe', 'src'],
    ['iframe', 'longdesc'],
    ['frame', 'src'],
    ['frame', 'longdesc'],
    ['button', 'formaction'],
    ['input', 'formaction'],
    ['input', 'src'],
    ['input', 'usemap'],
    ['object', 'data'],
    ['object', 'classid'],
    ['object', 'codebase'],
    ['object', 'usemap'],
    ['video', 'poster'],
    ['video', 'src'],
    ['blockquote', 'cite'],
    ['del', 'cite'],
    ['ins', 'cite'],
    ['q', 'cite'],
    ['body', 'background'],
    ['head', 'profile'],
    ['html', 'manifest'],
    ['command', 'icon'],
    ['applet', 'codebase'],
  ];
  for (const [tag, attr] of table) {
    const out = await rewriteHTML(`<div><${tag} ${attr}="/res/${tag}-${attr}"></div>`);
    assert.ok(out.includes(`${attr}="${P}/res/${tag}-${attr}"`), `${tag} ${attr}: ${out}`);
  }
});

test('attributes outside the table, and tags outside it, are left alone', async () => {
  const html = '<div data-href="/x" title="/y"><span src="/z">t</span><a id="/k" href="/ok">o</a></div>';
  assert.equal(
    await rewriteHTML(html),
    `<div data-href="/x" title="/y"><span src="/z">t</span><a id="/k" href="${P}/ok">o</a></div>`,
  );
});

test('only the rewritten value changes: case, quoting and the other attributes stay as sent', async () => {
  const html = `<!DOCTYPE html>\r\n<LINK REL=stylesheet  Media='screen'\r\n HREF='/app.css'><IMG SRC=/logo.png ALT=Logo data-x = "1">`;
  assert.equal(
    await rewriteHTML(html),
    `<!DOCTYPE html>\r\n<LINK REL=stylesheet  Media='screen'\r\n HREF='${P}/app.css'><IMG SRC="${P}/logo.png" ALT=Logo data-x = "1">`,
  );
});

test('script, style, comments and textarea content are never touched', async () => {
  const html = [
    `<script>document.write('<a href="/no">'); fetch("/api");</script>`,
    `<style>body { background: url(/no.png) } /* <a href="/no"> */</style>`,
    `<!-- <a href="/no"> -->`,
    `<textarea name=t><a href="/no"></textarea>`,
    `<title><a href="/no"></title>`,
    `<a href="/yes">`,
  ].join('\n');
  const expected = html.replace('href="/yes"', `href="${P}/yes"`);
  assert.equal(await rewriteHTML(html), expected);
});

test('links that are not root-relative or same-origin stay exactly as written', async () => {
  const kept = [
    'next.html',
    './a',
    '../b',
    '#top',
    '?page=2',
    'mailto:a@b.c',
    'tel:+1',
    'javascript:void(0)',
    'data:image/png;base64,AAAA',
    '//cdn.example.com/lib.js',
    'https://example.org/x',
    'http://10.0.0.7:9999/x',
    '',
  ];
  for (const href of kept) {
    const html = `<a href="${href}">x</a>`;
    assert.equal(await rewriteHTML(html), html, href);
  }
});

test('same-origin absolute links become path-only under the prefix', async () => {
  const html =
    '<a href="http://10.0.0.7:8080/a">1</a><a href="https://bastion.example.com/b?c#d">2</a><a href="//10.0.0.7:8080/e">3</a>';
  assert.equal(
    await rewriteHTML(html),
    `<a href="${P}/a">1</a><a href="${P}/b?c#d">2</a><a href="${P}/e">3</a>`,
  );
});

test('an app that already knows its prefix does not get it twice', async () => {
  const html = `<a href="${P}/x">1</a><a href="${P}">2</a><link href="http://bastion.example.com${P}/s.css"><a href="${P}-lookalike/">3</a>`;
  assert.equal(
    await rewriteHTML(html),
    `<a href="${P}/x">1</a><a href="${P}">2</a><link href="${P}/s.css"><a href="${P}${P}-lookalike/">3</a>`,
  );
});

test('srcset candidates are rewritten one by one, descriptors and foreign URLs kept', async () => {
  const cases: [string, string][] = [
    ['/a.png 1x, /b.png 2x', `${P}/a.png 1x, ${P}/b.png 2x`],
    ['/a.png', `${P}/a.png`],
    // As the HTML standard parses it: a comma inside a URL does not split it.
    ['/a.png,/b.png 2x', `${P}/a.png,/b.png 2x`],
    ['/a.png, /b.png 2x', `${P}/a.png, ${P}/b.png 2x`],
    ['  /a.png   480w ,\n /b.png 800w', `  ${P}/a.png   480w ,\n ${P}/b.png 800w`],
    ['https://cdn.example/a.png 1x, /b.png 2x', `https://cdn.example/a.png 1x, ${P}/b.png 2x`],
    ['small.png 1x, /img?x=1,2 2x', `small.png 1x, ${P}/img?x=1,2 2x`],
    [`${P}/a.png 1x, http://10.0.0.7:8080/b.png 2x`, `${P}/a.png 1x, ${P}/b.png 2x`],
  ];
  for (const [srcset, expected] of cases) {
    assert.equal(await rewriteHTML(`<img srcset="${srcset}">`), `<img srcset="${expected}">`, srcset);
    assert.equal(
      await rewriteHTML(`<picture><source srcset="${srcset}"></picture>`),
      `<picture><source srcset="${expected}"></picture>`,
    );
  }
  assert.equal(
    await rewriteHTML('<link rel=preload as=image imagesrcset="/a.png 1x">'),
    `<link rel=preload as=image imagesrcset="${P}/a.png 1x">`,
  );
});

test('character references in values survive and are understood', async () => {
  const cases: [string, string][] = [
    ['<a href="/q?a=1&amp;b=2">', `<a href="${P}/q?a=1&amp;b=2">`],
    ['<a href="&#47;x">', `<a href="${P}&#47;x">`], // decodes to /x, so it is root-relative
    ['<a href="http&#58;//10.0.0.7:8080/y?a&amp;b">', `<a href="${P}/y?a&amp;b">`],
    ['<a href=\'/say "hi"\'>', `<a href='${P}/say "hi"'>`],
    ['<a href=/x title="caf&eacute;">', `<a href="${P}/x" title="caf&eacute;">`],
    ['<a href="http&#58;//10.0.0.7:8080/caf&eacute;">', `<a href="${P}/caf&#233;">`],
  ];
  for (const [html, expected] of cases) assert.equal(await rewriteHTML(html), expected, html);
});

test('multi-byte UTF-8 split across 7-byte chunks comes out byte for byte', async () => {
  const html =
    '<p>日本語のテキスト — ünïcødé 😀</p><a href="/страница/😀?q=é">ссылка</a><img alt="🎉" src="/ü.png">';
  const expected = html.replace('href="/', `href="${P}/`).replace('src="/', `src="${P}/`);
  assert.deepEqual(Buffer.from(await rewriteHTML(html)), Buffer.from(expected));
});

test('bytes that are not UTF-8 (a latin1 page, stray bytes) pass through unchanged', async () => {
  const latin1 = Buffer.concat([
    Buffer.from('<p>'),
    Buffer.from([0xe9, 0xe8, 0xff, 0x80, 0xc3]), // invalid as UTF-8
    Buffer.from('</p><a href="/caf'),
    Buffer.from([0xe9]),
    Buffer.from('">x</a>'),
  ]);
  const bytes = await throughInChunks(createBodyRewriter(undefined, ctx), latin1);
  const expected = Buffer.concat([
    latin1.subarray(0, latin1.indexOf('href="') + 6),
    Buffer.from(P),
    latin1.subarray(latin1.indexOf('href="') + 6),
  ]);
  assert.deepEqual(bytes, expected);
});

test('malformed HTML never throws and keeps every byte', async () => {
  const cases: [string, string][] = [
    ['<a href="/x" <b>text', `<a href="${P}/x" <b>text`],
    ['<p>unclosed <div><a href=/y>', `<p>unclosed <div><a href="${P}/y">`],
    ['stray < and > and </> and <<a href="/z">>', `stray < and > and </> and <<a href="${P}/z">>`],
    ['<a href>no value</a><a href="">empty</a>', '<a href>no value</a><a href="">empty</a>'],
    ['<a href="/first" href="/second">', `<a href="${P}/first" href="/second">`],
    ['<a href="/n\u0000ul">', `<a href="${P}/n\u0000ul">`],
    ['<a\u0000 href="/x">', '<a\u0000 href="/x">'], // that tag is named "a\ufffd", not "a"
    ['</a href="/end-tag-attr">', '</a href="/end-tag-attr">'],
    ['<a href="/cut', '<a href="/cut'],
    ['<!-- never closed <a href="/x">', '<!-- never closed <a href="/x">'],
    ['<script>never closed <a href="/x">', '<script>never closed <a href="/x">'],
    ['<svg><a href="/svg-link"/></svg>', `<svg><a href="${P}/svg-link"/></svg>`],
    ['', ''],
  ];
  for (const [html, expected] of cases) assert.equal(await rewriteHTML(html), expected, JSON.stringify(html));
});

test('a page with nothing to rewrite comes back identical, whatever it contains', async () => {
  const noise = Buffer.alloc(64 * 1024);
  let seed = 42;
  for (let i = 0; i < noise.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    noise[i] = seed & 0xff;
  }
  assert.deepEqual(await throughInChunks(createBodyRewriter(undefined, ctx), noise, 1000), noise);
});
