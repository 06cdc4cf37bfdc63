/**
 * One tunnel, from its 101 to its close: the backend is dialled while the
 * client's first bytes wait (the WebSocket is paused, so they wait in the
 * kernel, not here), then bytes are relayed until one of these ends it, the
 * first one wins:
 *
 *   both sides ended their bytes             1000  client-closed / backend-closed
 *   the backend connection broke             1011  backend-error
 *   no endpoint accepted the connection      1014  backend-unreachable
 *   the client closed early / vanished       —     client-aborted / client-lost
 *   the credential lapsed                    1008  credential-lapsed
 *   idle timeout / maximum lifetime          4000 / 4001
 *   graceful shutdown                        1001  shutdown
 *
 * Every end but the first is a cut stream: the backend connection is
 * destroyed, never ended, so the backend sees an abort, not a clean FIN.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Clock } from '../../clock.js';
import type { RequestContext } from '../../request/context.js';
import type { Outcome } from '../forward.js';
import { dialTarget, type DialDeps } from './dial.js';
import type { TunnelEndReason, TunnelSummary } from '../../request/tunnel.js';
import type { TunnelEvents } from './events.js';
import { keepAlive } from './keepalive.js';
import { watchLifetime } from './lifetime.js';
import { CLOSE, closeReason } from './protocol.js';
import { relay, type RelayEnd } from './relay.js';

export interface TunnelDeps extends DialDeps {
  clock: Clock;
  idleTimeoutMs: number;
  maxLifetimeMs: number;
  keepaliveMs: number;
  events: TunnelEvents;
  affinityKey(req: IncomingMessage, ctx: RequestContext): string;
  /** Watches the credential of the request; calls `lapsed` once it expired or was revoked. Returns a stop. */
  watchCredential(req: IncomingMessage, ctx: RequestContext, lapsed: (reason: string) => void): () => void;
}

export class Tunnel {
  private ended = false;
  private readonly openedAt: number;
  private lastActivity: number;
  private toBackend = 0;
  private toClient = 0;
  private backend: Socket | undefined;
  private outcome: ((o: Outcome) => void) | undefined;
  private readonly stops: (() => void)[] = [];
  private readonly dialling = new AbortController();
  /** Resolves once the client's connection is closed. */
  readonly closed: Promise<void>;

  constructor(
    private readonly ws: WebSocket,
    private readonly req: IncomingMessage,
    private readonly ctx: RequestContext,
    private readonly deps: TunnelDeps,
  ) {
    this.openedAt = this.lastActivity = deps.clock.now();
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
  }

  /** Starts the tunnel: watches, then the dial, then the relay. */
  run(): void {
    const { ws, deps, ctx } = this;
    ws.pause();
    deps.events.upgraded(ctx);
    ws.once('close', (code, reason) => this.clientClosed(code, reason.toString('utf8')));
    ws.on('error', () => undefined); // 'close' follows; the reason is reported there
    this.stops.push(
      deps.watchCredential(this.req, ctx, (why) =>
        this.end('credential-lapsed', CLOSE.CREDENTIAL_LAPSED, why),
      ),
      keepAlive(ws, deps.clock, deps.keepaliveMs, () => this.end('client-lost', 1006, 'no answer to ping')),
      watchLifetime({
        clock: deps.clock,
        idleMs: deps.idleTimeoutMs,
        maxMs: deps.maxLifetimeMs,
        lastActivity: () => this.lastActivity,
        expired: (limit) =>
          limit === 'idle-timeout'
            ? this.end('idle-timeout', CLOSE.IDLE_TIMEOUT, 'idle timeout')
            : this.end('max-lifetime', CLOSE.MAX_LIFETIME, 'maximum tunnel lifetime reached'),
      }),
    );
    void this.dial();
  }

  /** Ends the tunnel from outside (graceful shutdown). */
  shutdown(): void {
    this.end('shutdown', CLOSE.GOING_AWAY, 'the gateway is shutting down');
  }

  /** Ends the tunnel at once, without a close frame (the gateway is stopping now). */
  drop(): void {
    this.end('shutdown', 1006, 'the gateway stopped');
  }

  private async dial(): Promise<void> {
    const { ctx, deps } = this;
    let dialled;
    try {
      dialled = await dialTarget(
        ctx.target!,
        this.req,
        deps.affinityKey(this.req, ctx),
        deps,
        this.dialling.signal,
      );
    } catch (err) {
      const e = err as Error & { endpoint?: RequestContext['endpoint'] };
      if (this.ended) return;
      ctx.endpoint = e.endpoint;
      deps.events.unreachable(ctx);
      return this.end('backend-unreachable', CLOSE.BACKEND_UNREACHABLE, e.message);
    }
    ctx.endpoint = dialled.endpoint;
    ctx.retries = dialled.retries;
    this.outcome = dialled.done;
    this.backend = dialled.socket;
    if (this.ended) return void dialled.socket.destroy();
    dialled.socket.setNoDelay(true);
    deps.events.opened(ctx);
    this.relay(dialled.socket);
  }

  private relay(backend: Socket): void {
    relay(this.ws, backend, {
      onBytes: (direction, n) => {
        this.lastActivity = this.deps.clock.now();
        if (direction === 'websocket-to-socket') {
          this.toBackend += n;
          this.deps.events.bytes('to-backend', n);
        } else {
          this.toClient += n;
          this.deps.events.bytes('to-client', n);
        }
      },
      ended: (how) => this.relayEnded(how),
    }).start();
  }

  private relayEnded(how: RelayEnd): void {
    switch (how.how) {
      case 'complete':
        return this.end(how.first === 'socket' ? 'backend-closed' : 'client-closed', CLOSE.NORMAL, 'closed');
      case 'socket-failed':
        return this.end(
          'backend-error',
          CLOSE.BACKEND_ERROR,
          `backend connection failed: ${how.error.code ?? how.error.message}`,
        );
      case 'socket-closed':
        return this.end('backend-error', CLOSE.BACKEND_ERROR, 'backend connection closed');
      case 'websocket-closed':
        return this.clientClosed(how.code, how.reason);
      case 'protocol-error':
      case 'refused': // only with an `admit`, which the gateway does not pass
        return this.end('protocol-error', CLOSE.PROTOCOL_ERROR, how.message);
    }
  }

  /** The client closed (or lost) the WebSocket before the tunnel ended by itself. */
  private clientClosed(code: number, reason: string): void {
    this.end(code === 1006 ? 'client-lost' : 'client-aborted', code, reason);
  }

  private end(endedBy: TunnelEndReason, code: number, detail: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const stop of this.stops) stop();
    this.dialling.abort();
    const complete = code === CLOSE.NORMAL && (endedBy === 'client-closed' || endedBy === 'backend-closed');
    // A cut stream is an abort for the backend too: never a FIN it could take for the end of the data.
    if (!complete) this.backend?.destroy();
    this.outcome?.(endedBy === 'backend-error' ? 'server-error' : 'success');
    const text = closeReason(detail);
    const { ws } = this;
    // 1006 is never sent: a vanished client (or a gateway stopping now) just drops the connection.
    if (code === 1006) ws.terminate();
    else if (ws.readyState === ws.OPEN) {
      ws.resume(); // paused while dialling or for backpressure: the client's close frame must be read
      ws.close(code, text);
    }
    const summary: TunnelSummary = {
      event: 'close',
      endedBy,
      closeCode: code,
      detail: text,
      bytesToBackend: this.toBackend,
      bytesToClient: this.toClient,
      durationMs: this.deps.clock.now() - this.openedAt,
    };
    this.ctx.tunnel = summary;
    this.ctx.bytes = this.toClient;
    this.deps.events.closed(this.ctx, summary);
  }
}
