/**
 * Rules that span sections of the config: each needs two keys that live
 * apart (a feature and the cluster it asks, a listener and the other one,
 * a routed host and publicURL, an expression and the issuer it maps). Rules
 * inside one section live with that section in ./schema/; files the config
 * names are read in named-files.ts.
 */
import { claimExpressionIssues } from './claim-expressions.js';
import type { ConfigIssue } from './issue.js';
import { sameIssuer } from './issuer-url.js';
import { routingProblems } from './routing-checks.js';
import type { Config } from './schema.js';
import { terminalProblems } from './schema/terminal.js';

const NO_CLUSTER =
  'needs a cluster, and kubernetes is "none": remove `kubernetes: none` (in-cluster credentials or a kubeconfig) or turn this off';

/** ServiceAccount tokens and RBAC ask the API server; `kubernetes: none` has none. */
function clusterFeatures(config: Config): ConfigIssue[] {
  if (config.kubernetes !== 'none') return [];
  const issues: ConfigIssue[] = [];
  if (config.authentication.serviceAccountTokens.enabled)
    issues.push({ path: ['authentication', 'serviceAccountTokens', 'enabled'], message: NO_CLUSTER });
  if (config.authorization.kubernetesRBAC.enabled)
    issues.push({ path: ['authorization', 'kubernetesRBAC', 'enabled'], message: NO_CLUSTER });
  return issues;
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** Two listeners on one port cannot both bind, unless each has its own specific address. */
function listenerPorts(config: Config): ConfigIssue[] {
  const { listen, admin } = config;
  if (listen.port === 0 || listen.port !== admin.port) return [];
  const apart =
    listen.address !== admin.address && !WILDCARD.has(listen.address) && !WILDCARD.has(admin.address);
  if (apart) return [];
  return [
    {
      path: ['admin', 'port'],
      message: `is listen.port too (${listen.port}): the admin listener needs a port of its own (default 9090)`,
    },
  ];
}

/**
 * A bearer issuer at the gateway's own publicURL would accept the identity assertions every
 * upstream receives as credentials (token-type confusion): refused, whatever the spelling.
 */
function ownIssuer(config: Config): ConfigIssue[] {
  return config.authentication.jwt.flatMap((entry, i) =>
    sameIssuer(entry.issuer.url, config.publicURL)
      ? [
          {
            path: ['authentication', 'jwt', i, 'issuer', 'url'],
            message:
              "is this gateway's own publicURL: its identity assertions are for upstreams and are never accepted as credentials",
          },
        ]
      : [],
  );
}

export function crossSectionIssues(config: Config): ConfigIssue[] {
  return [
    ...clusterFeatures(config),
    ...listenerPorts(config),
    ...ownIssuer(config),
    ...routingProblems({
      publicURL: config.publicURL,
      routing: config.routing,
      cookieDomain: config.authentication.session?.cookieDomain,
    }),
    ...claimExpressionIssues(config.authentication),
    ...terminalProblems(config),
  ];
}
