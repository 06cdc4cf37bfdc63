/**
 * A tunnel as a plain WebSocket client speaks it (no CLI): what a test needs
 * to see the wire itself — the bytes, the end message, the close code and
 * reason, or the Status of a refusal before the upgrade.
 */
import { WebSocket } from 'ws';
import { END_MESSAGE, TUNNEL_SUBPROTOCOL } from '../../../src/proxy/tunnel/protocol.js';

export interface RawTunnel {
  ws: WebSocket;
  /** Every byte received so far. */
  received(): Buffer;
  /** Resolves when the gateway sent its end message (the backend's FIN). */
  ended: Promise<void>;
  /** Resolves with how the WebSocket closed. */
  closed: Promise<{ code: number; reason: string }>;
  send(data: Buffer | string): void;
  /** Sends the end message (our FIN). */
  end(): void;
}

export interface Refusal {
  status: number;
  body: { kind?: string; reason?: string; message?: string; code?: number };
}

const url = (base: string, path: string) => `${base.replace(/^http/, 'ws')}${path}`;

function headers(token: string | undefined, extra: Record<string, string> = {}) {
  return token ? { authorization: `Bearer ${token}`, ...extra } : extra;
}

export function openRaw(
  base: string,
  path: string,
  token: string | undefined,
  o: { autoPong?: boolean; headers?: Record<string, string> } = {},
): Promise<RawTunnel> {
  const ws = new WebSocket(url(base, path), [TUNNEL_SUBPROTOCOL], {
    headers: headers(token, o.headers),
    autoPong: o.autoPong ?? true,
  });
  const chunks: Buffer[] = [];
  let markEnded = () => {};
  const ended = new Promise<void>((r) => (markEnded = r));
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (binary) chunks.push(data);
    else if (data.toString() === END_MESSAGE) markEnded();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () =>
      resolve({
        ws,
        received: () => Buffer.concat(chunks),
        ended,
        closed,
        send: (data) => ws.send(Buffer.from(data), { binary: true }),
        end: () => ws.send(END_MESSAGE),
      }),
    );
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`unexpected ${res.statusCode}`));
      res.resume();
    });
    ws.once('error', reject);
  });
}

/** Asks for a tunnel that must be refused before the upgrade: its status and Status body. */
export function refusal(
  base: string,
  path: string,
  token: string | undefined,
  extra: Record<string, string> = {},
): Promise<Refusal> {
  const ws = new WebSocket(url(base, path), [TUNNEL_SUBPROTOCOL], { headers: headers(token, extra) });
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      reject(new Error(`${path}: upgraded, but a refusal was expected`));
    });
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.once('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Refusal['body'] });
      });
    });
  });
}
