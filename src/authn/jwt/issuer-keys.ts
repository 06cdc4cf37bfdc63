/**
 * An issuer's signing keys: the last good set, and when to fetch it again.
 *
 *   - a token whose key is in the set never waits for the network, whatever
 *     state the issuer is in;
 *   - an unknown `kid` (the issuer may have rotated) refetches the set when
 *     the gate allows it — one fetch however many tokens ask together;
 *   - when the gate is closed after a failure, such tokens get a fast "issuer
 *     unavailable" (503), not another fetch and not a wait;
 *   - when it is closed after a success, the key really is unknown (401).
 */
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import type { FetchGate } from './fetch-gate.js';
import { IssuerUnavailableError } from './token-errors.js';

type KeyLookup = ReturnType<typeof createLocalJWKSet>;

export class IssuerKeys {
  private local?: KeyLookup;
  private inFlight?: Promise<void>;
  /** JWKS fetches started (successful or not), for tests and logs. */
  fetches = 0;

  constructor(
    private readonly issuer: string,
    private readonly fetchKeys: () => Promise<JSONWebKeySet>,
    private readonly gate: FetchGate,
  ) {}

  /** Fetches the set now (one fetch at a time), whatever the gate says: first load and background refresh. */
  refresh(): Promise<void> {
    if (!this.inFlight) {
      const flight: Promise<void> = this.load().finally(() => {
        if (this.inFlight === flight) this.inFlight = undefined;
      });
      this.inFlight = flight;
    }
    return this.inFlight;
  }

  private async load(): Promise<void> {
    this.fetches++;
    try {
      this.local = createLocalJWKSet(await this.fetchKeys());
      this.gate.succeeded();
    } catch (err) {
      this.gate.failed(err);
      throw new IssuerUnavailableError(this.issuer, err);
    }
  }

  /** The key for a token, in the shape jose's `jwtVerify` takes. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    try {
      if (this.local) return await this.local(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
    }
    await this.refetch();
    if (!this.local) throw new IssuerUnavailableError(this.issuer, this.gate.lastError);
    return this.local(header, token);
  };

  /** Waits for a fetch in progress, or starts one the gate allows; refuses fast otherwise. */
  private async refetch(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.gate.open()) return this.refresh();
    if (this.gate.failing) throw new IssuerUnavailableError(this.issuer, this.gate.lastError, true);
    throw new errors.JWKSNoMatchingKey();
  }
}
