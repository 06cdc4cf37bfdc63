import assert from 'node:assert/strict';
import net from 'node:net';
import test from 'node:test';
import { readFileSync } from 'node:fs';
import { freePort, onFreePorts } from '../../bench/lib/ports.js';

/** Listens on `port`, as a gateway process would; rejects as node does when the port is taken. */
const listenOn = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

test('a port taken between the probe and the bind is tried again on fresh ports', async () => {
  const squatters: net.Server[] = [];
  const tried: number[][] = [];
  try {
    const server = await onFreePorts(2, async (ports) => {
      tried.push(ports);
      // The first time, someone else binds the second port first.
      if (tried.length === 1) squatters.push(await listenOn(ports[1]));
      const first = await listenOn(ports[0]);
      try {
        await listenOn(ports[1]).then((s) => squatters.push(s));
      } catch (err) {
        first.close();
        throw err;
      }
      return first;
    });
    assert.equal(tried.length, 2, 'one more attempt');
    assert.equal((server.address() as net.AddressInfo).port, tried[1][0]);
    server.close();
  } finally {
    for (const s of squatters) s.close();
  }
});

test('any other failure, or a port taken every time, is thrown', async () => {
  let calls = 0;
  await assert.rejects(
    onFreePorts(1, () => {
      calls++;
      return Promise.reject(new Error('config invalid'));
    }),
    /config invalid/,
  );
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(
    onFreePorts(
      1,
      () => {
        calls++;
        return Promise.reject(new Error('gateway exited: listen EADDRINUSE: address already in use'));
      },
      3,
    ),
    /EADDRINUSE/,
  );
  assert.equal(calls, 3);
});

test('a probed port lies below the ephemeral range (where port-0 listeners and outgoing connections take theirs) and binds', async () => {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  for (const port of ports) assert.ok(port >= 20_000 && port < low, `${port} is below ${low}`);
  const server = await listenOn(ports[0]);
  server.close();
});
