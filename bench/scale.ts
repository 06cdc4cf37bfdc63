/**
 * The gateway against a large cluster: the fake API server (test/support)
 * holding N Services with M endpoints each, kube-bastion started from the
 * compiled CLI watching it. Measured: time from process start to /readyz 200,
 * resident memory once ready (and its peak), and how long after an
 * EndpointSlice change the traffic moves to the new endpoint.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  endpointSlice,
  pod,
  service,
  syntheticCluster,
  startFakeApiServer,
} from '../test/support/fake-apiserver.js';
import { gatewayCLI } from './lib/build.js';
import { startClusterGateway, status } from './lib/cluster-gateway.js';

export interface ScaleOptions {
  services: number;
  endpointsPerService: number;
  /** EndpointSlice changes to time. */
  shifts: number;
  /** The compiled CLI to run (default: built by gatewayCLI()). */
  cli?: string;
  /** Extra flags for the gateway's node (e.g. --cpu-prof). */
  nodeArgs?: string[];
  log?: (line: string) => void;
}

export interface ScaleResult {
  services: number;
  endpoints: number;
  /** Process start → /readyz answers 200 (caches synced). */
  readyMs: number;
  /** CPU time the gateway used up to then (ms): less dependent on the machine's load than `readyMs`. */
  readyCpuMs: number;
  /** VmRSS once ready, and after the shift measurements (MB). */
  rssReadyMB: number;
  rssAfterMB: number;
  /** VmHWM: the peak resident set (MB). */
  rssPeakMB: number;
  /** V8 heap in use once ready (MB, from /metrics): the part the cluster state occupies. */
  heapUsedMB: number;
  /** Per change: ms from the API write to the first request served by the new endpoint, and to the last one served by the old. */
  shiftFirstMs: number[];
  shiftAllMs: number[];
  /** 1-minute load average when the run started and when it ended: what else the machine was doing. */
  loadAverage: number[];
}

function memoryMB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** A backend that names itself in the body. */
async function namedBackend(host: string, port: number, name: string): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}

interface Served {
  startedAt: number;
  by: string;
}

/** Keep-alive GET loops until stopped, recording who answered and when each request started. */
function steadyLoad(url: string, workers: number) {
  const agent = new http.Agent({ keepAlive: true });
  const served: Served[] = [];
  let running = true;
  const one = () =>
    new Promise<void>((resolve) => {
      const startedAt = performance.now();
      http
        .get(url, { agent }, (res) => {
          let by = '';
          res.on('data', (c: Buffer) => (by += c.toString()));
          res.on('end', () => {
            served.push({ startedAt, by: res.statusCode === 200 ? by : `HTTP ${res.statusCode}` });
            resolve();
          });
        })
        .on('error', () => resolve());
    });
  const loops = Array.from({ length: workers }, async () => {
    while (running) await one();
  });
  return {
    served,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const log = o.log ?? (() => {});
  const loadAverage = [loadavg()[0]];
  log('building the gateway');
  const cli = o.cli ?? gatewayCLI();
  log(`fake API server with ${o.services} Services × ${o.endpointsPerService} endpoints`);
  const api = await startFakeApiServer({
    objects: syntheticCluster({ services: o.services, endpointsPerService: o.endpointsPerService }),
  });
  const backends: http.Server[] = [];
  const gw = await startClusterGateway({ api, cli, nodeArgs: o.nodeArgs }).catch(async (err: unknown) => {
    await api.stop();
    throw err;
  });
  const { proc, readyMs, readyCpuMs } = gw;
  const port = new URL(gw.url).port;
  try {
    const atReady = memoryMB(proc.pid);
    const metrics = await (await fetch(`${gw.adminURL}/metrics`)).text();
    const heapUsedMB =
      Number(/^kube_bastion_nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1]) / 2 ** 20;
    log(
      `ready in ${Math.round(readyMs)} ms, RSS ${atReady.rss.toFixed(0)} MB, heap ${heapUsedMB.toFixed(0)} MB`,
    );

    // Traffic shift: a Service whose one endpoint moves between two backends.
    const a = await namedBackend('127.0.0.2', 0, 'a');
    const backendPort = (a.address() as AddressInfo).port;
    backends.push(a, await namedBackend('127.0.0.3', backendPort, 'b'));
    const slice = (ip: string) =>
      endpointSlice('bench', 'shift', [{ ip }], [{ name: 'http', port: backendPort }], { name: 'shift-1' });
    // The Pods behind the two addresses (`shift-<last octet>`): the gateway dials an endpoint only once its Pod owns the IP.
    api.upsert(pod('bench', 'shift-2', '127.0.0.2'), pod('bench', 'shift-3', '127.0.0.3'));
    api.upsert(service('bench', 'shift', [{ name: 'http', port: 80 }]), slice('127.0.0.2'));
    const url = `http://127.0.0.1:${port}/api/v1/namespaces/bench/services/shift:http/proxy/`;
    while ((await status(url)) !== 200) await sleep(10);
    const load = steadyLoad(url, 4);
    const shiftFirstMs: number[] = [];
    const shiftAllMs: number[] = [];
    let current = 'a';
    for (let i = 0; i < o.shifts; i++) {
      await sleep(300);
      const next = current === 'a' ? 'b' : 'a';
      const changedAt = performance.now();
      api.upsert(slice(next === 'a' ? '127.0.0.2' : '127.0.0.3'));
      while (!load.served.some((s) => s.startedAt > changedAt && s.by === next)) {
        if (performance.now() - changedAt > 10_000) throw new Error('traffic did not move within 10 s');
        await sleep(5);
      }
      await sleep(200);
      const after = load.served.filter((s) => s.startedAt > changedAt);
      shiftFirstMs.push(after.find((s) => s.by === next)!.startedAt - changedAt);
      const lastOld = after.filter((s) => s.by !== next).at(-1);
      shiftAllMs.push(lastOld ? lastOld.startedAt - changedAt : 0);
      current = next;
    }
    await load.stop();
    const later = memoryMB(proc.pid);
    log(
      `shift: first ${median(shiftFirstMs).toFixed(1)} ms, all ${median(shiftAllMs).toFixed(1)} ms (medians)`,
    );
    return {
      services: o.services,
      endpoints: o.services * o.endpointsPerService,
      readyMs,
      readyCpuMs,
      rssReadyMB: atReady.rss,
      rssAfterMB: later.rss,
      rssPeakMB: later.peak,
      heapUsedMB,
      shiftFirstMs,
      shiftAllMs,
      loadAverage: [...loadAverage, loadavg()[0]],
    };
  } finally {
    await gw.stop();
    await Promise.all(backends.map((s) => new Promise((r) => s.close(r))));
    await api.stop();
  }
}
