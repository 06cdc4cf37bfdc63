/**
 * `kube-bastion connect TARGET [--listen ADDR:PORT]`: a local listener whose
 * every accepted connection gets its own tunnel (own WebSocket, own fresh
 * token). A connection that cannot get one — refused, gateway unreachable —
 * is reset and its reason printed; the listener stays up for the next, so a
 * gateway restart or a re-login needs no restart here.
 *
 * The person's browser can reach this port too, and so can the pages it
 * shows: a connection whose first bytes are a web page's request is reset
 * before any of them is sent (browser-guard.ts).
 */
import net from 'node:net';
import type { WebSocket } from 'ws';
import { JUDGE_WHEN_QUIET_MS, judgeFirstBytes } from './browser-guard.js';
import { carry } from './carry.js';
import type { ConnectTarget } from './target.js';
import { openTunnel, type TunnelClientOptions } from './tunnel-client.js';

export interface ListenerOptions extends TunnelClientOptions {
  target: ConnectTarget;
  host: string;
  /** 0: any free port. */
  port: number;
  keepaliveMs: number;
  /** One line about one connection (refused, cut); the caller prefixes and prints it. */
  report(line: string): void;
}

export interface Listening {
  address: string;
  port: number;
  /** Tunnels being carried now. */
  readonly active: number;
  /** Stops listening; every open tunnel is closed (going away) and its local connection reset. */
  close(): Promise<void>;
}

export async function listen(o: ListenerOptions): Promise<Listening> {
  const open = new Map<net.Socket, WebSocket | undefined>();

  async function serve(local: net.Socket): Promise<void> {
    open.set(local, undefined);
    local.once('close', () => open.delete(local));
    local.on('error', () => undefined); // a reset before the tunnel is up; carry() reports later ones
    let ws: WebSocket;
    try {
      ws = await openTunnel(o.target.path, o);
    } catch (err) {
      o.report((err as Error).message);
      if (!local.destroyed) local.resetAndDestroy();
      return;
    }
    if (local.destroyed || !open.has(local)) {
      ws.resume(); // the gateway's close frame must be read
      return void ws.close(1000, 'local connection gone');
    }
    open.set(local, ws);
    local.setNoDelay(true);
    const carried = await carry(ws, local, {
      keepaliveMs: o.keepaliveMs,
      admit: judgeFirstBytes,
      admitQuietMs: JUDGE_WHEN_QUIET_MS,
    });
    if (carried.message) o.report(carried.message);
  }

  // Paused until the tunnel is up: the local program's first bytes wait in the kernel.
  const server = net.createServer(
    { allowHalfOpen: true, pauseOnConnect: true },
    (local) => void serve(local),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  return {
    address: bound.address,
    port: bound.port,
    get active() {
      return open.size;
    },
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const [local, ws] of open) {
        ws?.close(1001, 'kube-bastion connect stopped');
        local.resetAndDestroy();
      }
      await closed;
    },
  };
}
