/**
 * The head the client gets is checked for what a client may be sent: the
 * upstream's own head (responseHeadDefect) before anything, and, when the
 * response rewriter made a header set of its own (a Location or a cookie path
 * with the prefix, a dropped origin-wide header), that set once more. A set
 * the rewriter left as it was is the upstream's, already checked, and is not
 * walked twice. (node's writeHead refuses a CTL in a value or a name that is
 * not a token as well, but without saying which header: the reason in the
 * answer shows the gateway's check ran.) Real
 * ServerResponses on a real server; the rewriter is a stand-in that returns
 * what the test gives it.
 */
import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { GatewayError } from '../../src/errors.js';
import { relay, type ResponseRewriter, type UpstreamMessage } from '../../src/proxy/relay.js';

type Rewrite = (headers: OutgoingHttpHeaders) => OutgoingHttpHeaders;

let server: http.Server;
let url = '';
/** What the handler's relay() call answered, per request. */
const outcomes: (GatewayError | undefined)[] = [];
let rewrite: Rewrite = (h) => h;
let upstreamHeaders: IncomingHttpHeaders = {};

const rewriter: ResponseRewriter = {
  rewritesBody: () => false,
  headers: (headers) => rewrite(headers),
  body: (upstream) => upstream,
};

function upstreamResponse(): UpstreamMessage {
  const body = Readable.from([Buffer.from('hello')]) as unknown as UpstreamMessage;
  return Object.assign(body, {
    statusCode: 200,
    statusMessage: 'OK',
    headers: { ...upstreamHeaders },
    complete: true,
  });
}

before(async () => {
  server = http.createServer((_req, res) => {
    const sink = { bytesOut: 0, relayed: () => undefined };
    const refused = relay(upstreamResponse(), res, { method: 'GET', url: '/x', via: 'path' }, rewriter, sink);
    outcomes.push(refused);
    if (refused) res.writeHead(refused.status).end(refused.message);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

test('a header set the rewriter made is checked: a value it built with a line break is a 502, none of it sent', async () => {
  upstreamHeaders = { 'content-type': 'text/plain', location: '/next' };
  rewrite = (h) => ({ ...h, location: '/prefix/next\r\nSet-Cookie: planted=1' });
  const r = await fetch(url, { redirect: 'manual' });
  assert.equal(r.status, 502);
  assert.equal(r.headers.get('set-cookie'), null);
  assert.equal(r.headers.get('location'), null);
  // The gateway's own check names the header (node's writeHead would refuse it too, without a name).
  assert.match(await r.text(), /invalid value in header "location"/);
});

test('a name the rewriter made that is not a token is a 502 too', async () => {
  upstreamHeaders = { 'content-type': 'text/plain' };
  rewrite = (h) => ({ ...h, 'bad name': 'x' });
  const r = await fetch(url);
  assert.equal(r.status, 502);
  assert.match(await r.text(), /invalid header name/);
});

test('the upstream’s own head, left as it was by the rewriter, goes to the client whole', async () => {
  upstreamHeaders = { 'content-type': 'text/plain', 'x-app': 'a, b', etag: '"v1"' };
  rewrite = (h) => h;
  const r = await fetch(url);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-app'), 'a, b');
  assert.equal(r.headers.get('etag'), '"v1"');
  assert.equal(await r.text(), 'hello');
  assert.equal(outcomes.at(-1), undefined);
});

test('the upstream’s own head with a control character is refused before the rewriter is asked', async () => {
  upstreamHeaders = { 'content-type': 'text/plain', 'x-app': 'a\u0001b' };
  let asked = false;
  rewrite = (h) => ((asked = true), h);
  const r = await fetch(url);
  assert.equal(r.status, 502);
  assert.equal(asked, false);
});
