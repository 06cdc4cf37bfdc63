/**
 * Where the gateway's Kubernetes credentials come from, in the documented
 * order: an explicit `kubernetes.kubeconfig`; the pod's service account when
 * running in a cluster; `$KUBECONFIG`; `~/.kube/config`. Unlike client-node's
 * `loadFromDefault`, finding nothing is an error — never a silent
 * `http://localhost:8080`.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isIPv6 } from 'node:net';
import { delimiter, join } from 'node:path';
import type { Config } from '../config/schema.js';
import { KubeconfigAccess, type ApiServerAccess } from './api-access.js';
import { ClientNodeAccess, clientNodeFromFiles } from './client-node-access.js';
import {
  readKubeconfigFiles,
  type ClusterEntry,
  type KubeconfigData,
  type UserEntry,
} from './kubeconfig-file.js';

export type KubernetesConfig = Exclude<Config['kubernetes'], 'none'>;
/** What choosing the credentials reads of the `kubernetes` section. */
type Location = Partial<KubernetesConfig>;

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
  readonly code = 'KUBECONFIG_INVALID';
  constructor(
    message: string,
    /** The `kubernetes` key to change, when the config named the file or context. */
    readonly key?: 'kubeconfig' | 'context',
  ) {
    super(message);
  }
}

export interface KubeConfigEnvironment {
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** Prefix of `/var/run/secrets/kubernetes.io/serviceaccount` (tests). */
  serviceAccountPrefix?: string;
  /** Clock for re-reading token and certificate files (tests). */
  now?: () => number;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the credentials were found: kubeconfig files, or the pod's service account. */
type Located =
  { files: string[]; source: string } | { inCluster: ClusterEntry; user: UserEntry; source: string };

/** The service account's token (re-read as it rotates) and CA, and the API server from the pod's environment. */
function inCluster(env: NodeJS.ProcessEnv, prefix: string): Located {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  return {
    inCluster: {
      name: 'inCluster',
      server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
      caFile: `${prefix}${SERVICE_ACCOUNT}/ca.crt`,
      skipTLSVerify: false,
    },
    user: { name: 'inClusterUser', tokenFile: `${prefix}${SERVICE_ACCOUNT}/token` },
    source: 'in-cluster service account',
  };
}

function locate(cfg: Location, where: KubeConfigEnvironment): Located {
  const env = where.env ?? process.env;
  if (cfg.kubeconfig) return { files: [cfg.kubeconfig], source: cfg.kubeconfig };
  const prefix = where.serviceAccountPrefix ?? '';
  // A named context means a kubeconfig file, even inside a pod.
  if (!cfg.context && env.KUBERNETES_SERVICE_HOST && existsSync(`${prefix}${SERVICE_ACCOUNT}/token`)) {
    return inCluster(env, prefix);
  }
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (files.length > 0) return { files, source: files.join(delimiter) };
  const home = join(where.home ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return { files: [home], source: home };
  throw new KubeConfigError(
    'no Kubernetes configuration found: not running in a pod, $KUBECONFIG is unset and ~/.kube/config does not exist ' +
      '(set kubernetes.kubeconfig, or kubernetes: none to serve only static.services)',
  );
}

/** The cluster and user of the chosen context. */
function select(data: KubeconfigData, cfg: Location, source: string) {
  const name = cfg.context ?? data.currentContext;
  const context = data.contexts.find((c) => c.name === name);
  if (cfg.context && !context) {
    const known = data.contexts.map((c) => c.name);
    throw new KubeConfigError(
      `kubeconfig ${source} has no context "${cfg.context}" (it has: ${known.join(', ') || 'none'})`,
      'context',
    );
  }
  const cluster = data.clusters.find((c) => c.name === context?.cluster);
  if (!context || !cluster) {
    throw new KubeConfigError(
      `kubeconfig ${source} has no current context with a cluster (set kubernetes.context)`,
      cfg.context ? 'context' : cfg.kubeconfig ? 'kubeconfig' : undefined,
    );
  }
  return {
    context: context.name,
    namespace: context.namespace,
    cluster,
    user: data.users.find((u) => u.name === context.user),
  };
}

/** What client-node must still do: legacy auth-provider plugins and proxies. */
const needsClientNode = (cluster: ClusterEntry, user: UserEntry | undefined) =>
  cluster.proxyUrl !== undefined || user?.authProvider !== undefined;

function access(located: Located, cfg: Location, where: KubeConfigEnvironment): ApiServerAccess {
  const options = { now: where.now };
  if ('inCluster' in located) return new KubeconfigAccess(located.inCluster, located.user, options);
  const { context, namespace, cluster, user } = select(
    readKubeconfigFiles(located.files),
    cfg,
    located.source,
  );
  if (needsClientNode(cluster, user))
    return new ClientNodeAccess(cluster, clientNodeFromFiles(located.files, context), namespace);
  return new KubeconfigAccess(cluster, user, { ...options, namespace });
}

/** The API server and credentials to use; throws KubeConfigError naming what is missing. */
export function loadKubeConfig(cfg: Location, where: KubeConfigEnvironment = {}): ApiServerAccess {
  try {
    return access(locate(cfg, where), cfg, where);
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    throw new KubeConfigError(
      `cannot read the kubeconfig: ${(err as Error).message}`,
      cfg.kubeconfig ? 'kubeconfig' : undefined,
    );
  }
}
