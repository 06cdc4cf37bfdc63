/**
 * Which store holds terminal sign-in state (ADR 0002): Redis when sessions
 * are in Redis; otherwise Secrets in the gateway's namespace when there is a
 * cluster (the chart's default: two replicas, cookie sessions); memory only
 * without a cluster (one process: the demo, tests).
 */
import type { ApiServerAccess } from '../../../kube/api-access.js';
import type { Config } from '../../../config/schema.js';
import type { Logger } from '../../../observability/logger.js';
import { MemoryRecordStore } from './memory-store.js';
import type { RecordStore } from './record-store.js';

export type { RecordStore } from './record-store.js';
export { StoreUnavailableError } from './record-store.js';

export type StoreKind = RecordStore['name'];

/** `hasCluster`: whether the gateway has a Kubernetes client (none with `kubernetes: none`). */
export function chooseStore(config: Config, hasCluster = config.kubernetes !== 'none'): StoreKind {
  const wanted = config.authentication.cli.store;
  if (wanted !== 'auto') return wanted;
  if (config.authentication.session?.store === 'redis') return 'redis';
  return hasCluster ? 'kubernetes' : 'memory';
}

export interface StoreDeps {
  kubeConfig?: ApiServerAccess;
  logger: Logger;
  now: () => number;
}

export async function createRecordStore(config: Config, deps: StoreDeps): Promise<RecordStore> {
  const kind = chooseStore(config, deps.kubeConfig !== undefined);
  if (kind === 'memory')
    deps.logger.info(
      'terminal sign-in state is kept in this process: run one replica only (or use Redis or a cluster)',
    );
  else deps.logger.info({ store: kind }, 'terminal sign-in state store');
  switch (kind) {
    case 'memory':
      return new MemoryRecordStore(deps.now);
    case 'redis': {
      const redis = config.authentication.session!.redis!;
      const { RedisRecordStore } = await import('./redis-store.js');
      return new RedisRecordStore({
        url: redis.url,
        commandTimeoutMs: redis.commandTimeout,
        now: deps.now,
        logger: deps.logger,
      });
    }
    case 'kubernetes': {
      if (!deps.kubeConfig) throw new Error('authentication.cli.store: kubernetes needs a cluster');
      const { KubernetesRecordStore, defaultNamespace } = await import('./kubernetes-store.js');
      const settings = config.authentication.cli.kubernetes;
      return new KubernetesRecordStore({
        kubeConfig: deps.kubeConfig,
        namespace: settings.namespace ?? defaultNamespace(deps.kubeConfig),
        maxStalenessMs: settings.maxStaleness,
        now: deps.now,
        logger: deps.logger,
      });
    }
  }
}
