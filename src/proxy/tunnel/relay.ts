/**
 * Moves a TCP connection's bytes over a WebSocket and back (protocol.ts), the
 * same way at both ends: the gateway relays its backend connection, the CLI
 * its local one (or stdin/stdout).
 *
 * Nothing is buffered without bound. Bytes read from the socket wait in the
 * WebSocket's send buffer; past `highWaterMark` the socket is paused until
 * the buffer has drained to half. Bytes from the WebSocket are written to the
 * socket; when it asks to wait, the WebSocket is paused (its TCP window then
 * closes) until the socket drains.
 *
 * The relay only reports how it ended; what that means (a close code, a
 * reset, an exit status) is its owner's to decide.
 *
 * An owner may have the socket's first bytes judged before any of them is
 * sent (`admit`: the CLI keeps web browsers off its loopback port). Only that
 * direction waits: bytes from the WebSocket flow from the start, so a server
 * that speaks first is heard before the local program says anything.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Clock } from '../../clock.js';
import { END_MESSAGE, parseControl, type ControlMessage } from './protocol.js';

export type RelayEnd =
  /** Both sides ended their bytes (end message one way, FIN the other) and the socket wrote its last byte. */
  | { how: 'complete'; first: 'socket' | 'websocket' }
  /** The socket failed: reset, or an error reading or writing. */
  | { how: 'socket-failed'; error: NodeJS.ErrnoException }
  /** The socket closed before both ends were done, without an error (its owner destroyed it). */
  | { how: 'socket-closed' }
  /** The WebSocket closed (or dropped: 1006) before both ends were done. */
  | { how: 'websocket-closed'; code: number; reason: string }
  /** The peer broke the wire rules: bytes after its end, or text that is no control message. */
  | { how: 'protocol-error'; message: string }
  /** `admit` refused the socket's first bytes; none of them was sent. */
  | { how: 'refused'; message: string };

/** `more`: hold the bytes and ask again with more (never once `ended`); `pass`: send them and stop asking. */
export type Admission = 'more' | 'pass' | { refuse: string };

export interface RelayOptions {
  /** Bytes waiting to go out on the WebSocket before the socket is paused. Default 256 KiB. */
  highWaterMark?: number;
  /** Bytes moved: `up` from the WebSocket to the socket, `down` from the socket to the WebSocket. */
  onBytes?(direction: 'websocket-to-socket' | 'socket-to-websocket', n: number): void;
  /** A control message other than `end` (unknown types included: the owner may ignore them). */
  onControl?(message: ControlMessage): void;
  /**
   * Judges the socket's first bytes (all of them so far; `ended`: its peer sent
   * FIN) before any is sent. Must decide within a bounded number of bytes: what
   * it has not decided on is held in memory. Absent: every byte goes as it comes.
   */
  admit?(head: Buffer, ended: boolean): Admission;
  /**
   * How long undecided first bytes wait for more before they are judged as they are (as at their
   * end): a program that sends a few bytes and waits for the answer (ZooKeeper's `ruok`, with no
   * newline) is not held until it gives up. Bytes after them are still judged with them until
   * `admit` decides on the whole (held again while undecided). Absent: they wait for more bytes or the end.
   */
  admitQuiet?: { ms: number; clock: Pick<Clock, 'after'> };
  /** Called once, with how the relay ended. */
  ended(end: RelayEnd): void;
}

export interface Relay {
  /** Starts moving bytes (both sides may have been paused until now). */
  start(): void;
  /** True once the peer said it sends no more bytes. */
  readonly peerEnded: boolean;
}

export const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

export function relay(ws: WebSocket, socket: Duplex, o: RelayOptions): Relay {
  const high = o.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  let over = false;
  let socketEnded = false; // the socket's peer sent FIN, and we sent `end`
  let peerEnded = false; // the WebSocket's peer sent `end`, and we ended the socket
  let socketFinished = false; // our end of the socket has written its last byte
  let first: 'socket' | 'websocket' | undefined;
  let waitingForDrain = false;

  const finish = (end: RelayEnd) => {
    if (over) return;
    over = true;
    stopQuietTimer?.();
    o.ended(end);
  };
  const maybeComplete = () => {
    if (socketEnded && peerEnded && socketFinished) finish({ how: 'complete', first: first! });
  };

  // socket → WebSocket
  const resumeWhenDrained = () => {
    if (!over && !socketEnded && socket.isPaused() && ws.bufferedAmount <= high / 2) socket.resume();
  };
  const send = (chunk: Buffer) => {
    o.onBytes?.('socket-to-websocket', chunk.length);
    ws.send(chunk, { binary: true }, resumeWhenDrained);
    if (ws.bufferedAmount > high) socket.pause();
  };
  // The first bytes while `admit` has not decided; undefined once it has (or when there is none).
  let held: Buffer | undefined = o.admit ? Buffer.alloc(0) : undefined;
  let stopQuietTimer: (() => void) | undefined;
  // How much of `held` went already: let through as it stood after a quiet wait.
  let sentOfHeld = 0;
  /** Re-judges what is held with `more`; true once the bytes may go on (sent). */
  const admitted = (more: Buffer | undefined, ended: boolean, quiet = false): boolean => {
    const head = more ? Buffer.concat([held!, more]) : held!;
    const verdict = o.admit!(head, ended);
    stopQuietTimer?.();
    stopQuietTimer = undefined;
    if (verdict === 'more' && !ended) {
      held = head;
      // Quiet for `ms` after its last bytes: judged as it stands (a new chunk starts the wait again).
      if (o.admitQuiet)
        stopQuietTimer = o.admitQuiet.clock.after(o.admitQuiet.ms, () => {
          if (!over && held !== undefined) admitted(undefined, true, true);
        });
      return false;
    }
    if (verdict === 'pass') {
      if (head.length > sentOfHeld) send(head.subarray(sentOfHeld));
      // Passed as it stood, not at its end: later bytes may still make it a browser's head (a request
      // line and a loopback Host, then its Origin), so they are judged with it before they go.
      held = quiet ? head : undefined;
      sentOfHeld = head.length;
      return true;
    }
    held = undefined;
    const message = verdict === 'more' ? 'the first bytes were still undecided at their end' : verdict.refuse;
    finish({ how: 'refused', message });
    return false;
  };
  socket.on('data', (chunk: Buffer) => {
    if (over) return;
    if (held === undefined) send(chunk);
    else admitted(chunk, false);
  });
  socket.once('end', () => {
    if (over || (held !== undefined && !admitted(undefined, true))) return;
    socketEnded = true;
    first ??= 'socket';
    ws.send(END_MESSAGE);
    maybeComplete();
  });
  socket.once('finish', () => {
    socketFinished = true;
    maybeComplete();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => finish({ how: 'socket-failed', error }));
  socket.once('close', () => finish({ how: 'socket-closed' }));

  // WebSocket → socket
  const onBinary = (data: Buffer) => {
    if (peerEnded) return finish({ how: 'protocol-error', message: 'bytes after the end message' });
    o.onBytes?.('websocket-to-socket', data.length);
    if (socket.write(data) || waitingForDrain) return;
    waitingForDrain = true;
    ws.pause();
    socket.once('drain', () => {
      waitingForDrain = false;
      ws.resume();
    });
  };
  const onText = (text: string) => {
    const control = parseControl(text);
    if (!control)
      return finish({ how: 'protocol-error', message: 'a text message that is no control message' });
    if (control.type !== 'end') return o.onControl?.(control);
    if (peerEnded) return;
    peerEnded = true;
    first ??= 'websocket';
    socket.end();
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (over) return;
    if (isBinary) onBinary(data);
    else onText(data.toString('utf8'));
  });
  ws.once('close', (code: number, reason: Buffer) => {
    // Both ends went through before the close: whatever the code, nothing was lost.
    if (socketEnded && peerEnded) return finish({ how: 'complete', first: first! });
    finish({ how: 'websocket-closed', code, reason: reason.toString('utf8') });
  });

  return {
    start() {
      ws.resume();
      socket.resume();
    },
    get peerEnded() {
      return peerEnded;
    },
  };
}
