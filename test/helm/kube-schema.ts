/**
 * Validates rendered objects against the Kubernetes OpenAPI schemas carried by
 * kubernetes-models, plus what those schemas let through: unknown fields (the API
 * server would drop `replicaz: 2` silently, or reject it with strict validation).
 *
 * The unknown-field check is cheap: the generated validators read every property
 * the schema knows, so the object is wrapped in a Proxy and any key never read is
 * one the schema does not define.
 */
import type { KubeObject } from './helm-tool.js';

type Validatable = { prototype: { validate(this: unknown): void } };

/** apiVersion → the kubernetes-models module holding its kinds ("v1" is core). */
async function modelFor(apiVersion: string, kind: string): Promise<Validatable | undefined> {
  try {
    const mod = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, Validatable>;
    return mod[kind];
  } catch {
    return undefined;
  }
}

function tracked(value: unknown, path: string, unread: Set<string>): unknown {
  if (!value || typeof value !== 'object') return value;
  for (const key of Object.keys(value)) unread.add(`${path}/${key}`);
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === 'string' && Object.hasOwn(target, key)) {
        unread.delete(`${path}/${key}`);
        return tracked((target as Record<string, unknown>)[key], `${path}/${key}`, unread);
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/** Custom resources the chart may render; kubernetes-models has no schema for them. */
interface HTTPRouteSpec {
  parentRefs?: unknown[];
  rules?: { backendRefs?: { name?: string; port?: unknown }[] }[];
}
interface ServiceMonitorSpec {
  selector?: { matchLabels?: Record<string, string> };
  endpoints?: { port?: string }[];
}

/** Custom resources the chart may render; kubernetes-models has no schema for them, so check the essentials. */
const CUSTOM_KINDS: Record<string, (o: KubeObject) => string[]> = {
  'gateway.networking.k8s.io/v1/HTTPRoute': (o) => {
    const spec = (o.spec ?? {}) as HTTPRouteSpec;
    return [
      ...(spec.parentRefs?.length ? [] : ['spec.parentRefs must be a non-empty list']),
      ...(spec.rules ?? []).flatMap((r, i) =>
        (r.backendRefs ?? []).flatMap((b) =>
          b.name && Number.isInteger(b.port) ? [] : [`spec.rules[${i}].backendRefs needs name and port`],
        ),
      ),
    ];
  },
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => {
    const spec = (o.spec ?? {}) as ServiceMonitorSpec;
    return [
      ...(spec.selector?.matchLabels ? [] : ['spec.selector.matchLabels is required']),
      ...(spec.endpoints ?? []).flatMap((e, i) => (e.port ? [] : [`spec.endpoints[${i}].port is required`])),
    ];
  },
};

/** Problems with one object; empty when it is valid. */
export async function validateObject(o: KubeObject): Promise<string[]> {
  const id = `${o.kind}/${o.metadata?.name}`;
  const custom = CUSTOM_KINDS[`${o.apiVersion}/${o.kind}`];
  if (custom) return custom(o).map((p) => `${id}: ${p}`);
  const model = await modelFor(o.apiVersion, o.kind);
  if (!model) return [`${id}: no schema for ${o.apiVersion} ${o.kind}`];
  const unread = new Set<string>();
  try {
    model.prototype.validate.call(tracked(structuredClone(o), '', unread));
  } catch (err) {
    return [`${id}: ${(err as Error).message}`];
  }
  return [...unread].map((path) => `${id}: unknown field ${path}`);
}

export async function validateAll(objects: KubeObject[]): Promise<string[]> {
  return (await Promise.all(objects.map(validateObject))).flat();
}
