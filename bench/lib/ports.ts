/**
 * Ports for processes that must be told their port before they listen (a gateway's config, nginx,
 * redis-server): picked where nothing but another probe takes ports, and tried again on fresh ones
 * when a start fails because one was taken all the same. Tests use these too (test/support/free-port.ts).
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Where the kernel's ephemeral ports begin (port-0 listeners and outgoing connections take theirs above). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > 0) return low;
  } catch {
    // not Linux: the IANA range
  }
  return 49152;
}

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a server that must know its port before it
 * listens. Chosen at random below the ephemeral range, where no port-0 listener and no outgoing
 * connection takes ports, so between this probe and the bind only another probe could take it.
 */
export async function freePort(): Promise<number> {
  const floor = 20_000;
  const ceiling = ephemeralLow() - 1;
  for (let attempt = 0; ceiling - floor >= 1000 && attempt < 50; attempt++) {
    const port = floor + randomInt(ceiling - floor + 1);
    if (await canBind(port)) return port;
  }
  // No room below the range (or all taken): a port the kernel picks, which a port-0 listener may take too.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** "The port is taken", as node, the gateway's log or nginx's error log says it. */
const IN_USE = /EADDRINUSE|address already in use/i;

/**
 * Runs `start` with `count` ports that were free a moment ago, and again with fresh ones when one was taken
 * before it was bound (by a test file running beside, or the local end of any connection). `start` must
 * release what it opened before it throws, and say "EADDRINUSE" or "Address already in use" in its error.
 */
export async function onFreePorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    try {
      return await start(ports);
    } catch (err) {
      if (attempt >= attempts || !IN_USE.test((err as Error | undefined)?.message ?? '')) throw err;
    }
  }
}
