/**
 * Connections that outlive their request end when their credential does.
 *
 * A WebSocket is authenticated once, at its upgrade. This hook, called by the
 * pipeline just before the upgrade is forwarded, asks authentication how to
 * re-check that credential (authn/liveness.ts) and watches it for as long as
 * the connection is open (watch-credential.ts). When the credential lapses —
 * signed out, past its end — the client gets a close frame (1008, with the
 * reason) and the connection ends (websocket-closer.ts). Credentials with
 * nothing to re-check (bearer tokens today) are not watched.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CredentialLiveness } from '../../authn/liveness.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../observability/logger.js';
import type { RequestContext } from '../../request/context.js';
import { watchCredential } from './watch-credential.js';
import { guardWebSocket, POLICY_VIOLATION } from './websocket-closer.js';

export { createCredentialWatch, type CredentialWatch } from './credential-watch.js';

export interface UpgradeWatchDeps {
  liveness(req: IncomingMessage): CredentialLiveness | undefined;
  clock: Clock;
  logger: Logger;
}

export type UpgradeWatch = (req: IncomingMessage, socket: Duplex, ctx: RequestContext) => void;

export function createUpgradeWatch(deps: UpgradeWatchDeps): UpgradeWatch {
  return (req, socket, ctx) => {
    const liveness = deps.liveness(req);
    if (!liveness || socket.destroyed) return;
    const closer = guardWebSocket(socket, deps.clock);
    const stop = watchCredential(liveness, {
      clock: deps.clock,
      lapsed(reason) {
        deps.logger.info(
          { requestId: ctx.id, user: ctx.identity?.username, reason },
          'closing WebSocket: its session ended',
        );
        closer.close(POLICY_VIOLATION, reason);
      },
      unanswered(err) {
        // The store logs its own outage once; one line per connection per check would flood the log.
        deps.logger.debug(
          { requestId: ctx.id, err: (err as Error).message },
          'cannot re-check the session of an open WebSocket; keeping it until the next check',
        );
      },
    });
    socket.once('close', stop);
  };
}
