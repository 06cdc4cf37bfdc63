/**
 * A read-modify-write of one record that holds with several replicas: read
 * it, work out the next value, write that only over the version read (or
 * create it when there was none), and when another writer came first, start
 * again from what they wrote. For records several requests change at once:
 * a person's list of sign-ins.
 */
import { StoreUnavailableError, type RecordKind, type RecordStore } from './record-store.js';

/** The writers of one such record at one moment are one person's own requests: a few rounds settle them. */
const ATTEMPTS = 8;

export interface NextRecord<T> {
  value: T;
  expiresAt: number;
}

/**
 * `next` gets the current value (undefined when there is none) and answers what to write, or
 * undefined to leave the record as it is. It runs again after a lost race, so what it does besides
 * answering must be safe to repeat.
 */
export async function updateRecord<T>(
  store: RecordStore,
  kind: RecordKind,
  id: string,
  next: (current: T | undefined) => Promise<NextRecord<T> | undefined> | NextRecord<T> | undefined,
): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const found = await store.get<T>(kind, id);
    const write = await next(found?.value);
    if (!write) return;
    const done = found
      ? await store.replace(kind, id, write.value, write.expiresAt, found.version)
      : await store.create(kind, id, write.value, write.expiresAt);
    if (done) return;
  }
  throw new StoreUnavailableError(
    `the ${kind} record changed under each of ${ATTEMPTS} attempts to update it`,
  );
}
