/**
 * Which Services a person may open, decided by the same Authorizer (and the
 * same request attributes) the proxy uses for `GET …/proxy/`, so the portal
 * never shows a link that would answer 403, nor hides one that would work.
 *
 * First one check per namespace with no name: allowed means allowed for every
 * name there (RBAC rules with resourceNames, and static rules with `names`,
 * never match an empty name), so a namespace a team owns costs one review
 * however many Services it has. Elsewhere, one check per Service port (RBAC
 * resourceNames see `web:http`, not `web`). Those per-port checks are what a
 * person with few grants in a large cluster pays for, so one page load may
 * send at most `reviewBudget` SubjectAccessReviews (answers already cached
 * are free): past it, the Services left unchecked are counted and the page
 * says so — a search checks only what matches. Checks run with bounded
 * concurrency; the answer is kept per user and search for a short time and
 * shared by concurrent page loads, so a refresh costs no reviews.
 */
import type { V1Service } from '@kubernetes/client-node';
import { boundedCache } from '../../bounded-cache.js';
import { identityCacheKey, type Identity } from '../../request/identity.js';
import { ReviewBudget, ReviewBudgetExhausted } from '../../authz/review-budget.js';
import type { Authorizer } from '../../authz/types.js';
import type { RequestAttributes } from '../../request/attributes.js';
import { parseProxyPath, type ProxyPath } from '../../request/proxy-path.js';
import { catalog, matchesQuery, type PortLink, type ServiceEntry } from './catalog.js';

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
  /** Services left unchecked because the page's review budget ran out (0: everything was checked). */
  unchecked: number;
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
  /** SubjectAccessReviews one page load may send. Default 100. */
  reviewBudget?: number;
}

/** One check's outcome: `failed` (the authorizer could not answer) and `unchecked` (no budget left) are neither. */
type Answer = boolean | 'failed' | 'unchecked';

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

export function createReachableServices(deps: ReachableDeps) {
  const cache = boundedCache<string, Promise<Reachable>>({ max: 1000, ttl: deps.ttlMs ?? 15_000 });
  const concurrency = deps.concurrency ?? 16;

  async function ask(attrs: RequestAttributes, budget: ReviewBudget): Promise<Answer> {
    try {
      return (await deps.authorizer.authorize(attrs, { budget })).allowed;
    } catch (err) {
      return err instanceof ReviewBudgetExhausted ? 'unchecked' : 'failed';
    }
  }

  const attributesOf = (identity: Identity, path: string) =>
    deps.attributes('GET', parseProxyPath(path)!, identity, false);

  /** Namespaces where every name is allowed; any other answer only means "ask per name". */
  async function wholeNamespaces(
    identity: Identity,
    entries: ServiceEntry[],
    budget: ReviewBudget,
  ): Promise<Set<string>> {
    const firstOf = new Map<string, ServiceEntry>();
    for (const e of entries) if (!firstOf.has(e.namespace)) firstOf.set(e.namespace, e);
    const answers = await mapLimited([...firstOf.values()], concurrency, async (e) => {
      const ok = await ask({ ...attributesOf(identity, e.hostCheckPath), name: '' }, budget);
      return ok === true ? e.namespace : undefined;
    });
    return new Set(answers.filter((ns) => ns !== undefined));
  }

  async function decide(identity: Identity, entries: ServiceEntry[]): Promise<Reachable> {
    const budget = new ReviewBudget(deps.reviewBudget ?? 100);
    const whole = await wholeNamespaces(identity, entries, budget);
    const pathsOf = (e: ServiceEntry) => [
      ...e.ports.map((p) => p.path),
      ...(deps.hostRouting ? [e.hostCheckPath] : []),
    ];
    const checks = entries.filter((e) => !whole.has(e.namespace)).flatMap(pathsOf);
    const answers = new Map(
      await mapLimited([...new Set(checks)], concurrency, async (path) => {
        return [path, await ask(attributesOf(identity, path), budget)] as const;
      }),
    );
    const may = (e: ServiceEntry, path: string) => whole.has(e.namespace) || answers.get(path) === true;
    const services: ReachableService[] = [];
    let unchecked = 0;
    for (const e of entries) {
      if (!whole.has(e.namespace) && pathsOf(e).some((p) => answers.get(p) === 'unchecked')) unchecked++;
      const ports = e.ports.filter((p) => may(e, p.path));
      const hostRouted = deps.hostRouting && may(e, e.hostCheckPath);
      if (ports.length > 0 || hostRouted)
        services.push({ namespace: e.namespace, name: e.name, ports, hostRouted });
    }
    const incomplete = [...answers.values()].includes('failed');
    return { services, incomplete, unchecked };
  }

  return {
    /** The Services this identity may open (those matching `query`, when given), from cache when fresh. */
    forUser(identity: Identity, query = ''): Promise<Reachable> {
      const key = JSON.stringify([identityCacheKey(identity), query]);
      const hit = cache.get(key);
      if (hit) return hit;
      const entries = catalog(deps.services()).filter((e) => matchesQuery(e, query));
      const pending = decide(identity, entries).then((r) => {
        // A partial answer is shown once but not remembered; a budget-cut one is what a reload would get.
        if (r.incomplete) cache.delete(key);
        return r;
      });
      cache.set(key, pending);
      return pending;
    },
    clear(): void {
      cache.clear();
    },
    /** Answers held now (a bounded cache). */
    get size(): number {
      return cache.size;
    },
  };
}
