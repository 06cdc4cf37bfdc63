/**
 * Opens one tunnel to the gateway: a WebSocket to `origin` + the target's
 * path, with a fresh access token for exactly that origin (never sent
 * anywhere else: the URL is built from the origin the user typed, redirects
 * are not followed). A refusal before the upgrade becomes one line from the
 * gateway's Status ("403 Forbidden: …"); a gateway that cannot be reached, or
 * answers 502/503/504, is tried again a couple of times (a rolling restart).
 */
import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES, TUNNEL_SUBPROTOCOL } from '../../proxy/tunnel/protocol.js';
import type { TokenStore } from '../token-store.js';
import { accessTokenFor } from '../credentials.js';
import { printable } from '../printable.js';

export interface TunnelClientOptions {
  /** The gateway origin the user chose (gateway-origin.ts). */
  origin: string;
  store?: TokenStore;
  /** Attempts for a gateway that cannot be reached or answers 502–504. Default 3. */
  attempts?: number;
  /** Wait before the second attempt, doubled for each later one (ms). Default 250. */
  backoffMs?: number;
}

/** The gateway refused the tunnel before the upgrade; `message` is the one line to print. */
export class TunnelRefusedError extends Error {
  readonly code = 'ERR_TUNNEL_REFUSED';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TunnelRefusedError';
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const RETRIED_STATUS = new Set([502, 503, 504]);
const MAX_BODY = 64 * 1024;

/** The one line for a refusal: status, and the Status message (or the body's first line). */
async function refusal(res: IncomingMessage): Promise<TunnelRefusedError> {
  const status = res.statusCode ?? 0;
  let body = '';
  try {
    for await (const chunk of res) {
      body += (chunk as Buffer).toString('utf8');
      if (body.length > MAX_BODY) break;
    }
  } catch {
    // The body is a courtesy; the status says enough.
  }
  let message = '';
  try {
    const parsed = JSON.parse(body) as { kind?: string; message?: unknown };
    if (parsed.kind === 'Status' && typeof parsed.message === 'string') message = parsed.message;
  } catch {
    message = body.split('\n')[0].trim().slice(0, 300);
  }
  message = printable(message); // the gateway's text, for the person's terminal
  if (status === 401) message ||= 'your sign-in was not accepted';
  const head = `${status} ${STATUS_TEXT[status] ?? 'Error'}`;
  const hint = status === 401 ? ' (run `kube-bastion login` again)' : '';
  return new TunnelRefusedError(status, `${head}${message ? `: ${message}` : ''}${hint}`);
}

function connectOnce(url: string, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [TUNNEL_SUBPROTOCOL], {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      followRedirects: false,
      handshakeTimeout: 30_000,
    });
    ws.once('open', () => {
      ws.off('error', reject);
      // Now, not after the await: bytes the gateway sent right behind its 101 came in the same read and
      // are emitted on the next tick, before anyone listens. Paused, they wait for the relay's start().
      ws.pause();
      resolve(ws);
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => {
      ws.off('error', reject);
      // The Status body first, then the connection is dropped (ws leaves that to us).
      void refusal(res).then((err) => {
        req.destroy();
        reject(err);
      });
    });
  });
}

/** Network trouble on the way to the gateway: worth another attempt. */
const transient = (err: unknown) =>
  err instanceof TunnelRefusedError
    ? RETRIED_STATUS.has(err.status)
    : ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(
        (err as NodeJS.ErrnoException).code ?? '',
      );

/** An open tunnel WebSocket for `path`, paused until its relay starts; rejects with TunnelRefusedError, NotSignedInError or a network error. */
export async function openTunnel(path: string, o: TunnelClientOptions): Promise<WebSocket> {
  const url = `${o.origin.replace(/^http/, 'ws')}${path}`;
  const attempts = o.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    // Asked anew each time: a token refreshed meanwhile is used.
    const token = await accessTokenFor(o.origin, o.store);
    try {
      return await connectOnce(url, token);
    } catch (err) {
      if (attempt >= attempts || !transient(err)) throw err;
      await new Promise((r) => setTimeout(r, (o.backoffMs ?? 250) * 2 ** (attempt - 1)));
    }
  }
}
