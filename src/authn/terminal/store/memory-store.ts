/**
 * The state in this process only: for one replica (`kubernetes: none`, the
 * demo, tests). Every operation is atomic because nothing else shares it.
 */
import { envelope, openEnvelope, type RecordKind, type RecordStore, type Versioned } from './record-store.js';

/** Expired records are dropped every this many writes, so a long-running demo stays small. */
const SWEEP_EVERY = 256;

export class MemoryRecordStore implements RecordStore {
  readonly name = 'memory';
  readonly lagMs = 0;
  private readonly records = new Map<string, { raw: string; version: number }>();
  private writes = 0;
  private counter = 0;

  constructor(private readonly now: () => number) {}

  private read(kind: RecordKind, id: string) {
    const key = `${kind}:${id}`;
    const entry = this.records.get(key);
    const env = openEnvelope(entry?.raw, this.now());
    if (entry && !env) this.records.delete(key);
    return env && entry ? { key, env, version: entry.version } : undefined;
  }

  private write(kind: RecordKind, id: string, value: unknown, expiresAt: number): void {
    if (++this.writes % SWEEP_EVERY === 0) this.sweep();
    this.records.set(`${kind}:${id}`, { raw: envelope(value, expiresAt), version: ++this.counter });
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.records) if (!openEnvelope(entry.raw, now)) this.records.delete(key);
  }

  create(kind: RecordKind, id: string, value: unknown, expiresAt: number): Promise<boolean> {
    if (this.read(kind, id)) return Promise.resolve(false);
    this.write(kind, id, value, expiresAt);
    return Promise.resolve(true);
  }

  get<T>(kind: RecordKind, id: string): Promise<Versioned<T> | undefined> {
    const hit = this.read(kind, id);
    return Promise.resolve(hit && { value: hit.env.v as T, version: String(hit.version) });
  }

  replace(
    kind: RecordKind,
    id: string,
    value: unknown,
    expiresAt: number,
    version: string,
  ): Promise<boolean> {
    const hit = this.read(kind, id);
    if (!hit || String(hit.version) !== version) return Promise.resolve(false);
    this.write(kind, id, value, expiresAt);
    return Promise.resolve(true);
  }

  take<T>(kind: RecordKind, id: string): Promise<T | undefined> {
    const hit = this.read(kind, id);
    if (hit) this.records.delete(hit.key);
    return Promise.resolve(hit?.env.v as T | undefined);
  }

  delete(kind: RecordKind, id: string): Promise<void> {
    this.records.delete(`${kind}:${id}`);
    return Promise.resolve();
  }

  expiry(kind: RecordKind, id: string): Promise<number | undefined> {
    return Promise.resolve(this.read(kind, id)?.env.e);
  }

  ready(): boolean {
    return true;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
