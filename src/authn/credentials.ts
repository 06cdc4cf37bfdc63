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
  // Node keeps only the first of several Authorization headers; another hop may read the last.
  // Two credentials in one request are refused rather than silently choosing one (peers.md §4.5).
  if (countHeader(req.rawHeaders ?? [], 'authorization') > 1)
    throw unauthorized('more than one Authorization header');
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  if (!match) throw unauthorized('Authorization header must be "Bearer <token>"');
  const token = match[1];
  if (token.length > MAX_TOKEN_BYTES)
    throw unauthorized(`bearer token is larger than ${MAX_TOKEN_BYTES} bytes`);
  return token;
}

function countHeader(raw: string[], name: string): number {
  let n = 0;
  // The length first: most names differ in it, and lower-casing each would make a string per header.
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i].length === name.length && raw[i].toLowerCase() === name) n++;
  return n;
}
