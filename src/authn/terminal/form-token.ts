/**
 * The hidden token of the confirmation forms: an HMAC over the browser
 * session's id, the form's purpose and what it decides (the loopback request,
 * the device's user code), with an expiry. A form posted from anywhere else —
 * another site, a routed app on a sibling host, a page rendered for another
 * session or another request — carries no token that checks out. It comes on
 * top of the same-origin check (authz/csrf.ts checkSameOriginForm).
 *
 * A form whose answer makes something (the loopback confirmation: a one-time
 * code) is spent by its first post, in the shared store, so a second post of
 * it — on any replica — makes nothing more: it answers the same code
 * (`codeFor`), so a double click still carries the terminal on.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { digest } from './secrets.js';
import type { RecordStore } from './store/record-store.js';

export type FormPurpose = 'loopback' | 'device';

/** Time to read the page and decide. */
const LIFETIME_MS = 30 * 60_000;

/** The one spelling of a token (`<exp ms>.<HMAC-SHA256, base64url>`): a form is spent by its token's digest. */
const SHAPE = /^([1-9]\d{0,15})\.([A-Za-z0-9_-]{43})$/;

export class FormTokens {
  private readonly keys: Buffer[];
  private readonly codeKey: Buffer;

  /** `secrets[0]` signs; every one of them checks (session secret rotation). */
  constructor(
    secrets: readonly string[],
    private readonly now: () => number,
    private readonly store: RecordStore,
  ) {
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', s, 'kube-bastion', 'cli-form:v1', 32)));
    this.codeKey = Buffer.from(hkdfSync('sha256', secrets[0], 'kube-bastion', 'cli-form-code:v1', 32));
  }

  private mac(key: Buffer, sid: string, purpose: FormPurpose, subject: string, exp: number): string {
    return createHmac('sha256', key).update(`${purpose}\n${sid}\n${subject}\n${exp}`).digest('base64url');
  }

  issue(sid: string, purpose: FormPurpose, subject: string): string {
    const exp = this.now() + LIFETIME_MS;
    return `${exp}.${this.mac(this.keys[0], sid, purpose, subject, exp)}`;
  }

  check(token: unknown, sid: string, purpose: FormPurpose, subject: string): boolean {
    const [, expText, mac = ''] = (typeof token === 'string' && SHAPE.exec(token)) || [];
    const exp = Number(expText);
    if (!Number.isSafeInteger(exp) || exp <= this.now()) return false;
    const given = Buffer.from(mac);
    return this.keys.some((key) => {
      const want = Buffer.from(this.mac(key, sid, purpose, subject, exp));
      return want.length === given.length && timingSafeEqual(want, given);
    });
  }

  /**
   * The one-time code a loopback form answers with: derived from its token, so the form posted
   * again (a double click, on any replica) answers the same code rather than none or a second.
   * Only the gateway can derive it; it is worth nothing without the terminal's PKCE verifier.
   */
  codeFor(token: string): string {
    return createHmac('sha256', this.codeKey).update(token).digest('base64url');
  }

  /**
   * Spends a token `check` accepted: true the first time, on any replica; false ever after
   * (the mark, the token's digest, lasts as long as the token would be accepted).
   */
  spend(token: string): Promise<boolean> {
    const exp = Number(token.split('.')[0]);
    return this.store.create('form', digest(token), {}, exp);
  }
}
