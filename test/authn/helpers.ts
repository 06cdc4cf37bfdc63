/**
 * A tiny app around the authentication module: its router plus one protected
 * route that proxies to a real upstream with the caller's identity, the way
 * the gateway does. Used where the whole gateway would add nothing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { ApiServerAccess } from '../../src/kube/api-access.js';
import express from 'express';
import { createAuthentication, type Authentication } from '../../src/authn/index.js';
import type { Clock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { unauthorized } from '../../src/errors.js';
import { createLogger, silentLogger, type Logger } from '../../src/observability/logger.js';
import { asGatewayError, sendError } from '../../src/web/error-response.js';

export interface AuthApp {
  url: string;
  auth: Authentication;
  close(): Promise<void>;
}

export async function startAuthApp(
  input: ConfigInput,
  opts: {
    kubeConfig?: ApiServerAccess;
    upstream?: string;
    port?: number;
    logger?: Logger;
    clock?: Clock;
    issuerTimeoutMs?: number;
    /** The app's own URL (known once it listens) is its publicURL: no port is picked before binding. */
    publicURLIsOwn?: boolean;
  } = {},
): Promise<AuthApp> {
  // Listen first (port 0 unless told), so that the publicURL may name the port it got.
  const app = express(); // its routes come once authentication exists, before anyone knows its URL
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = parseConfig(opts.publicURLIsOwn ? { ...input, publicURL: url } : input, { env: {} });
  const publicURL = new URL(config.publicURL);
  const auth = await createAuthentication(config, {
    logger: opts.logger ?? silentLogger(),
    kubeConfig: opts.kubeConfig,
    publicURL,
    clock: opts.clock,
    issuerTimeoutMs: opts.issuerTimeoutMs,
  }).catch(async (err: unknown) => {
    await new Promise((r) => server.close(r));
    throw err;
  });
  app.use(auth.router);
  app.use(async (req, res) => {
    try {
      const identity = await auth.authenticate(req, res);
      if (!identity) throw unauthorized();
      const upstream = await fetch(new URL(req.url, opts.upstream ?? 'http://127.0.0.1:1'), {
        headers: { 'x-forwarded-user': identity.username, 'x-forwarded-groups': identity.groups.join(',') },
      });
      res
        .status(upstream.status)
        .type('json')
        .send(await upstream.text());
    } catch (err) {
      sendError(req, res, asGatewayError(err), {
        loginPath: config.authentication.oidc ? '/auth/login' : undefined,
      });
    }
  });
  return {
    url,
    auth,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await auth.close();
    },
  };
}

/** A debug-level JSON logger whose lines the test can read back, to see what the gateway did and why. */
export function capturedLogs(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', format: 'json' }, sink), lines };
}

/** GET /auth/whoami with a bearer token: status and parsed body. */
export async function whoami(
  base: string,
  authorization?: string,
): Promise<{ status: number; body: Record<string, unknown>; text: string; wwwAuthenticate: string | null }> {
  const res = await fetch(`${base}/auth/whoami`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  const text = await res.text();
  return {
    status: res.status,
    body: JSON.parse(text) as Record<string, unknown>,
    text,
    wwwAuthenticate: res.headers.get('www-authenticate'),
  };
}
