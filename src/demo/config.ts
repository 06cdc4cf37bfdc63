/**
 * The demo gateway's configuration, built as a config file would be and
 * checked by the same validator (parseConfig), so the demo never relies on a
 * setting a real deployment could not write.
 */
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../config/load.js';
import type { Config, ConfigInput } from '../config/schema.js';

export interface DemoTopology {
  /** Public port of the gateway (already chosen: the IdP needs the callback URL). */
  port: number;
  issuer: string;
  clientID: string;
  clientSecret: string;
  /** Loopback ports of the sample upstreams. */
  upstreams: { notes: number; whoami: number; echo: number; kv?: number };
  /** Optional host routing (`{service}--{namespace}.{hostSuffix}`); off in the CLI demo. */
  hostSuffix?: string;
  /** Overrides the public URL (tests that use host routing need a name, not an IP). */
  publicURL?: string;
}

const http80 = [{ name: 'http', port: 80 }];

export function demoConfigInput(t: DemoTopology): ConfigInput {
  const at = (port: number) => [`127.0.0.1:${port}`];
  return {
    listen: { address: '127.0.0.1', port: t.port, shutdown: { delay: '0s', timeout: '2s' } },
    admin: { address: '127.0.0.1', port: 0 },
    publicURL: t.publicURL ?? `http://127.0.0.1:${t.port}`,
    kubernetes: 'none',
    static: {
      services: [
        { namespace: 'team-a', name: 'notes', ports: http80, endpoints: at(t.upstreams.notes) },
        { namespace: 'team-a', name: 'whoami', ports: http80, endpoints: at(t.upstreams.whoami) },
        // No ready backends: shows what a Service with all pods down looks like (503).
        { namespace: 'team-a', name: 'reports', ports: http80, endpoints: [] },
        { namespace: 'team-b', name: 'echo', ports: http80, endpoints: at(t.upstreams.echo) },
        { namespace: 'team-b', name: 'whoami', ports: http80, endpoints: at(t.upstreams.whoami) },
        // Plain TCP, for `kube-bastion connect` (and redis-cli or nc on the local end).
        ...(t.upstreams.kv === undefined
          ? []
          : [
              {
                namespace: 'team-a',
                name: 'kv',
                ports: [{ name: 'redis', port: 6379 }],
                endpoints: at(t.upstreams.kv),
              },
            ]),
      ],
    },
    authentication: {
      oidc: {
        issuer: t.issuer,
        clientID: t.clientID,
        clientSecret: t.clientSecret,
        scopes: ['openid', 'profile', 'email'],
        claimMappings: {
          // No prefix: the demo users are simply `alice` and `bob`.
          username: { claim: 'preferred_username', prefix: '' },
          groups: { claim: 'groups', prefix: '' },
          email: { claim: 'email' },
        },
      },
      session: {
        secret: randomBytes(32).toString('base64url'),
        ...(t.hostSuffix ? { cookieDomain: t.hostSuffix } : {}),
      },
    },
    authorization: {
      rules: [
        {
          groups: ['team-a'],
          namespaces: ['team-a'],
          resources: ['services'],
          verbs: ['*'],
          subresources: ['*'],
        },
        {
          groups: ['team-b'],
          namespaces: ['team-b'],
          resources: ['services'],
          verbs: ['*'],
          subresources: ['*'],
        },
      ],
    },
    tunnels: { enabled: true },
    routing: t.hostSuffix ? { hostSuffix: t.hostSuffix } : {},
    upstream: { allowedAddresses: ['127.0.0.0/8'] },
    logging: { level: 'warn', audit: { enabled: false } },
  };
}

export function demoConfig(t: DemoTopology): Config {
  return parseConfig(demoConfigInput(t), { env: {} });
}
