import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createResponseRewriter,
  rewriteResponseHeaders,
  shouldRewriteBody,
} from '../../../src/proxy/rewrite/index.js';
import { guardSetCookies } from '../../../src/proxy/rewrite/cookie-guard.js';
import { headersToRewrite } from '../../../src/proxy/rewrite/headers.js';
import { rewriteLocationHeaders } from '../../../src/proxy/rewrite/index.js';
import { PREFIX as P, ctx, options } from './support.js';

test('only full text/html bodies in a coding we can undo are rewritten', () => {
  const html = { 'content-type': 'text/html; charset=utf-8' };
  const cases: [string, number, string, Record<string, string | string[]>, boolean][] = [
    ['plain HTML', 200, 'GET', html, true],
    ['no parameters', 200, 'GET', { 'content-type': 'text/html' }, true],
    ['media type is case-insensitive', 200, 'GET', { 'content-type': 'Text/HTML;charset=UTF-8' }, true],
    ['gzip', 200, 'GET', { ...html, 'content-encoding': 'gzip' }, true],
    ['deflate', 200, 'GET', { ...html, 'content-encoding': 'deflate' }, true],
    ['br (the apiserver empties these)', 200, 'GET', { ...html, 'content-encoding': 'br' }, true],
    ['identity', 200, 'GET', { ...html, 'content-encoding': 'identity' }, true],
    ['error pages too', 404, 'GET', html, true],
    ['a redirect with a body', 302, 'POST', html, true],
    ['latin1 is ASCII-compatible', 200, 'GET', { 'content-type': 'text/html; charset=ISO-8859-1' }, true],
    ['zstd cannot be decoded here', 200, 'GET', { ...html, 'content-encoding': 'zstd' }, false],
    ['stacked codings', 200, 'GET', { ...html, 'content-encoding': 'gzip, br' }, false],
    ['UTF-16 is not ASCII-compatible', 200, 'GET', { 'content-type': 'text/html; charset=utf-16le' }, false],
    ['XHTML is XML', 200, 'GET', { 'content-type': 'application/xhtml+xml' }, false],
    ['JSON', 200, 'GET', { 'content-type': 'application/json' }, false],
    ['CSS', 200, 'GET', { 'content-type': 'text/css' }, false],
    ['JavaScript', 200, 'GET', { 'content-type': 'text/javascript' }, false],
    ['text/htmlx is not text/html', 200, 'GET', { 'content-type': 'text/htmlx' }, false],
    ['no content type', 200, 'GET', {}, false],
    ['HEAD has no body', 200, 'HEAD', html, false],
    ['204 has no body', 204, 'GET', html, false],
    ['304 has no body', 304, 'GET', html, false],
    ['206 is only part of the page', 206, 'GET', html, false],
    ['a Content-Range marks a part', 200, 'GET', { ...html, 'content-range': 'bytes 0-9/100' }, false],
  ];
  for (const [why, status, method, headers, expected] of cases) {
    assert.equal(shouldRewriteBody(status, method, headers), expected, why);
  }
});

test('a rewritten body loses its length, range support and strong ETag, and keeps its coding', () => {
  const out = rewriteResponseHeaders(
    {
      'content-type': 'text/html',
      'content-encoding': 'gzip',
      'content-length': '1234',
      'accept-ranges': 'bytes',
      'content-md5': 'abc',
      etag: '"v1"',
      'cache-control': 'max-age=60',
    },
    ctx,
    true,
  );
  assert.deepEqual(out, {
    'content-type': 'text/html',
    'content-encoding': 'gzip',
    etag: 'W/"v1"',
    'cache-control': 'max-age=60',
  });
  assert.equal(rewriteResponseHeaders({ etag: 'W/"v1"' }, ctx, true).etag, 'W/"v1"');
});

test('a body passed through keeps its length and ETag; URLs in headers are rewritten either way', () => {
  const input = {
    'content-length': '10',
    etag: '"v1"',
    location: '/login?next=%2F',
    'content-location': 'http://10.0.0.7:8080/doc',
    'set-cookie': ['a=1; Path=/', 'b=2'],
    link: '</style.css>; rel=preload',
  };
  const out = rewriteResponseHeaders(input, ctx, false);
  assert.deepEqual(out, {
    'content-length': '10',
    etag: '"v1"',
    location: `${P}/login?next=%2F`,
    'content-location': `${P}/doc`,
    'set-cookie': [`a=1; Path=${P}`, `b=2; Path=${P}`],
    link: '</style.css>; rel=preload',
  });
  assert.equal(input.location, '/login?next=%2F', 'the input is not modified');
});

test('the forwarder seam decides headers and body alike, and leaves host routing alone', () => {
  const rewriter = createResponseRewriter({ rewriteHTML: true }, options);
  const req = {
    method: 'GET',
    url: `${P}/`,
    proxyPath: { prefix: P },
    endpoint: { ip: '10.0.0.7', port: 8080 },
    host: 'bastion.example.com',
  };
  const html = {
    'content-type': 'text/html',
    'content-length': '5',
    location: 'http://bastion.example.com/x',
  };
  assert.deepEqual(rewriter.headers(html, req, 200), { 'content-type': 'text/html', location: `${P}/x` });
  assert.deepEqual(rewriter.headers(html, { ...req, method: 'HEAD' }, 200), {
    'content-type': 'text/html',
    'content-length': '5',
    location: `${P}/x`,
  });
  const hostRouted = { method: 'GET', url: '/', endpoint: req.endpoint };
  assert.deepEqual(rewriter.headers(html, hostRouted, 200), html);
});

test('a head headersToRewrite passes over is one the header rewriting and the cookie guard would leave as it is', () => {
  // The rewriter skips both for such a head (response-rewriter.ts): were a header rewritten that the check
  // does not name, that response would go out unrewritten. Every header any of them reads, and others.
  const heads: Record<string, string | string[]>[] = [
    {},
    { 'content-type': 'text/html', etag: '"v1"', 'content-length': '10', 'accept-ranges': 'bytes' },
    {
      link: '</style.css>; rel=preload',
      refresh: '0; url=/next',
      'content-security-policy': "default-src 'self'",
    },
    { location: '/next' },
    { 'content-location': '/page' },
    { 'set-cookie': ['a=1; Path=/'] },
    { 'set-cookie': ['kube_bastion=planted; Path=/'] },
    { 'service-worker-allowed': '/', 'strict-transport-security': 'max-age=1' },
  ];
  const guard = { form: 'path' as const, host: 'gw.example', isGatewayCookie: options.isGatewayCookie };
  let rewritten = 0;
  for (const head of heads) {
    const changed =
      JSON.stringify(rewriteResponseHeaders(head, ctx, false)) !== JSON.stringify(head) ||
      JSON.stringify(rewriteLocationHeaders(head, ctx)) !== JSON.stringify(head) ||
      JSON.stringify(guardSetCookies(head, guard, () => undefined)) !== JSON.stringify(head);
    if (!headersToRewrite(head, false)) assert.equal(changed, false, JSON.stringify(head));
    if (changed) rewritten++;
  }
  assert.ok(rewritten >= 3, 'the heads exercise the rewriting');
  // A rewritten body changes the byte-exact headers whatever else the head holds.
  assert.equal(headersToRewrite({ etag: '"v1"' }, true), true);
});
