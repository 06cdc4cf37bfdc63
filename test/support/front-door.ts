/**
 * A TCP front door on port 0 for servers that must know their public URL
 * before they listen (the gateway's publicURL, an IdP's redirect URIs): the
 * door listens first and reports its port; the server then listens on port 0
 * itself, and the door is pointed at it. Bytes pass unchanged both ways, so
 * the server sees the client's requests exactly as sent (the peer address is
 * the door's, 127.0.0.1).
 */
import net from 'node:net';

export interface FrontDoor {
  /** `http://127.0.0.1:PORT`: the URL clients (and publicURL) use. */
  url: string;
  port: number;
  /** Where connections go from now on (`http://127.0.0.1:PORT` of the real server). */
  to(target: string): void;
  close(): Promise<void>;
}

export async function openFrontDoor(): Promise<FrontDoor> {
  let target: { host: string; port: number } | undefined;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    if (!target) return client.destroy();
    const backend = net.connect(target.port, target.host);
    open.add(backend);
    backend.once('close', () => open.delete(backend));
    // Either side going away takes the other with it, as one connection would.
    client.on('error', () => backend.destroy());
    backend.on('error', () => client.destroy());
    client.pipe(backend).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    to(url) {
      const u = new URL(url);
      target = { host: u.hostname, port: Number(u.port) };
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
