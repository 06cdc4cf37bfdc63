/**
 * Keepalive for a tunnel's WebSocket, at both ends: a ping every `intervalMs`
 * so load balancers and NAT see traffic on an idle tunnel, and a peer that has
 * not answered one ping by the time the next is due is taken for gone (its
 * connection is dropped: a dead peer never sends a close frame).
 */
import type { WebSocket } from 'ws';
import type { Clock } from '../../clock.js';

/** Starts pinging (0: never); returns a function that stops it. */
export function keepAlive(ws: WebSocket, clock: Clock, intervalMs: number, lost: () => void): () => void {
  if (intervalMs <= 0) return () => {};
  let answered = true;
  let cancel = () => {};
  const onPong = () => (answered = true);
  ws.on('pong', onPong);
  const tick = () => {
    if (ws.readyState !== ws.OPEN) return;
    if (!answered) return lost();
    answered = false;
    ws.ping();
    cancel = clock.after(intervalMs, tick);
  };
  cancel = clock.after(intervalMs, tick);
  return () => {
    cancel();
    ws.off('pong', onPong);
  };
}
