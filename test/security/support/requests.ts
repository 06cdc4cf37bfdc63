/**
 * Pieces the hostile suites share: a raw WebSocket upgrade request, and what
 * an upstream received for a header in any spelling.
 */
import type { Recorded } from '../../support/echo-server.js';

/** A WebSocket upgrade request head for `target`, byte for byte as a client would send it. */
export function upgradeRequest(
  target: string,
  o: { host: string; token: string; extra?: string[]; version?: string },
): string {
  return (
    [
      `GET ${target} HTTP/${o.version ?? '1.1'}`,
      `Host: ${o.host}`,
      `Authorization: Bearer ${o.token}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      ...(o.extra ?? []),
    ].join('\r\n') + '\r\n\r\n'
  );
}

/** Every value the upstream received for a header, whatever its case or `_`/`-` spelling. */
export function received(r: Recorded, name: string): string[] {
  const want = name.toLowerCase().replaceAll('_', '-');
  const out: string[] = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2)
    if (r.rawHeaders[i].toLowerCase().replaceAll('_', '-') === want) out.push(r.rawHeaders[i + 1]);
  return out;
}
