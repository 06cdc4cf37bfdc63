/**
 * Device authorization grants (RFC 8628), served by the gateway: a terminal
 * without a browser asks for one, shows its user code, and polls; a person
 * signed in anywhere enters the code, sees which device asks, and confirms
 * or denies. Whoever confirms is who the terminal signs in as.
 *
 * Two records per grant: the grant under the digest of its device code, and
 * an index from the digest of its user code. A grant is kept a while past
 * its expiry so a late poll hears `expired_token`, not "unknown". The
 * decision is a compare-and-replace (one decision, even with two people on
 * two replicas); redeeming takes the record (one set of tokens).
 */
import { boundedCache } from '../../bounded-cache.js';
import { OAuthError, invalidGrant } from './oauth-error.js';
import {
  displayUserCode,
  normalizeUserCode,
  type DeviceAuthorizationResponse,
  type TerminalIdentity,
} from './protocol.js';
import type { RecordStore } from './store/record-store.js';
import { digest, newUserCode, randomSecret } from './secrets.js';

export interface DeviceRecord {
  /** Digest of the user code (to drop the index once redeemed). */
  userCode: string;
  /** What the terminal called itself: shown, never trusted. */
  client: string;
  /** The address the request came from, as the gateway saw it. */
  address: string;
  startedAt: number;
  expiresAt: number;
  status: 'pending' | 'approved' | 'denied';
  identity?: TerminalIdentity;
  endsAt?: number;
  decidedAt?: number;
}

export interface DeviceGrantOptions {
  ttlMs: number;
  intervalMs: number;
  /** Where people enter the code (`/auth/device` on publicURL). */
  verificationURI: URL;
  now: () => number;
  /** A clock that never jumps, for poll pacing (performance.now). */
  monotonic?: () => number;
}

/** How long past its expiry a grant is still answered `expired_token`. */
const EXPIRED_KEPT_MS = 10 * 60_000;
/** RFC 8628 §3.5: each slow_down adds 5 seconds to the interval. */
const SLOW_DOWN_STEP_MS = 5_000;

export type Decision = 'approved' | 'denied';
export type DecideResult = 'done' | 'already-decided' | 'expired' | 'unknown';

export class DeviceGrants {
  private readonly pace = boundedCache<string, { last: number; interval: number }>({ max: 10_000 });
  private readonly monotonic: () => number;

  constructor(
    private readonly store: RecordStore,
    private readonly o: DeviceGrantOptions,
  ) {
    this.monotonic = o.monotonic ?? (() => performance.now());
  }

  async start(client: string, address: string): Promise<DeviceAuthorizationResponse> {
    const deviceCode = randomSecret();
    const id = digest(deviceCode);
    const now = this.o.now();
    const expiresAt = now + this.o.ttlMs;
    const keep = expiresAt + EXPIRED_KEPT_MS;
    let userCode: string;
    for (let attempt = 0; ; attempt++) {
      userCode = newUserCode();
      if (await this.store.create('usercode', digest(userCode), { device: id }, keep)) break;
      if (attempt >= 4) throw new Error('cannot find a free user code'); // 2.56e10 codes: never
    }
    const record: DeviceRecord = {
      userCode: digest(userCode),
      client,
      address,
      startedAt: now,
      expiresAt,
      status: 'pending',
    };
    await this.store.create('device', id, record, keep);
    const shown = displayUserCode(userCode);
    const complete = new URL(this.o.verificationURI);
    complete.searchParams.set('user_code', shown);
    return {
      device_code: deviceCode,
      user_code: shown,
      verification_uri: this.o.verificationURI.href,
      verification_uri_complete: complete.href,
      expires_in: Math.floor(this.o.ttlMs / 1000),
      interval: Math.ceil(this.o.intervalMs / 1000),
    };
  }

  /** The grant a typed user code stands for, while it can still be decided or shown. */
  async find(typed: string): Promise<{ id: string; record: DeviceRecord; version: string } | undefined> {
    const code = normalizeUserCode(typed);
    if (!code) return undefined;
    const index = await this.store.get<{ device: string }>('usercode', digest(code));
    if (!index) return undefined;
    const found = await this.store.get<DeviceRecord>('device', index.value.device);
    return found && { id: index.value.device, record: found.value, version: found.version };
  }

  async decide(
    typed: string,
    decision: Decision,
    identity: TerminalIdentity,
    endsAt: number,
  ): Promise<{ result: DecideResult; client?: string }> {
    const found = await this.find(typed);
    if (!found) return { result: 'unknown' };
    const { id, record, version } = found;
    const client = record.client;
    if (record.status !== 'pending') return { result: 'already-decided', client };
    const now = this.o.now();
    if (now >= record.expiresAt) return { result: 'expired', client };
    const decided: DeviceRecord = {
      ...record,
      status: decision,
      decidedAt: now,
      ...(decision === 'approved' ? { identity, endsAt } : {}),
    };
    const kept = record.expiresAt + EXPIRED_KEPT_MS;
    const stored = await this.store.replace('device', id, decided, kept, version);
    return { result: stored ? 'done' : 'already-decided', client };
  }

  /** One poll of the terminal: the approved grant (once), or why not yet / not ever. */
  async poll(deviceCode: string): Promise<DeviceRecord & { identity: TerminalIdentity; endsAt: number }> {
    const id = digest(deviceCode);
    const found = await this.store.get<DeviceRecord>('device', id);
    if (!found) throw invalidGrant('unknown device code');
    const record = found.value;
    if (record.status === 'pending') {
      if (this.o.now() >= record.expiresAt)
        throw new OAuthError('expired_token', 'the code expired before anyone confirmed it; start again');
      // Only waiting is paced: a decided grant is answered at once.
      this.checkPace(id);
      throw new OAuthError('authorization_pending', 'waiting for someone to confirm the code');
    }
    const taken = await this.store.take<DeviceRecord>('device', id);
    await this.store.delete('usercode', record.userCode);
    if (!taken) throw invalidGrant('this device code was already used');
    if (taken.status === 'denied' || !taken.identity || taken.endsAt === undefined)
      throw new OAuthError('access_denied', 'the sign-in was denied in the browser');
    return taken as DeviceRecord & { identity: TerminalIdentity; endsAt: number };
  }

  /** RFC 8628 §3.5: a poll sooner than the interval gets slow_down, and the interval grows (per replica). */
  private checkPace(id: string): void {
    const now = this.monotonic();
    const seen = this.pace.get(id);
    if (!seen) return void this.pace.set(id, { last: now, interval: this.o.intervalMs });
    // Polls arrive an interval plus a round trip apart; a quarter of slack absorbs timer jitter.
    if (now - seen.last < seen.interval * 0.75) {
      this.pace.set(id, { last: now, interval: seen.interval + SLOW_DOWN_STEP_MS });
      throw new OAuthError(
        'slow_down',
        `poll at most every ${Math.ceil((seen.interval + SLOW_DOWN_STEP_MS) / 1000)} s`,
      );
    }
    this.pace.set(id, { last: now, interval: seen.interval });
  }
}
