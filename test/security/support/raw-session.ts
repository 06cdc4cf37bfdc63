/**
 * A conversation on one bare TCP socket, for exchanges a one-shot raw request
 * cannot have: send a head, wait for what the server answers (100 Continue or
 * not), then send the body.
 */
import { connect, type Socket } from 'node:net';

export interface RawSession {
  write(bytes: string | Buffer): void;
  /** Resolves with everything received so far once it matches `pattern` (rejects when the socket closes first). */
  until(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once the server closed the connection, with everything it sent. */
  closed(timeoutMs?: number): Promise<string>;
  received(): string;
  close(): void;
}

export function openRawSession(base: string): Promise<RawSession> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(u.port), u.hostname);
    let text = '';
    let ended = false;
    const waiters = new Set<() => void>();
    const wake = () => waiters.forEach((w) => w());
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      wake();
    });
    socket.on('close', () => {
      ended = true;
      wake();
    });
    socket.on('error', () => undefined); // a reset is a close here
    const wait = (done: () => boolean, what: string, timeoutMs: number) =>
      new Promise<string>((res, rej) => {
        const check = () => {
          if (done()) {
            cleanup();
            res(text);
          } else if (ended) {
            cleanup();
            rej(new Error(`connection closed before ${what}; received: ${JSON.stringify(text)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          rej(new Error(`no ${what} within ${timeoutMs} ms; received: ${JSON.stringify(text)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    socket.once('connect', () =>
      resolve({
        write: (bytes) => void socket.write(bytes),
        until: (pattern, timeoutMs = 10_000) => wait(() => pattern.test(text), String(pattern), timeoutMs),
        closed: (timeoutMs = 10_000) =>
          new Promise<string>((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`still open after ${timeoutMs} ms`)), timeoutMs);
            const check = () => {
              if (!ended) return;
              clearTimeout(timer);
              waiters.delete(check);
              res(text);
            };
            waiters.add(check);
            check();
          }),
        received: () => text,
        close: () => socket.destroy(),
      }),
    );
    socket.once('error', reject);
  });
}
