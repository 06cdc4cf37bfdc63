/**
 * A real upstream app and a minimal gateway that forwards the path form to it
 * and pipes the answer through the response rewriter — the same two calls the
 * forwarder makes — then what a client (and a real browser) gets.
 */
import { launchChromium } from '../../support/chromium.js';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import zlib from 'node:zlib';
import { createResponseRewriter } from '../../../src/proxy/rewrite/index.js';
import { options } from './support.js';

const P = '/api/v1/namespaces/team-a/services/web:http/proxy';

const PAGE = `<!doctype html><html><head><title>app</title>
<link rel="stylesheet" href="/app.css"></head>
<body><h1>Dashboard — ünïcødé</h1>
<img id="logo" srcset="/logo.svg 1x" alt="logo">
<a id="next" href="/next?tab=1">next</a> <a id="ext" href="https://example.org/">ext</a>
<form id="f" action="/search"><input name="q"></form>
<script>document.title = 'app ' + location.pathname;</script>
</body></html>`;
const CSS = 'h1 { color: rgb(1, 2, 3); }';
const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10"/></svg>';
const JSON_BODY = JSON.stringify({ links: ['/a', 'http://x/'], html: '<a href="/b">' });

let upstream: http.Server;
let gateway: http.Server;
let upstreamHost = '';
let base = '';

function startUpstream(): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    const send = (type: string, body: string | Buffer, headers: http.OutgoingHttpHeaders = {}) => {
      res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
      res.end(body);
    };
    switch (url.pathname) {
      case '/':
      case '/next':
        return send('text/html; charset=utf-8', zlib.gzipSync(PAGE), {
          'content-encoding': 'gzip',
          etag: '"p1"',
        });
      case '/plain':
        return send('text/html', PAGE, { etag: '"p1"' });
      case '/br':
        return send('text/html', zlib.brotliCompressSync(PAGE), { 'content-encoding': 'br' });
      case '/deflate':
        return send('text/html', zlib.deflateSync(PAGE), { 'content-encoding': 'deflate' });
      case '/app.css':
        return send('text/css', CSS);
      case '/logo.svg':
        return send('image/svg+xml', SVG);
      case '/data.json':
        return send('application/json', JSON_BODY, { etag: '"j1"' });
      case '/login':
        res.writeHead(302, {
          location: '/signin?next=%2F',
          'set-cookie': ['sid=1; Path=/; HttpOnly', 'theme=dark'],
        });
        return res.end();
      case '/self':
        res.writeHead(301, { location: `http://${upstreamHost}/moved` });
        return res.end();
      case '/away':
        res.writeHead(302, { location: 'https://idp.example.com/authorize?x=1' });
        return res.end();
      case '/slow':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        return streamSlowly(res);
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found');
    }
  });
}

/** A page whose second half the upstream sends only once the client has seen the first half. */
function streamSlowly(res: http.ServerResponse) {
  const gzip = zlib.createGzip();
  gzip.pipe(res);
  gzip.write('<html><body><a href="/first">first</a>');
  gzip.flush();
  slowRelease = () => gzip.end('<a href="/second">second</a></body></html>');
}
let slowRelease = () => {};

/** The forwarder in miniature: path form only, one upstream, the rewriter's two calls. */
function startGateway(): http.Server {
  const rewriter = createResponseRewriter({ rewriteHTML: true, rewriteHTMLExclude: [`${P}/plain`] }, options);
  const [ip = '', port = '0'] = upstreamHost.split(':');
  return http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith(`${P}/`)) return void res.writeHead(404).end();
    const upstreamReq = http.request(
      { host: ip, port: Number(port), method: req.method, path: url.slice(P.length), headers: req.headers },
      (upstreamRes) => {
        const ctx = {
          method: req.method ?? 'GET',
          url,
          proxyPath: { prefix: P },
          endpoint: { ip, port: Number(port) },
          host: req.headers.host,
        };
        const status = upstreamRes.statusCode ?? 502;
        // As the relay does: one decision for the head and the body.
        const headers = { ...upstreamRes.headers };
        const rewrites = rewriter.rewritesBody(headers, ctx, status);
        res.writeHead(status, rewriter.headers(headers, ctx, status, rewrites));
        const body = rewrites ? rewriter.body(upstreamRes, ctx) : upstreamRes;
        body.on('error', () => res.destroy());
        body.pipe(res);
      },
    );
    req.pipe(upstreamReq);
  });
}

async function listen(server: http.Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A raw GET: no decompression, so the test sees the bytes on the wire. */
async function get(
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const req = http.request(`${base}${path}`, { method, headers: { 'accept-encoding': 'gzip, deflate, br' } });
  req.end();
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
}

const rewrittenPage = PAGE.replace('href="/app.css"', `href="${P}/app.css"`)
  .replace('srcset="/logo.svg 1x"', `srcset="${P}/logo.svg 1x"`)
  .replace('href="/next?tab=1"', `href="${P}/next?tab=1"`)
  .replace('action="/search"', `action="${P}/search"`);

before(async () => {
  upstream = startUpstream();
  upstreamHost = await listen(upstream);
  gateway = startGateway();
  base = `http://${await listen(gateway)}`;
});

after(async () => {
  slowRelease();
  gateway.closeAllConnections();
  upstream.closeAllConnections();
  await Promise.all([new Promise((r) => gateway.close(r)), new Promise((r) => upstream.close(r))]);
});

test('a gzip page comes back gzip, with its links under the prefix, its length gone and its ETag weak', async () => {
  const res = await get(`${P}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-encoding'], 'gzip');
  assert.equal(res.headers['content-length'], undefined);
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  assert.equal(res.headers.etag, 'W/"p1"');
  assert.equal(zlib.gunzipSync(res.body).toString(), rewrittenPage);
});

test('br and deflate pages are rewritten too (the apiserver returns br ones empty)', async () => {
  const br = await get(`${P}/br`);
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(zlib.brotliDecompressSync(br.body).toString(), rewrittenPage);
  const deflate = await get(`${P}/deflate`);
  assert.equal(zlib.inflateSync(deflate.body).toString(), rewrittenPage);
});

test('non-HTML, HEAD and excluded paths pass through byte for byte with their headers', async () => {
  const json = await get(`${P}/data.json`);
  assert.equal(json.body.toString(), JSON_BODY);
  assert.equal(json.headers['content-length'], String(Buffer.byteLength(JSON_BODY)));
  assert.equal(json.headers.etag, '"j1"');
  const excluded = await get(`${P}/plain`);
  assert.equal(excluded.body.toString(), PAGE);
  assert.equal(excluded.headers.etag, '"p1"');
  const head = await get(`${P}/`, 'HEAD');
  assert.equal(head.body.length, 0);
  assert.ok(head.headers['content-length'] !== undefined);
});

test('redirects and cookies keep the client under the prefix; foreign redirects are left alone', async () => {
  const login = await get(`${P}/login`);
  assert.equal(login.status, 302);
  assert.equal(login.headers.location, `${P}/signin?next=%2F`);
  assert.deepEqual(login.headers['set-cookie'], [`sid=1; Path=${P}; HttpOnly`, `theme=dark; Path=${P}`]);
  assert.equal((await get(`${P}/self`)).headers.location, `${P}/moved`);
  assert.equal((await get(`${P}/away`)).headers.location, 'https://idp.example.com/authorize?x=1');
});

test('a page the upstream streams reaches the client part by part', { timeout: 10_000 }, async () => {
  const req = http.request(`${base}${P}/slow`);
  req.end();
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  const gunzip = res.pipe(zlib.createGunzip());
  let text = '';
  gunzip.on('data', (c: Buffer) => {
    text += c.toString();
    if (text.includes('</a>') && !text.includes('second')) slowRelease();
  });
  await once(gunzip, 'end');
  assert.equal(
    text,
    `<html><body><a href="${P}/first">first</a><a href="${P}/second">second</a></body></html>`,
  );
});

test('in a real browser the page loads its stylesheet and image and its links stay under the prefix', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${base}${P}/`);
    assert.equal(await page.title(), `app ${P}/`);
    // The tests are compiled without the DOM library, so page code goes in as strings.
    assert.equal(await page.evaluate("getComputedStyle(document.querySelector('h1')).color"), 'rgb(1, 2, 3)');
    await page.waitForFunction("document.getElementById('logo').naturalWidth === 20");
    await page.click('#next');
    await page.waitForURL(`${base}${P}/next?tab=1`);
    assert.equal(await page.getAttribute('#ext', 'href'), 'https://example.org/');
  } finally {
    await browser.close();
  }
});
