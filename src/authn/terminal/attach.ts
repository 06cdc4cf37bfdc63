/**
 * How terminal sign-in hangs on the browser sign-in (authn/index.ts calls
 * these two): it is confirmed with a browser session, derives its keys from
 * the session secrets, keeps its state in the store the config picks, and
 * watches connections opened with its tokens.
 */
import type { IncomingMessage } from 'node:http';
import type { ApiServerAccess } from '../../kube/api-access.js';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { bearerToken } from '../credentials.js';
import type { CredentialLiveness } from '../liveness.js';
import type { BrowserSessions } from '../session/browser-sessions.js';
import { createTerminalSignIn, terminalSignInEnabled, type TerminalSignIn } from './index.js';
import { createRecordStore } from './store/index.js';

export interface AttachDeps {
  kubeConfig?: ApiServerAccess;
  publicURL: URL;
  logger: Logger;
  metrics?: Metrics;
  clock: Clock;
  loginPath: string;
  clientIP?: (req: IncomingMessage) => string;
}

/** Terminal sign-in for this gateway, or undefined when it is off. */
export async function attachTerminalSignIn(
  config: Config,
  deps: AttachDeps,
  browser: { sessions: BrowserSessions; secrets: string[] },
): Promise<TerminalSignIn | undefined> {
  if (!terminalSignInEnabled(config)) return undefined;
  const now = () => deps.clock.now();
  const store = await createRecordStore(config, { kubeConfig: deps.kubeConfig, logger: deps.logger, now });
  store.start().catch((err: unknown) => deps.logger.error({ err }, 'terminal sign-in store failed to start'));
  return createTerminalSignIn({
    config,
    publicURL: deps.publicURL,
    secrets: browser.secrets,
    store,
    loginPath: deps.loginPath,
    clientIP: deps.clientIP ?? ((req) => req.socket.remoteAddress ?? ''),
    logger: deps.logger,
    now,
    metrics: deps.metrics,
    async browserSession(req, res) {
      const identity = await browser.sessions.authenticate(req, res);
      if (!identity) return undefined;
      const { session } = await browser.sessions.current(req);
      return session && { identity, sid: session.sid, endsAt: session.exp * 1000 };
    },
  });
}

/** A connection opened with a CLI access token is watched; other bearer tokens are judged at the upgrade only. */
export function terminalLiveness(
  req: IncomingMessage,
  terminal: TerminalSignIn | undefined,
): CredentialLiveness | undefined {
  if (!terminal) return undefined;
  let token: string | undefined;
  try {
    token = bearerToken(req);
  } catch {
    return undefined;
  }
  return token !== undefined && terminal.recognizes(token) ? terminal.liveness(token) : undefined;
}
