/**
 * Writes to Secrets, as the apiserver does them: create (409 AlreadyExists
 * when the name is taken), update with optimistic concurrency (409 Conflict
 * when `metadata.resourceVersion` is not the current one) and delete with
 * preconditions (`preconditions.resourceVersion` / `uid`). Enough for a
 * component that keeps its state in Secrets (terminal sign-in).
 */
import { statusBody } from './reviews.js';
import type { KubeObject, ObjectStore } from './store.js';

export interface WriteResult {
  code: number;
  body: unknown;
}

interface Target {
  namespace?: string;
  name?: string;
}

const conflict = (name: string, why: string) =>
  statusBody(409, 'Conflict', `Operation cannot be fulfilled on secrets "${name}": ${why}`);
const notFound = (name: string) => ({
  ...statusBody(404, 'NotFound', `secrets "${name}" not found`),
  details: { name, kind: 'secrets' },
});

export function writeSecret(store: ObjectStore, method: string, target: Target, body: unknown): WriteResult {
  const namespace = target.namespace ?? 'default';
  const obj = (body ?? {}) as KubeObject & { preconditions?: { resourceVersion?: string; uid?: string } };
  if (method === 'POST') {
    const name = obj.metadata?.name;
    if (target.name || !name)
      return { code: 422, body: statusBody(422, 'Invalid', 'metadata.name: Required value') };
    if (store.get('secrets', namespace, name))
      return { code: 409, body: statusBody(409, 'AlreadyExists', `secrets "${name}" already exists`) };
    const created = store.upsert({
      ...obj,
      kind: 'Secret',
      metadata: { ...obj.metadata, namespace, resourceVersion: undefined },
    });
    return { code: 201, body: created };
  }
  const name = target.name;
  if (!name) return { code: 405, body: statusBody(405, 'MethodNotAllowed', 'a name is required') };
  const existing = store.get('secrets', namespace, name);
  if (!existing) return { code: 404, body: notFound(name) };
  const current = existing.metadata?.resourceVersion;
  if (method === 'PUT') {
    const wanted = obj.metadata?.resourceVersion;
    if (wanted && wanted !== current)
      return {
        code: 409,
        body: conflict(
          name,
          'the object has been modified; please apply your changes to the latest version and try again',
        ),
      };
    const updated = store.upsert({ ...obj, kind: 'Secret', metadata: { ...obj.metadata, namespace, name } });
    return { code: 200, body: updated };
  }
  if (method === 'DELETE') {
    const pre = obj.preconditions ?? {};
    if (
      (pre.resourceVersion && pre.resourceVersion !== current) ||
      (pre.uid && pre.uid !== existing.metadata?.uid)
    )
      return { code: 409, body: conflict(name, 'Precondition failed') };
    store.remove('secrets', namespace, name);
    return {
      code: 200,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, kind: 'secrets' },
      },
    };
  }
  return {
    code: 405,
    body: statusBody(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    ),
  };
}
