/**
 * A counter the request path adds to in plain numbers, one slot per label
 * set, handed to its prom-client Counter when that is read (the counter's
 * `collect`, which every scrape and every `get()` runs first): the value is
 * exact at every read, and a request pays a Map lookup and an addition
 * instead of prom-client's label check, hashing and result object.
 */
import type { Counter, LabelValues } from 'prom-client';

interface Slot<L extends string> {
  labels: LabelValues<L>;
  n: number;
}

/** The key of a label set (two or three labels): its values in the tally's label order, joined by newlines (no label value holds one). */
export const tallyKey = (a: string | boolean, b: string, c?: string): string =>
  c === undefined ? `${a}\n${b}` : `${a}\n${b}\n${c}`;

/**
 * tallyKey for one call site, with the last label set remembered: a stream of requests repeats one,
 * and a key made anew is hashed anew by every Map lookup.
 */
export function rememberingTallyKey(): typeof tallyKey {
  let a0: unknown, b0: unknown, c0: unknown;
  let key = '';
  return (a, b, c) => {
    if (a !== a0 || b !== b0 || c !== c0) {
      a0 = a;
      b0 = b;
      c0 = c;
      key = tallyKey(a, b, c);
    }
    return key;
  };
}

export class Tally<L extends string> {
  private readonly slots = new Map<string, Slot<L>>();

  /**
   * @param counter the counter whose `collect` calls `flush` (read lazily: the two are made together)
   * @param names the label names, in the order a key lists their values
   * @param max bounds the label sets held: past it, the counts go to the counter and the slots start again
   */
  constructor(
    private readonly counter: () => Counter<L>,
    private readonly names: readonly L[],
    private readonly max = 5000,
  ) {}

  /** Adds one for the label set `key` (tallyKey) names. */
  inc(key: string): void {
    let slot = this.slots.get(key);
    if (!slot) {
      if (this.slots.size >= this.max) {
        this.flush();
        this.slots.clear();
      }
      this.slots.set(key, (slot = { labels: this.labelsOf(key), n: 0 }));
    }
    slot.n++;
  }

  /** Hands the counts to the counter (its `collect`). */
  flush(): void {
    const counter = this.counter();
    for (const slot of this.slots.values()) {
      if (slot.n === 0) continue;
      counter.inc(slot.labels, slot.n);
      slot.n = 0;
    }
  }

  private labelsOf(key: string): LabelValues<L> {
    const values = key.split('\n');
    const labels: Partial<Record<L, string>> = {};
    this.names.forEach((name, i) => (labels[name] = values[i] ?? ''));
    return labels;
  }
}
