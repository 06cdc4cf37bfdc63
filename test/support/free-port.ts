/**
 * Ports for servers that must know their URL before they listen (a gateway whose publicURL names
 * its own port) and child processes that cannot listen on port 0 and tell us what they got
 * (redis-server). Everything else listens on port 0 and reads the port back.
 *
 * The port is picked below the kernel's ephemeral range, so no port-0 listener and no outgoing
 * connection can take it between the probe and the bind; `onFreePort` also starts the server again
 * on a fresh port if another probe took it all the same.
 */
import { freePort, onFreePorts } from '../../bench/lib/ports.js';

/** A TCP port that was free a moment ago, chosen where only another probe could take it (bench/lib/ports.ts). */
export { freePort };

/**
 * Runs `start(port)` with a port that was free a moment ago; when it fails because the port is in
 * use, runs it again with a fresh one (up to `attempts` times). `start` must release whatever it
 * opened before it throws.
 */
export const onFreePort = <T>(start: (port: number) => Promise<T>, attempts = 10): Promise<T> =>
  onFreePorts(1, ([port]) => start(port), attempts);
