/**
 * The client end of one tunnel: the local connection (an accepted socket, or
 * stdin/stdout) relayed over its WebSocket (proxy/tunnel/relay.ts), and what
 * the way it ended means for the local side. Only a stream whose both ends
 * went through ends cleanly (FIN); any cut — the backend reset, the gateway
 * went away, the credential lapsed — resets the local connection, so the local
 * program sees an error and never mistakes a cut for the end of the data.
 * A connection whose first bytes `admit` refused is reset too, none of its
 * bytes sent.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { systemClock } from '../../clock.js';
import { keepAlive } from '../../proxy/tunnel/keepalive.js';
import { CLOSE, closeReason, describeClose } from '../../proxy/tunnel/protocol.js';
import { relay, type RelayEnd, type RelayOptions } from '../../proxy/tunnel/relay.js';

/** How a carried stream ended: `ok` only when both directions ended normally. */
export interface Carried {
  ok: boolean;
  /** Why not, in a line for the user; absent when the local side itself ended it. */
  message?: string;
}

export interface CarryOptions {
  /** Ping interval (ms); 0: none. */
  keepaliveMs: number;
  /** Judges the local program's first bytes before any is sent (relay.ts); its refusal is the line printed. */
  admit?: RelayOptions['admit'];
  /** Undecided first bytes are judged as they stand after this long without more (relay.ts). */
  admitQuietMs?: number;
}

/** A reset when the local end is a socket (RST: the program sees ECONNRESET), else destroyed. */
function cut(local: Duplex): void {
  const socket = local as Partial<Socket>;
  if (typeof socket.resetAndDestroy === 'function' && !local.destroyed) socket.resetAndDestroy();
  else local.destroy();
}

function outcome(end: RelayEnd, ws: WebSocket, local: Duplex): Carried {
  switch (end.how) {
    case 'complete':
      if (ws.readyState === ws.OPEN) ws.close(CLOSE.NORMAL, 'done');
      return { ok: true };
    case 'socket-failed':
      ws.close(CLOSE.CLIENT_ABORTED, `local connection failed: ${end.error.code ?? end.error.message}`);
      return { ok: false };
    case 'socket-closed':
      if (ws.readyState === ws.OPEN) ws.close(CLOSE.GOING_AWAY, 'kube-bastion connect stopped');
      return { ok: false };
    case 'websocket-closed': {
      cut(local);
      const why = describeClose(end.code);
      return { ok: false, message: `tunnel closed: ${why}${end.reason ? ` (${end.reason})` : ''}` };
    }
    case 'protocol-error':
      ws.close(CLOSE.PROTOCOL_ERROR, end.message);
      cut(local);
      return { ok: false, message: `tunnel closed: protocol error (${end.message})` };
    case 'refused':
      if (ws.readyState === ws.OPEN) ws.close(CLOSE.CLIENT_REFUSED, closeReason(end.message));
      cut(local);
      return { ok: false, message: end.message };
  }
}

/** Relays until the stream is over; resolves with how it ended. Never rejects. */
export function carry(ws: WebSocket, local: Duplex, o: CarryOptions): Promise<Carried> {
  return new Promise((resolve) => {
    const stopPings = keepAlive(ws, systemClock, o.keepaliveMs, () => ws.terminate());
    ws.on('error', () => undefined); // 'close' follows with the code
    relay(ws, local, {
      admit: o.admit,
      admitQuiet: o.admitQuietMs ? { ms: o.admitQuietMs, clock: systemClock } : undefined,
      ended(end) {
        stopPings();
        resolve(outcome(end, ws, local));
      },
    }).start();
  });
}
