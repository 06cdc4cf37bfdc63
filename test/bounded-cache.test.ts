/**
 * Every cache of the gateway (tokens, reviews, sessions, sign-outs, rate
 * limits, lookups) is made by boundedCache: it holds its bound, its
 * lifetimes follow the injected clock, and it costs memory for what it holds,
 * not for its bound (a gateway builds twenty-odd of them at start).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { boundedCache } from '../src/bounded-cache.js';

// A full collection before each heap reading, so garbage does not pass for what a cache holds.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('past its bound the least recently used entry goes, and the size never exceeds it', () => {
  const c = boundedCache<string, number>({ max: 3 });
  c.set('a', 1).set('b', 2).set('c', 3);
  assert.equal(c.get('a'), 1); // a is now the most recently used
  c.set('d', 4);
  assert.deepEqual([...c.keys()].sort(), ['a', 'c', 'd']);
  for (let i = 0; i < 100; i++) c.set(`k${i}`, i);
  assert.equal(c.size, 3);
  assert.deepEqual([...c.keys()].sort(), ['k97', 'k98', 'k99']);
});

test('lifetimes are read from the injected clock, exactly (no resolution cache)', () => {
  let now = 1_000;
  const c = boundedCache<string, string>({ max: 10, ttl: 500, now: () => now });
  c.set('default', 'x');
  c.set('own', 'y', { ttl: 100 });
  now += 100;
  assert.equal(c.get('own'), 'y');
  now += 1;
  assert.equal(c.get('own'), undefined, 'gone once older than its own ttl, to the millisecond');
  now += 399;
  assert.equal(c.get('default'), 'x');
  now += 1;
  assert.equal(c.get('default'), undefined, 'gone once older than the default ttl');
});

test('a clock that reads 0 (or less) when an entry is set still expires it', () => {
  // lru-cache takes a start time of 0 for "no lifetime": a test clock starting at 0 made entries immortal.
  for (const start of [0, -5_000]) {
    let now = start;
    const c = boundedCache<string, string>({ max: 10, ttl: 500, now: () => now });
    c.set('at-start', 'x');
    assert.equal(c.getRemainingTTL('at-start'), 500);
    now += 500;
    assert.equal(c.get('at-start'), 'x');
    now += 1;
    assert.equal(c.get('at-start'), undefined, `set at ${start}: gone once older than its ttl`);
  }
});

test('without a default lifetime, an entry set with its own lives that long and the others until evicted', () => {
  // The sign-outs a replica remembers: each until its session would have ended.
  let now = 5_000;
  const c = boundedCache<string, true>({ max: 3, now: () => now });
  c.set('signed-out', true, { ttl: 10 });
  c.set('kept', true);
  now += 11;
  assert.equal(c.has('signed-out'), false);
  assert.equal(c.has('kept'), true);
  for (let i = 0; i < 10; i++) c.set(`s${i}`, true, { ttl: 5 });
  assert.equal(c.size, 3, 'the bound holds for entries with lifetimes too');
});

test('a bound of 50,000 costs nothing until entries arrive: twenty caches build in well under a megabyte', () => {
  // lru-cache's `max` would preallocate and fill ~40 bytes a slot: 20 × 50,000 slots ≈ 40 MB of heap.
  gc();
  const before = process.memoryUsage().heapUsed;
  const caches = Array.from({ length: 20 }, () => boundedCache<string, true>({ max: 50_000, ttl: 60_000 }));
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 1_000_000, `heap grew ${grown} bytes for ${caches.length} empty caches`);
  for (let i = 0; i < 1000; i++) caches[0].set(`id${i}`, true);
  assert.equal(caches[0].size, 1000);
});

test('a flood of distinct keys (junk tokens, say) leaves the storage at the bound, not at the flood', () => {
  const c = boundedCache<string, true>({ max: 1000, ttl: 60_000 });
  for (let i = 0; i < 1000; i++) c.set(`warm-${i}`, true);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 300_000; i++) c.set(`junk-token-${i}`, true);
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.equal(c.size, 1000);
  // Kept, 300,000 entries would be tens of MB; at the bound the slots are reused.
  assert.ok(grown < 2_000_000, `heap grew ${grown} bytes over 300,000 evictions`);
});

test('a bound that is not a positive integer is a programming error', () => {
  for (const max of [0, -1, 1.5, Number.NaN])
    assert.throws(() => boundedCache({ max }), RangeError, String(max));
});
