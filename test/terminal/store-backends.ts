/**
 * The three stores of terminal sign-in state over real backends — the
 * in-process API server and a redis-server, both started here — each as two
 * replicas use it: two store instances over one backend (memory has only
 * one: it is for one replica). For the stores' contract and what is built on
 * it; every store opened is closed by `stop()`.
 */
import { KubernetesRecordStore } from '../../src/authn/terminal/store/kubernetes-store.js';
import { MemoryRecordStore } from '../../src/authn/terminal/store/memory-store.js';
import type { RecordStore } from '../../src/authn/terminal/store/record-store.js';
import { RedisRecordStore } from '../../src/authn/terminal/store/redis-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.js';
import type { ManualClock } from '../support/manual-clock.js';
import { startRedis, type RedisServer } from '../support/redis.js';

export const NAMESPACE = 'kube-bastion';

export type Replicas = () => Promise<[RecordStore, RecordStore]>;

export function storeBackends(clock: ManualClock) {
  let api: FakeApiServer | undefined;
  let redis: RedisServer | undefined;
  const opened: RecordStore[] = [];

  async function open<S extends RecordStore>(store: S): Promise<S> {
    opened.push(store);
    await store.start();
    return store;
  }
  const kubernetesStore = (maxStalenessMs = 10_000) =>
    open(
      new KubernetesRecordStore({
        kubeConfig: api!.kubeConfig(),
        namespace: NAMESPACE,
        maxStalenessMs,
        now: clock.now,
        logger: silentLogger(),
      }),
    );
  const redisStore = () =>
    open(new RedisRecordStore({ url: redis!.url, commandTimeoutMs: 1000, now: clock.now }));
  const backends: [string, Replicas][] = [
    [
      'memory',
      async () => {
        const one = await open(new MemoryRecordStore(clock.now));
        return [one, one];
      },
    ],
    ['redis', async () => [await redisStore(), await redisStore()]],
    ['kubernetes', async () => [await kubernetesStore(), await kubernetesStore()]],
  ];

  return {
    backends,
    kubernetesStore,
    redisStore,
    get api(): FakeApiServer {
      return api!;
    },
    get redis(): RedisServer {
      return redis!;
    },
    async start(): Promise<void> {
      [api, redis] = await Promise.all([startFakeApiServer(), startRedis()]);
    },
    async stop(): Promise<void> {
      await Promise.allSettled(opened.map((s) => s.close()));
      await Promise.allSettled([api?.stop(), redis?.stop()]);
    },
  };
}
