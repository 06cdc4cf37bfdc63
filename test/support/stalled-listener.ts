/**
 * An endpoint whose connect never completes (a node gone dark, a full listen
 * queue), for real: a listener with a backlog of one, owned by a worker thread
 * whose event loop is blocked so it never accepts. Two idle connections fill
 * its accept queue; from then on Linux drops every SYN to it, and a connect to
 * it neither succeeds nor fails.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Worker } from 'node:worker_threads';

export interface StalledListener {
  host: string;
  port: number;
  /** Connects to this listener still waiting for an answer to their SYN (any process's). */
  pendingConnects(): number;
  close(): Promise<void>;
}

export async function startStalledListener(host: string): Promise<StalledListener> {
  const wake = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.listen({ host: workerData.host, port: 0, backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       // Block this thread's event loop: the listener stays open but nothing accepts.
       setImmediate(() => { Atomics.wait(workerData.wake, 0, 0); server.close(); parentPort.close(); });
     });`,
    { eval: true, workerData: { host, wake } },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const fillers: net.Socket[] = [];
  for (let connected = 0; connected < 2;) {
    const socket = net.connect(port, host);
    fillers.push(socket);
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (ok) connected++;
  }
  // Proof the queue is full: a third connect must not complete.
  const probe = net.connect(port, host);
  const probed = await new Promise<string>((resolve) => {
    probe.once('connect', () => resolve('connected'));
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    setTimeout(() => resolve('stalled'), 300);
  });
  probe.destroy();
  assert.equal(probed, 'stalled', 'connects to the full listener stall');
  return {
    host,
    port,
    pendingConnects: () => synSent(host, port),
    async close() {
      fillers.forEach((s) => s.destroy());
      Atomics.store(wake, 0, 1);
      Atomics.notify(wake, 0);
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

/** IPv4 sockets in SYN_SENT towards host:port, as the kernel lists them in /proc/net/tcp. */
function synSent(host: string, port: number): number {
  // Addresses are the 32-bit value in host (little-endian) byte order, ports big-endian, both hex.
  const ip = host
    .split('.')
    .reverse()
    .map((b) => Number(b).toString(16).padStart(2, '0'))
    .join('');
  const remote = `${ip}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
  const SYN_SENT = '02';
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[2] === remote && f[3] === SYN_SENT).length;
}
