/**
 * A handoff that fails once its URL is known good (a routed host, a
 * well-formed state) is not shown at that URL. Its `state`, with the nonce
 * the browser holds for it, is all a handoff is minted for: a page of ours
 * left at `/auth/handoff?…&state=…` can be read by any path-form app's script
 * on the same origin (from the window it opened), and Mallory would mint a
 * handoff for that state with her own session and sign the visitor in to the
 * routed host as herself. The same goes for `/auth/login?rd=<that URL>` when
 * the sign-in it starts fails. So the browser is sent on to a clean URL first,
 * `/auth/handoff?failed=<reason>`, which shows one of a few fixed messages:
 * nothing of the request is reflected, and there is nothing left to read.
 */
import { GatewayError, badRequest, serviceUnavailable } from '../../errors.js';
import { SessionTooLargeError } from '../session/cookie-jar.js';
import { HANDOFF_PATH } from './paths.js';

export type FailureReason = 'unavailable' | 'too-large' | 'failed';

const SHOWN: Record<FailureReason, () => GatewayError> = {
  unavailable: () =>
    serviceUnavailable(
      'signing in to this host cannot be completed right now (the sign-in provider or the session store did not answer); open the page you wanted again shortly',
    ),
  'too-large': () =>
    badRequest(
      'your sign-in carries too many groups to hand to this host with session.store: cookie; ask your admin to use session.store: redis',
    ),
  failed: () => badRequest('signing in to this host failed; open the page you wanted again'),
};

/** A failure of the handoff's own making, with the reason the clean page shows. */
export class HandoffFailure extends Error {
  readonly code = 'ERR_HANDOFF_FAILURE';
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'HandoffFailure';
  }
}

function reasonFor(err: unknown): FailureReason {
  if (err instanceof HandoffFailure) return err.reason;
  if (err instanceof SessionTooLargeError) return 'too-large';
  if (err instanceof GatewayError && err.status >= 502 && err.status <= 504) return 'unavailable';
  return 'failed';
}

/** Where the browser goes instead of a page at the failed request's URL. */
export const failureLocation = (err: unknown): string => `${HANDOFF_PATH}?failed=${reasonFor(err)}`;

/** The error the clean URL shows, when `failed` names one; undefined otherwise. */
export function shownFailure(failed: unknown): GatewayError | undefined {
  return typeof failed === 'string' && Object.hasOwn(SHOWN, failed)
    ? SHOWN[failed as FailureReason]()
    : undefined;
}

/**
 * For a sign-in that fails before it reaches the IdP (oidc/router.ts): the clean URL to go to when its
 * return path is the handoff, whose URL — and so the sign-in's — carries the state; undefined otherwise.
 */
export const failedSignInTarget = (rd: string, err: unknown): string | undefined =>
  rd.toLowerCase().startsWith(`${HANDOFF_PATH}?`) ? failureLocation(err) : undefined;
