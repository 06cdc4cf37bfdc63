/**
 * An upstream response as undici delivers it (status, raw header list, body
 * chunks), shaped as node's IncomingMessage, which the relay, the response
 * checks and the rewriter read: `statusCode`, `statusMessage`, `headers` with
 * node's rules for repeated names, `complete`, and a readable body whose
 * backpressure pauses the upstream connection and whose destruction aborts it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';

/**
 * Repeated, the first counts and the others are dropped (node's `matchKnownFields`): a second
 * Content-Type or Location must not reach a client joined into one value.
 */
const FIRST_WINS = new Set([
  'content-type',
  'content-length',
  'user-agent',
  'referer',
  'host',
  'authorization',
  'proxy-authorization',
  'if-modified-since',
  'if-unmodified-since',
  'from',
  'location',
  'max-forwards',
  'retry-after',
  'etag',
  'last-modified',
  'server',
  'age',
  'expires',
]);

/** undici's raw [name, value, …] Buffers as node's header object (names lower-cased, values latin1). */
export function headersFromRaw(raw: readonly Buffer[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1').toLowerCase();
    const value = raw[i + 1].toString('latin1');
    const had = out[name];
    if (had === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (had as string[]).push(value);
    else if (FIRST_WINS.has(name)) continue;
    else out[name] = `${had as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/** Lets the response stop and resume the upstream connection, and cancel the request. */
export interface UpstreamControl {
  resume(): void;
  abort(err: Error): void;
}

export class UpstreamResponse extends Readable {
  /** The whole body arrived (node's IncomingMessage.complete). */
  complete = false;

  constructor(
    readonly statusCode: number,
    readonly statusMessage: string,
    readonly headers: IncomingHttpHeaders,
    private readonly control: UpstreamControl,
  ) {
    super();
  }

  override _read(): void {
    this.control.resume();
  }

  /** The relay let go (the client left, or the body failed): the upstream request is aborted. */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.complete)
      this.control.abort(err ?? Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    cb(err);
  }
}
