/**
 * The kubeconfig a config names (`kubernetes.kubeconfig`, with its
 * `context`), read when the config loads the way the gateway will read it:
 * a missing file, a context it does not hold or no cluster is a problem with
 * its key's path. Credentials found in the environment instead (the pod's
 * service account, $KUBECONFIG, ~/.kube/config) are not the config's: where
 * check-config runs (CI, a laptop) is seldom where the gateway runs, so serve
 * alone looks for those, and says so when it finds none.
 */
import type { ConfigIssue } from './issue.js';
import type { Config } from './schema.js';

/** Asynchronous only to load the Kubernetes client when a kubeconfig is named (it is slow to import). */
export async function kubeconfigIssues(config: Config): Promise<ConfigIssue[]> {
  if (config.kubernetes === 'none' || !config.kubernetes.kubeconfig) return [];
  const { KubeConfigError, loadKubeConfig } = await import('../kube/kubeconfig.js');
  try {
    loadKubeConfig(config.kubernetes);
    return [];
  } catch (err) {
    if (!(err instanceof KubeConfigError)) throw err;
    return [{ path: ['kubernetes', err.key ?? 'kubeconfig'], message: err.message }];
  }
}
