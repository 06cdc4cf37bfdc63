/**
 * The content codings the rewriter can undo and redo. The apiserver handles
 * gzip and deflate and, for anything else, closes the body before returning
 * it, so `br` HTML arrives empty (L5, kubernetes/kubernetes PR #124194). Here
 * `br` is decoded too, and anything unknown is never rewritten (see
 * `shouldRewriteBody`), so it passes through byte-identical.
 */
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';

export type BodyEncoding = 'identity' | 'gzip' | 'deflate' | 'br';

/** The coding named by a Content-Encoding header, or undefined when it is one we cannot decode. */
export function parseContentEncoding(
  header: string | readonly string[] | undefined,
): BodyEncoding | undefined {
  const value = (Array.isArray(header) ? header.join(',') : ((header as string | undefined) ?? ''))
    .trim()
    .toLowerCase();
  switch (value) {
    case '':
    case 'identity':
      return 'identity';
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
      return 'deflate';
    case 'br':
      return 'br';
    default:
      return undefined; // zstd, compress, or a list of several codings
  }
}

/** How many leading bytes `createDecoder` must see before it can pick a decoder. */
export function sniffLength(encoding: BodyEncoding): number {
  return encoding === 'deflate' ? 2 : 0;
}

/**
 * A decoder for `encoding`, or undefined for identity. HTTP's "deflate" is
 * zlib-wrapped (RFC 9110 §8.4.1.2), but servers also send raw deflate (the
 * apiserver only reads raw), so the first two bytes decide.
 */
export function createDecoder(encoding: BodyEncoding, firstBytes: Buffer): Transform | undefined {
  switch (encoding) {
    case 'identity':
      return undefined;
    case 'gzip':
      return zlib.createGunzip();
    case 'deflate':
      return hasZlibHeader(firstBytes) ? zlib.createInflate() : zlib.createInflateRaw();
    case 'br':
      return zlib.createBrotliDecompress();
  }
}

/** An encoder producing `encoding` (deflate always zlib-wrapped, as RFC 9110 says), or undefined for identity. */
export function createEncoder(encoding: BodyEncoding): Transform | undefined {
  switch (encoding) {
    case 'identity':
      return undefined;
    case 'gzip':
      return zlib.createGzip();
    case 'deflate':
      return zlib.createDeflate();
    case 'br':
      // Quality 11 (the default) is far too slow for a streaming proxy.
      return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
  }
}

/** Pushes out what the encoder holds so far without ending it, so a streamed page keeps streaming. */
export function flushEncoder(encoder: Transform, encoding: BodyEncoding): void {
  const z = encoder as zlib.Gzip;
  z.flush(encoding === 'br' ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH);
}

/** RFC 1950: CM 8 in the low nibble of CMF and (CMF*256 + FLG) divisible by 31. */
function hasZlibHeader(b: Buffer): boolean {
  return b.length >= 2 && (b[0] & 0x0f) === 8 && (b[0] * 256 + b[1]) % 31 === 0;
}
