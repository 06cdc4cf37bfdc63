/**
 * What a person reads when something goes wrong: each status in plain words
 * with what to do, a failed sign-in offering to start again, and API clients
 * still getting a Kubernetes Status.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startDemo, type Demo } from '../../src/demo/index.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GatewayError,
  forbidden,
  gatewayTimeout,
  serviceUnavailable,
  unauthorized,
} from '../../src/errors.js';
import { sendError } from '../../src/web/error-response.js';
import { describeForbidden, renderErrorPage } from '../../src/web/pages/error-page.js';

let demo: Demo;
before(async () => {
  demo = await startDemo({ port: 0 });
});
after(async () => {
  await demo?.close();
});

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

test('503 says the service has no ready endpoints when that is the cause', () => {
  const page = text(renderErrorPage(serviceUnavailable('no endpoints available for service "web"'), {}));
  assert.match(page, /The service is not available right now/);
  assert.match(page, /none of its pods is ready/);
  assert.match(page, /no ready endpoints/);
  const other = text(
    renderErrorPage(serviceUnavailable('the session store (Redis) is unavailable; try again'), {}),
  );
  assert.doesNotMatch(other, /pods/);
  assert.match(other, /Try again in a moment/);
});

test('403 names who was refused, which verb and which namespace', () => {
  const msg =
    'services "web:http" is forbidden: User "bob" cannot create resource "services/proxy" in API group "" in the namespace "team-a"';
  assert.equal(describeForbidden(msg), 'bob may not create services in the namespace team-a.');
  const nodes =
    'nodes "n1" is forbidden: User "bob" cannot get resource "nodes/proxy" in API group "" at the cluster scope';
  assert.equal(describeForbidden(nodes), 'bob may not get nodes (cluster-wide).');
  const page = text(renderErrorPage(forbidden(msg), { username: 'bob', requestId: 'r-1' }));
  assert.match(page, /You do not have access to this/);
  assert.match(page, /bob may not create services in the namespace team-a/);
  assert.match(page, /signed in as bob/);
  assert.match(page, /Request ID: r-1/);
});

test('401 without browser sign-in says tokens are the only way in', () => {
  assert.match(
    text(renderErrorPage(new GatewayError(401, 'Unauthorized', 'Unauthorized'), {})),
    /bearer tokens only/,
  );
  const withLogin = renderErrorPage(new GatewayError(401, 'Unauthorized', 'Unauthorized'), {
    loginPath: '/auth/login',
  });
  assert.match(withLogin, /<a class="button" href="\/auth\/login">Sign in<\/a>/);
});

test('502 and 504 say whether the service could not be reached or was too slow', () => {
  assert.match(
    text(renderErrorPage(new GatewayError(502, 'BadGateway', 'connection refused'), {})),
    /could not be reached/,
  );
  assert.match(
    text(renderErrorPage(gatewayTimeout('timeout awaiting response headers'), {})),
    /took too long/,
  );
});

test('a failed sign-in shows the sign-in page with what went wrong and a way to start again', async () => {
  const res = await fetch(new URL('/auth/callback?code=abc&state=xyz', demo.url), {
    headers: { accept: 'text/html' },
  });
  assert.equal(res.status, 400);
  assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
  const page = text(await res.text());
  assert.match(page, /Signing in did not work/);
  assert.match(page, /Sign in again/);
});

test('the portal answers API clients with a Kubernetes Status, browsers with a redirect to sign in', async () => {
  const api = await fetch(demo.url, { headers: { accept: 'application/json' } });
  assert.equal(api.status, 401);
  assert.match(api.headers.get('www-authenticate')!, /^Bearer/);
  assert.equal(((await api.json()) as { kind: string }).kind, 'Status');
  const browser = await fetch(new URL('/?q=web', demo.url), {
    headers: { accept: 'text/html' },
    redirect: 'manual',
  });
  assert.equal(browser.status, 302);
  assert.equal(browser.headers.get('location'), '/auth/login?rd=%2F%3Fq%3Dweb');
});

test('an unknown gateway page is a plain-words 404', async () => {
  const res = await fetch(new URL('/no-such-page', demo.url), { headers: { accept: 'text/html' } });
  assert.equal(res.status, 404);
  assert.match(text(await res.text()), /Nothing found here/);
});

test('sign-in on another host brings the browser back to the full URL it asked for', async () => {
  const login = 'http://bastion.apps.test:8080/auth/login';
  const server = http.createServer((req, res) => sendError(req, res, unauthorized(), { loginPath: login }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const locationFor = (host: string) =>
    new Promise<string | undefined>((resolve, reject) => {
      http
        .get({ port, host: '127.0.0.1', path: '/x?y=1', headers: { host, accept: 'text/html' } }, (res) => {
          res.resume();
          resolve(res.headers.location);
        })
        .on('error', reject);
    });
  try {
    assert.equal(
      await locationFor('notes--team-a.apps.test:8080'),
      `${login}?rd=${encodeURIComponent('http://notes--team-a.apps.test:8080/x?y=1')}`,
    );
    assert.equal(await locationFor('bastion.apps.test:8080'), `${login}?rd=${encodeURIComponent('/x?y=1')}`);
  } finally {
    server.close();
  }
});

test('an error page on a routed host links the gateway’s stylesheet and portal, and its CSP allows them', async () => {
  const publicURL = 'http://bastion.apps.test:8080';
  const server = http.createServer((req, res) =>
    sendError(req, res, forbidden('no'), { publicURL, username: 'alice' }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const pageOn = (host: string) =>
    new Promise<{ csp: string; html: string }>((resolve, reject) => {
      http
        .get({ port, host: '127.0.0.1', path: '/x', headers: { host, accept: 'text/html' } }, (res) => {
          let html = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (html += c));
          res.on('end', () => resolve({ csp: String(res.headers['content-security-policy']), html }));
        })
        .on('error', reject);
    });
  try {
    const routed = await pageOn('notes--team-a.apps.test:8080');
    assert.match(
      routed.html,
      /<link rel="stylesheet" href="http:\/\/bastion\.apps\.test:8080\/_bastion\/style\.css">/,
    );
    assert.match(routed.html, /<a class="brand" href="http:\/\/bastion\.apps\.test:8080\/">/);
    assert.match(routed.html, /<a href="http:\/\/bastion\.apps\.test:8080\/">Go to the portal<\/a>/);
    assert.match(routed.csp, /style-src 'self' http:\/\/bastion\.apps\.test:8080;/);

    const own = await pageOn('bastion.apps.test:8080');
    assert.match(own.html, /<link rel="stylesheet" href="\/_bastion\/style\.css">/);
    assert.match(own.html, /<a href="\/">Go to the portal<\/a>/);
    assert.match(own.csp, /style-src 'self';/);
  } finally {
    server.close();
  }
});

test('without browser sign-in, an error page on a routed host still links the gateway, not the app', async () => {
  const { startHarness } = await import('../support/gateway-harness.js');
  const h = await startHarness({
    config: { publicURL: 'http://bastion.apps.test', routing: { hostSuffix: 'apps.test' } },
  });
  try {
    const page = await new Promise<string>((resolve, reject) => {
      const url = new URL(h.url);
      http
        .get(
          {
            host: url.hostname,
            port: url.port,
            path: '/',
            headers: { host: 'nope--team-a.apps.test', accept: 'text/html' },
          },
          (res) => {
            let html = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (html += c));
            res.on('end', () => resolve(`${res.statusCode} ${html}`));
          },
        )
        .on('error', reject);
    });
    assert.match(page, /^404 /);
    assert.match(page, /<link rel="stylesheet" href="http:\/\/bastion\.apps\.test\/_bastion\/style\.css">/);
    assert.match(page, /href="http:\/\/bastion\.apps\.test\/">Go to the portal<\/a>/);
  } finally {
    await h.close();
  }
});
