/**
 * One-time codes of the loopback flow (RFC 8252 with RFC 7636 PKCE): the
 * confirmation page issues one for the signed-in person, the browser carries
 * it to the CLI's 127.0.0.1 listener, and the CLI redeems it once, within a
 * minute, with the verifier whose S256 challenge started the flow. The store
 * holds the code's digest only; redeeming takes the record in one step, so a
 * code works once across every replica, and a wrong verifier spends it.
 */
import { timingSafeEqual } from 'node:crypto';
import { invalidGrant } from './oauth-error.js';
import { s256, type TerminalIdentity } from './protocol.js';
import type { RecordStore } from './store/record-store.js';
import { digest, randomSecret } from './secrets.js';

/** Long enough for a browser redirect and one POST, short enough that a leaked code is worth little. */
export const CODE_TTL_MS = 60_000;

export interface CodeRecord {
  challenge: string;
  identity: TerminalIdentity;
  /** The end of the sign-in the code starts (the confirming browser session's end at the latest). */
  endsAt: number;
  port: number;
  client?: string;
}

const equal = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export class LoopbackCodes {
  constructor(
    private readonly store: RecordStore,
    private readonly now: () => number,
  ) {}

  /** Stores `code` (default: a random one) for `record`; returns it. */
  async issue(record: CodeRecord, code: string = randomSecret()): Promise<string> {
    await this.store.create('code', digest(code), record, this.now() + CODE_TTL_MS);
    return code;
  }

  async redeem(code: string, verifier: string): Promise<CodeRecord> {
    const record = await this.store.take<CodeRecord>('code', digest(code));
    if (!record)
      throw invalidGrant(
        'the sign-in code is unknown, expired or already used; run `kube-bastion login` again',
      );
    if (!equal(s256(verifier), record.challenge))
      throw invalidGrant('the code verifier does not match the code challenge of this sign-in');
    return record;
  }
}
