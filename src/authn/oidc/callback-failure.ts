/**
 * Why a sign-in failed at /auth/callback, in words a user can act on.
 * openid-client's own messages ("invalid response encountered") name the
 * protocol step, not what happened; the original goes to the log.
 */
import * as client from 'openid-client';

/** Messages along the error's cause chain (openid-client wraps oauth4webapi's errors). */
function messages(err: unknown): string[] {
  const found: string[] = [];
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) found.push(e.message);
  return found;
}

export function describeCallbackFailure(err: unknown): string {
  const said = messages(err).join(' | ');
  if (/"state"/.test(said))
    return 'the answer from the identity provider does not belong to the sign-in this browser started';
  if (/"nonce"/.test(said)) return 'the ID token does not belong to the sign-in this browser started';
  if (err instanceof client.ResponseBodyError && err.error === 'invalid_grant')
    return 'the identity provider did not accept the sign-in code (already used, expired, or from another sign-in)';
  if (err instanceof client.AuthorizationResponseError)
    return `the identity provider refused the sign-in (${err.error})`;
  return 'the answer from the identity provider could not be verified';
}
