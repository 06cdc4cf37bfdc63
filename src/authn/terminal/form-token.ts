/**
 * The hidden token of the confirmation forms: an HMAC over the browser
 * session's id, the form's purpose and what it decides (the loopback request,
 * the device's user code), with an expiry. A form posted from anywhere else —
 * another site, a routed app on a sibling host, a page rendered for another
 * session or another request — carries no token that checks out. It comes on
 * top of the same-origin check (authz/csrf.ts checkSameOriginForm).
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export type FormPurpose = 'loopback' | 'device';

/** Time to read the page and decide. */
const LIFETIME_MS = 30 * 60_000;

export class FormTokens {
  private readonly keys: Buffer[];

  /** `secrets[0]` signs; every one of them checks (session secret rotation). */
  constructor(
    secrets: readonly string[],
    private readonly now: () => number,
  ) {
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', s, 'kube-bastion', 'cli-form:v1', 32)));
  }

  private mac(key: Buffer, sid: string, purpose: FormPurpose, subject: string, exp: number): string {
    return createHmac('sha256', key).update(`${purpose}\n${sid}\n${subject}\n${exp}`).digest('base64url');
  }

  issue(sid: string, purpose: FormPurpose, subject: string): string {
    const exp = this.now() + LIFETIME_MS;
    return `${exp}.${this.mac(this.keys[0], sid, purpose, subject, exp)}`;
  }

  check(token: unknown, sid: string, purpose: FormPurpose, subject: string): boolean {
    if (typeof token !== 'string') return false;
    const [expText, mac = ''] = token.split('.');
    const exp = Number(expText);
    if (!Number.isSafeInteger(exp) || exp <= this.now()) return false;
    const given = Buffer.from(mac);
    return this.keys.some((key) => {
      const want = Buffer.from(this.mac(key, sid, purpose, subject, exp));
      return want.length === given.length && timingSafeEqual(want, given);
    });
  }
}
