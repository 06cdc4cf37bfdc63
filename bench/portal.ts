/**
 * What one portal page costs on a large cluster: the compiled gateway with
 * Kubernetes RBAC on, the fake API server holding `services` Services of two
 * ports each over `namespaces` namespaces, and a caller with no grants at
 * all — the worst case, where no namespace-wide review can stand for its
 * Services. Measured: SubjectAccessReviews sent for one `GET /` (counted at
 * the API server) and its time: the first page of a fresh process, pages
 * whose reviews are all sent anew (denials are not cached here, and each
 * search is a page of its own), and the same page again while cached.
 */
import { service, startFakeApiServer } from '../test/support/fake-apiserver.js';
import { startClusterGateway } from './lib/cluster-gateway.js';
import { cpuSeconds } from './lib/proc.js';

export interface PortalOptions {
  services: number;
  namespaces: number;
  cli?: string;
  log?: (line: string) => void;
}

export interface PortalResult {
  services: number;
  ports: number;
  namespaces: number;
  /** Most reviews one page load sent. */
  reviews: number;
  /** The first page of a fresh process. */
  firstMs: number;
  /** CPU time the gateway process spent on it (ms): what the page costs whatever else the machine runs. */
  firstCpuMs: number;
  /** Pages with every review sent anew (median of five). */
  warmMs: number;
  warmCpuMs: number;
  /** The same page again (answers cached for 15 s): time and reviews. */
  cachedMs: number;
  cachedReviews: number;
  /** Services the page said it could not check within its budget. */
  unchecked: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function runPortal(o: PortalOptions): Promise<PortalResult> {
  const log = o.log ?? (() => {});
  const objects = Array.from({ length: o.services }, (_, i) =>
    service(`ns-${i % o.namespaces}`, `svc-${i}`, [
      { name: 'http', port: 80 },
      { name: 'metrics', port: 9090 },
    ]),
  );
  const api = await startFakeApiServer({ objects });
  let gw: Awaited<ReturnType<typeof startClusterGateway>> | undefined;
  try {
    gw = await startClusterGateway({
      api,
      cli: o.cli,
      // Denials are not cached, so every page with a new search pays its reviews again.
      config: 'authorization: { kubernetesRBAC: { enabled: true, deniedCacheTTL: 0s } }',
    });
    const cpu = () => cpuSeconds([gw!.proc.pid]) * 1000;
    const load = async (query = '') => {
      const before = api.count({ resource: 'subjectaccessreviews' });
      const cpu0 = cpu();
      const t0 = performance.now();
      const res = await fetch(`${gw!.url}/${query}`, { headers: { accept: 'application/json' } });
      const body = (await res.json()) as { truncated?: { unchecked: number } };
      if (res.status !== 200) throw new Error(`portal answered ${res.status}`);
      return {
        ms: performance.now() - t0,
        cpuMs: cpu() - cpu0,
        reviews: api.count({ resource: 'subjectaccessreviews' }) - before,
        unchecked: body.truncated?.unchecked ?? 0,
      };
    };
    const first = await load();
    // Searches that match every Service: the same work, in a process that has warmed up.
    const warm = [];
    for (const q of ['svc', 'ns', 's', 'v', 'n']) warm.push(await load(`?q=${q}`));
    const cached = await load();
    const result = {
      services: o.services,
      ports: o.services * 2,
      namespaces: o.namespaces,
      reviews: Math.max(first.reviews, ...warm.map((w) => w.reviews)),
      firstMs: first.ms,
      firstCpuMs: first.cpuMs,
      warmMs: median(warm.map((w) => w.ms)),
      warmCpuMs: median(warm.map((w) => w.cpuMs)),
      cachedMs: cached.ms,
      cachedReviews: cached.reviews,
      unchecked: first.unchecked,
    };
    log(
      `portal, ${o.services} Services: ≤ ${result.reviews} reviews per page, ${result.firstMs.toFixed(0)} ms first ` +
        `(${result.firstCpuMs.toFixed(0)} ms CPU), ${result.warmMs.toFixed(0)} ms warm (median; ` +
        `${result.warmCpuMs.toFixed(0)} ms CPU), ${result.cachedMs.toFixed(1)} ms cached`,
    );
    return result;
  } finally {
    await gw?.stop();
    await api.stop();
  }
}
