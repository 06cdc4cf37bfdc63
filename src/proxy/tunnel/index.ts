/**
 * TCP tunnels at the gateway: `…/services/NAME[:PORT]/portforward` and
 * `…/pods/NAME[:PORT]/portforward`. The pipeline has authenticated and
 * authorized the request (`create` on `<kind>/portforward`) and resolved its
 * target like any proxy request; here the target is narrowed to the allowed
 * ports (before the upgrade, so a refusal is a Status), the WebSocket
 * handshake is answered, and each tunnel runs on its own (tunnel.ts).
 * Every open tunnel is known, so a graceful shutdown can close them with 1001.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { OpenPerUser } from '../open-per-user.js';
import type { TunnelsConfig } from '../../config/schema/tunnels.js';
import { badRequest, serviceUnavailable } from '../../errors.js';
import type { RequestContext } from '../../request/context.js';
import type { Target } from '../../request/target.js';
import { allowedTunnelTarget, portAllowList } from './ports.js';
import { MAX_MESSAGE_BYTES, TUNNEL_SUBPROTOCOL } from './protocol.js';
import { Tunnel, type TunnelDeps } from './tunnel.js';

export { CLOSE, MAX_MESSAGE_BYTES, TUNNEL_SUBPROTOCOL } from './protocol.js';
export type { TunnelEvents } from './events.js';

export interface TunnelsOptions extends Omit<TunnelDeps, 'idleTimeoutMs' | 'maxLifetimeMs' | 'keepaliveMs'> {
  config: TunnelsConfig;
  /** `upstream.maxUpgradesPerUser`, counted with the user's WebSockets (default: unlimited). */
  openPerUser?: OpenPerUser;
}

const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * The checks `ws` would otherwise answer with a bare 400 of its own: made
 * here, they become the gateway's Status, and `ws` never refuses after us.
 */
function checkHandshake(req: IncomingMessage): void {
  if (req.method !== 'GET' || String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    throw badRequest('a tunnel is a WebSocket: GET with Upgrade: websocket');
  }
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  if (typeof key !== 'string' || !WEBSOCKET_KEY.test(key.trim()) || (version !== '13' && version !== '8')) {
    throw badRequest('invalid WebSocket handshake (Sec-WebSocket-Key, Sec-WebSocket-Version: 13)');
  }
}

export function createTunnels(o: TunnelsOptions) {
  const allowed = portAllowList(o.config.ports, o.config.portRanges);
  const deps: TunnelDeps = {
    ...o,
    idleTimeoutMs: o.config.idleTimeout,
    maxLifetimeMs: o.config.maxLifetime,
    keepaliveMs: o.config.keepalive,
  };
  const open = new Set<Tunnel>();
  const server = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE_BYTES,
    // Our subprotocol when offered; a raw WebSocket tool that offers none speaks the same wire.
    handleProtocols: (offered) => (offered.has(TUNNEL_SUBPROTOCOL) ? TUNNEL_SUBPROTOCOL : false),
  });

  /** The resolved target, narrowed to the ports tunnels may reach: a 403 before the upgrade otherwise. */
  function admitTarget(target: Target): Target {
    return allowedTunnelTarget(target, allowed);
  }

  /** Answers the handshake and runs the tunnel; resolves with 101 once the client's connection closed. */
  async function upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ctx: RequestContext,
  ): Promise<number> {
    checkHandshake(req);
    if (open.size >= o.config.maxOpen) {
      throw serviceUnavailable('too many tunnels are open on this gateway instance; try again shortly');
    }
    // Counted from here to the connection's end, with the user's WebSockets.
    const release = o.openPerUser?.take(ctx);
    if (release) {
      if (socket.closed) release();
      else socket.once('close', release);
    }
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      // `ws` destroys the socket without calling back when it refuses (a check above missed something).
      const refused = () => reject(badRequest('invalid WebSocket handshake'));
      socket.once('close', refused);
      server.handleUpgrade(req, socket, head, (ws) => {
        socket.off('close', refused);
        // Now, not after the await: frames that came with the handshake are emitted on the next tick,
        // before the tunnel listens, and would be lost. Paused, they wait for the relay.
        ws.pause();
        resolve(ws);
      });
    });
    const tunnel = new Tunnel(ws, req, ctx, deps);
    open.add(tunnel);
    tunnel.run();
    await tunnel.closed;
    open.delete(tunnel);
    return 101;
  }

  return {
    admitTarget,
    upgrade,
    /** Tunnels open now (upgraded, dialling or relaying). */
    get size(): number {
      return open.size;
    },
    /** Graceful shutdown: every tunnel gets close 1001 and its backend connection is dropped. */
    shutdown(): void {
      for (const tunnel of open) tunnel.shutdown();
    },
    /** Immediate stop (tests): every client connection is dropped. */
    close(): void {
      for (const tunnel of open) tunnel.drop();
    },
  };
}

export type Tunnels = ReturnType<typeof createTunnels>;
