/**
 * A bearer-token issuer as CI systems run them (GitHub Actions, GitLab, a
 * cluster's ServiceAccount issuer): an HTTPS discovery document and JWKS,
 * served with a test CA, plus `mint()` to sign tokens with any claims,
 * header or key. Counts JWKS fetches so tests can see caching and cooldowns.
 * The discovery document can be served elsewhere than under the issuer URL
 * (`discoveryPath`) and can be made to name another issuer (`announcedIssuer`).
 * `mode` takes the issuer down: `down` drops every request (the connection is
 * reset), `stalled` accepts and never answers; requests are counted either way.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { TestCA } from './tls.js';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface JwtIssuer {
  url: string;
  keys: SigningKey[];
  jwksFetches: number;
  discoveryFetches: number;
  /** The `issuer` the discovery document names; the real URL unless set (an impostor's document). */
  announcedIssuer?: string;
  /** `up` answers; `down` resets every connection; `stalled` never answers. */
  mode: 'up' | 'down' | 'stalled';
  /** Requests being held by `stalled` right now. */
  stalledRequests(): number;
  /** Signs a token: iss/iat/exp default to sensible values; `header` and `key` override. */
  mint(
    claims: JWTPayload,
    opts?: { header?: Record<string, unknown>; key?: SigningKey; expiresIn?: number },
  ): Promise<string>;
  newKey(alg?: string): Promise<SigningKey>;
  /** Publish a new key (the old one stays published unless `dropOld`). */
  rotate(dropOld?: boolean): Promise<SigningKey>;
  close(): Promise<void>;
}

export async function makeKey(alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomBytes(6).toString('hex');
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export async function startJwtIssuer(
  ca: TestCA,
  opts: { path?: string; alg?: string; discoveryPath?: string } = {},
): Promise<JwtIssuer> {
  const tls = await ca.issue(['127.0.0.1', 'localhost']);
  const path = opts.path ?? '';
  const discoveryPath = opts.discoveryPath ?? `${path}/.well-known/openid-configuration`;
  let url = '';
  const issuer: JwtIssuer = {
    url,
    keys: [await makeKey(opts.alg)],
    jwksFetches: 0,
    discoveryFetches: 0,
    mode: 'up',
    stalledRequests: () => stalled.size,
    async mint(claims, o = {}) {
      const key = o.key ?? issuer.keys[0];
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer.url, iat: now, exp: now + (o.expiresIn ?? 300), ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...o.header })
        .sign(key.privateKey);
    },
    newKey: makeKey,
    async rotate(dropOld = false) {
      const key = await makeKey(opts.alg);
      issuer.keys = dropOld ? [key] : [key, ...issuer.keys];
      return key;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const socket of stalled) socket.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  const stalled = new Set<import('node:net').Socket>();
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const json = (body: unknown) => {
      if (issuer.mode === 'down') return req.socket.destroy();
      if (issuer.mode === 'stalled') {
        stalled.add(req.socket);
        req.socket.once('close', () => stalled.delete(req.socket));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === discoveryPath) {
      issuer.discoveryFetches++;
      return json({
        issuer: issuer.announcedIssuer ?? issuer.url,
        jwks_uri: `${issuer.url}/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (req.url === `${path}/keys`) {
      issuer.jwksFetches++;
      return json({ keys: issuer.keys.map((k) => k.publicJwk) });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  issuer.url = url;
  return issuer;
}
