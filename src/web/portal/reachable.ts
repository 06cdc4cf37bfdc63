/**
 * Which Services a person may open, decided by the same Authorizer (and the
 * same request attributes) the proxy uses for `GET …/proxy/`, so the portal
 * never shows a link that would answer 403, nor hides one that would work.
 *
 * First one check per namespace with no name: allowed means allowed for every
 * name there (RBAC rules with resourceNames, and static rules with `names`,
 * never match an empty name), so a namespace a team owns costs one review
 * however many Services it has. Elsewhere, one check per Service port (RBAC
 * resourceNames see `web:http`, not `web`). Checks run with bounded
 * concurrency; the answer is kept per user for a short time and shared by
 * concurrent page loads, so a refresh costs no reviews.
 */
import type { V1Service } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import type { Identity } from '../../authn/identity.js';
import type { Authorizer, RequestAttributes } from '../../authz/types.js';
import { parseProxyPath, type ProxyPath } from '../../proxy/grammar.js';
import { catalog, type PortLink, type ServiceEntry } from './catalog.js';

export interface ReachableService {
  namespace: string;
  name: string;
  /** Only the ports the user may GET. */
  ports: PortLink[];
  /** True when host routing is on and the host-routed form is allowed too. */
  hostRouted: boolean;
}

export interface Reachable {
  services: ReachableService[];
  /** Some checks failed (e.g. the API server did not answer a review): the list may be short. */
  incomplete: boolean;
}

export interface ReachableDeps {
  authorizer: Authorizer;
  attributes: (method: string, path: ProxyPath, identity: Identity, upgrade: boolean) => RequestAttributes;
  services: () => readonly V1Service[];
  hostRouting: boolean;
  /** How long one user's answer is reused. */
  ttlMs?: number;
  /** Authorization checks in flight at once for one page load. */
  concurrency?: number;
}

/** Runs `work` over `items` with at most `limit` promises pending. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Everything that can change a decision about this caller. */
export function identityKey(identity: Identity): string {
  return JSON.stringify([identity.username, identity.uid ?? '', [...identity.groups].sort(), identity.extra]);
}

export function createReachableServices(deps: ReachableDeps) {
  const cache = new LRUCache<string, Promise<Reachable>>({ max: 1000, ttl: deps.ttlMs ?? 15_000 });
  const concurrency = deps.concurrency ?? 16;

  async function allowed(attrs: RequestAttributes): Promise<boolean | undefined> {
    try {
      return (await deps.authorizer.authorize(attrs)).allowed;
    } catch {
      return undefined;
    }
  }

  const attributesOf = (identity: Identity, path: string) =>
    deps.attributes('GET', parseProxyPath(path)!, identity, false);

  /** Namespaces where every name is allowed; a failed check only means "ask per name". */
  async function wholeNamespaces(identity: Identity, entries: ServiceEntry[]): Promise<Set<string>> {
    const firstOf = new Map<string, ServiceEntry>();
    for (const e of entries) if (!firstOf.has(e.namespace)) firstOf.set(e.namespace, e);
    const answers = await mapLimited([...firstOf.values()], concurrency, async (e) => {
      const ok = await allowed({ ...attributesOf(identity, e.hostCheckPath), name: '' });
      return ok === true ? e.namespace : undefined;
    });
    return new Set(answers.filter((ns) => ns !== undefined));
  }

  async function decide(identity: Identity): Promise<Reachable> {
    const entries: ServiceEntry[] = catalog(deps.services());
    const whole = await wholeNamespaces(identity, entries);
    let incomplete = false;
    const checks = entries
      .filter((e) => !whole.has(e.namespace))
      .flatMap((e) => [...e.ports.map((p) => p.path), ...(deps.hostRouting ? [e.hostCheckPath] : [])]);
    const answers = await mapLimited([...new Set(checks)], concurrency, async (path) => {
      const ok = await allowed(attributesOf(identity, path));
      if (ok === undefined) incomplete = true;
      return [path, ok === true] as const;
    });
    const pathAllowed = new Map(answers);
    const may = (e: ServiceEntry, path: string) => whole.has(e.namespace) || pathAllowed.get(path) === true;
    const services: ReachableService[] = [];
    for (const e of entries) {
      const ports = e.ports.filter((p) => may(e, p.path));
      const hostRouted = deps.hostRouting && may(e, e.hostCheckPath);
      if (ports.length > 0 || hostRouted)
        services.push({ namespace: e.namespace, name: e.name, ports, hostRouted });
    }
    return { services, incomplete };
  }

  return {
    /** The Services this identity may open, from cache when fresh. */
    forUser(identity: Identity): Promise<Reachable> {
      const key = identityKey(identity);
      const hit = cache.get(key);
      if (hit) return hit;
      const pending = decide(identity).then((r) => {
        // A partial answer is shown once but not remembered.
        if (r.incomplete) cache.delete(key);
        return r;
      });
      cache.set(key, pending);
      return pending;
    },
    clear(): void {
      cache.clear();
    },
  };
}
