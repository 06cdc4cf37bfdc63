/**
 * Credential liveness: whether the credential a long-lived connection was
 * opened with (a WebSocket today, a TCP tunnel later) is still good.
 *
 * A request is authenticated once, at its start; a connection can outlive
 * that moment by hours. So authentication hands out, per credential, a way to
 * ask again: the connection's owner (server/liveness/) calls `check()` at the
 * credential's end and every `recheckMs` in between, and closes the
 * connection when the answer is "lapsed".
 *
 * For a browser session `check()` looks the session up in its store (signed
 * out? past its absolute end? refused by the IdP at refresh?); a bearer
 * credential would compare its `exp` and ask its issuer or TokenReview again.
 */

export type Liveness =
  | {
      alive: true;
      /** When the credential ends on its own (ms since the epoch); absent when it has no fixed end. */
      expiresAt?: number;
    }
  | {
      alive: false;
      /** Why, in a few words a user can read in a WebSocket close reason ("signed out"). */
      reason: string;
    };

export interface CredentialLiveness {
  /**
   * Asks now. Rejects when the answer cannot be had (the session store is
   * unreachable): the caller keeps the connection and asks again later, but
   * never past the last known `expiresAt`.
   */
  check(): Promise<Liveness>;
  /** The longest the caller may go between checks (ms): how late a sign-out can be noticed. */
  recheckMs: number;
}
