/** Sign-in from a terminal (`kube-bastion login`): the gateway's own CLI tokens and where their state lives. */
import { z } from 'zod';
import type { ConfigIssue } from '../issue.js';
import { describe, duration, nonEmpty } from './primitives.js';

export const terminal = z.strictObject({
  enabled: describe(
    z.boolean().default(true),
    '`kube-bastion login` through the browser sign-in (loopback redirect and device code); needs `oidc` and `session`',
  ),
  accessTokenTTL: describe(
    duration('1h').refine((ms) => ms >= 60_000, { message: 'must be at least 1m' }),
    'lifetime of an access token the CLI sends as `Authorization: Bearer`; never longer than `session.ttl`',
  ),
  maxLifetime: describe(
    duration('0'),
    'longest a terminal sign-in lasts before `kube-bastion login` is needed again (0: `session.ttl`); it also never outlives the browser session that confirmed it. Refresh tokens unused for `session.idleTimeout` after their access token ran out expire',
  ),
  deviceCodeTTL: describe(
    duration('10m').refine((ms) => ms >= 60_000 && ms <= 3_600_000, {
      message: 'must be between 1m and 1h',
    }),
    'how long a device code (`kube-bastion login --device`) waits for someone to confirm it',
  ),
  devicePollInterval: describe(
    duration('5s').refine((ms) => ms >= 1000, { message: 'must be at least 1s' }),
    'how often the CLI may ask whether a device code was confirmed (RFC 8628 `interval`); faster polls get `slow_down`',
  ),
  recheckInterval: describe(
    duration('10s').refine((ms) => ms >= 1000, { message: 'must be at least 1s' }),
    'how often a WebSocket or tunnel opened with a CLI token re-checks its sign-in: it is closed this long after a logout or revocation at most',
  ),
  store: describe(
    z.enum(['auto', 'memory', 'redis', 'kubernetes']).default('auto'),
    'where one-time codes, device codes and refresh-token families live, shared by every replica: `auto` is `redis` with `session.store: redis`, else `kubernetes` (Secrets in the gateway’s namespace) when there is a cluster, else `memory` (one replica only)',
  ),
  kubernetes: describe(
    z
      .strictObject({
        namespace: describe(
          nonEmpty.optional(),
          'namespace of the Secrets that hold the state (hashes only); default: the gateway’s own (in a pod), else the kubeconfig context’s, else `default`',
        ),
        maxStaleness: describe(
          duration('60s').refine((ms) => ms >= 5000, { message: 'must be at least 5s' }),
          'how long a replica may go without hearing from the API server before it refuses CLI tokens (503) rather than miss a revocation',
        ),
      })
      .prefault({}),
    'the Kubernetes store (`store: kubernetes`)',
  ),
});

export type TerminalConfig = z.output<typeof terminal>;

/** Checks that span sections: the store must have what it needs. */
export function terminalProblems(config: {
  kubernetes: unknown;
  authentication: { cli: TerminalConfig; session?: { store: string } };
}): ConfigIssue[] {
  const { store } = config.authentication.cli;
  const problems: ConfigIssue[] = [];
  if (store === 'kubernetes' && config.kubernetes === 'none')
    problems.push({
      path: ['authentication', 'cli', 'store'],
      message: 'store: kubernetes needs a cluster (kubernetes is "none")',
    });
  if (store === 'redis' && config.authentication.session?.store !== 'redis')
    problems.push({
      path: ['authentication', 'cli', 'store'],
      message: 'store: redis uses the Redis of `session.store: redis`; configure that first',
    });
  return problems;
}
