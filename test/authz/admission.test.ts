/**
 * What is refused after an allowing decision (authz/admission.ts), as a
 * table: a tunnel that is not a WebSocket or comes from a web page, a method
 * the proxy subresource does not route, `dryRun`, a cross-site write with the
 * session cookie, a declared body over the limit. Each row is a request as
 * node parsed it and the status its caller gets.
 */
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { createAdmission } from '../../src/authz/admission.js';
import { GatewayError } from '../../src/errors.js';
import { newRequestContext } from '../../src/request/context.js';
import type { Identity } from '../../src/request/identity.js';
import { parseProxyPath } from '../../src/request/proxy-path.js';

const admit = createAdmission({
  publicURL: new URL('https://bastion.example.com'),
  maxRequestBodyBytes: 1024,
});
const viaSession: Identity = { username: 'alice', groups: [], extra: {}, method: 'session' };
const viaBearer: Identity = { ...viaSession, method: 'jwt' };
const WEB = '/api/v1/namespaces/team-a/services/web/proxy/';
const DB = '/api/v1/namespaces/team-a/services/db/portforward';

interface Row {
  what: string;
  method?: string;
  url: string;
  headers?: Record<string, string>;
  who?: Identity;
  upgrade?: boolean;
  /** The status refused with; undefined when the request goes on. */
  refused?: number;
}

const rows: Row[] = [
  { what: 'a plain GET goes on', url: WEB },
  { what: 'a bearer POST needs no Origin', method: 'POST', url: WEB, who: viaBearer },
  { what: 'TRACE is not routed', method: 'TRACE', url: WEB, refused: 405 },
  { what: 'dryRun is refused', method: 'POST', url: `${WEB}?dryRun=All`, who: viaBearer, refused: 400 },
  { what: 'a session POST without Origin or Referer', method: 'POST', url: WEB, refused: 403 },
  {
    what: 'a session POST from our own origin goes on',
    method: 'POST',
    url: WEB,
    headers: { origin: 'https://bastion.example.com' },
  },
  {
    what: 'a WebSocket from another site',
    url: WEB,
    headers: { origin: 'https://evil.example' },
    who: viaBearer,
    upgrade: true,
    refused: 403,
  },
  {
    what: 'a declared body over the limit',
    method: 'PUT',
    url: WEB,
    headers: { 'content-length': '1025' },
    who: viaBearer,
    refused: 413,
  },
  { what: 'a tunnel that is not a WebSocket', url: DB, who: viaBearer, refused: 400 },
  {
    what: 'a tunnel opened from a web page (Origin)',
    url: DB,
    headers: { origin: 'https://bastion.example.com' },
    who: viaBearer,
    upgrade: true,
    refused: 403,
  },
  { what: 'a tunnel from a program goes on', url: DB, who: viaBearer, upgrade: true },
];

for (const row of rows) {
  test(row.what, () => {
    const req = new IncomingMessage(new Socket());
    req.method = row.method ?? 'GET';
    req.url = row.url;
    req.headers = { host: 'bastion.example.com', ...row.headers };
    const ctx = newRequestContext(req, row.upgrade ?? false);
    ctx.proxyPath = parseProxyPath(row.url);
    ctx.identity = row.who ?? viaSession;
    if (row.refused === undefined) return assert.doesNotThrow(() => admit(req, ctx));
    assert.throws(
      () => admit(req, ctx),
      (err: unknown) => err instanceof GatewayError && err.status === row.refused,
    );
  });
}
