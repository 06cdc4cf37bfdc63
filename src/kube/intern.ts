/**
 * One copy of each of the values that repeat across a large cluster's cached
 * objects: namespace, zone, node and port names (JSON.parse makes a new string
 * for every occurrence), and small frozen sub-objects — endpoint conditions,
 * topology hints, ports — that thousands of endpoints share. Frozen, so a
 * caller that tried to change a shared one would fail loudly rather than
 * change every endpoint that shares it.
 *
 * The tables only grow, so each is bounded: past `MAX_ENTRIES` values are
 * kept as they come (correct, just not shared).
 */
const MAX_ENTRIES = 50_000;

export class InternTable<T> {
  private readonly values = new Map<string, T>();

  /** The shared value for `key`, made by `make` the first time. */
  get(key: string, make: () => T): T {
    const hit = this.values.get(key);
    if (hit !== undefined) return hit;
    const value = make();
    if (this.values.size < MAX_ENTRIES) this.values.set(key, value);
    return value;
  }

  get size(): number {
    return this.values.size;
  }
}

const strings = new InternTable<string>();

/** The one copy of a string that occurs in many objects (names, zones, protocols). */
export function intern<S extends string | undefined>(s: S): S {
  return (s === undefined ? s : strings.get(s, () => s)) as S;
}

/** A frozen object shared by every caller that asks with equal contents (`key` says what they are). */
export function shared<T extends object>(table: InternTable<T>, key: string, value: () => T): T {
  return table.get(key, () => Object.freeze(value()));
}
