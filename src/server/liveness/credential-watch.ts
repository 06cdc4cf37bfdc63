/**
 * The credential watch for connections the gateway terminates itself (TCP
 * tunnels): unlike a proxied WebSocket, such a connection closes itself, so it
 * only needs to hear `lapsed(reason)`. Two things are watched, whichever lapses
 * first: what authentication says about the credential (a browser session:
 * signed out, past its end; within `session.recheckInterval`; a CLI token: its
 * sign-in revoked or ended) and, for any other bearer JWT, its `exp` (to the
 * millisecond of the gateway's clock).
 */
import type { IncomingMessage } from 'node:http';
import type { CredentialLiveness } from '../../authn/liveness.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../observability/logger.js';
import type { RequestContext } from '../../request/context.js';
import { watchCredential } from './watch-credential.js';

export interface CredentialWatchDeps {
  /** Authentication.liveness: sessions (and any credential it can re-check). */
  liveness(req: IncomingMessage): CredentialLiveness | undefined;
  /** The end of a bearer JWT (authn/bearer-expiry.ts). */
  bearerExpiry(req: IncomingMessage): CredentialLiveness | undefined;
  clock: Clock;
  logger: Logger;
}

export type CredentialWatch = (
  req: IncomingMessage,
  ctx: RequestContext,
  lapsed: (reason: string) => void,
) => () => void;

export function createCredentialWatch(deps: CredentialWatchDeps): CredentialWatch {
  return (req, ctx, lapsed) => {
    // A CLI access token's connection lives as long as its sign-in, which liveness() watches
    // (authn/terminal/bearer.ts): not to the one-hour `exp` of the token it was opened with.
    const expiry = ctx.identity?.method === 'cli' ? undefined : deps.bearerExpiry(req);
    const sources = [deps.liveness(req), expiry].filter((l) => l !== undefined);
    const stops = sources.map((liveness) =>
      watchCredential(liveness, {
        clock: deps.clock,
        lapsed,
        unanswered(err) {
          deps.logger.debug(
            { requestId: ctx.id, err: (err as Error).message },
            'cannot re-check the credential of an open tunnel; keeping it until the next check',
          );
        },
      }),
    );
    return () => {
      for (const stop of stops) stop();
    };
  };
}
