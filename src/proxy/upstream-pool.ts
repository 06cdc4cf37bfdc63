/**
 * The upstream connections: one undici Pool per endpoint (scheme, IP, port),
 * HTTP/1.1 keep-alive, one request at a time per connection (no pipelining:
 * a slow answer never holds up another user's), connections closed after
 * `upstream.idleTimeout` unused. Pools are kept in a bounded map; a pool
 * nobody used for an idle period (its endpoint left, or went quiet) is closed
 * and dropped.
 *
 * Connections are dialled by our own connector, not undici's: the connect
 * deadline covers the TCP connect and the TLS handshake with the wording the
 * rest of the gateway uses (upstream-attempt.ts, connectDeadline), `https`
 * backends are verified as before (no SNI for an IP, checked against the CA
 * when `upstream.tls.verify`), and the dial policy (`upstream.allowedAddresses`)
 * is asked again at dial time, whatever resolution decided.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Pool, type buildConnector } from 'undici';
import { codeError, connectDeadline } from './upstream-attempt.js';

export interface UpstreamPoolOptions {
  connectTimeoutMs: number;
  /** Keep-alive: an unused connection is closed after this long. */
  idleTimeoutMs: number;
  /** No response head this long after the request was sent: ERESPONSETIMEOUT. */
  responseHeaderTimeoutMs: number;
  tls: { verify: boolean; ca?: string };
  /** `upstream.allowedAddresses`, asked for every new connection (resolution asked it before). */
  mayDial?: (ip: string) => boolean;
  /** Most pools kept at once (endpoints in use); the least recently used goes first. */
  maxPools?: number;
  now?: () => number;
}

interface Entry {
  pool: Pool;
  scheme: 'http' | 'https';
  lastUsed: number;
  dropped: boolean;
}

export class UpstreamPools {
  private readonly pools = new Map<string, Entry>();
  /** The hot path: an Endpoint object lives as long as its EndpointSlice, so no key is built per request. */
  private readonly byEndpoint = new WeakMap<object, Entry>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly o: UpstreamPoolOptions) {
    this.now = o.now ?? (() => performance.now());
    // An endpoint that left gets no more requests: its pool is closed one idle period later.
    this.sweeper = setInterval(() => this.sweep(), Math.max(o.idleTimeoutMs, 1000));
    this.sweeper.unref();
  }

  /** The pool for one endpoint, made on first use. */
  get(scheme: 'http' | 'https', ip: string, port: number): Pool {
    const entry = this.entry(scheme, ip, port);
    entry.lastUsed = this.now();
    return entry.pool;
  }

  /** As get(), remembered on the endpoint object itself. */
  forEndpoint(scheme: 'http' | 'https', endpoint: { ip: string; port: number }): Pool {
    let entry = this.byEndpoint.get(endpoint);
    if (entry === undefined || entry.dropped || entry.scheme !== scheme) {
      entry = this.entry(scheme, endpoint.ip, endpoint.port);
      this.byEndpoint.set(endpoint, entry);
    }
    entry.lastUsed = this.now();
    return entry.pool;
  }

  private entry(scheme: 'http' | 'https', ip: string, port: number): Entry {
    const key = `${scheme}|${ip}|${port}`;
    let entry = this.pools.get(key);
    if (entry === undefined) {
      if (this.pools.size >= (this.o.maxPools ?? 4096)) this.evictOldest();
      entry = { pool: this.open(scheme, ip, port), scheme, lastUsed: 0, dropped: false };
      this.pools.set(key, entry);
    }
    return entry;
  }

  get size(): number {
    return this.pools.size;
  }

  /** Closes pools unused for an idle period (their connections have idled out already). */
  sweep(): void {
    const before = this.now() - this.o.idleTimeoutMs;
    for (const [key, entry] of this.pools) {
      if (entry.lastUsed < before) this.drop(key, entry);
    }
  }

  /** Every connection is closed at once (shutdown). */
  close(): void {
    clearInterval(this.sweeper);
    for (const [key, entry] of this.pools) {
      this.drop(key, entry);
      void entry.pool.destroy().catch(() => {});
    }
  }

  private evictOldest(): void {
    let oldest: [string, Entry] | undefined;
    for (const kv of this.pools) if (!oldest || kv[1].lastUsed < oldest[1].lastUsed) oldest = kv;
    if (oldest) this.drop(...oldest);
  }

  private drop(key: string, entry: Entry): void {
    this.pools.delete(key);
    entry.dropped = true;
    // Requests under way finish; the pool then closes its connections.
    void entry.pool.close().catch(() => {});
  }

  private open(scheme: 'http' | 'https', ip: string, port: number): Pool {
    const host = ip.includes(':') ? `[${ip}]` : ip;
    return new Pool(`${scheme}://${host}:${port}`, {
      connections: null,
      pipelining: 1,
      keepAliveTimeout: this.o.idleTimeoutMs,
      keepAliveMaxTimeout: this.o.idleTimeoutMs,
      // A keep-alive hint from the upstream is taken with a second's margin, so the gateway closes first.
      keepAliveTimeoutThreshold: 1000,
      headersTimeout: this.o.responseHeaderTimeoutMs,
      // As before: a response body may pause as long as it likes (the client side bounds slow readers).
      bodyTimeout: 0,
      strictContentLength: true,
      connect: dialer(scheme, ip, port, this.o),
    });
  }
}

/** Dials one endpoint: TCP (and TLS), within the connect deadline, if the dial policy allows the address. */
function dialer(
  scheme: 'http' | 'https',
  ip: string,
  port: number,
  o: UpstreamPoolOptions,
): buildConnector.connector {
  const secure = scheme === 'https';
  // The last TLS session, to resume rather than handshake anew (as node's https.Agent does).
  let session: Buffer | undefined;
  return (_options, callback) => {
    if (o.mayDial && !o.mayDial(ip)) {
      return void callback(codeError('EADDRNOTALLOWED', `address ${ip} is not allowed`), null);
    }
    const socket = secure
      ? tls.connect({
          host: ip,
          port,
          rejectUnauthorized: o.tls.verify,
          ca: o.tls.ca,
          session,
          ALPNProtocols: ['http/1.1'],
        })
      : net.connect({ host: ip, port });
    socket.setNoDelay(true);
    if (secure) (socket as tls.TLSSocket).on('session', (s: Buffer) => (session = s));
    let settled = false;
    const settle = (err: Error | null) => {
      if (settled) return;
      settled = true;
      stop();
      socket.off('error', settle);
      if (err) {
        socket.destroy();
        callback(err, null);
      } else callback(null, socket);
    };
    socket.once('error', settle);
    const stop = connectDeadline(socket, secure, o.connectTimeoutMs, {
      established: () => settle(null),
      expired: (err) => settle(err),
    });
  };
}
