import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { tuneV8ForBulkBytes } from '../../src/v8-tuning.js';

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

test('only Node 24, where it was measured, gets the flag: older ones lack it, a later one may have dropped it', () => {
  assert.equal(tuneV8ForBulkBytes('20.20.2'), false);
  assert.equal(tuneV8ForBulkBytes('22.11.0'), false);
  assert.equal(tuneV8ForBulkBytes('26.0.0'), false);
});

test('on this runtime: tuning prints nothing, and where applied, moving bytes takes far fewer full collections', () => {
  const plain = majorCollections(false);
  const tuned = majorCollections(true);
  assert.equal(tuned.stderr, '', 'no "unrecognized flag" on any runtime');
  assert.equal(tuned.applied, major === 24);
  if (!tuned.applied) return;
  assert.ok(plain.major >= 5, `without the flag Buffers start full collections (${plain.major})`);
  assert.ok(tuned.major * 2 <= plain.major, `${tuned.major} full collections with the flag, ${plain.major} without`);
});
