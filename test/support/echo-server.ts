/**
 * A real HTTP(S) + WebSocket backend on 127.0.0.x that records what it
 * received, so tests can assert exactly what reached the upstream.
 *
 * Routes (any method):
 *   /status/NNN            answers NNN
 *   /redirect?to=URL       302 to URL
 *   /slow?ms=N             answers after N ms (the request is recorded at arrival)
 *   /hang                  never answers (until the client goes away)
 *   /held                  answers 200 when the test calls `release()` (recorded at arrival)
 *   /html                  a small text/html page with root-relative links
 *   /stream?chunks=N       N chunks 50 ms apart
 *   anything else          200 JSON echo of method, url, headers, body
 * WebSocket: echoes every message, prefixed with `echo:`; the upgrade request is recorded too.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  /** True when the client (the gateway) went away before the response ended. */
  aborted: boolean;
  upgrade: boolean;
  /** Arrival time, to order requests across several servers. */
  at: bigint;
}

export interface EchoServer {
  url: string;
  host: string;
  port: number;
  requests: Recorded[];
  last(): Recorded | undefined;
  /** Resolves when `n` requests have been recorded (`timeoutMs`, default 30 s, is a hang guard). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  openConnections(): number;
  /** Requests to /held still waiting for `release()`. */
  held(): number;
  /** Answers every /held request waiting now (200, `held from <name>`). */
  release(): void;
  close(): Promise<void>;
}

export interface EchoOptions {
  host?: string;
  port?: number;
  name?: string;
  tls?: { cert: string; key: string };
}

export async function startEchoServer(opts: EchoOptions = {}): Promise<EchoServer> {
  const host = opts.host ?? '127.0.0.1';
  const name = opts.name ?? host;
  const requests: Recorded[] = [];
  const waiters: (() => void)[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const held = new Set<() => void>();

  const record = (r: Recorded) => {
    requests.push(r);
    waiters.splice(0).forEach((w) => w());
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    const entry: Recorded = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: '',
      aborted: false,
      upgrade: false,
      at: process.hrtime.bigint(),
    };
    res.on('close', () => {
      if (!res.writableFinished) entry.aborted = true;
    });
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/slow' || url.pathname === '/hang' || url.pathname === '/held') record(entry);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      entry.body = Buffer.concat(chunks).toString();
      const status = /^\/status\/(\d{3})$/.exec(url.pathname);
      if (status) {
        record(entry);
        res
          .writeHead(Number(status[1]), { 'content-type': 'text/plain', 'access-control-allow-origin': '*' })
          .end(`status ${status[1]}`);
      } else if (url.pathname === '/redirect') {
        record(entry);
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
      } else if (url.pathname === '/slow') {
        const t = setTimeout(() => res.end(`slow from ${name}`), Number(url.searchParams.get('ms') ?? 1000));
        res.on('close', () => clearTimeout(t));
      } else if (url.pathname === '/hang') {
        // never answers
      } else if (url.pathname === '/held') {
        const answer = () => {
          held.delete(answer);
          res.end(`held from ${name}`);
        };
        held.add(answer);
        res.on('close', () => held.delete(answer));
      } else if (url.pathname === '/html') {
        record(entry);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><a href="/next">next</a><img src="/logo.png"><a href="rel">rel</a>');
      } else if (url.pathname === '/stream') {
        record(entry);
        let n = Number(url.searchParams.get('chunks') ?? 3);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const tick = setInterval(() => {
          res.write(`data: ${n}\n\n`);
          if (--n <= 0) {
            clearInterval(tick);
            res.end();
          }
        }, 50);
        res.on('close', () => clearInterval(tick));
      } else {
        record(entry);
        const body = JSON.stringify({
          server: name,
          method: entry.method,
          url: entry.url,
          headers: entry.headers,
          body: entry.body,
        });
        res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': name }).end(body);
      }
    });
  };

  const server = opts.tls ? https.createServer({ ...opts.tls }, handler) : http.createServer(handler);
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    record({
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: '',
      aborted: false,
      upgrade: true,
      at: process.hrtime.bigint(),
    });
    const url = new URL(req.url!, 'http://x');
    if (url.pathname.startsWith('/status/')) {
      socket.end(`HTTP/1.1 ${url.pathname.slice(8)} Nope\r\nContent-Length: 4\r\n\r\nnope`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(`hello from ${name} ${req.url}`);
      ws.on('message', (data: Buffer) => ws.send(`echo:${data.toString()}`));
    });
  });

  // A port already taken rejects (EADDRINUSE) instead of leaving the caller waiting.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
    host,
    port,
    requests,
    last: () => requests.at(-1),
    waitFor(n, timeoutMs = 30_000) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`expected ${n} requests, got ${requests.length}`)),
          timeoutMs,
        );
        const check = () => (requests.length >= n ? (clearTimeout(t), resolve()) : waiters.push(check));
        waiters.push(check);
      });
    },
    openConnections: () => sockets.size,
    held: () => held.size,
    release() {
      for (const answer of [...held]) answer();
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections?.();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * Two servers on one port at two addresses, as an EndpointSlice names one port for all its
 * endpoints: `first` listens on the port given (0: the kernel picks), `second` on the port `first`
 * got. That port may be taken on the second address (another test's server or client socket), or a
 * port given in `firstPorts` on the first: then what started is closed and both start again on
 * another. `firstPorts` sets the first tries' ports (tests of this helper); after them the kernel picks.
 */
export async function onOnePort<A extends { port: number; close(): Promise<unknown> }, B>(
  first: (port: number) => Promise<A>,
  second: (port: number) => Promise<B>,
  firstPorts: number[] = [],
): Promise<[A, B]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    let a: A | undefined;
    try {
      a = await first(firstPorts[attempt] ?? 0);
      return [a, await second(a.port)];
    } catch (err) {
      await a?.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error('no port free on both addresses in 20 tries');
}

/** Two echo servers on one port at two addresses (onOnePort). */
export function startEchoPair(
  pair: [EchoOptions, EchoOptions],
  firstPorts: number[] = [],
): Promise<[EchoServer, EchoServer]> {
  return onOnePort(
    (port) => startEchoServer({ ...pair[0], port }),
    (port) => startEchoServer({ ...pair[1], port }),
    firstPorts,
  );
}
