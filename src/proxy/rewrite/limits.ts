/**
 * What rewriting one response may cost. An upstream chooses its body, so the
 * rewriter must never spend more than a fixed amount per byte, nor hold more
 * than a fixed amount of it, whatever the markup:
 *   - `maxBodyBytes` decoded bytes go through the HTML parser; the rest of the
 *     body passes through unrewritten (the response has already started, so
 *     it can no longer be refused);
 *   - `maxTokenBytes`: parse5 keeps a token it has not finished (an unclosed
 *     attribute, comment or tag) whole in memory, and copies it on every
 *     write, so one that keeps growing costs time quadratic in its size.
 *     Past the cap the rest of the body passes through;
 *   - a compressed body that inflates past `maxBodyBytes` keeps flowing
 *     (inflated and compressed again, not parsed) only while it inflates less
 *     than MAX_INFLATE_RATIO:1; a decompression bomb is cut there.
 * See ./README.md for what the client sees in each case.
 */
import { GatewayError } from '../../errors.js';
import { REWRITE_DEFAULTS } from '../../config/schema/upstream.js';

export interface RewriteLimits {
  maxBodyBytes: number;
  maxTokenBytes: number;
}

export const DEFAULT_LIMITS: RewriteLimits = { ...REWRITE_DEFAULTS };

/** Inflated bytes per received byte past maxBodyBytes (real HTML compresses 5–20:1, a bomb 1000:1). */
export const MAX_INFLATE_RATIO = 100;

/** Why a body stopped being rewritten (`inflate`: and was cut). */
export type RewriteLimitReason = 'body' | 'token' | 'work' | 'nesting' | 'inflate';

export class InflateLimitError extends GatewayError {
  readonly code = 'ERR_INFLATE_LIMIT';
  constructor(decoded: number, received: number) {
    super(
      502,
      'BadGateway',
      `upstream body inflates ${decoded} bytes from ${received}: past upstream.rewrite.maxBodyBytes ` +
        `and more than ${MAX_INFLATE_RATIO}:1, cut`,
    );
    this.name = 'InflateLimitError';
  }
}

/** Is a compressed body that has inflated to `decoded` bytes from `received` a bomb? */
export function inflatesTooMuch(decoded: number, received: number, limits: RewriteLimits): boolean {
  return decoded > limits.maxBodyBytes && decoded > MAX_INFLATE_RATIO * received;
}
