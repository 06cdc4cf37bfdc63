/**
 * The local copy of one resource, keyed `namespace/name`. Every real change
 * (a new resourceVersion, an addition, a removal — also those a relist
 * discovers) is reported once through `onChange`, which is how indexes and
 * listeners stay in step.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ReflectorSink } from './reflector.js';

export type ChangeHandler<T> = (previous: T | undefined, current: T | undefined) => void;

export const objectKey = (namespace: string | undefined, name: string | undefined) =>
  `${namespace ?? ''}/${name ?? ''}`;
const keyOf = (obj: KubernetesObject) => objectKey(obj.metadata?.namespace, obj.metadata?.name);

export class ObjectCache<T extends KubernetesObject> implements ReflectorSink<T> {
  private readonly objects = new Map<string, T>();
  private snapshot: readonly T[] | undefined;

  constructor(private readonly onChange: ChangeHandler<T> = () => undefined) {}

  get(namespace: string, name: string): T | undefined {
    return this.objects.get(objectKey(namespace, name));
  }

  /** Every object; the same array until something changes. */
  values(): readonly T[] {
    return (this.snapshot ??= Object.freeze([...this.objects.values()]));
  }

  get size(): number {
    return this.objects.size;
  }

  replace(items: readonly T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(keyOf(item));
      this.upsert(item);
    }
    for (const [key, obj] of this.objects) if (!seen.has(key)) this.remove(obj);
  }

  upsert(obj: T): void {
    const key = keyOf(obj);
    const previous = this.objects.get(key);
    const rv = obj.metadata?.resourceVersion;
    if (previous && rv !== undefined && previous.metadata?.resourceVersion === rv) return;
    this.objects.set(key, obj);
    this.snapshot = undefined;
    this.onChange(previous, obj);
  }

  remove(obj: T): void {
    const key = keyOf(obj);
    const previous = this.objects.get(key);
    if (!previous) return;
    this.objects.delete(key);
    this.snapshot = undefined;
    this.onChange(previous, undefined);
  }
}
