import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { HEAP_GROWING_PERCENT, tuneV8ForBulkBytes, tuneV8ForSteadyLoad } from '../../src/v8-tuning.js';

const MODULE = fileURLToPath(new URL('../../src/v8-tuning.ts', import.meta.url));

/**
 * A process that moves 640 MB through 64 KiB Buffers (a tunnel's socket reads), keeping the last
 * few, and reports how many full collections that took.
 */
function majorCollections(tune: boolean): { applied: boolean; major: number; stderr: string } {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    import { tuneV8ForBulkBytes } from ${JSON.stringify(MODULE)};
    const applied = ${tune} ? tuneV8ForBulkBytes() : false;
    let major = 0;
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
    });
    observer.observe({ entryTypes: ['gc'] });
    const kept = [];
    let turns = 0;
    const turn = () => {
      for (let i = 0; i < 100; i++) {
        const b = Buffer.allocUnsafe(65536);
        b[0] = i;
        kept.push(b);
        if (kept.length > 8) kept.shift();
      }
      if (++turns < 100) return void setImmediate(turn);
      setImmediate(() => { observer.disconnect(); console.log(JSON.stringify({ applied, major })); });
    };
    turn();`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return { ...(JSON.parse(r.stdout) as { applied: boolean; major: number }), stderr: r.stderr };
}

const major = Number(process.versions.node.split('.')[0]);

/** A tuned run printed nothing on any runtime and applied its flag on Node 24 only; true where it applied. */
function appliedOnly24(tuned: { applied: boolean; stderr: string }): boolean {
  assert.equal(tuned.stderr, '', 'no "unrecognized flag" on any runtime');
  assert.equal(tuned.applied, major === 24);
  return tuned.applied;
}

test('only Node 24, where they were measured, gets the flags: older ones lack them, a later one may have dropped them', () => {
  for (const tune of [tuneV8ForBulkBytes, tuneV8ForSteadyLoad])
    for (const version of ['20.20.2', '22.11.0', '26.0.0'])
      assert.equal(tune(version), false, `${tune.name} on ${version}`);
});

test('on this runtime: tuning prints nothing, and where applied, moving bytes takes far fewer full collections', () => {
  const plain = majorCollections(false);
  const tuned = majorCollections(true);
  if (!appliedOnly24(tuned)) return;
  assert.ok(plain.major >= 5, `without the flag Buffers start full collections (${plain.major})`);
  assert.ok(
    tuned.major * 2 <= plain.major,
    `${tuned.major} full collections with the flag, ${plain.major} without`,
  );
});

/** The old generation's growing factors V8 chose at four full collections of a growing heap. */
function growingFactors(tune: boolean): { applied: boolean; factors: number[]; stderr: string } {
  const script = `
    import { tuneV8ForSteadyLoad } from ${JSON.stringify(MODULE)};
    const applied = ${tune} ? tuneV8ForSteadyLoad() : false;
    const kept = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 50000; i++) kept.push({ i, s: 'x' + i });
      globalThis.gc();
    }
    console.log(JSON.stringify({ applied }));`;
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--trace-gc-verbose', '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const factors = [...r.stdout.matchAll(/\[HeapController\] factor ([0-9.]+)/g)].map((m) => Number(m[1]));
  return { ...(JSON.parse(lines.at(-1)!) as { applied: boolean }), factors, stderr: r.stderr };
}

test('on this runtime: where applied, every full collection after it grows the heap by the fixed factor', () => {
  const plain = growingFactors(false);
  const tuned = growingFactors(true);
  if (!appliedOnly24(tuned)) return;
  const fixed = 1 + HEAP_GROWING_PERCENT / 100;
  assert.ok(tuned.factors.length >= 4, tuned.factors.join(' '));
  assert.deepEqual(new Set(tuned.factors), new Set([fixed]));
  assert.ok(
    plain.factors.some((f) => f !== fixed),
    `V8's own choice differs: ${plain.factors.join(' ')}`,
  );
});
