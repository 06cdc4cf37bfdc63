/**
 * The streaming HTML stage: bytes in, bytes out, only URL attributes of start
 * tags changed. Built on parse5-html-rewriting-stream (shared/reference/
 * libraries.md §10): tokens without a listener, and tags we leave alone, are
 * copied from the raw source, so script, style, textarea and comments are
 * untouched and malformed markup passes through as it came.
 *
 * Bytes are read as latin1, one char per byte, rather than as UTF-8: HTML
 * syntax and URLs are ASCII, so this works for every ASCII-compatible charset
 * and a UTF-8 sequence split across chunks, or an invalid byte, can never be
 * mangled. Output bytes equal input bytes outside the rewritten values.
 *
 * Cost is bounded (./limits.ts): when a limit is reached the stage copies
 * whatever source it has not emitted yet and passes everything after it
 * through untouched — the output is still exactly the input, minus nothing.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { RewritingStream } from 'parse5-html-rewriting-stream';
import { rewriteStartTag, type StartTagToken } from './html-attributes.js';
import { DEFAULT_LIMITS, type RewriteLimits, type RewriteLimitReason } from './limits.js';
import type { RewriteContext } from './url.js';

/** Every SAX token; parse5's own type lives in a package we do not depend on directly. */
interface Located {
  sourceCodeLocation?: { startOffset: number; endOffset: number } | null;
}

/** parse5 internals read here: the source window, and the foreign-content stack of the feedback simulator. */
interface Preprocessor {
  html: string;
  droppedBufferSize: number;
}
interface Internals {
  tokenizer: { preprocessor: Preprocessor; flushCurrentCharacterToken?: () => void };
  parserFeedbackSimulator: { namespaceStack?: unknown[] };
}

/** parse5 keeps this much parsed source before dropping it (its `bufferWaterline`). */
const PARSE5_WINDOW = 1 << 16;
/** Copying beyond parse5's window that a byte of input may cost before the stage gives up. */
const WORK_PER_BYTE = 64;
/**
 * Nested <svg>/<math> levels. parse5's simulator keeps them in an array it
 * grows with `unshift` (time quadratic in depth); real pages nest a few.
 */
const MAX_FOREIGN_DEPTH = 64;

export type LimitListener = (reason: RewriteLimitReason) => void;

class LinkRewritingStream extends RewritingStream {
  /** Source offset up to which output has been produced. */
  #emittedUpTo = 0;
  #output: string[] = [];
  #bytesIn = 0;
  #work = 0;
  #stopped: RewriteLimitReason | undefined;
  readonly #limits: RewriteLimits;
  readonly #onLimit: LimitListener;

  constructor(ctx: RewriteContext, limits: RewriteLimits, onLimit: LimitListener) {
    super();
    this.#limits = limits;
    this.#onLimit = onLimit;
    this.on('startTag', (tag, raw) => {
      this.emitRaw(rewriteTagSafely(tag, raw, ctx));
      if (this.#foreignDepth() > MAX_FOREIGN_DEPTH) this.#stop('nesting');
    });
  }

  protected override emitIfListenerExists(eventName: string, token: Located): boolean {
    const location = token.sourceCodeLocation;
    if (location) {
      // Source no token covers (the delimiters of an empty `<![CDATA[]]>` in SVG): copied as it came.
      if (location.startOffset > this.#emittedUpTo) this.#emitSource(location.startOffset);
      this.#emittedUpTo = location.endOffset;
    }
    return super.emitIfListenerExists(eventName, token as Parameters<RewritingStream['_emitToken']>[1]);
  }

  /**
   * A tag cut off by the end of the body (`<a href="/x`) yields no token, so
   * parse5 would drop it; a browser ignores it too, but a proxy should not
   * lose bytes. Copy whatever source is left.
   */
  override onEof(): void {
    super.onEof();
    this.#emitRest();
  }

  override _transform(chunk: Buffer | string, encoding: string, callback: TransformCallback): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    if (!this.#stopped && this.#bytesIn >= this.#limits.maxBodyBytes) {
      this.#stop('body');
      this.#emitRest();
    }
    this.#bytesIn += text.length;
    if (this.#stopped) {
      this.emitRaw(text);
      return this.#pushOutput(callback);
    }
    // parse5 appends the chunk to what it holds and copies the whole: past its own window, that is
    // work in proportion to the unfinished token, which a limit must bound (a token fed a byte at a time).
    this.#work += Math.max(0, this.#internals().tokenizer.preprocessor.html.length - PARSE5_WINDOW);
    super._transform(text, encoding, (error) => {
      if (!error && !this.#stopped) this.#afterWrite();
      if (this.#stopped) this.#emitRest();
      this.#pushOutput(callback, error);
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#stopped) return callback();
    super._final((error) => this.#pushOutput(callback, error));
  }

  // Tokens of one input chunk leave as one output chunk: far fewer, larger
  // chunks for the stages after (a token at a time costs a third of the time in GC).
  override emitRaw(html: string): void {
    this.#output.push(html);
  }

  #internals(): Internals {
    return this as unknown as Internals;
  }

  #foreignDepth(): number {
    return this.#internals().parserFeedbackSimulator.namespaceStack?.length ?? 0;
  }

  /**
   * After each write: text is let go as soon as it is complete (parse5 would
   * otherwise keep a run of text without whitespace whole until the next
   * tag), then what is still held is one unfinished token, which is capped.
   */
  #afterWrite(): void {
    const { tokenizer } = this.#internals();
    tokenizer.flushCurrentCharacterToken?.();
    const { html, droppedBufferSize } = tokenizer.preprocessor;
    if (droppedBufferSize + html.length - this.#emittedUpTo > this.#limits.maxTokenBytes) this.#stop('token');
    else if (this.#work > WORK_PER_BYTE * this.#bytesIn) this.#stop('work');
  }

  #stop(reason: RewriteLimitReason): void {
    if (this.#stopped) return;
    this.#stopped = reason;
    this.stop(); // pauses the tokenizer: nothing more is parsed
    this.#onLimit(reason);
  }

  /** Everything parse5 read that no token has emitted yet, as it came. */
  #emitRest(): void {
    const preprocessor = this.#internals().tokenizer.preprocessor;
    this.#emitSource(preprocessor.droppedBufferSize + preprocessor.html.length);
    if (this.#stopped) preprocessor.html = ''; // the held token is out: let it go
  }

  /** The source from where output stands up to `offset`, copied raw. */
  #emitSource(offset: number): void {
    const { html, droppedBufferSize } = this.#internals().tokenizer.preprocessor;
    if (this.#emittedUpTo < droppedBufferSize)
      throw new Error('html rewriter lost track of its source (parse5 dropped unemitted input)');
    this.emitRaw(html.slice(this.#emittedUpTo - droppedBufferSize, offset - droppedBufferSize));
    this.#emittedUpTo = offset;
  }

  #pushOutput(callback: (error?: Error | null) => void, error?: Error | null): void {
    if (this.#output.length > 0) this.push(this.#output.join(''));
    this.#output = [];
    callback(error);
  }
}

/** A tag we fail to rewrite is passed on as it came rather than failing the whole response. */
function rewriteTagSafely(tag: StartTagToken, raw: string, ctx: RewriteContext): string {
  try {
    return rewriteStartTag(tag, raw, ctx) ?? raw;
  } catch {
    return raw;
  }
}

/** Buffer in, latin1 string out: the HTML rewriting stage. `onLimit` hears when (and why) it stops rewriting. */
export function createHTMLLinkRewriter(
  ctx: RewriteContext,
  limits: RewriteLimits = DEFAULT_LIMITS,
  onLimit: LimitListener = () => {},
): Transform {
  return new LinkRewritingStream(ctx, limits, onLimit);
}

/** latin1 strings back to the bytes they came from. */
export function createLatin1Encoder(): Transform {
  return new Transform({
    decodeStrings: false,
    transform(chunk: string | Buffer, _encoding, callback) {
      callback(null, typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    },
  });
}
