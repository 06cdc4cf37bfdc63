/**
 * EndpointSlices grouped by the Service they belong to (namespace + the
 * `kubernetes.io/service-name` label), so target resolution reads one small
 * array instead of scanning every slice of the cluster.
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { ObjectCache, objectKey } from './object-cache.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export type EndpointsListener = (namespace: string, service: string) => void;

const EMPTY: readonly V1EndpointSlice[] = Object.freeze([]);

function serviceOf(slice: V1EndpointSlice | undefined): string | undefined {
  const name = slice?.metadata?.labels?.[SERVICE_NAME_LABEL];
  return name ? objectKey(slice.metadata?.namespace, name) : undefined;
}

export class EndpointSliceIndex {
  readonly cache: ObjectCache<V1EndpointSlice>;
  /** service key → slice name → slice */
  private readonly byService = new Map<string, Map<string, V1EndpointSlice>>();
  private readonly arrays = new Map<string, readonly V1EndpointSlice[]>();
  private readonly listeners: EndpointsListener[] = [];

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {
    this.cache = new ObjectCache<V1EndpointSlice>((previous, current) => this.changed(previous, current));
  }

  /** The slices of a Service; the same frozen array until one of them changes. */
  slices(namespace: string, service: string): readonly V1EndpointSlice[] {
    const key = objectKey(namespace, service);
    let array = this.arrays.get(key);
    if (!array) {
      const bucket = this.byService.get(key);
      if (!bucket) return EMPTY;
      array = Object.freeze([...bucket.values()]);
      this.arrays.set(key, array);
    }
    return array;
  }

  onChange(listener: EndpointsListener): void {
    this.listeners.push(listener);
  }

  /** How many endpoints (addresses) the index holds. */
  endpointCount(): number {
    let n = 0;
    for (const slice of this.cache.values()) n += slice.endpoints?.length ?? 0;
    return n;
  }

  private changed(previous: V1EndpointSlice | undefined, current: V1EndpointSlice | undefined): void {
    const before = serviceOf(previous);
    const after = serviceOf(current);
    if (before) this.detach(before, previous!.metadata!.name!);
    if (after) this.attach(after, current!);
    for (const key of new Set([before, after])) {
      if (!key) continue;
      const slash = key.indexOf('/');
      const [namespace, service] = [key.slice(0, slash), key.slice(slash + 1)];
      for (const listener of this.listeners) {
        // A failing listener must not break the watch that delivered the change.
        try {
          listener(namespace, service);
        } catch (err) {
          this.onListenerError(err);
        }
      }
    }
  }

  private attach(key: string, slice: V1EndpointSlice): void {
    let bucket = this.byService.get(key);
    if (!bucket) this.byService.set(key, (bucket = new Map<string, V1EndpointSlice>()));
    bucket.set(slice.metadata!.name!, slice);
    this.arrays.delete(key);
  }

  private detach(key: string, name: string): void {
    const bucket = this.byService.get(key);
    if (!bucket) return;
    bucket.delete(name);
    if (bucket.size === 0) this.byService.delete(key);
    this.arrays.delete(key);
  }
}
