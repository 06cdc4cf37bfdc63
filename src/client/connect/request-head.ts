/**
 * The start of an HTTP/1.x request as a browser sends it to a web server,
 * read from the first bytes of a local connection (browser-guard.ts judges
 * it). These bytes are a web page's to choose, so each is looked at a bounded
 * number of times: plain scans, no regular expressions that could backtrack.
 */

/** A header field: the name in lower case, the value without its surrounding spaces (latin1). */
export interface HeaderField {
  name: string;
  value: string;
}

export type RequestStart =
  /** The bytes cannot begin the request line a browser sends to a web server. */
  | { kind: 'other' }
  /** They may still: only more bytes can tell. */
  | { kind: 'partial' }
  /** A request line, then these fields; `complete` once the blank line that ends the head came. */
  | { kind: 'request'; fields: HeaderField[]; complete: boolean };

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const SLASH = 0x2f;
const COLON = 0x3a;
const VERSION_PREFIX = Buffer.from('HTTP/1.', 'latin1');

/** RFC 9110 tchar: what a method is made of. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TCHAR[c.charCodeAt(0)] = 1;

const isTchar = (b: number) => b < 128 && TCHAR[b] === 1;
/** No SP and no control character (RFC 9112); bytes above 0x7e are let in: a lenient reading judges more. */
const isTargetByte = (b: number) => b > SP && b !== 0x7f;

/**
 * Where the request line ends (the offset after its LF), or what the bytes are
 * otherwise. Only origin-form (`/…`) counts: a browser sends absolute-form and
 * CONNECT only to a proxy it was configured to use, and no page can aim those
 * at this port — so a browser using a tunnelled proxy is no page's doing.
 */
function requestLineEnd(b: Buffer): number | 'other' | 'partial' {
  let i = 0;
  while (i < b.length && isTchar(b[i])) i++;
  if (i === b.length) return 'partial';
  if (i === 0 || b[i++] !== SP) return 'other';
  if (i === b.length) return 'partial';
  if (b[i] !== SLASH) return 'other';
  while (i < b.length && isTargetByte(b[i])) i++;
  if (i === b.length) return 'partial';
  if (b[i++] !== SP) return 'other';
  for (const expected of VERSION_PREFIX) {
    if (i === b.length) return 'partial';
    if (b[i++] !== expected) return 'other';
  }
  if (i === b.length) return 'partial';
  if (b[i] !== 0x30 && b[i] !== 0x31) return 'other'; // HTTP/1.0 or HTTP/1.1: what browsers send
  i++;
  if (i < b.length && b[i] === CR) i++;
  if (i === b.length) return 'partial';
  return b[i] === LF ? i + 1 : 'other';
}

function trimSpaces(text: string): string {
  let start = 0;
  let end = text.length;
  const space = (at: number) => text.charCodeAt(at) === SP || text.charCodeAt(at) === HTAB;
  while (start < end && space(start)) start++;
  while (end > start && space(end - 1)) end--;
  return text.slice(start, end);
}

/** A `name: value` line; a line without a name (nothing a browser sends) is skipped. */
function parseField(line: Buffer): HeaderField | undefined {
  const colon = line.indexOf(COLON);
  if (colon <= 0) return undefined;
  return {
    name: trimSpaces(line.toString('latin1', 0, colon)).toLowerCase(),
    value: trimSpaces(line.toString('latin1', colon + 1)),
  };
}

/** The fields from `from` on, up to the blank line (CRLF or a bare LF each) or the end of the bytes. */
function readFields(b: Buffer, from: number): { fields: HeaderField[]; complete: boolean } {
  const fields: HeaderField[] = [];
  let at = from;
  for (;;) {
    const lf = b.indexOf(LF, at);
    if (lf === -1) return { fields, complete: false }; // a line still coming is not read
    const end = lf > at && b[lf - 1] === CR ? lf - 1 : lf;
    if (end === at) return { fields, complete: true };
    const field = parseField(b.subarray(at, end));
    if (field) fields.push(field);
    at = lf + 1;
  }
}

/** What `bytes`, the first of a connection, are as the start of a browser's request. */
export function readRequestStart(bytes: Buffer): RequestStart {
  const line = requestLineEnd(bytes);
  if (line === 'other' || line === 'partial') return { kind: line };
  return { kind: 'request', ...readFields(bytes, line) };
}
