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
 */
import { Transform, type TransformCallback } from 'node:stream';
import { RewritingStream } from 'parse5-html-rewriting-stream';
import { rewriteStartTag, type StartTagToken } from './html-attributes.js';
import type { RewriteContext } from './url.js';

/** Every SAX token; parse5's own type lives in a package we do not depend on directly. */
interface Located {
  sourceCodeLocation?: { endOffset: number } | null;
}

class LinkRewritingStream extends RewritingStream {
  /** Source offset up to which output has been produced. */
  #emittedUpTo = 0;
  #output: string[] = [];

  constructor(ctx: RewriteContext) {
    super();
    this.on('startTag', (tag, raw) => this.emitRaw(rewriteTagSafely(tag, raw, ctx)));
  }

  protected override emitIfListenerExists(eventName: string, token: Located): boolean {
    this.#emittedUpTo = token.sourceCodeLocation?.endOffset ?? this.#emittedUpTo;
    return super.emitIfListenerExists(eventName, token as Parameters<RewritingStream['_emitToken']>[1]);
  }

  /**
   * A tag cut off by the end of the body (`<a href="/x`) yields no token, so
   * parse5 would drop it; a browser ignores it too, but a proxy should not
   * lose bytes. Copy whatever source is left.
   */
  override onEof(): void {
    super.onEof();
    const { html, droppedBufferSize } = this.tokenizer.preprocessor;
    if (this.#emittedUpTo >= droppedBufferSize)
      this.emitRaw(html.slice(this.#emittedUpTo - droppedBufferSize));
  }

  override _transform(chunk: Buffer | string, encoding: string, callback: TransformCallback): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    super._transform(text, encoding, (error) => this.#pushOutput(callback, error));
  }

  override _final(callback: (error?: Error | null) => void): void {
    super._final((error) => this.#pushOutput(callback, error));
  }

  // Tokens of one input chunk leave as one output chunk: far fewer, larger
  // chunks for the stages after (a token at a time costs a third of the time in GC).
  override emitRaw(html: string): void {
    this.#output.push(html);
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

/** Buffer in, latin1 string out: the HTML rewriting stage. */
export function createHTMLLinkRewriter(ctx: RewriteContext): Transform {
  return new LinkRewritingStream(ctx);
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
