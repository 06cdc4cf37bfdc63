/**
 * Real TCP backends for tunnel tests, each on 127.0.0.x port 0, each counting
 * the connections it accepted (so a test can say "never dialled"):
 *
 *   echo      sends back every byte; ends its side when the client ends its own
 *   sink      hashes everything until the client ends, then answers the sha256 and ends
 *   source    sends `size` deterministic bytes at once, then ends (the test compares sha256)
 *   dying     after the client's first bytes, sends `dieAfter` bytes and resets (a backend that crashes)
 *
 * A refusing backend needs no server: nothing listens on port 1 of a loopback
 * address (and no test process may bind below 1024).
 */
import { createHash } from 'node:crypto';
import net from 'node:net';

export const REFUSING = { host: '127.0.0.1', port: 1 };

export interface Backend {
  host: string;
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  /** Connections open now. */
  open(): number;
  close(): Promise<void>;
}

type Behaviour = (socket: net.Socket) => void;

/** `handOver`: the socket is not read here at all (its descriptor goes to a child process). */
export async function startBackend(host: string, behaviour: Behaviour, handOver = false): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: handOver }, (socket) => {
    backend.accepted++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    behaviour(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const backend: Backend = {
    host,
    port: (server.address() as net.AddressInfo).port,
    accepted: 0,
    open: () => sockets.size,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return backend;
}

export const echo: Behaviour = (socket) => socket.pipe(socket);

export const sink: Behaviour = (socket) => {
  const hash = createHash('sha256');
  socket.on('data', (chunk: Buffer) => hash.update(chunk));
  socket.once('end', () => socket.end(`${hash.digest('hex')}\n`));
};

/** `size` bytes that are the same on every run (a test needs their digest, not their randomness). */
export function deterministicBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, Math.min(i, size - 4));
  }
  return out;
}

export const source =
  (data: Buffer): Behaviour =>
  (socket) =>
    void socket.end(data);

/** Once the client's first bytes arrive: `dieAfter` bytes back, then a reset. */
export const dying =
  (dieAfter: number): Behaviour =>
  (socket) => {
    socket.once('data', () => socket.write(deterministicBytes(dieAfter), () => socket.resetAndDestroy()));
  };

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
