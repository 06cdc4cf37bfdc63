/**
 * LIST with `limit` and `continue`: every page of one list comes from the
 * same snapshot and carries the snapshot's resourceVersion, as with etcd.
 * Continue tokens die with compaction (410 Expired).
 */
import type { ObjectMatcher } from './selectors.js';
import { statusBody } from './reviews.js';
import { RESOURCES, type KubeObject, type ObjectStore, type ResourceName } from './store.js';

export type ContinueSnapshots = Map<string, { items: KubeObject[]; rv: string }>;

const MAX_SNAPSHOTS = 100;
let nextSnapshot = 1;

export function listPage(
  store: ObjectStore,
  snapshots: ContinueSnapshots,
  resource: ResourceName,
  namespace: string | undefined,
  matches: ObjectMatcher,
  params: URLSearchParams,
): { code: number; body: unknown } {
  const limit = Math.max(0, Number(params.get('limit') ?? 0) || 0);
  const token = params.get('continue');
  let id: string;
  let offset = 0;
  let snapshot: { items: KubeObject[]; rv: string } | undefined;
  if (token) {
    try {
      ({ id, offset } = JSON.parse(Buffer.from(token, 'base64url').toString()) as {
        id: string;
        offset: number;
      });
    } catch {
      return { code: 400, body: statusBody(400, 'BadRequest', 'continue key is not valid') };
    }
    snapshot = snapshots.get(id);
    if (!snapshot) {
      const message =
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';
      return { code: 410, body: statusBody(410, 'Expired', message) };
    }
  } else {
    id = String(nextSnapshot++);
    snapshot = { items: store.list(resource, namespace).filter(matches), rv: String(store.rv) };
  }
  const end = limit > 0 ? offset + limit : snapshot.items.length;
  const metadata: Record<string, unknown> = { resourceVersion: snapshot.rv };
  if (end < snapshot.items.length) {
    snapshots.set(id, snapshot);
    if (snapshots.size > MAX_SNAPSHOTS) snapshots.delete(snapshots.keys().next().value!);
    metadata.continue = Buffer.from(JSON.stringify({ id, offset: end })).toString('base64url');
    metadata.remainingItemCount = snapshot.items.length - end;
  } else {
    snapshots.delete(id);
  }
  const { kind, apiVersion } = RESOURCES[resource];
  return {
    code: 200,
    body: { kind: `${kind}List`, apiVersion, metadata, items: snapshot.items.slice(offset, end) },
  };
}
