/**
 * A copy of a small request body, kept while it streams upstream, so that an
 * idempotent request (PUT, DELETE, …) whose connection died after its body
 * went out can be sent again to another endpoint. Only a whole body counts:
 * while the client is still sending, or past the limit, there is no copy.
 */
import type { IncomingMessage } from 'node:http';

/** Largest body kept for a replay: enough for API calls, nothing like an upload. */
export const BODY_COPY_LIMIT = 64 * 1024;

export class BodyCopy {
  private chunks: Buffer[] | undefined = [];
  private size = 0;
  private ended = false;

  constructor(body: IncomingMessage, limit = BODY_COPY_LIMIT) {
    // The attempt pauses the body until a connection takes it: listening here does not start the flow.
    body.on('data', (chunk: Buffer) => {
      if (!this.chunks) return;
      this.size += chunk.length;
      if (this.size > limit) this.chunks = undefined;
      else this.chunks.push(chunk);
    });
    body.once('end', () => (this.ended = true));
  }

  /** For a request that may carry a copy: idempotent, and not declared larger than the limit. */
  static worthKeeping(req: IncomingMessage, idempotent: boolean, limit = BODY_COPY_LIMIT): boolean {
    const declared = req.headers['content-length'];
    return idempotent && (declared === undefined || Number(declared) <= limit);
  }

  /** The whole body, once it has all arrived and fit within the limit. */
  whole(): Buffer | undefined {
    return this.ended && this.chunks ? Buffer.concat(this.chunks) : undefined;
  }
}
