/**
 * The answer to a request whose handling failed in a way no stage turned into
 * a GatewayError (a bug): a bare 500 Status when nothing was sent yet, else
 * the connection is cut. Nothing here may throw: it runs where nothing is left
 * to catch.
 */
import type { ServerResponse } from 'node:http';
import { internalError } from '../errors.js';

const BODY = JSON.stringify(internalError('unexpected error; see the gateway log').toStatus());

export function endAfterBug(res: ServerResponse): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  try {
    res.writeHead(500, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(BODY)),
      'cache-control': 'no-store',
      connection: 'close',
    });
    res.end(BODY);
  } catch {
    res.destroy();
  }
}
