/**
 * What an upstream response may be before any of it is relayed. llhttp has
 * parsed it, but accepts more than a client may be sent: any three-digit
 * status (`000`, `099`, `999`), a DEL in the reason phrase, a transfer coding
 * other than chunked. node's ServerResponse throws on some of those
 * (issue 15: `HTTP/1.1 000 X` ended the process from inside the upstream's
 * 'response' handler) and passes others on. Each check here is pure; a defect
 * is the reason the client gets a 502 instead, and the connection is closed.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** RFC 9110 §5.6.2 token: a header field name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** RFC 9110 field-value and reason-phrase octets: HTAB, SP, VCHAR, obs-text (what node sends). */
const FIELD_TEXT = /^[\t\x20-\x7e\x80-\xff]*$/;

export interface ResponseHead {
  statusCode?: number;
  statusMessage?: string;
  headers: IncomingHttpHeaders;
}

/** Why a response head cannot be relayed to a plain (not upgraded) request; undefined when it can. */
export function responseHeadDefect(head: ResponseHead): string | undefined {
  const status = head.statusCode;
  // 1xx are interim (node reports them apart, a 101 as an upgrade); 6xx and up do not exist.
  if (status === undefined || !Number.isInteger(status) || status < 200 || status > 599) {
    return `status code ${String(status)}`;
  }
  if (!FIELD_TEXT.test(head.statusMessage ?? '')) return 'invalid reason phrase';
  const te = head.headers['transfer-encoding'];
  if (te !== undefined && String(te).trim().toLowerCase() !== 'chunked')
    return 'unsupported transfer encoding';
  if (te !== undefined && head.headers['content-length'] !== undefined) {
    return 'both Content-Length and Transfer-Encoding';
  }
  return headersDefect(head.headers);
}

/** Why a header set cannot be sent to a client (a name that is not a token, a value with a CTL). */
export function headersDefect(headers: IncomingHttpHeaders | OutgoingHttpHeaders): string | undefined {
  for (const name in headers) {
    if (!TOKEN.test(name)) return 'invalid header name';
    const value = headers[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (!FIELD_TEXT.test(String(v))) return `invalid value in header "${name}"`;
    }
  }
  return undefined;
}

/**
 * A response whose status says it has no body (204, 304) but whose head
 * announces one: node reads no body, so whatever the upstream sends anyway
 * would be read as the answer to the next request on the connection. Such a
 * connection is not reused.
 */
export function leavesConnectionInDoubt(head: ResponseHead): boolean {
  if (head.statusCode !== 204 && head.statusCode !== 304) return false;
  const length = head.headers['content-length'];
  return head.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
