/**
 * A kubeconfig file read into the few fields the gateway acts on. The field
 * names follow @kubernetes/client-node's `Cluster` and `User` (a client-node
 * `KubeConfig` and ours answer `getCurrentCluster()` alike), the merge rules
 * follow kubectl: with several files, the first file to name a cluster, user
 * or context — or to set `current-context` — wins. Relative file paths are
 * taken from the directory of the file that names them.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface ClusterEntry {
  name: string;
  /** Without a trailing slash. */
  server: string;
  caFile?: string;
  caData?: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
}

/** kubeconfig `users[].user.exec`: a command that prints an ExecCredential. */
export interface ExecConfig {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  apiVersion?: string;
  provideClusterInfo?: boolean;
}

export interface UserEntry {
  name: string;
  token?: string;
  tokenFile?: string;
  certFile?: string;
  certData?: string;
  keyFile?: string;
  keyData?: string;
  username?: string;
  password?: string;
  impersonateUser?: string;
  exec?: ExecConfig;
  /** A legacy `auth-provider` plugin (oidc, gcp, azure): client-node handles it. */
  authProvider?: { name?: string; config?: Record<string, unknown> };
}

export interface ContextEntry {
  name: string;
  cluster: string;
  user?: string;
  namespace?: string;
}

export interface KubeconfigData {
  clusters: ClusterEntry[];
  users: UserEntry[];
  contexts: ContextEntry[];
  currentContext?: string;
}

type Raw = Record<string, unknown>;
const record = (v: unknown): Raw => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const list = (v: unknown): Raw[] => (Array.isArray(v) ? v.map(record) : []);

function absolute(dir: string, file: string | undefined): string | undefined {
  return file === undefined || isAbsolute(file) ? file : join(dir, file);
}

function cluster(entry: Raw, i: number, dir: string): ClusterEntry {
  const c = record(entry.cluster);
  const name = str(entry.name);
  const server = str(c.server);
  if (!name) throw new Error(`clusters[${i}].name is missing`);
  if (!server) throw new Error(`clusters[${i}].cluster.server is missing`);
  return {
    name,
    server: server.replace(/\/$/, ''),
    caFile: absolute(dir, str(c['certificate-authority'])),
    caData: str(c['certificate-authority-data']),
    skipTLSVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: str(c['tls-server-name']),
    proxyUrl: str(c['proxy-url']),
  };
}

function exec(raw: unknown): ExecConfig | undefined {
  const e = record(raw);
  const command = str(e.command);
  if (!command) return undefined;
  return {
    command,
    args: Array.isArray(e.args) ? e.args.map(String) : undefined,
    env: list(e.env)
      .map((v) => ({ name: str(v.name) ?? '', value: str(v.value) ?? '' }))
      .filter((v) => v.name !== ''),
    apiVersion: str(e.apiVersion),
    provideClusterInfo: e.provideClusterInfo === true,
  };
}

function user(entry: Raw, i: number, dir: string): UserEntry {
  const u = record(entry.user);
  const name = str(entry.name);
  if (!name) throw new Error(`users[${i}].name is missing`);
  const provider = u['auth-provider'] === undefined ? undefined : record(u['auth-provider']);
  return {
    name,
    token: str(u.token),
    tokenFile: absolute(dir, str(u.tokenFile) ?? str(u['token-file'])),
    certFile: absolute(dir, str(u['client-certificate'])),
    certData: str(u['client-certificate-data']),
    keyFile: absolute(dir, str(u['client-key'])),
    keyData: str(u['client-key-data']),
    username: str(u.username),
    password: str(u.password),
    impersonateUser: str(u.as),
    exec: exec(u.exec),
    authProvider: provider && { name: str(provider.name), config: record(provider.config) },
  };
}

function context(entry: Raw, i: number): ContextEntry {
  const c = record(entry.context);
  const name = str(entry.name);
  if (!name) throw new Error(`contexts[${i}].name is missing`);
  return { name, cluster: str(c.cluster) ?? '', user: str(c.user), namespace: str(c.namespace) };
}

/** One kubeconfig document; `dir` anchors its relative paths. */
export function parseKubeconfig(text: string, dir: string): KubeconfigData {
  const doc = record(parse(text));
  return {
    clusters: list(doc.clusters).map((c, i) => cluster(c, i, dir)),
    users: list(doc.users).map((u, i) => user(u, i, dir)),
    contexts: list(doc.contexts).map((c, i) => context(c, i)),
    currentContext: str(doc['current-context']),
  };
}

function firstWins<T extends { name: string }>(into: T[], more: readonly T[]): void {
  for (const item of more) if (!into.some((x) => x.name === item.name)) into.push(item);
}

/** Reads and merges kubeconfig files (kubectl's rules: the first to name something wins). */
export function readKubeconfigFiles(files: readonly string[]): KubeconfigData {
  const merged: KubeconfigData = { clusters: [], users: [], contexts: [] };
  for (const file of files) {
    const data = parseKubeconfig(readFileSync(file, 'utf8'), dirname(file));
    firstWins(merged.clusters, data.clusters);
    firstWins(merged.users, data.users);
    firstWins(merged.contexts, data.contexts);
    merged.currentContext ??= data.currentContext;
  }
  return merged;
}
