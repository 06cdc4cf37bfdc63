/**
 * Where terminal sign-in keeps what every replica must agree on: one-time
 * codes, device grants (and their user-code index), refresh-token families,
 * each person's list of live families, and the confirmation forms already
 * used. Records are small JSON values under a kind and an id (a digest
 * or a random id, never a usable secret), each with an absolute expiry;
 * an expired record reads as absent in every store.
 *
 * The few operations are the ones the grants need to be safe with several
 * replicas: create-if-absent, compare-and-replace, and take (read and delete
 * in one step, so a code is redeemed once). `expiry` is the per-request check
 * of CLI access tokens: as cheap as the store allows, behind a change made on
 * another replica by at most `lagMs`, and it throws rather than answer from
 * older knowledge than that.
 */

export type RecordKind = 'code' | 'device' | 'usercode' | 'family' | 'person' | 'form';

export interface Versioned<T> {
  value: T;
  /** Opaque; `replace` succeeds only while the record still has this version. */
  version: string;
}

export interface RecordStore {
  readonly name: 'memory' | 'redis' | 'kubernetes';
  /** The longest a change on another replica may take to reach `expiry` here (ms). */
  readonly lagMs: number;
  /** False when the record already exists (an expired one does not: it is replaced). */
  create(kind: RecordKind, id: string, value: unknown, expiresAt: number): Promise<boolean>;
  /** A current read (never from a cache that may lag). */
  get<T>(kind: RecordKind, id: string): Promise<Versioned<T> | undefined>;
  /** False when the record changed since `version` was read, or is gone. */
  replace(kind: RecordKind, id: string, value: unknown, expiresAt: number, version: string): Promise<boolean>;
  /** Reads and deletes in one step: of several callers, one gets the value, the others undefined. */
  take<T>(kind: RecordKind, id: string): Promise<T | undefined>;
  delete(kind: RecordKind, id: string): Promise<void>;
  /**
   * When the record expires (ms); undefined when it does not exist. Lags a change made on
   * another replica by at most `lagMs`; throws StoreUnavailableError rather than lag more.
   */
  expiry(kind: RecordKind, id: string): Promise<number | undefined>;
  /** True once the store can answer (the Kubernetes store's first LIST is done). */
  ready(): boolean;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The store cannot answer (Redis or the API server is away): callers answer 503, never guess. */
export class StoreUnavailableError extends Error {
  readonly code = 'ERR_TERMINAL_STORE';
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/** A stored record: the value and its absolute expiry (ms since the epoch). */
export interface Envelope {
  v: unknown;
  e: number;
}

export const envelope = (value: unknown, expiresAt: number): string =>
  JSON.stringify({ v: value, e: expiresAt } satisfies Envelope);

/** The envelope of a stored string; undefined when it is not one or has expired. */
export function openEnvelope(raw: string | null | undefined, now: number): Envelope | undefined {
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<Envelope>;
    if (typeof parsed.e !== 'number' || parsed.e <= now) return undefined;
    return parsed as Envelope;
  } catch {
    return undefined;
  }
}
