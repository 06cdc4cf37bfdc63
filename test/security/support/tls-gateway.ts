/**
 * The gateway the browser attack tests put apps behind: TLS on `port` with the
 * certificate in `dir` (tls.crt, tls.key), signed in through the test IdP,
 * group team-a allowed every verb on team-a's Services, which are static and
 * on loopback. What a test varies comes in `extra`, merged one level deep.
 */
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';

type StaticService = { namespace: string; name: string; ports: object[]; endpoints: string[] };

/** A person of group team-a at the test IdP (password: the name). */
export const teamAPerson = (name: string) => ({
  password: name,
  email: `${name}@example.com`,
  email_verified: true,
  name,
  groups: ['team-a'],
});

/** A Service of team-a named `name` whose one port `http` is a server on 127.0.0.1:`port`. */
export const teamAService = (name: string, port: number): StaticService => ({
  namespace: 'team-a',
  name,
  ports: [{ name: 'http', port }],
  endpoints: [`127.0.0.1:${port}`],
});

export interface TlsGatewayOptions {
  port: number;
  /** publicURL. */
  base: string;
  /** Holds tls.crt and tls.key. */
  dir: string;
  issuer: string;
  services: StaticService[];
  /** More OIDC scopes than openid, email, profile and groups. */
  scopes?: string[];
  /** Sections merged over the defaults, one level deep. */
  extra?: Record<string, Record<string, unknown>>;
}

export function tlsGatewayConfig(o: TlsGatewayOptions): Config {
  const base: Record<string, Record<string, unknown>> = {
    upstream: { allowedAddresses: ['127.0.0.0/8'] },
    authentication: {
      oidc: {
        issuer: o.issuer,
        clientID: 'kube-bastion',
        clientSecret: 'kube-bastion-secret',
        scopes: ['openid', 'email', 'profile', 'groups', ...(o.scopes ?? [])],
      },
      session: { secret: 'a-test-session-secret-that-is-long-enough' },
    },
    logging: { level: 'silent', audit: { enabled: false } },
  };
  for (const [section, values] of Object.entries(o.extra ?? {}))
    base[section] = { ...(base[section] ?? {}), ...values };
  return parseConfig(
    {
      listen: {
        address: '127.0.0.1',
        port: o.port,
        tls: { certFile: join(o.dir, 'tls.crt'), keyFile: join(o.dir, 'tls.key') },
      },
      admin: { address: '127.0.0.1', port: 0 },
      publicURL: o.base,
      kubernetes: 'none',
      static: { services: o.services },
      authorization: {
        rules: [{ groups: ['team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['*'] }],
      },
      ...base,
    },
    { env: {} },
  );
}
