import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createResponseRewriter, createRewritePolicy } from '../../../src/proxy/rewrite/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { PREFIX as P, options } from './support.js';

test('rewriteHTML: false turns body rewriting off everywhere', () => {
  const allowed = createRewritePolicy({ rewriteHTML: false, rewriteHTMLExclude: [] });
  assert.equal(allowed(`${P}/`), false);
});

test('rewriteHTMLExclude switches it off for matching request paths only, ignoring the query', () => {
  const allowed = createRewritePolicy({
    rewriteHTML: true,
    rewriteHTMLExclude: ['/api/v1/namespaces/monitoring/services/grafana*/proxy/**', '**/proxy/raw/*.html'],
  });
  assert.equal(allowed('/api/v1/namespaces/monitoring/services/grafana:http/proxy/d/abc?orgId=1'), false);
  assert.equal(allowed('/api/v1/namespaces/monitoring/services/grafana/proxy/'), false);
  assert.equal(allowed('/api/v1/namespaces/ns/services/web/proxy/raw/page.html?x=/y'), false);
  assert.equal(allowed('/api/v1/namespaces/ns/services/web/proxy/raw/deeper/page.html'), true);
  assert.equal(allowed('/api/v1/namespaces/monitoring/services/prometheus/proxy/graph'), true);
});

test('the config schema carries both switches with their defaults', () => {
  const config = configSchema.parse({});
  assert.equal(config.upstream.rewriteHTML, true);
  assert.deepEqual(config.upstream.rewriteHTMLExclude, []);
  const bad = configSchema.safeParse({ upstream: { rewriteHTMLExclude: [''] } });
  assert.equal(bad.success, false);
});

test('with HTML rewriting off, Location and Set-Cookie are still rewritten but the body is not', () => {
  const rewriter = createResponseRewriter({ rewriteHTML: false }, options);
  const req = {
    method: 'GET',
    url: `${P}/`,
    proxyPath: { prefix: P },
    endpoint: { ip: '10.0.0.7', port: 8080 },
  };
  const headers = {
    'content-type': 'text/html',
    'content-length': '5',
    location: '/x',
    'set-cookie': ['a=1; Path=/'],
  };
  assert.deepEqual(rewriter.headers(headers, req, 302), {
    'content-type': 'text/html',
    'content-length': '5',
    location: `${P}/x`,
    'set-cookie': [`a=1; Path=${P}`],
  });
});
