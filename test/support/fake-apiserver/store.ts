/**
 * The fake API server's etcd: objects by resource, one global monotonically
 * increasing resourceVersion, and a bounded history of changes so watches can
 * resume from a resourceVersion — or be told it is too old (410 Gone).
 */
import { randomUUID } from 'node:crypto';

export type ResourceName = 'services' | 'endpointslices' | 'pods' | 'nodes' | 'secrets';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
  labels?: Record<string, string>;
  creationTimestamp?: string | Date;
}

/** Any Kubernetes object, as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

interface ResourceInfo {
  apiVersion: string;
  kind: string;
  namespaced: boolean;
}

export const RESOURCES: Record<ResourceName, ResourceInfo> = {
  services: { apiVersion: 'v1', kind: 'Service', namespaced: true },
  pods: { apiVersion: 'v1', kind: 'Pod', namespaced: true },
  nodes: { apiVersion: 'v1', kind: 'Node', namespaced: false },
  secrets: { apiVersion: 'v1', kind: 'Secret', namespaced: true },
  endpointslices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', namespaced: true },
};

export function resourceOf(obj: KubeObject): ResourceName {
  const entry = Object.entries(RESOURCES).find(([, info]) => info.kind === obj.kind);
  if (!entry) throw new Error(`fake apiserver: unsupported kind ${String(obj.kind)}`);
  return entry[0] as ResourceName;
}

export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: ResourceName;
  rv: number;
  object: KubeObject;
  /** The object before a MODIFIED change (watchers with a selector need it). */
  previous?: KubeObject;
}

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export class ObjectStore {
  /** The latest resourceVersion handed out. */
  rv = 1;
  private readonly objects = new Map<ResourceName, Map<string, KubeObject>>(
    (Object.keys(RESOURCES) as ResourceName[]).map((r) => [r, new Map()]),
  );
  private history: StoreEvent[] = [];
  /** Every event with rv > historyStart is in `history`. */
  private historyStart = 1;
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  constructor(private readonly historySize: number) {}

  /** Creates or replaces an object (a copy is stored); returns the stored copy. */
  upsert(input: KubeObject): KubeObject {
    const resource = resourceOf(input);
    const info = RESOURCES[resource];
    const obj = structuredClone(input);
    obj.apiVersion = info.apiVersion;
    const meta: ObjectMeta = (obj.metadata ??= {});
    if (!meta.name) throw new Error('fake apiserver: metadata.name is required');
    if (info.namespaced) meta.namespace ??= 'default';
    else delete meta.namespace;
    const key = keyOf(meta.namespace, meta.name);
    const previous = this.objects.get(resource)!.get(key);
    meta.uid = previous?.metadata?.uid ?? meta.uid ?? randomUUID();
    meta.creationTimestamp = previous?.metadata?.creationTimestamp ?? new Date().toISOString();
    meta.resourceVersion = String(++this.rv);
    this.objects.get(resource)!.set(key, obj);
    this.record({ type: previous ? 'MODIFIED' : 'ADDED', resource, rv: this.rv, object: obj, previous });
    return obj;
  }

  /** Deletes an object; false when there was none. */
  remove(resource: ResourceName, namespace: string | undefined, name: string): boolean {
    const bucket = this.objects.get(resource)!;
    const key = keyOf(RESOURCES[resource].namespaced ? (namespace ?? 'default') : undefined, name);
    const existing = bucket.get(key);
    if (!existing) return false;
    bucket.delete(key);
    // Like etcd, the DELETED event carries the resourceVersion of the deletion.
    const object = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(++this.rv) } };
    this.record({ type: 'DELETED', resource, rv: this.rv, object });
    return true;
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects
      .get(resource)!
      .get(keyOf(RESOURCES[resource].namespaced ? namespace : undefined, name));
  }

  list(resource: ResourceName, namespace?: string): KubeObject[] {
    const all = [...this.objects.get(resource)!.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  /** The events after `rv`, or 'gone' when the history no longer reaches back that far. */
  eventsSince(rv: number): StoreEvent[] | 'gone' {
    if (rv < this.historyStart) return 'gone';
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.history.slice(lo);
  }

  /** Forgets all history: a watch from any resourceVersion before now gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.historyStart = this.rv;
  }

  get oldestResourceVersion(): number {
    return this.historyStart;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    // Trim in batches so a bulk load of many objects stays linear.
    if (this.history.length > this.historySize * 2) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.historyStart = dropped[dropped.length - 1].rv;
    }
    for (const listener of this.listeners) listener(event);
  }
}
