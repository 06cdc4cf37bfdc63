/**
 * The soak's traffic: rated HTTP (autocannon), a fleet of WebSockets that
 * must keep echoing, and browser sign-ins through the real IdP.
 */
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { FetchBrowser } from '../support/fetch-browser.js';
import { WEB } from './stack.js';

export interface HttpResult {
  requests: number;
  rps: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  p99ms: number;
}

interface AutocannonResult {
  requests: { total: number; average: number };
  latency: { p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export async function http(
  base: string,
  token: string,
  o: { seconds: number; connections: number; rate?: number },
): Promise<HttpResult> {
  const r = await autocannon({
    url: `${base}${WEB}/soak`,
    headers: { authorization: `Bearer ${token}` },
    connections: o.connections,
    duration: o.seconds,
    ...(o.rate ? { overallRate: o.rate } : {}),
  });
  return {
    requests: r.requests.total,
    rps: r.requests.average,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    p99ms: r.latency.p99,
  };
}

export interface Fleet {
  open: number;
  sent: number;
  echoed: number;
  failures: number;
  /** Every socket sends one message; resolves when all echoes are back or `ms` passed. */
  round(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Opens `n` WebSockets (in batches) through the gateway. */
export async function openFleet(base: string, token: string, n: number): Promise<Fleet> {
  const sockets: WebSocket[] = [];
  const fleet: Fleet = {
    open: 0,
    sent: 0,
    echoed: 0,
    failures: 0,
    async round(ms) {
      const target = fleet.echoed + sockets.length;
      for (const ws of sockets) {
        if (ws.readyState !== WebSocket.OPEN) continue;
        ws.send(`tick-${fleet.sent++}`);
      }
      const deadline = Date.now() + ms;
      while (fleet.echoed < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (fleet.echoed < target) fleet.failures += target - fleet.echoed;
      fleet.echoed = target;
    },
    async close() {
      await Promise.all(
        sockets.map(
          (ws) =>
            new Promise<void>((r) => {
              if (ws.readyState === WebSocket.CLOSED) return r();
              ws.once('close', () => r());
              ws.close();
              setTimeout(() => (ws.terminate(), r()), 2000).unref();
            }),
        ),
      );
    },
  };
  const url = `${base.replace('http', 'ws')}${WEB}/ws`;
  for (let start = 0; start < n; start += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, n - start) }, async () => {
        const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
        ws.on('message', (d: Buffer) => {
          if (d.toString().startsWith('echo:tick-')) fleet.echoed++;
        });
        ws.on('close', () => (fleet.open -= 1));
        await new Promise<void>((resolve) => {
          ws.once('message', () => resolve()); // the backend's hello
          ws.once('error', () => {
            fleet.failures++;
            resolve();
          });
        });
        if (ws.readyState === WebSocket.OPEN) {
          fleet.open += 1;
          sockets.push(ws);
        }
      }),
    );
  }
  return fleet;
}

/** One whole browser sign-in through the IdP, then a proxied page with the new session. */
export async function login(base: string, user: string): Promise<boolean> {
  const browser = new FetchBrowser();
  const res = await browser.signIn(`${base}${WEB}/page`, user);
  await res.arrayBuffer();
  return res.status === 200;
}
