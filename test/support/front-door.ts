/**
 * A TCP load balancer on 127.0.0.1, port 0, in front of gateway replicas —
 * the Service in front of the chart's two Pods. Its address is the
 * gateway's publicURL, known before any replica starts (so no test has to
 * guess a free port). Each accepted connection goes to the next replica in
 * turn; bytes are piped untouched.
 */
import net, { type AddressInfo } from 'node:net';

export interface FrontDoor {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Where connections go from now on (`host:port` or ports on 127.0.0.1), in turn. */
  route(targets: Array<number | string>): void;
  /** Connections accepted so far, per target. */
  accepted: Map<string, number>;
  close(): Promise<void>;
}

export async function startFrontDoor(): Promise<FrontDoor> {
  let targets: string[] = [];
  let next = 0;
  const accepted = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = net.createServer((client) => {
    track(client);
    if (targets.length === 0) return client.destroy();
    const target = targets[next++ % targets.length];
    accepted.set(target, (accepted.get(target) ?? 0) + 1);
    const [host, port] = target.split(':');
    const upstream = net.connect(Number(port), host);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accepted,
    route(list) {
      targets = list.map((t) => (typeof t === 'number' ? `127.0.0.1:${t}` : t));
    },
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
