/**
 * An API that echoes what the gateway told it about the caller: the identity
 * headers, and the signed X-Bastion-Assertion verified against the gateway's
 * /.well-known/jwks.json — what a real service should do before trusting them.
 */
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { send } from '../loopback.js';

export interface WhoamiOptions {
  /** The gateway's public URL: issuer of the assertion and home of its JWKS. */
  gatewayURL: string;
  /** `namespace/service` values this app answers as (the assertion's `aud`). */
  audiences: string[];
  /** Where to fetch the keys when the public URL's host does not resolve here (defaults to it). */
  jwksURL?: string;
}

const ECHOED = [
  'x-forwarded-user',
  'x-forwarded-groups',
  'x-forwarded-email',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-prefix',
];

export function createWhoami(o: WhoamiOptions): http.Server {
  const jwks = createRemoteJWKSet(new URL(o.jwksURL ?? new URL('/.well-known/jwks.json', o.gatewayURL).href));
  const issuer = o.gatewayURL.replace(/\/$/, '');
  return http.createServer(async (req, res) => {
    const headers = Object.fromEntries(
      ECHOED.filter((h) => req.headers[h] !== undefined).map((h) => [h, req.headers[h]]),
    );
    const token = req.headers['x-bastion-assertion'];
    let assertion: Record<string, unknown>;
    if (typeof token !== 'string') {
      assertion = { verified: false, error: 'no X-Bastion-Assertion header' };
    } else {
      try {
        const { payload } = await jwtVerify(token, jwks, {
          issuer,
          audience: o.audiences,
          algorithms: ['ES256'],
        });
        assertion = { verified: true, claims: payload };
      } catch (err) {
        assertion = { verified: false, error: (err as Error).message };
      }
    }
    const body = JSON.stringify({ method: req.method, path: req.url, headers, assertion }, null, 2) + '\n';
    send(res, 200, 'application/json', body);
  });
}
