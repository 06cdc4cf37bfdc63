/**
 * decode → rewrite links → encode, as one Transform the forwarder can pipe
 * the upstream body through. Nothing is buffered beyond the stages' own
 * high-water marks: the output side pauses the stages when the client reads
 * slowly, and the encoder is flushed whenever the input goes quiet, so a page
 * the upstream streams (a log viewer, a long report) reaches the browser as it comes.
 */
import { Transform, pipeline, type Readable, type TransformCallback, type Writable } from 'node:stream';
import {
  createDecoder,
  createEncoder,
  flushEncoder,
  parseContentEncoding,
  sniffLength,
  type BodyEncoding,
} from './encoding.js';
import { createHTMLLinkRewriter, createLatin1Encoder, type LimitListener } from './html-stream.js';
import { DEFAULT_LIMITS, InflateLimitError, inflatesTooMuch, type RewriteLimits } from './limits.js';
import type { RewriteContext } from './url.js';

export class UnsupportedContentEncodingError extends Error {
  readonly code = 'ERR_UNSUPPORTED_CONTENT_ENCODING';
  constructor(readonly encoding: string) {
    super(`cannot rewrite a body with Content-Encoding "${encoding}" (check shouldRewriteBody first)`);
    this.name = 'UnsupportedContentEncodingError';
  }
}

export interface BodyRewriterOptions {
  limits?: RewriteLimits;
  /** Called once when rewriting stops at a limit (`inflate`: the body is then cut with InflateLimitError). */
  onLimit?: LimitListener;
}

/**
 * A Transform (Buffer in, Buffer out) that rewrites an HTML body sent with
 * Content-Encoding `contentEncoding` and re-encodes it the same way.
 * Throws UnsupportedContentEncodingError for a coding `shouldRewriteBody` refuses.
 */
export function createBodyRewriter(
  contentEncoding: string | undefined,
  ctx: RewriteContext,
  options: BodyRewriterOptions = {},
): Transform {
  const encoding = parseContentEncoding(contentEncoding);
  if (encoding === undefined) throw new UnsupportedContentEncodingError(contentEncoding ?? '');
  return new BodyRewriter(encoding, ctx, options);
}

class BodyRewriter extends Transform {
  readonly #encoding: BodyEncoding;
  readonly #ctx: RewriteContext;
  readonly #limits: RewriteLimits;
  readonly #onLimit: LimitListener;
  #stages: (Readable & Writable)[] = [];
  // Bytes held back until the decoder can be chosen (deflate: zlib or raw).
  #pending: Buffer[] = [];
  #received = 0;
  #flushQueued = false;
  #abandoned = false;

  constructor(encoding: BodyEncoding, ctx: RewriteContext, options: BodyRewriterOptions) {
    super();
    this.#encoding = encoding;
    this.#ctx = ctx;
    this.#limits = options.limits ?? DEFAULT_LIMITS;
    this.#onLimit = options.onLimit ?? (() => {});
    if (sniffLength(encoding) === 0) this.#build(Buffer.alloc(0));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#received += chunk.length;
    if (this.#stages.length === 0) {
      this.#pending.push(chunk);
      if (this.#received < sniffLength(this.#encoding)) return callback();
      chunk = this.#takePending();
      this.#build(chunk);
    }
    this.#forward(chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    // An empty body is an empty body whatever its coding; a decoder would call it truncated.
    if (this.#received === 0) {
      this.#abandoned = true;
      this.#destroyStages();
      return callback();
    }
    if (this.#stages.length === 0) {
      const rest = this.#takePending();
      this.#build(rest);
      this.#stages[0].write(rest);
    }
    this.#stages.at(-1)!.once('end', () => callback());
    this.#stages[0].end();
  }

  override _read(size: number): void {
    this.#stages.at(-1)?.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#destroyStages();
    callback(error);
  }

  #build(firstBytes: Buffer): void {
    const decoder = createDecoder(this.#encoding, firstBytes);
    const encoder = createEncoder(this.#encoding);
    const toBytes = createLatin1Encoder();
    const html = createHTMLLinkRewriter(this.#ctx, this.#limits, this.#onLimit);
    const stages = [decoder, decoder && this.#inflateGuard(), html, toBytes, encoder].filter(
      (s) => s !== undefined,
    );
    this.#stages = stages;
    pipeline(stages, (error) => {
      if (error && !this.#abandoned) this.destroy(error);
    });
    const tail = stages.at(-1)!;
    tail.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) tail.pause();
    });
    if (encoder) toBytes.on('data', () => this.#queueFlush(encoder));
  }

  /** Counts what the decoder produces and cuts a body that inflates like a bomb (limits.ts). */
  #inflateGuard(): Transform {
    let decoded = 0;
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        decoded += chunk.length;
        if (!inflatesTooMuch(decoded, this.#received, this.#limits)) return callback(null, chunk);
        this.#onLimit('inflate');
        callback(new InflateLimitError(decoded, this.#received));
      },
    });
  }

  #forward(chunk: Buffer, callback: TransformCallback): void {
    if (this.#stages[0].write(chunk)) callback();
    else this.#stages[0].once('drain', () => callback());
  }

  #queueFlush(encoder: Transform): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => {
      this.#flushQueued = false;
      if (!encoder.writableEnded && !encoder.destroyed) flushEncoder(encoder, this.#encoding);
    });
  }

  #takePending(): Buffer {
    const all = Buffer.concat(this.#pending);
    this.#pending = [];
    return all;
  }

  #destroyStages(): void {
    for (const stage of this.#stages) stage.destroy();
  }
}
