/**
 * The loopback sign-in listener against other local processes and web pages
 * (RFC 8252 §8.3): hits before the browser's — a made-up code, another state,
 * none, a cross-site page's request, a rebinding Host — are answered 404
 * no-store and neither end nor finish the sign-in; only the state this
 * process made does, and the port is closed once it has.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { LOOPBACK_CALLBACK_PATH } from '../../src/authn/terminal/protocol.js';
import { loopbackLogin } from '../../src/client/loopback-login.js';

let gateway: http.Server;
let origin: string;
const redeemed: string[] = [];

before(async () => {
  gateway = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      redeemed.push(new URLSearchParams(body).get('code') ?? '');
      const identity = { username: 'alice', groups: [] };
      const tokens = { access_token: 'a', token_type: 'Bearer', expires_in: 60, refresh_token: 'r' };
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ...tokens, refresh_token_expires_in: 60, identity }));
    });
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
});
after(() => new Promise((r) => gateway.close(r)));

const hit = (port: number, query: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${port}${LOOPBACK_CALLBACK_PATH}?${query}`, { headers });

test('only this attempt’s state ends the sign-in; other hits get 404 no-store; the port closes after', async () => {
  let port = 0;
  const tokens = await loopbackLogin(origin, {
    clientName: 'test',
    async open(url) {
      const q = new URL(url).searchParams;
      port = Number(q.get('port'));
      const foreign = [
        await hit(port, 'code=made-up&state=guessed'),
        await hit(port, 'code=made-up'),
        await hit(port, 'state='), // an empty state would cancel, if it matched
        await hit(port, 'state=guessed', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }),
        await hit(port, 'code=x&state=guessed', { host: `rebind.evil.example:${port}` }),
      ];
      for (const res of foreign) {
        assert.equal(res.status, 404);
        assert.equal(res.headers.get('cache-control'), 'no-store');
      }
      const ok = await hit(port, `code=the-code&state=${q.get('state')}`);
      assert.equal(ok.status, 200);
    },
  });
  assert.equal(tokens.identity.username, 'alice');
  assert.deepEqual(redeemed, ['the-code'], 'only the real code went to the gateway');
  await assert.rejects(hit(port, 'code=late'), 'nothing listens once signed in');
});
