/**
 * The namespaces that hold at least one Service, kept in step with the
 * Service cache. Metric labels take a namespace only from here (or from a
 * target that resolved), so a client cannot mint label values by naming
 * namespaces that do not exist.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ChangeHandler } from './object-cache.js';

export class NamespaceIndex {
  /** namespace → objects in it; as many entries as the cluster has namespaces with Services. */
  private readonly counts = new Map<string, number>();

  has(namespace: string): boolean {
    return this.counts.has(namespace);
  }

  /** An ObjectCache change handler. */
  readonly changed: ChangeHandler<KubernetesObject> = (previous, current) => {
    const before = previous?.metadata?.namespace;
    const after = current?.metadata?.namespace;
    if (before === after) return;
    if (before !== undefined) {
      const n = (this.counts.get(before) ?? 1) - 1;
      if (n <= 0) this.counts.delete(before);
      else this.counts.set(before, n);
    }
    if (after !== undefined) this.counts.set(after, (this.counts.get(after) ?? 0) + 1);
  };
}
