/**
 * Whether a response body goes through the HTML rewriter: a pure decision on
 * what the upstream answered. Everything else passes byte-identical.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { parseContentEncoding } from './encoding.js';

type Headers = IncomingHttpHeaders | OutgoingHttpHeaders;

// Charsets in which `<`, `=`, `"` and `/` are not single ASCII bytes.
const NOT_ASCII_COMPATIBLE = /^(utf-?16|utf-?32|ucs-?2|ucs-?4|unicode)/;

export function shouldRewriteBody(statusCode: number, method: string, headers: Headers): boolean {
  if (method.toUpperCase() === 'HEAD') return false;
  // No body (1xx, 204, 304) or only part of one (206): a slice of HTML cannot be rewritten.
  if (statusCode < 200 || statusCode === 204 || statusCode === 206 || statusCode === 304) return false;
  if (headers['content-range'] !== undefined) return false;
  const contentType = headerText(headers['content-type']).toLowerCase();
  // Most answers are not HTML: no split for them (the media type must be text/html, below).
  if (!contentType.includes('text/html')) return false;
  const [mediaType = '', ...params] = contentType.split(';').map((p) => p.trim());
  // Only text/html, like the apiserver; application/xhtml+xml is XML and stays untouched.
  if (mediaType !== 'text/html') return false;
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (charset !== undefined && NOT_ASCII_COMPATIBLE.test(charset)) return false;
  return parseContentEncoding(headerText(headers['content-encoding'])) !== undefined;
}

export function headerText(value: string | number | readonly string[] | undefined): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}
