/**
 * Ports for servers that must know their URL before they listen (a gateway whose publicURL names
 * its own port) and child processes that cannot listen on port 0 and tell us what they got
 * (redis-server). Everything else listens on port 0 and reads the port back.
 *
 * A port that was free a moment ago can be taken before it is bound (another test's server, or
 * the local end of any outgoing connection): `onFreePort` starts the server and, when the port
 * turned out to be in use, starts it again on a fresh one.
 */
import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago.
 * @deprecated Probing then binding races: listen on port 0, or bind through `onFreePort`.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** True for "the port is taken", as Node reports it or as a child process printed it. */
export function isAddressInUse(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  return e?.code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(e?.message ?? '');
}

/**
 * Runs `start(port)` with a port that was free a moment ago; when it fails because the port is in
 * use, runs it again with a fresh one (up to `attempts` times). `start` must release whatever it
 * opened before it throws.
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (err) {
      if (!isAddressInUse(err) || attempt >= attempts) throw err;
    }
  }
}
