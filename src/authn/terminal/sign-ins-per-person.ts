/**
 * How many terminal sign-ins one person holds at once. Each sign-in is a
 * token family kept in the shared store until its end (hours), and starting
 * one takes only what anyone the IdP admits can repeat at will: a
 * confirmation page (they can ask for new ones with parameters of their own)
 * and a click. So each person has one record — kind `person`, id a digest of
 * the user name — listing their sign-ins, oldest first, with their ends; a
 * sign-in past the bound ends the oldest, as a logout would. Logout and
 * revocation take a sign-in off the list; an entry whose family is already
 * gone costs nothing but its place.
 */
import { personId } from './secrets.js';
import type { RecordStore } from './store/record-store.js';
import { updateRecord } from './store/update-record.js';

/**
 * More than one person uses at once (a laptop, a jump box, a few shells with their own
 * config folder; `kube-bastion login` again ends the sign-in it replaces), few enough that
 * one person's sign-ins stay a small, bounded share of the store.
 */
export const MAX_SIGN_INS_PER_PERSON = 20;

export interface SignInEntry {
  fid: string;
  endsAt: number;
}

interface PersonRecord {
  signIns: SignInEntry[];
}

/** The list with `added` last: sign-ins past their end dropped, the oldest beyond `max` evicted. */
export function admit(
  list: readonly SignInEntry[],
  added: SignInEntry,
  now: number,
  max: number,
): { kept: SignInEntry[]; evicted: string[] } {
  const live = [...list.filter((e) => e.endsAt > now && e.fid !== added.fid), added];
  const over = Math.max(0, live.length - max);
  return { kept: live.slice(over), evicted: live.slice(0, over).map((e) => e.fid) };
}

/** The record lasts as long as the longest sign-in it has listed. */
const latestEnd = (entries: readonly SignInEntry[]) => Math.max(...entries.map((e) => e.endsAt));

export class SignInsPerPerson {
  constructor(
    private readonly store: RecordStore,
    private readonly now: () => number,
    private readonly max = MAX_SIGN_INS_PER_PERSON,
  ) {}

  /**
   * Counts a new sign-in of `username`; `end` ends each one it pushes out, before the list
   * without them is written, so a sign-in is never live without being counted.
   */
  async add(username: string, added: SignInEntry, end: (fid: string) => Promise<void>): Promise<void> {
    await updateRecord<PersonRecord>(this.store, 'person', personId(username), async (current) => {
      const { kept, evicted } = admit(current?.signIns ?? [], added, this.now(), this.max);
      await Promise.all(evicted.map(end));
      return { value: { signIns: kept }, expiresAt: latestEnd(kept) };
    });
  }

  /** Takes an ended sign-in (logout, revocation) off its person's list. */
  async remove(username: string, fid: string): Promise<void> {
    await updateRecord<PersonRecord>(this.store, 'person', personId(username), (current) => {
      const list = current?.signIns ?? [];
      if (!list.some((e) => e.fid === fid)) return undefined;
      const now = this.now();
      const kept = list.filter((e) => e.fid !== fid && e.endsAt > now);
      return { value: { signIns: kept }, expiresAt: latestEnd(list) };
    });
  }
}
