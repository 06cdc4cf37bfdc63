/**
 * What a TCP tunnel costs: one bulk stream through `kube-bastion connect` and
 * the gateway (both compiled, as they ship, each its own process, bearer JWT
 * authentication and a static rule, a Service whose endpoint is a loopback
 * backend) against the same stream straight to that backend on loopback.
 * Both directions: up (the client writes, the backend counts to EOF and
 * answers) and down (the backend writes, the client counts to EOF).
 * Throughput is bytes over wall time (median of the rounds); CPU per MB is
 * the gateway's and the CLI's CPU time from /proc over the megabytes moved.
 * The reference beside them: the same stream through two bare Node TCP relays
 * in a row (bench/lib/tcp-relay.ts), the tunnel's process layout with nothing
 * checked or framed: what any Node relay of that shape reaches on this machine;
 * and, where `socat` is installed, two socat relays in a row (native code,
 * 256 KiB buffers: the best of 8–256 KiB tried here), what the machine's
 * kernel and cores allow a relay of that shape that is not Node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenStore, configDir } from '../src/client/token-store.js';
import { endpointSlice, pod, service, startFakeApiServer } from '../test/support/fake-apiserver.js';
import { gatewayCLI } from './lib/build.js';
import { startClusterGateway } from './lib/cluster-gateway.js';
import { AUDIENCE, ISSUER, USER, startIssuer } from './lib/issuer.js';
import { imageNodeFlags } from './lib/image-flags.js';
import { freePort } from './lib/ports.js';
import { cpuSeconds, hasCommand, startProcess, type Proc } from './lib/proc.js';

export interface TunnelOptions {
  /** Bytes per stream. */
  bytes: number;
  rounds: number;
  cli?: string;
  /** The gateway's node flags (default: the image's, bench/lib/image-flags.ts). */
  nodeArgs?: string[];
  log?: (line: string) => void;
}

export interface TunnelDirection {
  /** MB/s (10^6 bytes) straight to the backend, median of the rounds. */
  directMBps: number;
  /** MB/s through `kube-bastion connect` and the gateway, median. */
  tunnelMBps: number;
  /** tunnel / direct. */
  ratio: number;
  /** MB/s through two bare Node TCP relays in a row (the tunnel's process layout, nothing else), median. */
  bareRelaysMBps: number;
  /** The same through two socat relays (native, 256 KiB buffers), median; absent without socat on the machine. */
  nativeRelaysMBps?: number;
  /** CPU ms per MB moved: the gateway process, and the `connect` process. */
  gatewayCpuMsPerMB: number;
  clientCpuMsPerMB: number;
}

export interface TunnelResult {
  bytes: number;
  rounds: number;
  up: TunnelDirection;
  down: TunnelDirection;
  loadAverage: number[];
}

/**
 * Every byte value in turn: binary, as a database's bytes are. (A stream of letters alone, with no space
 * or line break in its first 16 KiB, is what `connect` takes for a web page's oversized request head.)
 */
const CHUNK = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => i & 0xff));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Writes `bytes` to `socket` as fast as it takes them, then ends it. */
function pump(socket: net.Socket, bytes: number): void {
  let left = bytes;
  const more = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n)))
        return void socket.once('drain', more);
    }
    socket.end();
  };
  more();
}

type Mode = 'up' | 'down';
type Backend = net.Server & { mode: Mode };

/** The backend: `up` counts what it is sent until EOF, then answers the count; `down` sends `bytes`. */
function startBackend(bytes: number): Promise<Backend> {
  const initial: { mode: Mode } = { mode: 'up' };
  const server: Backend = Object.assign(
    net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => undefined);
      if (server.mode === 'down') return pump(socket, bytes);
      let n = 0;
      socket.on('data', (c: Buffer) => (n += c.length));
      socket.once('end', () => socket.end(`${n}\n`));
    }),
    initial,
  );
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** One stream to `port`; resolves with its wall time (ms) once the other end confirmed or ended. */
function stream(port: number, mode: Mode, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let received = 0;
    let answer = '';
    socket.on('data', (c: Buffer) => {
      received += c.length;
      if (mode === 'up') answer += c.toString();
    });
    socket.once('error', reject);
    socket.once('end', () => {
      socket.end();
      // Up: the backend's count of what arrived; a short stream is an error, never a fast one.
      const ok = mode === 'down' ? received === bytes : answer === `${bytes}\n`;
      if (ok) resolve(performance.now() - t0);
      else
        reject(
          new Error(`${mode}: ${mode === 'down' ? `${received} bytes` : JSON.stringify(answer)} came back`),
        );
    });
    socket.once('connect', () => (mode === 'up' ? pump(socket, bytes) : socket.end()));
  });
}

export async function runTunnel(o: TunnelOptions): Promise<TunnelResult> {
  const log = o.log ?? (() => {});
  const loadBefore = loadavg()[0];
  const backend = await startBackend(o.bytes);
  const backendPort = (backend.address() as net.AddressInfo).port;
  const issuer = await startIssuer();
  const api = await startFakeApiServer({
    createPodsForSlices: true,
    objects: [
      service('bench', 'bulk', [{ name: 'tcp', port: 9000, targetPort: backendPort }]),
      endpointSlice(
        'bench',
        'bulk',
        [{ ip: '127.0.0.1', pod: 'bulk-0' }],
        [{ name: 'tcp', port: backendPort }],
      ),
      pod('bench', 'bulk-0', '127.0.0.1', [{ name: 'tcp', containerPort: backendPort }]),
    ],
  });
  const home = mkdtempSync(path.join(tmpdir(), 'kb-bench-tunnel-'));
  const cli = o.cli ?? gatewayCLI();
  let gw: Awaited<ReturnType<typeof startClusterGateway>> | undefined;
  let connect: ReturnType<typeof startProcess> | undefined;
  const relays: Proc[] = [];
  try {
    // The reference chain: client → relay → relay → backend, with the image's node flags like the gateway.
    const relay = async (target: number) => {
      const proc = startProcess(process.execPath, [
        ...imageNodeFlags(),
        '--import',
        'tsx',
        fileURLToPath(new URL('./lib/tcp-relay.ts', import.meta.url)),
        String(target),
      ]);
      relays.push(proc);
      return printedPort(proc, /listening on (\d+)/);
    };
    const relayPort = await relay(await relay(backendPort));
    const socat = async (target: number) => {
      const port = await freePort();
      const proc = startProcess('socat', [
        '-b',
        String(256 * 1024),
        `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`,
        `TCP:127.0.0.1:${target}`,
      ]);
      relays.push(proc);
      await listening(port, proc);
      return port;
    };
    const nativePort = hasCommand('socat') ? await socat(await socat(backendPort)) : undefined;
    if (nativePort === undefined)
      log('socat is not installed: the two-socat-relays reference is left out (apt-get install socat)');
    gw = await startClusterGateway({
      api,
      cli,
      nodeArgs: o.nodeArgs,
      config: `tunnels: { enabled: true }
authentication:
  jwt:
    - issuer: { url: "${ISSUER}", audiences: ["${AUDIENCE}"], discoveryURL: "${issuer.discoveryURL}" }
      claimMappings: { username: { claim: sub, prefix: "" } }
authorization:
  rules: [{ users: ["${USER}"], namespaces: ["*"], resources: ["*"], verbs: ["*"], subresources: ["*"] }]`,
    });
    const env = { XDG_CONFIG_HOME: home };
    await new TokenStore(configDir(env)).save({
      origin: gw.url,
      accessToken: issuer.token,
      accessTokenExpiresAt: Date.now() + 3600_000,
    });
    connect = startProcess(process.execPath, [cli, 'connect', 'bench/bulk:9000', '--server', gw.url], {
      env,
    });
    const localPort = await printedPort(connect, /Forwarding from 127\.0\.0\.1:(\d+)/);
    const measure = async (mode: Mode): Promise<TunnelDirection> => {
      backend.mode = mode;
      const direct: number[] = [];
      const tunnel: number[] = [];
      const bare: number[] = [];
      const native: number[] = [];
      let gatewayCpu = 0;
      let clientCpu = 0;
      for (let round = 0; round < o.rounds; round++) {
        direct.push(await stream(backendPort, mode, o.bytes));
        const [g0, c0] = [cpuSeconds([gw!.proc.pid]), cpuSeconds([connect!.pid])];
        tunnel.push(await stream(localPort, mode, o.bytes));
        gatewayCpu += cpuSeconds([gw!.proc.pid]) - g0;
        clientCpu += cpuSeconds([connect!.pid]) - c0;
        bare.push(await stream(relayPort, mode, o.bytes));
        if (nativePort) native.push(await stream(nativePort, mode, o.bytes));
      }
      const mb = o.bytes / 1e6;
      const mbps = (ms: number) => mb / (ms / 1000);
      const result = {
        directMBps: mbps(median(direct)),
        tunnelMBps: mbps(median(tunnel)),
        ratio: median(direct) / median(tunnel),
        bareRelaysMBps: mbps(median(bare)),
        nativeRelaysMBps: nativePort ? mbps(median(native)) : undefined,
        gatewayCpuMsPerMB: (gatewayCpu * 1000) / (mb * o.rounds),
        clientCpuMsPerMB: (clientCpu * 1000) / (mb * o.rounds),
      };
      log(
        `tunnel ${mode}: ${result.tunnelMBps.toFixed(0)} MB/s vs ${result.directMBps.toFixed(0)} MB/s direct ` +
          `(${result.ratio.toFixed(2)}×), ${result.bareRelaysMBps.toFixed(0)} MB/s through two bare relays` +
          `${result.nativeRelaysMBps === undefined ? '' : `, ${result.nativeRelaysMBps.toFixed(0)} MB/s through two socat relays`}; CPU per MB: gateway ${result.gatewayCpuMsPerMB.toFixed(2)} ms, ` +
          `connect ${result.clientCpuMsPerMB.toFixed(2)} ms`,
      );
      return result;
    };
    const up = await measure('up');
    const down = await measure('down');
    return {
      bytes: o.bytes,
      rounds: o.rounds,
      up,
      down,
      loadAverage: [loadBefore, loadavg()[0]],
    };
  } finally {
    await connect?.stop();
    await Promise.all(relays.map((r) => r.stop()));
    await gw?.stop();
    await api.stop();
    await issuer.close();
    await new Promise((r) => backend.close(r));
    rmSync(home, { recursive: true, force: true });
  }
}

/** Resolves once something accepts connections on `port` (a process that cannot print its port). */
async function listening(port: number, proc: Proc): Promise<void> {
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(true));
      s.once('error', () => resolve(false));
      s.once('connect', () => s.destroy());
    });
    if (up) return;
    if (proc.child.exitCode !== null)
      throw new Error(`exited before listening on ${port}:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The port a process printed (group 1 of `pattern`). */
async function printedPort(proc: Proc, pattern: RegExp): Promise<number> {
  for (;;) {
    const m = pattern.exec(proc.output());
    if (m) return Number(m[1]);
    if (proc.child.exitCode !== null) throw new Error(`exited before printing its port:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
