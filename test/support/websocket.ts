/**
 * WebSockets through the gateway, as a client sees them: open one and read the
 * echo backend's greeting, or do a whole echo round trip and close.
 */
import { WebSocket } from 'ws';

/** Opens a WebSocket and resolves with it and its first message (the echo backend's greeting). */
export function openSocket(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket; first: string }> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once('message', (m: Buffer) => resolve({ ws, first: m.toString() }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** Opens a WebSocket, sends `ping`, reads the answer and closes: the greeting and the answer. */
export async function echoRoundTrip(url: string): Promise<{ first: string; reply: string }> {
  const { ws, first } = await openSocket(url);
  const answered = new Promise<string>((r) => ws.once('message', (m: Buffer) => r(m.toString())));
  ws.send('ping');
  const reply = await answered;
  await new Promise<void>((r) => {
    ws.once('close', () => r());
    ws.close();
  });
  return { first, reply };
}
