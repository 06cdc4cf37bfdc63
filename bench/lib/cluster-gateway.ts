/**
 * The compiled gateway as a process, watching a fake API server: what the
 * large-cluster, Pod-check and portal measurements start. The config is the
 * bench's base (loopback, loopback backends allowed, logs at warn, audit off)
 * plus whatever YAML lines the caller adds; `--insecure-no-auth` makes every
 * caller `system:anonymous`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeApiServer } from '../../test/support/fake-apiserver.js';
import { gatewayCLI } from './build.js';
import { imageNodeFlags } from './image-flags.js';
import { onFreePorts } from './ports.js';
import { cpuSeconds, startProcess, type Proc } from './proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ClusterGateway {
  proc: Proc;
  /** `http://127.0.0.1:<port>` of the public listener. */
  url: string;
  adminURL: string;
  /** ms from process start to the first /readyz 200. */
  readyMs: number;
  /** CPU time (user + system) the gateway process had used by then, ms: start-up cost whatever the machine's load. */
  readyCpuMs: number;
  stop(): Promise<void>;
}

export interface ClusterGatewayOptions {
  api: FakeApiServer;
  /** Extra top-level YAML (e.g. `authorization: { kubernetesRBAC: { enabled: true } }`). */
  config?: string;
  cli?: string;
  /** Flags for its node; default: this tree's image flags (image-flags.ts). */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

/** The status a GET answers, or undefined when nothing answers. */
export async function status(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

export async function startClusterGateway(o: ClusterGatewayOptions): Promise<ClusterGateway> {
  const cli = o.cli ?? gatewayCLI();
  // The ready time is measured from the start of the attempt that got its ports.
  return onFreePorts(2, ([port, adminPort]) => startOn(o, cli, port, adminPort));
}

async function startOn(
  o: ClusterGatewayOptions,
  cli: string,
  port: number,
  adminPort: number,
): Promise<ClusterGateway> {
  const kubeconfig = o.api.writeKubeconfig();
  const dir = path.dirname(kubeconfig);
  const config = path.join(dir, 'bastion.yaml');
  writeFileSync(
    config,
    `listen: { address: 127.0.0.1, port: ${port}, shutdown: { delay: 0s, timeout: 2s } }
admin: { address: 127.0.0.1, port: ${adminPort} }
kubernetes: { kubeconfig: ${kubeconfig} }
upstream: { allowedAddresses: ["127.0.0.0/8"] }
logging: { level: warn, audit: { enabled: false } }
${o.config ?? ''}
`,
  );
  const started = performance.now();
  const proc = startProcess(
    process.execPath,
    [...(o.nodeArgs ?? imageNodeFlags()), cli, 'serve', '--config', config, '--insecure-no-auth'],
    { cwd: ROOT },
  );
  const adminURL = `http://127.0.0.1:${adminPort}`;
  const stop = async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const timeout = o.readyTimeoutMs ?? 120_000;
    while ((await status(`${adminURL}/readyz`)) !== 200) {
      if (proc.child.exitCode !== null) throw new Error(`gateway exited:\n${proc.output()}`);
      if (performance.now() - started > timeout)
        throw new Error(`not ready after ${timeout} ms:\n${proc.output()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const readyMs = performance.now() - started;
  const readyCpuMs = cpuSeconds([proc.pid]) * 1000;
  return { proc, url: `http://127.0.0.1:${port}`, adminURL, readyMs, readyCpuMs, stop };
}
