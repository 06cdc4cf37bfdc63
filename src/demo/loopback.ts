/** Small HTTP helpers shared by the demo's IdP and sample upstreams (all on 127.0.0.1). */
import http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { escapeHTML } from '../web/pages/layout.js';

export const LOOPBACK = '127.0.0.1';

/** Listens on 127.0.0.1 (port 0: any free port) and resolves with the port. */
export function listenLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** A free loopback port, for a server that must know its own URL before it is built. */
export async function freePort(): Promise<number> {
  const probe = http.createServer();
  const port = await listenLoopback(probe);
  await new Promise((r) => probe.close(r));
  return port;
}

/** Closes a server (http, or any with closeAllConnections) and drops its open connections. */
export function closeServer(server: Server & { closeAllConnections(): void }): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Reads an `application/x-www-form-urlencoded` body (at most 64 KiB). */
export async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 65_536) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

export function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** A template tag that escapes every interpolated value unless it is `Raw`. */
export function html(text: TemplateStringsArray, ...values: unknown[]): string {
  const show = (v: unknown) => (v instanceof Raw ? v.value : escapeHTML(String(v)));
  return text.reduce((out, part, i) => out + part + (i < values.length ? show(values[i]) : ''), '');
}

/** Marks a string as already-safe HTML inside the `html` template. */
export class Raw {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}
