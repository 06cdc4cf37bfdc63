/**
 * Closes an upgraded client connection from the gateway's side, the way a
 * WebSocket peer expects: a close frame with a code and a reason, then the
 * end of the connection. The backend's bytes keep flowing through untouched
 * until then; the frame goes in at a frame boundary (frame-boundary.ts), and
 * nothing of the backend's is passed on after it. A connection that is not
 * yet upgraded, or a backend frame that does not end within a grace period,
 * is simply destroyed.
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../../clock.js';
import { closeFrame, FrameBoundary } from './frame-boundary.js';

/** How long a backend frame already under way may take to finish before the connection is cut. */
export const FRAME_GRACE_MS = 2_000;
/** How long the client has to answer our close frame before the connection is destroyed. */
export const CLOSE_GRACE_MS = 1_000;

/** 1008: policy violation — the credential the connection was opened with is no longer good. */
export const POLICY_VIOLATION = 1008;

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

export interface WebSocketCloser {
  close(code: number, reason: string): void;
}

/** Starts watching what goes to the client (install before the upgrade is answered). */
export function guardWebSocket(socket: Duplex, clock: Clock): WebSocketCloser {
  const frames = new FrameBoundary();
  const write = socket.write.bind(socket) as Write;
  let closing: { code: number; reason: string } | undefined;
  let sent = false;

  const sendClose = () => {
    if (sent || socket.destroyed) return;
    sent = true;
    write(closeFrame(closing!.code, closing!.reason));
    socket.end();
    clock.after(CLOSE_GRACE_MS, () => socket.destroy());
  };

  (socket as { write: Write }).write = (chunk, encoding, cb) => {
    const done = typeof encoding === 'function' ? encoding : cb;
    if (sent) {
      if (typeof done === 'function') queueMicrotask(done as () => void);
      return true;
    }
    const bytes =
      typeof chunk === 'string' ? Buffer.from(chunk, encoding as BufferEncoding) : (chunk as Buffer);
    const upTo = frames.consume(bytes, closing !== undefined);
    if (upTo === bytes.length) {
      const flowing = write(chunk, encoding, cb);
      if (closing && frames.atBoundary) sendClose();
      return flowing;
    }
    // The backend's frame ended inside this chunk: pass that much on, then our close frame.
    if (upTo > 0) write(bytes.subarray(0, upTo));
    sendClose();
    if (typeof done === 'function') queueMicrotask(done as () => void);
    return true;
  };

  return {
    close(code, reason) {
      if (closing || socket.destroyed) return;
      closing = { code, reason };
      if (!frames.upgraded) return void socket.destroy();
      if (frames.atBoundary) return sendClose();
      clock.after(FRAME_GRACE_MS, () => {
        if (!sent) socket.destroy();
      });
    },
  };
}
