/**
 * What it takes to talk to the API server: its URL and the credentials and
 * TLS settings each request carries. A client-node `KubeConfig` has this shape
 * too, so tests and callers may pass either; the gateway's own
 * (`KubeconfigAccess`) does it without loading client-node, whose import alone
 * costs about 65 MB of RSS and half a second (docs/decisions/0003).
 *
 * Handled here: bearer tokens (inline or from a file, re-read every minute
 * like client-go so a rotated service-account token is picked up), client
 * certificates (inline or files), basic auth, impersonation, exec credential
 * plugins. Legacy `auth-provider` plugins (oidc, gcp, azure) and `proxy-url`
 * are handed to client-node, loaded only then (`client-node-access.ts`).
 */
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { ExecCredentials } from './exec-credential.js';
import type { ClusterEntry, UserEntry } from './kubeconfig-file.js';

export interface ApiServerAccess {
  /** The cluster requests go to; `proxyUrl` set means `applyToHTTPSOptions` supplies the agent. */
  getCurrentCluster(): { readonly server: string; readonly proxyUrl?: string } | null;
  /** Sets TLS options, headers (Authorization, Impersonate-User) and basic auth on a request. */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
  /** The kubeconfig context's namespace, when it names one (the default for the gateway's own objects). */
  readonly namespace?: string;
}

/** How long a token, CA or certificate file is reused before it is read again (client-go: 1 minute). */
export const FILE_REREAD_MS = 60_000;

/** A file's contents, read again once they are older than FILE_REREAD_MS. */
export class RereadFile {
  private value: Buffer | undefined;
  private readAt = -Infinity;

  constructor(
    readonly path: string,
    private readonly now: () => number,
  ) {}

  read(): Buffer {
    if (this.value === undefined || this.now() - this.readAt >= FILE_REREAD_MS) {
      this.value = readFileSync(this.path);
      this.readAt = this.now();
    }
    return this.value;
  }
}

export interface AccessOptions {
  now?: () => number;
  /** The context's namespace. */
  namespace?: string;
  /** Replaces the exec plugin runner (tests). */
  exec?: ExecCredentials;
}

/** A file when named, else inline base64 data, else nothing. */
function material(file: RereadFile | undefined, data: string | undefined): Buffer | undefined {
  if (file) return file.read();
  return data === undefined ? undefined : Buffer.from(data, 'base64');
}

export class KubeconfigAccess implements ApiServerAccess {
  private readonly files: Partial<Record<'ca' | 'cert' | 'key' | 'token', RereadFile>>;
  private readonly exec: ExecCredentials | undefined;
  readonly namespace: string | undefined;

  constructor(
    readonly cluster: ClusterEntry,
    readonly user: UserEntry | undefined,
    options: AccessOptions = {},
  ) {
    const now = options.now ?? Date.now;
    this.namespace = options.namespace;
    const file = (path: string | undefined) => (path === undefined ? undefined : new RereadFile(path, now));
    this.files = {
      ca: file(cluster.caFile),
      cert: file(user?.certFile),
      key: file(user?.keyFile),
      token: file(user?.tokenFile),
    };
    this.exec = user?.exec && (options.exec ?? new ExecCredentials(user.exec, cluster, now));
  }

  getCurrentCluster(): ClusterEntry {
    return this.cluster;
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const { cluster, user } = this;
    if (cluster.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster.tlsServerName) opts.servername = cluster.tlsServerName;
    const ca = material(this.files.ca, cluster.caData);
    if (ca) opts.ca = ca;
    if (!user) return;
    const headers = (opts.headers ??= {}) as Record<string, string>;
    const cert = material(this.files.cert, user.certData);
    const key = material(this.files.key, user.keyData);
    if (cert) opts.cert = cert;
    if (key) opts.key = key;
    if (user.impersonateUser) headers['Impersonate-User'] = user.impersonateUser;
    if (this.exec) {
      const credential = await this.exec.get();
      if (credential.clientCertificateData) opts.cert = credential.clientCertificateData;
      if (credential.clientKeyData) opts.key = credential.clientKeyData;
      if (credential.token) headers.Authorization = `Bearer ${credential.token}`;
    }
    const token = user.token ?? this.files.token?.read().toString('utf8').trim();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (user.username) opts.auth = `${user.username}:${user.password ?? ''}`;
  }
}
