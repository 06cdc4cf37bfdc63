/**
 * kubeconfig exec credential plugins (`users[].user.exec`: aws eks get-token,
 * gke-gcloud-auth-plugin, kubelogin…): run the command, read the
 * ExecCredential it prints, reuse it until its `expirationTimestamp` — or for
 * a minute when it gives none, so a token that the plugin rotates is picked
 * up. Concurrent callers share one run. `KUBERNETES_EXEC_INFO` is set as
 * kubectl sets it (non-interactive; the cluster when `provideClusterInfo`).
 */
import { spawn } from 'node:child_process';
import type { ClusterEntry, ExecConfig } from './kubeconfig-file.js';

export interface ExecCredentialStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

export class ExecCredentialError extends Error {
  override name = 'ExecCredentialError';
}

/** Reuse of a credential without an expiry, and the longest a plugin may run (ms). */
const NO_EXPIRY_REUSE_MS = 60_000;
const RUN_TIMEOUT_MS = 60_000;

function execInfo(config: ExecConfig, cluster: ClusterEntry): string {
  const spec: Record<string, unknown> = { interactive: false };
  if (config.provideClusterInfo) {
    spec.cluster = {
      server: cluster.server,
      'tls-server-name': cluster.tlsServerName,
      'insecure-skip-tls-verify': cluster.skipTLSVerify,
      'certificate-authority-data': cluster.caData,
    };
  }
  return JSON.stringify({
    apiVersion: config.apiVersion ?? 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    spec,
  });
}

/** Runs the plugin once and parses what it printed. */
function run(config: ExecConfig, cluster: ClusterEntry): Promise<ExecCredentialStatus> {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: execInfo(config, cluster) };
  for (const { name, value } of config.env ?? []) env[name] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(config.command, config.args ?? [], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: RUN_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
    child.on('error', (err) =>
      reject(new ExecCredentialError(`exec plugin ${config.command}: ${err.message}`)),
    );
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const why = signal ? `was killed (${signal})` : `exited ${code}`;
        return reject(new ExecCredentialError(`exec plugin ${config.command} ${why}: ${stderr.trim()}`));
      }
      try {
        const status = (JSON.parse(stdout) as { status?: ExecCredentialStatus }).status;
        if (!status) throw new Error('no status');
        resolve(status);
      } catch (err) {
        reject(
          new ExecCredentialError(
            `exec plugin ${config.command} printed no ExecCredential: ${(err as Error).message}`,
          ),
        );
      }
    });
  });
}

export class ExecCredentials {
  private current: { status: ExecCredentialStatus; until: number } | undefined;
  private pending: Promise<ExecCredentialStatus> | undefined;

  constructor(
    private readonly config: ExecConfig,
    private readonly cluster: ClusterEntry,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<ExecCredentialStatus> {
    if (this.current && this.now() < this.current.until) return Promise.resolve(this.current.status);
    this.pending ??= run(this.config, this.cluster)
      .then((status) => {
        const expiry = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : NaN;
        const until = Number.isFinite(expiry) ? expiry : this.now() + NO_EXPIRY_REUSE_MS;
        this.current = { status, until };
        return status;
      })
      .finally(() => (this.pending = undefined));
    return this.pending;
  }
}
