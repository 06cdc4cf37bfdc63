/**
 * `--insecure-no-auth`: every caller is the anonymous one, and without rules
 * of its own it may use any verb (and tunnel) inside the namespace fence. The listeners
 * stay on 127.0.0.1 (gateway.ts).
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { ANONYMOUS } from '../request/identity.js';

export function insecureConfig(config: Config, logger: Logger): Config {
  logger.warn('INSECURE: --insecure-no-auth is set: every caller is anonymous; listening on 127.0.0.1 only');
  if (config.authorization.rules.length > 0 || config.authorization.kubernetesRBAC.enabled) return config;
  const resources: ('services' | 'pods' | 'nodes')[] = config.authorization.nodeProxy
    ? ['services', 'pods', 'nodes']
    : ['services', 'pods'];
  const rule = {
    users: [ANONYMOUS.username],
    namespaces: ['*'],
    resources,
    verbs: ['*' as const],
    // Tunnels too, when tunnels.enabled: this mode is for trying things on one's own machine.
    subresources: ['*' as const],
  };
  return { ...config, authorization: { ...config.authorization, rules: [rule] } };
}
