/**
 * jose's error codes, turned into messages a CI author can act on. The
 * message goes to the client; details that would help an attacker probe
 * (which key matched, internal URLs) stay in the log.
 */
import { errors } from 'jose';

export function describeTokenError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return 'token is not valid yet (nbf is in the future)';
      case 'aud':
        return 'token audience (aud) is not one this gateway accepts';
      case 'iss':
        return 'token issuer (iss) does not match';
      case 'exp':
        return err.reason === 'missing' ? 'token has no "exp" claim' : 'token "exp" claim is invalid';
      default:
        return `token claim "${err.claim}" is invalid`;
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return 'token signing algorithm is not accepted (only asymmetric algorithms are)';
  if (err instanceof errors.JWKSNoMatchingKey)
    return 'no signing key of the issuer matches the token (unknown kid or algorithm)';
  if (err instanceof errors.JWKSMultipleMatchingKeys)
    return 'several signing keys of the issuer match the token; it needs a kid';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof errors.JOSENotSupported) return 'token uses an unsupported algorithm or key type';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'token is malformed';
  return 'token could not be verified';
}

/** Errors that mean "the issuer could not be reached", not "the token is bad". */
export function isIssuerUnavailable(err: unknown): boolean {
  return err instanceof errors.JWKSTimeout || (err instanceof Error && err.name === 'IssuerUnavailableError');
}

export class IssuerUnavailableError extends Error {
  readonly code = 'ERR_ISSUER_UNAVAILABLE';
  /**
   * @param paused true when no fetch was tried (the issuer failed a moment ago
   *   and is not asked again yet): worth a debug line, not another warning.
   */
  constructor(
    issuer: string,
    cause: unknown,
    readonly paused = false,
  ) {
    super(`issuer ${issuer} is unavailable: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'IssuerUnavailableError';
  }
}
