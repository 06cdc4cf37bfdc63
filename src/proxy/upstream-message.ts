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

/**
 * Where the body goes when nothing needs it as a stream (no rewriting): straight to the client's
 * response, chunk by chunk as undici hands it over, without a stream and a pipe in between
 * (bench: a third of the floor's CPU per request). `data` returns false to pause the upstream
 * until `UpstreamResponse.more()`.
 */
export interface BodySink {
  data(chunk: Buffer): boolean;
  /** The whole body arrived. */
  end(): void;
  /** The body failed after the head (a reset, a short body): the client's connection must end. */
  fail(err: Error): void;
}

export class UpstreamResponse extends Readable {
  /** The whole body arrived (node's IncomingMessage.complete). */
  complete = false;
  private sink: BodySink | undefined;

  constructor(
    readonly statusCode: number,
    readonly statusMessage: string,
    readonly headers: IncomingHttpHeaders,
    private readonly control: UpstreamControl,
  ) {
    super();
  }

  /**
   * From now on the body goes to `sink`, never through the stream. Only before any of it arrived;
   * false when that moment has passed (the body is then read as a stream).
   */
  deliverTo(sink: BodySink): boolean {
    if (this.complete || this.readableLength > 0 || this.destroyed || this.readableFlowing !== null)
      return false;
    this.sink = sink;
    return true;
  }

  /** A sink that paused the upstream takes more. */
  more(): void {
    this.control.resume();
  }

  /** From the attempt: a body chunk; false pauses the upstream. */
  chunk(chunk: Buffer): boolean {
    return this.sink ? this.sink.data(chunk) : this.push(chunk);
  }

  /** From the attempt: the body is whole. */
  whole(): void {
    this.complete = true;
    if (this.sink) this.sink.end();
    else this.push(null);
  }

  /** From the attempt: the body failed. With a sink the stream has no reader to tell (nor an error listener). */
  fail(err: Error): void {
    if (this.complete) return;
    if (this.sink) this.sink.fail(err);
    else this.destroy(err);
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
