/**
 * Where the gateway's Kubernetes credentials come from, in the documented
 * order: an explicit `kubernetes.kubeconfig`; the pod's service account when
 * running in a cluster; `$KUBECONFIG`; `~/.kube/config`. Unlike the client's
 * `loadFromDefault`, finding nothing is an error — never a silent
 * `http://localhost:8080`.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/schema.js';

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
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function loadFiles(files: readonly string[]): KubeConfig {
  const kc = new KubeConfig();
  const [first, ...rest] = files;
  kc.loadFromFile(first);
  for (const file of rest) {
    const more = new KubeConfig();
    more.loadFromFile(file);
    kc.mergeConfig(more, true);
  }
  return kc;
}

function locate(cfg: Location, where: KubeConfigEnvironment): { kc: KubeConfig; source: string } {
  const env = where.env ?? process.env;
  if (cfg.kubeconfig) return { kc: loadFiles([cfg.kubeconfig]), source: cfg.kubeconfig };
  const prefix = where.serviceAccountPrefix ?? '';
  // A named context means a kubeconfig file, even inside a pod.
  if (!cfg.context && env.KUBERNETES_SERVICE_HOST && existsSync(prefix + SERVICE_ACCOUNT_TOKEN)) {
    const kc = new KubeConfig();
    kc.loadFromCluster(prefix);
    return { kc, source: 'in-cluster service account' };
  }
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (files.length > 0) return { kc: loadFiles(files), source: files.join(delimiter) };
  const home = join(where.home ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return { kc: loadFiles([home]), source: home };
  throw new KubeConfigError(
    'no Kubernetes configuration found: not running in a pod, $KUBECONFIG is unset and ~/.kube/config does not exist ' +
      '(set kubernetes.kubeconfig, or kubernetes: none to serve only static.services)',
  );
}

/** Builds the client configuration; throws KubeConfigError naming what is missing. */
export function loadKubeConfig(cfg: Location, where: KubeConfigEnvironment = {}): KubeConfig {
  let located: { kc: KubeConfig; source: string };
  try {
    located = locate(cfg, where);
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    throw new KubeConfigError(
      `cannot read the kubeconfig: ${(err as Error).message}`,
      cfg.kubeconfig ? 'kubeconfig' : undefined,
    );
  }
  const { kc, source } = located;
  if (cfg.context) {
    if (!kc.getContextObject(cfg.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new KubeConfigError(
        `kubeconfig ${source} has no context "${cfg.context}" (it has: ${known.join(', ') || 'none'})`,
        'context',
      );
    }
    kc.setCurrentContext(cfg.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new KubeConfigError(
      `kubeconfig ${source} has no current context with a cluster (set kubernetes.context)`,
      cfg.context ? 'context' : cfg.kubeconfig ? 'kubeconfig' : undefined,
    );
  }
  return kc;
}
