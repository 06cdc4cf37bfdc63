/**
 * Asks a credential, again and again, whether it is still good, for as long
 * as the connection it opened lasts; calls `lapsed` once when it is not.
 *
 * The next question is due at the credential's own end or `recheckMs` after
 * the last answer, whichever comes first. When no answer can be had (the
 * session store is down) the connection is kept and the question asked again
 * after `recheckMs` — but never past the last known end: then it lapses
 * without an answer. Knows nothing of sockets or protocols, so a TCP tunnel
 * can use it as a WebSocket does.
 */
import type { CredentialLiveness } from '../../authn/liveness.js';
import type { Clock } from '../../clock.js';

export interface WatchOptions {
  clock: Clock;
  lapsed(reason: string): void;
  /** Called when a check could not be answered (logging). */
  unanswered?(err: unknown): void;
}

/** Starts watching at once (the first check runs now); returns a function that stops it. */
export function watchCredential(liveness: CredentialLiveness, o: WatchOptions): () => void {
  let stopped = false;
  let cancel: () => void = () => undefined;
  let knownEnd = Infinity;

  const lapse = (reason: string) => {
    if (stopped) return;
    stopped = true;
    o.lapsed(reason);
  };
  const schedule = () => {
    if (stopped) return;
    const now = o.clock.now();
    const at = Math.min(knownEnd, now + Math.max(1, liveness.recheckMs));
    cancel = o.clock.after(at - now, () => void ask());
  };

  async function ask(): Promise<void> {
    if (stopped) return;
    try {
      const answer = await liveness.check();
      if (!answer.alive) return lapse(answer.reason);
      knownEnd = answer.expiresAt ?? Infinity;
    } catch (err) {
      o.unanswered?.(err);
      if (knownEnd <= o.clock.now()) return lapse('session expired');
    }
    schedule();
  }

  void ask();
  return () => {
    stopped = true;
    cancel();
  };
}
