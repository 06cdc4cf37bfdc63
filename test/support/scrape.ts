/**
 * Reads the admin port's /metrics as an operator's scraper does: the sample
 * lines (`name{labels}` → value) and the families it declares (`# TYPE`).
 */
import assert from 'node:assert/strict';

export interface Scrape {
  /** `name{labels}` (as prom-client writes them) → value. */
  samples: Map<string, number>;
  /** Metric family → its type (counter, gauge, histogram, …). */
  types: Map<string, string>;
}

export async function scrape(adminURL: string): Promise<Scrape> {
  const res = await fetch(`${adminURL}/metrics`);
  assert.equal(res.status, 200);
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of (await res.text()).split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { samples, types };
}

/** The sum of `name`'s samples whose labels include every one of `labels`. */
export function sampleSum(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, value] of s.samples) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}
