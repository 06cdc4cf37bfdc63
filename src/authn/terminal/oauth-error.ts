/**
 * Refusals of the terminal endpoints in the OAuth shape the CLI reads
 * (RFC 6749 §5.2, RFC 8628 §3.5): `{ error, error_description }`.
 */
import type { ServerResponse } from 'node:http';
import type { OAuthErrorCode } from './protocol.js';

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    description: string,
    readonly status = 400,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

export const invalidGrant = (why: string) => new OAuthError('invalid_grant', why);
export const invalidRequest = (why: string) => new OAuthError('invalid_request', why);
export const unavailable = (why: string) => new OAuthError('temporarily_unavailable', why, 503);

export function sendJSON(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

export function sendOAuthError(res: ServerResponse, err: OAuthError): void {
  sendJSON(res, err.status, { error: err.error, error_description: err.message });
}
