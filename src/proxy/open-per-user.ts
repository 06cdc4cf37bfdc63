import { GatewayError } from '../errors.js';
import type { RequestContext } from '../request/context.js';

/**
 * Upgraded connections per user — WebSockets and tunnels alike, one count
 * (`upstream.maxUpgradesPerUser`): each holds two of the gateway's sockets for
 * as long as it lasts, so one user opening thousands would leave none for
 * anyone else. A user (or, without identity, a client address) past the limit
 * gets a 429 until one closes.
 */
export class OpenPerUser {
  private readonly open = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** Counts one more for the caller, or throws the 429; returns the release (idempotent). */
  take(ctx: RequestContext): () => void {
    const who =
      ctx.identity?.username !== undefined ? `user:${ctx.identity.username}` : `ip:${ctx.client.ip}`;
    const count = this.open.get(who) ?? 0;
    if (count >= this.max) {
      throw new GatewayError(
        429,
        'TooManyRequests',
        `too many open WebSocket connections and tunnels for this user (${this.max}); close some and try again`,
      );
    }
    this.open.set(who, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(who) ?? 1) - 1;
      if (left > 0) this.open.set(who, left);
      else this.open.delete(who);
    };
  }
}
