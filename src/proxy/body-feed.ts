/**
 * The client's request body as one attempt's upstream body. undici owns the
 * stream it is given: it destroys it when the attempt fails, and destroying
 * the client's IncomingMessage would take the client connection with it (and
 * with it the error answer). So each attempt gets a feed of its own that reads
 * the client's body only when undici reads (a connect that fails leaves the
 * body unread, whole for the next endpoint), and lets go of it on `detach()`.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

export class BodyFeed extends Readable {
  private readonly onData = (chunk: Buffer) => {
    if (!this.push(chunk)) this.src.pause();
  };
  private readonly onEnd = () => this.push(null);
  private readonly onAborted = () =>
    this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));

  constructor(private readonly src: IncomingMessage) {
    super();
    // Nothing flows until undici reads: a 'data' listener elsewhere must not start the client body.
    src.pause();
    src.on('data', this.onData);
    src.once('end', this.onEnd);
    src.once('aborted', this.onAborted);
    if (src.readableEnded) this.push(null);
  }

  override _read(): void {
    this.src.resume();
  }

  /** The attempt is over: the client's body stays paused where it is, for an answer or another feed. */
  detach(): void {
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.src.off('aborted', this.onAborted);
    this.src.pause();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.detach();
    cb(err);
  }
}
