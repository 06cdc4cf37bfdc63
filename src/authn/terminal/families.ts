/**
 * A terminal sign-in is a token family: one record, from the confirmation
 * in the browser until logout, revocation or its end. The family holds the
 * identity, its absolute end, the digest of the one refresh token that may
 * be used next, and the digests of those already used.
 *
 * Refreshing rotates: the presented token becomes used, a new one is issued
 * with a new access token. Presenting a used one again means two parties hold
 * the same token — the user and someone who copied it — so the whole family
 * is revoked (RFC 9700 §4.14.2): every refresh token and, within the store's
 * lag, every access token of it stops working. Revoking deletes the record;
 * an access token is good only while its family exists (`liveUntil`).
 *
 * A person holds at most MAX_SIGN_INS_PER_PERSON families at once
 * (sign-ins-per-person.ts): a new one past that ends their oldest the same
 * way, by deleting its record.
 */
import type { Logger } from '../../observability/logger.js';
import type { AccessTokens } from './access-token.js';
import { invalidGrant } from './oauth-error.js';
import type { TerminalIdentity, TokenResponse } from './protocol.js';
import type { RecordStore } from './store/record-store.js';
import { digest, newFamilyId, newRefreshToken, refreshTokenFamily } from './secrets.js';
import { MAX_SIGN_INS_PER_PERSON, SignInsPerPerson } from './sign-ins-per-person.js';

export interface FamilyRecord {
  identity: TerminalIdentity;
  createdAt: number;
  /** The sign-in's absolute end (ms): never later than the browser session that confirmed it. */
  endsAt: number;
  /** Digest of the refresh token that may be used next. */
  current: string;
  refreshExpiresAt: number;
  /** Digests of refresh tokens already used, newest last (bounded). */
  used: string[];
  /** How the terminal signed in, and what it called itself (for logs and audits). */
  via: 'loopback' | 'device';
  client?: string;
}

export interface FamilyTimes {
  accessTokenTTL: number;
  /** A refresh token expires this long after its access token did (0: only at the family's end). */
  idleTimeout: number;
}

/** How many used refresh tokens a family remembers for replay detection. */
const USED_KEPT = 32;

const relogin = 'run `kube-bastion login` again';

export class TokenFamilies {
  private readonly people: SignInsPerPerson;

  constructor(
    private readonly store: RecordStore,
    private readonly tokens: AccessTokens,
    private readonly times: FamilyTimes,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {
    this.people = new SignInsPerPerson(store, now);
  }

  /** A new sign-in for `identity`, ending at `endsAt`: its first tokens. */
  async start(
    identity: TerminalIdentity,
    endsAt: number,
    via: FamilyRecord['via'],
    client?: string,
  ): Promise<TokenResponse> {
    const fid = newFamilyId();
    const refresh = newRefreshToken(fid);
    const now = this.now();
    const times = this.timesFrom(now, endsAt);
    const record: FamilyRecord = {
      identity,
      createdAt: now,
      endsAt,
      current: digest(refresh),
      refreshExpiresAt: times.refreshExpiresAt,
      used: [],
      via,
      ...(client ? { client } : {}),
    };
    if (!(await this.store.create('family', fid, record, endsAt)))
      throw new Error('token family id collision'); // 128 random bits: never
    await this.count(identity.username, fid, endsAt);
    this.logger.info({ user: identity.username, family: fid, via, client }, 'terminal signed in');
    return this.answer(record, fid, refresh, now);
  }

  async refresh(refreshToken: string): Promise<TokenResponse> {
    const fid = refreshTokenFamily(refreshToken);
    if (!fid) throw invalidGrant('this is not a refresh token of this gateway');
    const found = await this.store.get<FamilyRecord>('family', fid);
    if (!found)
      throw invalidGrant(
        `this sign-in has ended (logged out, revoked, expired, or ended by ${MAX_SIGN_INS_PER_PERSON} newer ones); ${relogin}`,
      );
    const record = found.value;
    const presented = digest(refreshToken);
    if (presented !== record.current) {
      if (record.used.includes(presented)) return this.replayed(fid, record);
      throw invalidGrant('unknown refresh token');
    }
    const now = this.now();
    if (now >= record.refreshExpiresAt || now >= record.endsAt)
      throw invalidGrant(`this sign-in was not used for too long; ${relogin}`);
    const next = newRefreshToken(fid);
    const times = this.timesFrom(now, record.endsAt);
    const rotated: FamilyRecord = {
      ...record,
      current: digest(next),
      refreshExpiresAt: times.refreshExpiresAt,
      used: [...record.used, presented].slice(-USED_KEPT),
    };
    if (!(await this.store.replace('family', fid, rotated, record.endsAt, found.version))) {
      // Another request rotated this very token a moment ago: it was used twice.
      return this.replayed(fid, record);
    }
    return this.answer(rotated, fid, next, now);
  }

  private async replayed(fid: string, record: FamilyRecord): Promise<never> {
    await this.revoke(fid, 'a used refresh token was presented again');
    this.logger.warn(
      { user: record.identity.username, family: fid, client: record.client },
      'refresh token replayed: the terminal sign-in is revoked',
    );
    throw invalidGrant(
      `this refresh token was already used, so the sign-in was revoked (a copy of it may be in other hands); ${relogin}`,
    );
  }

  /** Counts the new sign-in against its person's bound; one that cannot be counted is not kept. */
  private async count(username: string, fid: string, endsAt: number): Promise<void> {
    const evict = async (oldest: string) => {
      await this.store.delete('family', oldest);
      this.logger.info(
        { user: username, family: oldest, why: `more than ${MAX_SIGN_INS_PER_PERSON} terminal sign-ins` },
        'terminal sign-in revoked',
      );
    };
    try {
      await this.people.add(username, { fid, endsAt }, evict);
    } catch (err) {
      // Nobody has its tokens yet; if even this delete fails, the record is inert until its end.
      await this.store.delete('family', fid).catch(() => undefined);
      throw err;
    }
  }

  async revoke(fid: string, why: string): Promise<void> {
    const found = await this.store.get<FamilyRecord>('family', fid);
    await this.store.delete('family', fid);
    if (found) await this.people.remove(found.value.identity.username, fid);
    this.logger.info({ family: fid, why }, 'terminal sign-in revoked');
  }

  /** The family a refresh token belongs to, when it is one of this family's (current or used). */
  async familyOfRefreshToken(refreshToken: string): Promise<string | undefined> {
    const fid = refreshTokenFamily(refreshToken);
    if (!fid) return undefined;
    const found = await this.store.get<FamilyRecord>('family', fid);
    const d = digest(refreshToken);
    return found && (found.value.current === d || found.value.used.includes(d)) ? fid : undefined;
  }

  /** The end of a family whose tokens still count (not revoked, not past its end); undefined otherwise. */
  liveUntil(fid: string): Promise<number | undefined> {
    return this.store.expiry('family', fid);
  }

  private timesFrom(now: number, endsAt: number) {
    const accessExpiresAt = Math.min(now + this.times.accessTokenTTL, endsAt);
    const refreshExpiresAt =
      this.times.idleTimeout > 0 ? Math.min(endsAt, accessExpiresAt + this.times.idleTimeout) : endsAt;
    return { accessExpiresAt, refreshExpiresAt };
  }

  private async answer(
    record: FamilyRecord,
    fid: string,
    refresh: string,
    now: number,
  ): Promise<TokenResponse> {
    const { accessExpiresAt } = this.timesFrom(now, record.endsAt);
    const seconds = (at: number) => Math.max(0, Math.floor((at - now) / 1000));
    return {
      access_token: await this.tokens.mint(record.identity, fid, accessExpiresAt),
      token_type: 'Bearer',
      expires_in: seconds(accessExpiresAt),
      refresh_token: refresh,
      refresh_token_expires_in: seconds(record.refreshExpiresAt),
      identity: record.identity,
    };
  }
}
