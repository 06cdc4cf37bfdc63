/**
 * The kubeconfigs the gateway's own credentials code does not handle — a
 * legacy `auth-provider` plugin (oidc with refresh, gcp, azure) or a
 * `proxy-url` (HTTP, HTTPS or SOCKS proxy agents) — go through
 * @kubernetes/client-node's KubeConfig as before. It is imported on the first
 * request, so only such setups pay for it (about 65 MB of RSS).
 */
import type https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ApiServerAccess } from './api-access.js';
import type { ClusterEntry } from './kubeconfig-file.js';

/** Builds the client-node KubeConfig the same way the files were read. */
export type KubeConfigBuilder = (client: typeof import('@kubernetes/client-node')) => KubeConfig;

export class ClientNodeAccess implements ApiServerAccess {
  private kc: Promise<KubeConfig> | undefined;

  constructor(
    private readonly cluster: ClusterEntry,
    private readonly build: KubeConfigBuilder,
    readonly namespace?: string,
  ) {}

  getCurrentCluster(): ClusterEntry {
    return this.cluster;
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    this.kc ??= import('@kubernetes/client-node').then(this.build);
    await (await this.kc).applyToHTTPSOptions(opts);
  }
}

/** Loads the files into a client-node KubeConfig with the context chosen. */
export function clientNodeFromFiles(files: readonly string[], context: string): KubeConfigBuilder {
  return ({ KubeConfig }) => {
    const kc = new KubeConfig();
    const [first, ...rest] = files;
    kc.loadFromFile(first);
    for (const file of rest) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more, true);
    }
    kc.setCurrentContext(context);
    return kc;
  };
}
