/**
 * `kube-bastion login` on a desktop (RFC 8252 loopback redirect, RFC 7636
 * PKCE): listen on 127.0.0.1 at a port the system picks, open the gateway's
 * confirmation page with the port, an S256 challenge and a state, wait for
 * the browser to come back with a one-time code, and redeem it with the
 * verifier. The verifier and state exist only in this process's memory, made
 * fresh for this attempt (cloudflared VULN-141861: a key read from a file in
 * the working directory let others poll for the token).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  LOOPBACK_CALLBACK_PATH,
  LOOPBACK_HOST,
  s256,
  TERMINAL_PATHS,
  type TokenResponse,
} from '../authn/terminal/protocol.js';
import { exchangeCode } from './gateway-api.js';

export class LoginCancelledError extends Error {
  readonly code = 'ERR_LOGIN_CANCELLED';
  constructor(message: string) {
    super(message);
    this.name = 'LoginCancelledError';
  }
}

export interface LoopbackLoginOptions {
  clientName: string;
  /** Shows the URL to the person and tries their browser. */
  open(url: string): Promise<void>;
  /** How long to wait for the browser (ms). */
  timeoutMs?: number;
}

const same = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

function page(res: http.ServerResponse, status: number, title: string, text: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'",
  });
  res.end(html);
}

export async function loopbackLogin(origin: string, o: LoopbackLoginOptions): Promise<TokenResponse> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(24).toString('base64url');
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = new URL(TERMINAL_PATHS.authorize, origin);
  url.search = new URLSearchParams({
    port: String(port),
    code_challenge: s256(verifier),
    code_challenge_method: 'S256',
    state,
    client_name: o.clientName,
  }).toString();

  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = new Promise<TokenResponse>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LoginCancelledError(
              'no sign-in came back from the browser in time; run `kube-bastion login` again',
            ),
          ),
        o.timeoutMs ?? 10 * 60_000,
      );
      server.on('request', (req, res) => {
        const at = new URL(req.url ?? '/', `http://${LOOPBACK_HOST}`);
        const q = at.searchParams;
        // Anything else on this port (a favicon, another program) is not the sign-in: keep waiting.
        if (
          req.method !== 'GET' ||
          at.pathname !== LOOPBACK_CALLBACK_PATH ||
          !same(q.get('state') ?? '', state)
        )
          return page(res, 404, 'Not found', 'This is not the sign-in this terminal started.');
        const code = q.get('code');
        if (!code) {
          page(res, 200, 'Sign-in cancelled', 'Nothing was signed in. You can close this tab.');
          return reject(new LoginCancelledError('the sign-in was cancelled in the browser'));
        }
        exchangeCode(origin, code, verifier).then(
          (tokens) => {
            page(
              res,
              200,
              'Signed in',
              'The kube-bastion command line is signed in. You can close this tab and go back to the terminal.',
            );
            resolve(tokens);
          },
          (err: Error) => {
            page(
              res,
              400,
              'Sign-in failed',
              `The terminal could not finish signing in: ${err.message.replace(/[<>&"]/g, '')}`,
            );
            reject(err);
          },
        );
      });
    });
    await o.open(url.href);
    return await answer;
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
