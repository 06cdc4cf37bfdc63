/**
 * A faithful in-process Kubernetes API server for tests: HTTPS with a CA made
 * at start, bearer-token auth, list (with pagination) and watch (resume,
 * bookmarks, 410 Gone, timeouts) over Services, EndpointSlices, Pods,
 * Nodes and Secrets (which can also be written: fake-apiserver/writes.ts),
 * TokenReview and SubjectAccessReview — plus the controls a test needs
 * to misbehave on purpose: cut watches, forget history, go away and come back.
 *
 * The gateway's own API client talks to it through `kubeConfig()`; the real
 * @kubernetes/client-node through `clientNodeKubeConfig()`, which loads that
 * package only when a test asks (its import is some 800 modules and half a
 * second per test file).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { KubeconfigAccess, type ApiServerAccess } from '../../src/kube/api-access.js';
import { parseKubeconfig } from '../../src/kube/kubeconfig-file.js';
import { discovery } from './fake-apiserver/discovery.js';
import { pod } from './fake-apiserver/objects.js';
import { listPage, type ContinueSnapshots } from './fake-apiserver/list.js';
import {
  reviewAccess,
  reviewToken,
  statusBody,
  type AccessGrant,
  type TokenIdentity,
} from './fake-apiserver/reviews.js';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './fake-apiserver/selectors.js';
import {
  ObjectStore,
  RESOURCES,
  resourceOf,
  type KubeObject,
  type ResourceName,
} from './fake-apiserver/store.js';
import { serveWatch } from './fake-apiserver/watch.js';
import { writeSecret } from './fake-apiserver/writes.js';
import { createTestCA } from './tls.js';

export * from './fake-apiserver/objects.js';
export type { AccessGrant, TokenIdentity } from './fake-apiserver/reviews.js';
export type { KubeObject, ResourceName } from './fake-apiserver/store.js';

export interface FakeApiServerOptions {
  /** The bearer token the gateway uses (written into kubeConfig()); default random. */
  token?: string;
  /** TokenReview table: token → identity. */
  tokens?: Record<string, TokenIdentity>;
  /** SubjectAccessReview grants. */
  grants?: AccessGrant[];
  /** The server's own audiences (TokenReview without spec.audiences). */
  apiAudiences?: string[];
  /** Watch events kept for resuming; older resourceVersions get 410. Default 1000. */
  historySize?: number;
  /** Period of BOOKMARK events on watches that ask for them. Default 1000 ms. */
  bookmarkIntervalMs?: number;
  /** Server-side watch timeout when the client sends no timeoutSeconds. Default: none. */
  watchTimeoutSeconds?: number;
  /** A too-old watch resourceVersion: an ERROR event with a 410 Status (the real behaviour) or HTTP 410. */
  goneAs?: 'event' | 'status';
  /** Delay before every response. */
  latencyMs?: number;
  /** Objects present from the start. */
  objects?: KubeObject[];
  /**
   * Plays the kubelet for EndpointSlices: each endpoint whose targetRef names a Pod of the slice's
   * namespace that nobody created gets a running Pod holding its IP (and keeps following it), as in
   * a cluster where the slice controller wrote the slice from its Pods. Pods a test creates are never
   * touched. Default false (the gateway harness turns it on).
   */
  createPodsForSlices?: boolean;
}

export type RequestVerb = 'list' | 'watch' | 'get' | 'create' | 'other';

export interface RequestRecord {
  method: string;
  /** Path with query. */
  url: string;
  verb: RequestVerb;
  /** `services`, `endpointslices`, `pods`, `nodes`, `tokenreviews`, `subjectaccessreviews`, or undefined. */
  resource?: string;
  namespace?: string;
  name?: string;
  status: number;
  at: number;
}

export type RequestFilter = Partial<
  Pick<RequestRecord, 'method' | 'verb' | 'resource' | 'namespace' | 'name' | 'status'>
>;

interface InjectedFailure {
  filter: RequestFilter;
  status: number;
  remaining: number;
}

interface Route {
  resource: string;
  namespace?: string;
  name?: string;
}

const ROUTE =
  /^\/(api\/v1|apis\/discovery\.k8s\.io\/v1|apis\/authentication\.k8s\.io\/v1|apis\/authorization\.k8s\.io\/v1)\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?$/;
const GROUP_OF: Record<string, string> = {
  services: 'api/v1',
  pods: 'api/v1',
  nodes: 'api/v1',
  secrets: 'api/v1',
  endpointslices: 'apis/discovery.k8s.io/v1',
  tokenreviews: 'apis/authentication.k8s.io/v1',
  subjectaccessreviews: 'apis/authorization.k8s.io/v1',
};

function route(pathname: string): Route | undefined {
  const m = ROUTE.exec(pathname);
  if (!m || GROUP_OF[m[3]] !== m[1]) return undefined;
  const [, , namespace, resource, name] = m;
  const info = RESOURCES[resource as ResourceName] as (typeof RESOURCES)[ResourceName] | undefined;
  if (info && !info.namespaced && namespace !== undefined) return undefined;
  if (info?.namespaced && namespace === undefined && name !== undefined) return undefined;
  return {
    resource: resource,
    namespace: namespace && decodeURIComponent(namespace),
    name: name && decodeURIComponent(name),
  };
}

const UNPROTECTED = new Set(['/healthz', '/livez', '/readyz', '/version']);

export class FakeApiServer {
  readonly token: string;
  readonly requests: RequestRecord[] = [];
  readonly tokens: Map<string, TokenIdentity>;
  readonly grants: AccessGrant[];
  /** Every SubjectAccessReview body received, in order: what the gateway asked. */
  readonly accessReviews: object[] = [];
  latencyMs: number;
  private readonly store: ObjectStore;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<{ res: ServerResponse; close: () => void }>();
  private readonly snapshots: ContinueSnapshots = new Map();
  private failures: InjectedFailure[] = [];
  private holds: { filter: RequestFilter; waiting: Set<() => void>; most: number }[] = [];
  private server: Server;
  private running = false;
  port = 0;

  constructor(
    private readonly tls: { cert: string; key: string; caPem: string },
    private readonly opts: FakeApiServerOptions,
  ) {
    this.token = opts.token ?? randomBytes(16).toString('hex');
    this.tokens = new Map(Object.entries(opts.tokens ?? {}));
    this.grants = [...(opts.grants ?? [])];
    this.latencyMs = opts.latencyMs ?? 0;
    this.store = new ObjectStore(opts.historySize ?? 1000);
    this.upsert(...(opts.objects ?? []));
    this.server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => void this.handle(req, res));
    // Raw TCP sockets, including those still in the TLS handshake, which closeAllConnections() misses.
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get caPem(): string {
    return this.tls.caPem;
  }

  /** The latest resourceVersion. */
  get resourceVersion(): string {
    return String(this.store.rv);
  }

  get activeWatches(): number {
    return this.watches.size;
  }

  // --- lifecycle ------------------------------------------------------------

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.running = true;
  }

  /** The API server goes away: the port is closed and every connection (watches too) is dropped. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const hold of this.holds) for (const resume of hold.waiting) resume();
    this.holds = [];
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.watches.clear();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** The API server comes back on the same port with the same objects and history. */
  async restart(): Promise<void> {
    if (!this.running) await this.listen();
  }

  // --- objects ----------------------------------------------------------------

  /** Creates or replaces objects (bumping the resourceVersion, notifying watchers); returns the stored copies. */
  upsert<T extends KubeObject>(...objects: T[]): T[] {
    return objects.map((o) => {
      if (o.kind === 'Pod') this.podsForSlices.delete(keyOfObject(o));
      const stored = this.store.upsert(o) as T;
      if (o.kind === 'EndpointSlice' && this.opts.createPodsForSlices)
        this.createPodsFor(stored as unknown as V1EndpointSlice);
      return stored;
    });
  }

  /** Pods created by createPodsForSlices, `namespace/name`. */
  private readonly podsForSlices = new Set<string>();

  private createPodsFor(slice: V1EndpointSlice): void {
    const namespace = slice.metadata?.namespace ?? 'default';
    for (const ep of slice.endpoints ?? []) {
      const ref = ep.targetRef;
      const ip = ep.addresses?.[0];
      if (ref?.kind !== 'Pod' || !ref.name || ref.namespace !== namespace || !ip) continue;
      const key = `${namespace}/${ref.name}`;
      const existing = this.store.get('pods', namespace, ref.name) as V1Pod | undefined;
      if (existing && !this.podsForSlices.has(key)) continue;
      if (existing?.status?.podIPs?.some((p) => p.ip === ip)) continue;
      this.store.upsert(pod(namespace, ref.name, ip));
      this.podsForSlices.add(key);
    }
  }

  /** Deletes an object (given as the object or by resource, namespace and name); false if absent. */
  remove(obj: KubeObject): boolean;
  remove(resource: ResourceName, namespace: string | undefined, name: string): boolean;
  remove(objOrResource: KubeObject | ResourceName, namespace?: string, name?: string): boolean {
    if (typeof objOrResource === 'string') return this.store.remove(objOrResource, namespace, name!);
    const meta = objOrResource.metadata ?? {};
    return this.store.remove(resourceOf(objOrResource), meta.namespace, meta.name ?? '');
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(resource, namespace, name);
  }

  list(resource: ResourceName, namespace?: string): KubeObject[] {
    return this.store.list(resource, namespace);
  }

  // --- misbehaviour -----------------------------------------------------------

  /** Forgets the watch history (and list continue tokens): the next resume gets 410 Gone. */
  compactHistory(): void {
    this.store.compact();
    this.snapshots.clear();
  }

  /** Destroys every open watch connection mid-stream; returns how many. */
  cutWatches(): number {
    const n = this.watches.size;
    for (const w of this.watches) w.res.socket?.destroy();
    this.watches.clear();
    return n;
  }

  /** Ends every open watch cleanly (as a server-side timeout does); returns how many. */
  closeWatches(): number {
    const n = this.watches.size;
    for (const w of this.watches) w.close();
    this.watches.clear();
    return n;
  }

  /** The next `times` requests matching `filter` are answered with `status`. */
  /**
   * Requests matching `filter` get no answer until `release()` — a stalled API
   * server. `waiting()` counts those still held (a client that gives up leaves);
   * `most()` is the largest number held at once.
   */
  hold(filter: Omit<RequestFilter, 'status'>): { release(): void; waiting(): number; most(): number } {
    const hold = { filter, waiting: new Set<() => void>(), most: 0 };
    this.holds.push(hold);
    return {
      release: () => {
        this.holds = this.holds.filter((h) => h !== hold);
        for (const resume of hold.waiting) resume();
        hold.waiting.clear();
      },
      waiting: () => hold.waiting.size,
      most: () => hold.most,
    };
  }

  failRequests(filter: Omit<RequestFilter, 'status'>, status: number, times = 1): void {
    this.failures.push({ filter, status, remaining: times });
  }

  // --- request log --------------------------------------------------------------

  count(filter: RequestFilter = {}): number {
    return this.requests.filter((r) => matchesFilter(r, filter)).length;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  // --- client configuration -----------------------------------------------------

  /** The gateway's own access to this server (as `kubernetes:` config builds it): URL, this CA, the token. */
  kubeConfig(token = this.token): ApiServerAccess {
    const data = parseKubeconfig(this.kubeconfigYAML(token), tmpdir());
    return new KubeconfigAccess(data.clusters[0], data.users[0]);
  }

  /** A KubeConfig for the real @kubernetes/client-node: the server URL, this CA, and the token. */
  async clientNodeKubeConfig(token = this.token): Promise<KubeConfig> {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfigYAML(token));
    return kc;
  }

  /** Writes a kubeconfig file (context `fake`) and returns its path. */
  writeKubeconfig(
    file = join(mkdtempSync(join(tmpdir(), 'fake-kube-')), 'config'),
    token = this.token,
  ): string {
    writeFileSync(file, this.kubeconfigYAML(token), { mode: 0o600 });
    return file;
  }

  private kubeconfigYAML(token: string): string {
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'fake',
          cluster: {
            server: this.url,
            'certificate-authority-data': Buffer.from(this.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'gateway', user: { token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'gateway' } }],
      'current-context': 'fake',
    });
  }

  // --- HTTP -------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.running) return void req.socket.destroy();
    const url = new URL(req.url ?? '/', 'https://fake');
    const target = route(url.pathname);
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb: RequestVerb =
      req.method === 'POST'
        ? 'create'
        : req.method !== 'GET' || !target
          ? 'other'
          : target.name
            ? 'get'
            : watch
              ? 'watch'
              : 'list';
    const record: RequestRecord = {
      method: req.method ?? '',
      url: req.url ?? '',
      verb,
      ...target,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(record);
    const reply = (code: number, body: unknown) => {
      record.status = code;
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const hold = this.holds.find((h) => matchesFilter(record, h.filter));
    if (hold) {
      await new Promise<void>((resume) => {
        const leave = () => {
          hold.waiting.delete(leave);
          req.socket.off('close', leave);
          resume();
        };
        hold.waiting.add(leave);
        hold.most = Math.max(hold.most, hold.waiting.size);
        req.socket.once('close', leave);
      });
      if (req.socket.destroyed) return;
    }

    if (UNPROTECTED.has(url.pathname)) {
      return reply(
        200,
        url.pathname === '/version' ? { major: '1', minor: '34', gitVersion: 'v1.34.0-fake' } : 'ok',
      );
    }
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return reply(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    const document = req.method === 'GET' ? discovery(url.pathname) : undefined;
    if (document) return reply(200, document);
    if (!target)
      return reply(404, {
        ...statusBody(404, 'NotFound', 'the server could not find the requested resource'),
        details: {},
      });
    const failure = this.failures.find((f) => f.remaining > 0 && matchesFilter(record, f.filter));
    if (failure) {
      failure.remaining--;
      return reply(
        failure.status,
        statusBody(failure.status, failure.status >= 500 ? 'InternalError' : '', 'injected failure'),
      );
    }

    if (target.resource === 'secrets' && ['POST', 'PUT', 'DELETE'].includes(req.method ?? '')) {
      const result = writeSecret(this.store, req.method!, target, await readJSON(req));
      return reply(result.code, result.body);
    }
    if (verb === 'create') {
      const body = await readJSON(req);
      if (body === undefined)
        return reply(400, statusBody(400, 'BadRequest', 'the request body is not valid JSON'));
      const result =
        target.resource === 'tokenreviews'
          ? reviewToken(
              body,
              this.tokens,
              this.opts.apiAudiences ?? ['https://kubernetes.default.svc.cluster.local'],
            )
          : target.resource === 'subjectaccessreviews'
            ? (this.accessReviews.push(body), reviewAccess(body, this.grants))
            : {
                code: 405,
                body: statusBody(
                  405,
                  'MethodNotAllowed',
                  'the server does not allow this method on the requested resource',
                ),
              };
      return reply(result.code, result.body);
    }
    const resource = target.resource as ResourceName;
    if (verb === 'other' || !RESOURCES[resource]) {
      return reply(
        405,
        statusBody(
          405,
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        ),
      );
    }
    if (verb === 'get') {
      const obj = this.store.get(resource, target.namespace, target.name!);
      if (obj) return reply(200, obj);
      return reply(404, {
        ...statusBody(404, 'NotFound', `${resource} "${target.name}" not found`),
        details: { name: target.name, kind: resource },
      });
    }

    let matches;
    try {
      const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
      const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
      matches = (o: KubeObject) => labels(o) && fields(o);
    } catch (err) {
      if (err instanceof SelectorError) return reply(400, statusBody(400, 'BadRequest', err.message));
      throw err;
    }
    if (verb === 'list') {
      const page = listPage(
        this.store,
        this.snapshots,
        resource,
        target.namespace,
        matches,
        url.searchParams,
      );
      return reply(page.code, page.body);
    }
    record.status = 200;
    const timeout = url.searchParams.get('timeoutSeconds');
    const entry = {
      res,
      close: serveWatch(
        this.store,
        {
          resource,
          namespace: target.namespace,
          matches,
          resourceVersion: url.searchParams.get('resourceVersion'),
          bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
          bookmarkIntervalMs: this.opts.bookmarkIntervalMs ?? 1000,
          timeoutSeconds: timeout ? Number(timeout) : this.opts.watchTimeoutSeconds,
          goneAs: this.opts.goneAs ?? 'event',
        },
        res,
      ),
    };
    record.status = res.statusCode;
    if (res.writableEnded) return;
    this.watches.add(entry);
    res.on('close', () => this.watches.delete(entry));
  }
}

const keyOfObject = (o: KubeObject) => `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;

function matchesFilter(record: RequestRecord, filter: RequestFilter): boolean {
  return (Object.keys(filter) as Array<keyof RequestFilter>).every((k) => record[k] === filter[k]);
}

async function readJSON(req: IncomingMessage): Promise<object | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof body === 'object' && body !== null ? body : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the fake API server on 127.0.0.1 with a fresh CA. Call `stop()` when done. */
export async function startFakeApiServer(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const ca = await createTestCA('fake-apiserver CA');
  const leaf = await ca.issue(['localhost', '127.0.0.1']);
  const server = new FakeApiServer({ ...leaf, caPem: ca.caPem }, opts);
  await server.listen();
  return server;
}
