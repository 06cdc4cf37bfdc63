import type { IncomingMessage } from 'node:http';
import { unauthorized } from '../errors.js';

/**
 * Tokens larger than this are refused before any parsing or hashing. Real ID
 * tokens are 1–2 KB; the apiserver caps whole request headers, we cap tokens.
 */
export const MAX_TOKEN_BYTES = 12 * 1024;

/**
 * The bearer token of a request: undefined when there is no Authorization
 * header at all, a 401 when there is one we cannot use (the client meant to
 * authenticate, so falling back to a session or anonymous would hide the mistake).
 */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  if (!match) throw unauthorized('Authorization header must be "Bearer <token>"');
  const token = match[1];
  if (token.length > MAX_TOKEN_BYTES)
    throw unauthorized(`bearer token is larger than ${MAX_TOKEN_BYTES} bytes`);
  return token;
}
