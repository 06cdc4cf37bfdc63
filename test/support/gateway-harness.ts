/**
 * A whole gateway for integration tests: the fake API server (the real
 * @kubernetes/client-node talks to it), echo backends on 127.0.0.x, and
 * kube-bastion itself on 127.0.0.1 with a config built from the real schema.
 */
import type { KubeObject } from './fake-apiserver.js';
import { startFakeApiServer, type FakeApiServer, type FakeApiServerOptions } from './fake-apiserver.js';
import type { Clock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { silentLogger, type Logger } from '../../src/observability/logger.js';

export interface Harness {
  api: FakeApiServer;
  gateway: Gateway;
  /** Base URL of the gateway's public port, e.g. http://127.0.0.1:41234 */
  url: string;
  adminURL: string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  objects?: KubeObject[];
  /** Merged over the test defaults (loopback listeners, loopback backends allowed). */
  config?: ConfigInput;
  api?: FakeApiServerOptions;
  insecureNoAuth?: boolean;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /**
   * The gateway's clock (test/support/manual-clock.ts): sessions, caches, outlier ejection, retry
   * budgets and the shutdown delay read it, so a test advances time instead of sleeping.
   */
  clock?: Clock;
}

/** Shallow-merges each top-level section so a test overrides only what it names. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    out[k] =
      b && typeof b === 'object' && !Array.isArray(b) && v && typeof v === 'object' && !Array.isArray(v)
        ? { ...b, ...v }
        : v;
  }
  return out;
}

async function listeningGateway(defaults: Record<string, unknown>, o: HarnessOptions) {
  const config = parseConfig(merge(defaults, o.config ?? {}), { env: o.env ?? {} });
  const gateway = await createGateway({
    config,
    logger: o.logger ?? silentLogger(),
    insecureNoAuth: o.insecureNoAuth ?? true,
    clock: o.clock,
  });
  try {
    return { gateway, ...(await gateway.listen()) };
  } catch (err) {
    await gateway.close().catch(() => undefined);
    throw err;
  }
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  // A cluster where every EndpointSlice was written from running Pods, unless a test says otherwise.
  const api = await startFakeApiServer({
    createPodsForSlices: true,
    ...o.api,
    objects: o.objects ?? o.api?.objects,
  });
  const defaults = {
    listen: { address: '127.0.0.1', port: 0, shutdown: { delay: '0s', timeout: '5s' } },
    admin: { address: '127.0.0.1', port: 0 },
    kubernetes: { kubeconfig: api.writeKubeconfig() },
    upstream: { allowedAddresses: ['127.0.0.0/8'] },
    logging: { level: 'silent', audit: { enabled: false } },
  };
  // When it cannot start (a port taken meanwhile, which onFreePort retries), nothing is left running.
  const { gateway, url, adminURL } = await listeningGateway(defaults, o).catch(async (err: unknown) => {
    await api.stop();
    throw err;
  });
  return {
    api,
    gateway,
    url,
    adminURL,
    async close() {
      await gateway.close();
      await api.stop();
    },
  };
}
