/**
 * Terminal sign-in state in the Redis of `session.store: redis`: one key per
 * record (`kube-bastion:cli:<kind>:<id>`) holding `{v, e}` JSON, expiring with
 * it. Create is a script that writes unless a live record is there (a key
 * Redis has not expired yet, by its own clock, may already be past `e` on
 * ours), take is GETDEL, replace is a compare-and-set script on the whole
 * stored value. `expiry` — the per-request check of CLI access
 * tokens — is remembered for LAG_MS, the same second a browser session's
 * sign-out may take to reach another replica.
 *
 * As for sessions, Redis that stalls or goes away costs a request at most
 * `commandTimeoutMs` and answers 503: no offline queue, no retry elsewhere.
 */
import { Redis } from 'ioredis';
import { boundedCache, type BoundedCache } from '../../../bounded-cache.js';
import type { Logger } from '../../../observability/logger.js';
import {
  envelope,
  openEnvelope,
  StoreUnavailableError,
  type RecordKind,
  type RecordStore,
  type Versioned,
} from './record-store.js';

/** Other replicas see a logout or revocation within this long. */
export const LAG_MS = 1_000;

const CREATE_UNLESS_LIVE = `
local raw = redis.call("get", KEYS[1])
if raw then
  local ok, rec = pcall(cjson.decode, raw)
  if ok and type(rec) == "table" and type(rec.e) == "number" and rec.e > tonumber(ARGV[3]) then return 0 end
end
redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1
`;

const REPLACE_IF_UNCHANGED = `
if redis.call("get", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("set", KEYS[1], ARGV[2], "PX", ARGV[3])
return 1
`;

export interface RedisRecordStoreOptions {
  url: string;
  commandTimeoutMs: number;
  now: () => number;
  logger?: Logger;
}

export class RedisRecordStore implements RecordStore {
  readonly name = 'redis';
  readonly lagMs = LAG_MS;
  private readonly redis: Redis;
  private readonly now: () => number;
  private readonly expiries: BoundedCache<string, { e: number | undefined }>;
  private failing = false;

  constructor(private readonly o: RedisRecordStoreOptions) {
    this.now = o.now;
    this.expiries = boundedCache({ max: 50_000, ttl: LAG_MS, now: o.now });
    this.redis = new Redis(o.url, {
      connectTimeout: o.commandTimeoutMs,
      commandTimeout: o.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    this.redis.on('error', (err: Error) => {
      if (!this.failing) o.logger?.warn({ err: err.message }, 'terminal sign-in store (Redis) unavailable');
      this.failing = true;
    });
    this.redis.on('ready', () => (this.failing = false));
  }

  private key(kind: RecordKind, id: string): string {
    return `kube-bastion:cli:${kind}:${id}`;
  }

  /** A command once connected (waiting at most the command timeout for that); any failure is unavailability. */
  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      if (this.redis.status !== 'ready') await this.connected();
      return await op();
    } catch (err) {
      throw new StoreUnavailableError(`the Redis store did not answer (${(err as Error).message})`);
    }
  }

  private connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.redis.off('ready', ready);
        reject(new Error(`not connected within ${this.o.commandTimeoutMs} ms`));
      }, this.o.commandTimeoutMs);
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      this.redis.once('ready', ready);
    });
  }

  private ttl(expiresAt: number): number {
    return Math.max(1, Math.ceil(expiresAt - this.now()));
  }

  async create(kind: RecordKind, id: string, value: unknown, expiresAt: number): Promise<boolean> {
    const done = await this.call(() =>
      this.redis.eval(
        CREATE_UNLESS_LIVE,
        1,
        this.key(kind, id),
        envelope(value, expiresAt),
        String(this.ttl(expiresAt)),
        String(this.now()),
      ),
    );
    this.expiries.delete(this.key(kind, id));
    return done === 1;
  }

  async get<T>(kind: RecordKind, id: string): Promise<Versioned<T> | undefined> {
    const raw = await this.call(() => this.redis.get(this.key(kind, id)));
    const env = openEnvelope(raw, this.now());
    return env && { value: env.v as T, version: raw! };
  }

  async replace(
    kind: RecordKind,
    id: string,
    value: unknown,
    expiresAt: number,
    version: string,
  ): Promise<boolean> {
    const done = await this.call(() =>
      this.redis.eval(
        REPLACE_IF_UNCHANGED,
        1,
        this.key(kind, id),
        version,
        envelope(value, expiresAt),
        String(this.ttl(expiresAt)),
      ),
    );
    this.expiries.delete(this.key(kind, id));
    return done === 1;
  }

  async take<T>(kind: RecordKind, id: string): Promise<T | undefined> {
    const raw = await this.call(() => this.redis.getdel(this.key(kind, id)));
    return openEnvelope(raw, this.now())?.v as T | undefined;
  }

  async delete(kind: RecordKind, id: string): Promise<void> {
    await this.call(() => this.redis.del(this.key(kind, id)));
    this.expiries.delete(this.key(kind, id));
  }

  async expiry(kind: RecordKind, id: string): Promise<number | undefined> {
    const key = this.key(kind, id);
    const hit = this.expiries.get(key);
    if (hit) return hit.e !== undefined && hit.e > this.now() ? hit.e : undefined;
    const raw = await this.call(() => this.redis.get(key));
    const e = openEnvelope(raw, this.now())?.e;
    this.expiries.set(key, { e });
    return e;
  }

  ready(): boolean {
    return true;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    return Promise.resolve();
  }
}
