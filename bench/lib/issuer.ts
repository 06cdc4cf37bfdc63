/**
 * A token issuer for the bearer-JWT contestant: discovery and JWKS served over
 * loopback HTTP (the `issuer.url` in tokens stays https, as the config
 * demands; `discoveryURL` points here), and one signed token for wrk to send.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const ISSUER = 'https://issuer.bench.invalid';
export const AUDIENCE = 'kube-bastion';
export const USER = 'bench-user';

export interface Issuer {
  discoveryURL: string;
  token: string;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
  let base = '';
  const server = http.createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer: ISSUER, jwks_uri: `${base}/jwks`, id_token_signing_alg_values_supported: ['ES256'] }
        : req.url === '/jwks'
          ? { keys: [jwk] }
          : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = await new SignJWT({ sub: USER })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  return {
    discoveryURL: `${base}/.well-known/openid-configuration`,
    token,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
