/**
 * What the endpoint-belongs-to-its-Pod check costs (the apiserver's
 * isValidAddress, src/proxy/pod-address-check.ts). The compiled gateway
 * watches the fake API server; for Services of E endpoints it times:
 *
 *   first     the first request to a Service whose endpoints it has not seen:
 *             the list is built and its E Pods are read (8 at a time)
 *   twin      the first request to another Service over the same Pods: the
 *             list is built, every Pod is already confirmed (no read) —
 *             what a changed slice costs when only its unchanged Pods remain
 *   later     every request after that (the check is a Set lookup)
 *
 * The backend closes every connection, so each request pays the same upstream
 * connect and the columns differ only by what the gateway does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { endpointSlice, service, startFakeApiServer } from '../test/support/fake-apiserver.js';
import { startClusterGateway } from './lib/cluster-gateway.js';

export interface PodCheckOptions {
  /** Endpoints per Service, one row each. */
  sizes: number[];
  /** Services per size (medians are over these). */
  services: number;
  /** Requests after the first, per Service. */
  later: number;
  cli?: string;
  log?: (line: string) => void;
}

export interface PodCheckRow {
  endpoints: number;
  firstMs: number;
  twinMs: number;
  laterMs: number;
  /** Pod GETs the API server saw per first request, and per twin request. */
  podReadsFirst: number;
  podReadsTwin: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Timed GET over `agent`; rejects on anything but 200. */
function timedGet(agent: http.Agent, url: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(performance.now() - t0)
            : reject(new Error(`${url}: ${res.statusCode}`)),
        );
      })
      .on('error', reject);
  });
}

/** Services `e<E>-<i>` and their twins `e<E>-<i>-twin`, over E Pods `e<E>-<i>-<k>` on 127.x addresses. */
function cluster(sizes: number[], services: number, port: number) {
  const objects = [];
  let address = 0;
  for (const size of sizes) {
    for (let i = 0; i < services; i++) {
      const endpoints = Array.from({ length: size }, (_, k) => {
        address++;
        return { ip: `127.1.${Math.floor(address / 250)}.${(address % 250) + 1}`, pod: `e${size}-${i}-${k}` };
      });
      for (const name of [`e${size}-${i}`, `e${size}-${i}-twin`]) {
        objects.push(
          service('podcheck', name, [{ name: 'http', port: 80 }]),
          endpointSlice('podcheck', name, endpoints, [{ name: 'http', port }], { name: `${name}-1` }),
        );
      }
    }
  }
  return objects;
}

export async function runPodCheck(o: PodCheckOptions): Promise<PodCheckRow[]> {
  const log = o.log ?? (() => {});
  const backend = http.createServer((_req, res) => res.writeHead(200, { connection: 'close' }).end('ok'));
  await new Promise<void>((resolve) => backend.listen(0, '0.0.0.0', resolve));
  const port = (backend.address() as AddressInfo).port;
  const api = await startFakeApiServer({
    createPodsForSlices: true,
    objects: cluster(o.sizes, o.services, port),
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let gw: Awaited<ReturnType<typeof startClusterGateway>> | undefined;
  try {
    gw = await startClusterGateway({ api, cli: o.cli });
    const url = (name: string) => `${gw!.url}/api/v1/namespaces/podcheck/services/${name}/proxy/`;
    const podReads = () => api.count({ verb: 'get', resource: 'pods' });
    const rows: PodCheckRow[] = [];
    for (const size of o.sizes) {
      const first: number[] = [];
      const twin: number[] = [];
      const later: number[] = [];
      let readsFirst = 0;
      let readsTwin = 0;
      for (let i = 0; i < o.services; i++) {
        let before = podReads();
        first.push(await timedGet(agent, url(`e${size}-${i}`)));
        readsFirst += podReads() - before;
        before = podReads();
        twin.push(await timedGet(agent, url(`e${size}-${i}-twin`)));
        readsTwin += podReads() - before;
        for (let k = 0; k < o.later; k++) later.push(await timedGet(agent, url(`e${size}-${i}`)));
      }
      const row = {
        endpoints: size,
        firstMs: median(first),
        twinMs: median(twin),
        laterMs: median(later),
        podReadsFirst: readsFirst / o.services,
        podReadsTwin: readsTwin / o.services,
      };
      log(
        `pod check, ${size} endpoints: first ${row.firstMs.toFixed(2)} ms (${row.podReadsFirst} Pod reads), ` +
          `twin ${row.twinMs.toFixed(2)} ms, later ${row.laterMs.toFixed(2)} ms`,
      );
      rows.push(row);
    }
    return rows;
  } finally {
    agent.destroy();
    await gw?.stop();
    await api.stop();
    await new Promise((r) => backend.close(r));
  }
}
