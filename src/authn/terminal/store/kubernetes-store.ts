/**
 * Terminal sign-in state as Secrets in the gateway's own namespace, for the
 * chart's default (two replicas, cookie sessions, no Redis): Pinniped keeps
 * its sessions the same way.
 *
 *   name         kb-cli-<kind>-<id>       (id: a family id or a SHA-256 digest, never a secret or a name)
 *   type         kube-bastion.io/cli-state
 *   labels       app.kubernetes.io/managed-by=kube-bastion, kube-bastion.io/cli-state=<kind>
 *   annotation   kube-bastion.io/expires-at=<ms>
 *   data.record  {v, e} JSON
 *
 * Consistency comes from the API server: create fails on an existing name
 * (409) unless the Secret there has expired (then it is replaced over the
 * resourceVersion read), replace carries the resourceVersion read (409 when
 * it moved), take is a GET then a DELETE with a resourceVersion precondition
 * (only one of several callers succeeds).
 *
 * Every replica watches these Secrets (one LIST, then a WATCH, by label), so
 * `expiry` — the per-request check of a CLI access token — is a map lookup,
 * and a revocation on one replica reaches the others as fast as the watch
 * delivers it. A family this replica has not seen yet (created a moment ago
 * elsewhere) is read with a GET. When the watch has been broken for half of
 * `maxStalenessMs` (a silent one is noticed after the other half), `expiry`
 * throws instead of answering from old knowledge: CLI tokens get 503 rather
 * than outlive a revocation. Expired Secrets are deleted by every replica's sweep.
 */
import { readFileSync } from 'node:fs';
import { boundedCache, type BoundedCache } from '../../../bounded-cache.js';
import type { ApiServerAccess } from '../../../kube/api-access.js';
import { ApiClient, ApiStatusError } from '../../../kube/api-client.js';
import { Reflector, withTimeout, type ListPage } from '../../../kube/reflector.js';
import { JsonWatch } from '../../../kube/watch.js';
import type { Logger } from '../../../observability/logger.js';
import {
  envelope,
  openEnvelope,
  StoreUnavailableError,
  type RecordKind,
  type RecordStore,
  type Versioned,
} from './record-store.js';

const KIND_LABEL = 'kube-bastion.io/cli-state';
const EXPIRES = 'kube-bastion.io/expires-at';
const SECRET_TYPE = 'kube-bastion.io/cli-state';
/** A GET answer for a record the watch has not brought yet is reused this long. */
const LOOKUP_TTL_MS = 5_000;
const SWEEP_EVERY_MS = 5 * 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** The fields of a Secret this store writes and reads. */
interface Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  type?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
}

export interface KubernetesRecordStoreOptions {
  kubeConfig: ApiServerAccess;
  namespace: string;
  maxStalenessMs: number;
  now: () => number;
  logger: Logger;
}

/** The gateway's own namespace in a pod, else the kubeconfig context's, else `default`. */
export function defaultNamespace(
  kc: ApiServerAccess,
  file = '/var/run/secrets/kubernetes.io/serviceaccount/namespace',
): string {
  try {
    const own = readFileSync(file, 'utf8').trim();
    if (own) return own;
  } catch {
    // Not in a pod.
  }
  return kc.namespace ?? 'default';
}

const status = (err: unknown) => (err instanceof ApiStatusError ? err.status : undefined);

export class KubernetesRecordStore implements RecordStore {
  readonly name = 'kubernetes';
  readonly lagMs: number;
  private readonly api: ApiClient;
  private readonly collection: string;
  private readonly reflector: Reflector<Secret>;
  /** Expiry by Secret name, as the watch reports it. */
  private readonly known = new Map<string, number>();
  private readonly looked: BoundedCache<string, { e: number | undefined }>;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly o: KubernetesRecordStoreOptions) {
    this.lagMs = o.maxStalenessMs;
    this.api = new ApiClient(o.kubeConfig, REQUEST_TIMEOUT_MS);
    this.collection = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/secrets`;
    this.looked = boundedCache({
      max: 50_000,
      ttl: Math.min(LOOKUP_TTL_MS, o.maxStalenessMs),
      now: o.now,
    });
    const known = this.known;
    const expiresOf = (s: Secret) => Number(s.metadata?.annotations?.[EXPIRES] ?? 0);
    this.reflector = new Reflector<Secret>({
      resource: 'cli-state-secrets',
      path: this.collection,
      labelSelector: KIND_LABEL,
      list: (page) => this.api.get<ListPage<Secret>>(this.listPath(page)),
      deserialize: (raw) => raw as Secret,
      watch: new JsonWatch(this.api),
      sink: {
        replace(items) {
          known.clear();
          for (const s of items) known.set(s.metadata!.name!, expiresOf(s));
        },
        upsert: (s) => known.set(s.metadata!.name!, expiresOf(s)),
        remove: (s) => known.delete(s.metadata!.name!),
      },
      logger: o.logger.child({ component: 'terminal-store' }),
      backoff: { initialMs: 500, maxMs: 10_000 },
      pageSize: 500,
      // A healthy watch is renewed (or heard from) well within the staleness bound.
      watchTimeoutSeconds: Math.max(5, Math.floor(o.maxStalenessMs / 4000)),
      idleTimeoutMs: Math.max(2_500, o.maxStalenessMs / 2),
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      now: o.now,
    });
  }

  private listPath(page: { limit?: number; continue?: string }): string {
    const q = new URLSearchParams({ labelSelector: KIND_LABEL });
    if (page.limit) q.set('limit', String(page.limit));
    if (page.continue) q.set('continue', page.continue);
    return `${this.collection}?${q.toString()}`;
  }

  private path(name: string): string {
    return `${this.collection}/${encodeURIComponent(name)}`;
  }

  private secretName(kind: RecordKind, id: string): string {
    return `kb-cli-${kind}-${id}`;
  }

  private secret(kind: RecordKind, id: string, value: unknown, expiresAt: number, version?: string): Secret {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: SECRET_TYPE,
      metadata: {
        name: this.secretName(kind, id),
        namespace: this.o.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'kube-bastion', [KIND_LABEL]: kind },
        annotations: { [EXPIRES]: String(expiresAt) },
        ...(version ? { resourceVersion: version } : {}),
      },
      data: { record: Buffer.from(envelope(value, expiresAt)).toString('base64') },
    };
  }

  /** Calls the API server; conflicts and absence are answers, anything else is unavailability. */
  private async call<T>(what: string, op: () => Promise<T>, answers: number[] = []): Promise<T | number> {
    try {
      return await withTimeout(op(), REQUEST_TIMEOUT_MS, what);
    } catch (err) {
      const code = status(err);
      if (code !== undefined && answers.includes(code)) return code;
      throw new StoreUnavailableError(
        `the Kubernetes API did not answer ${what} (${code ?? (err as Error).message})`,
      );
    }
  }

  private opened(s: Secret): { env: ReturnType<typeof openEnvelope>; version: string } {
    const raw = s.data?.record ? Buffer.from(s.data.record, 'base64').toString('utf8') : undefined;
    return { env: openEnvelope(raw, this.o.now()), version: s.metadata?.resourceVersion ?? '' };
  }

  async create(kind: RecordKind, id: string, value: unknown, expiresAt: number): Promise<boolean> {
    const body = this.secret(kind, id, value, expiresAt);
    const name = body.metadata!.name!;
    const done = await this.call('create', () => this.api.post<Secret>(this.collection, body), [409]);
    if (done === 409) {
      // An expired Secret the sweep has not deleted yet reads as absent: it is written over.
      const there = await this.read(name);
      const opened = there && this.opened(there);
      if (!opened || opened.env || !(await this.replace(kind, id, value, expiresAt, opened.version)))
        return false;
    }
    this.known.set(name, expiresAt);
    this.looked.delete(name);
    return true;
  }

  private async read(name: string): Promise<Secret | undefined> {
    const s = await this.call('get', () => this.api.get<Secret>(this.path(name)), [404]);
    return typeof s === 'number' ? undefined : s;
  }

  async get<T>(kind: RecordKind, id: string): Promise<Versioned<T> | undefined> {
    const s = await this.read(this.secretName(kind, id));
    if (!s) return undefined;
    const { env, version } = this.opened(s);
    return env && { value: env.v as T, version };
  }

  async replace(
    kind: RecordKind,
    id: string,
    value: unknown,
    expiresAt: number,
    version: string,
  ): Promise<boolean> {
    const body = this.secret(kind, id, value, expiresAt, version);
    const name = body.metadata!.name!;
    const done = await this.call('replace', () => this.api.put<Secret>(this.path(name), body), [404, 409]);
    return typeof done !== 'number';
  }

  async take<T>(kind: RecordKind, id: string): Promise<T | undefined> {
    const name = this.secretName(kind, id);
    const s = await this.read(name);
    if (!s) return undefined;
    const { env, version } = this.opened(s);
    const gone = await this.call(
      'delete',
      () =>
        this.api.delete(this.path(name), {
          body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: version } },
        }),
      [404, 409],
    );
    if (typeof gone === 'number') return undefined; // someone else took it first
    this.known.delete(name);
    return env?.v as T | undefined;
  }

  async delete(kind: RecordKind, id: string): Promise<void> {
    const name = this.secretName(kind, id);
    await this.call('delete', () => this.api.delete(this.path(name)), [404]);
    this.known.delete(name);
    this.looked.delete(name);
  }

  async expiry(kind: RecordKind, id: string): Promise<number | undefined> {
    this.checkFresh();
    const name = this.secretName(kind, id);
    const now = this.o.now();
    const known = this.known.get(name);
    if (known !== undefined) return known > now ? known : undefined;
    const hit = this.looked.get(name);
    if (hit) return hit.e !== undefined && hit.e > now ? hit.e : undefined;
    const s = await this.read(name);
    const e = s && this.opened(s).env?.e;
    this.looked.set(name, { e });
    return e;
  }

  private checkFresh(): void {
    const r = this.reflector;
    const since = r.unhealthySince;
    if (!r.synced || (since !== undefined && this.o.now() - since > this.o.maxStalenessMs / 2))
      throw new StoreUnavailableError('the gateway has lost its watch of the Kubernetes API');
  }

  ready(): boolean {
    return this.reflector.synced;
  }

  async start(): Promise<void> {
    this.reflector.start();
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.sweeper.unref();
    await this.reflector.whenSynced();
  }

  /** Deletes expired records (any replica may; the others get 404). */
  async sweep(): Promise<void> {
    const now = this.o.now();
    for (const [name, e] of [...this.known]) {
      if (e > now) continue;
      await this.api.delete(this.path(name)).catch(() => undefined);
      this.known.delete(name);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.reflector.stop();
  }
}
