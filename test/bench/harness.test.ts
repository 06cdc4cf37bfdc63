import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { bareNode, bareUndici, direct } from '../../bench/contestants.js';
import { missingTools, runBench } from '../../bench/harness.js';
import { checkBudgets } from '../../bench/budgets.js';
import { renderMarkdown, updateDoc, writeJSON } from '../../bench/report.js';
import { parseWrk } from '../../bench/lib/wrk.js';

const missing = missingTools();
// CI installs nginx and wrk: there a missing tool is a failure, not a skip.
const skip = missing.length > 0 && !process.env.CI ? `needs ${missing.join(', ')}` : false;

test(
  'the benchmark runs direct and the bare Node contestants and reports comparable numbers',
  { skip, timeout: 60_000 },
  async () => {
    const result = await runBench({
      contestants: [direct, bareNode, bareUndici],
      seconds: 1,
      warmupSeconds: 0,
      rounds: 1,
      connections: 8,
    });
    assert.deepEqual(
      result.summary.map((s) => s.name),
      ['direct', 'bare-node', 'bare-undici'],
    );
    // How fast is the bench's business (bench/budgets.ts), not this test's: numbers exist and add up.
    for (const s of result.summary) {
      assert.ok(s.rps > 0, `${s.name}: requests were counted`);
      assert.equal(s.errors, 0, `${s.name} answered every request with 200`);
      assert.ok(s.reqPerCpuSecond > 0 && s.cores > 0, `${s.name}: CPU time was measured`);
      assert.ok(s.p50 > 0 && s.p99 >= s.p50, `${s.name}: latency percentiles`);
    }
    const bare = result.summary[1];
    assert.equal(bare.vsBareNode, 1);
    assert.equal(bare.vsDirect, bare.rps / result.summary[0].rps, 'compared with the direct run');
    assert.deepEqual(
      checkBudgets(result).map((c) => c.name),
      ['direct: throughput', 'bare-node: throughput', 'bare-undici: throughput', 'bare-node vs direct'],
    );
    assert.equal(result.samples.length, 6, 'one throughput and one latency run each');

    const dir = mkdtempSync(path.join(tmpdir(), 'kb-bench-test-'));
    try {
      const file = writeJSON(result, dir);
      assert.deepEqual(
        JSON.parse(readFileSync(file, 'utf8')).summary,
        JSON.parse(JSON.stringify(result.summary)),
      );
      const doc = path.join(dir, 'performance.md');
      writeFileSync(doc, '# Performance\n\nprose before\n');
      updateDoc(doc, renderMarkdown(result, 'x.json'));
      updateDoc(doc, renderMarkdown(result, 'y.json')); // replaces, does not append twice
      const text = readFileSync(doc, 'utf8');
      assert.match(text, /^# Performance\n\nprose before\n/);
      assert.match(text, /\| bare-node \| [\d,]+ \|/);
      assert.equal(text.match(/\| direct \|/g)?.length, 1);
      assert.match(text, /y\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('wrk output is read in its own units', () => {
  const out = `Running 1s test @ http://127.0.0.1:1/
  1 threads and 32 connections
  Latency Distribution
     50%  402.00us
     75%    1.10ms
     90%    2.00ms
     99%    1.20s
  12345 requests in 1.00s, 14.00MB read
  Non-2xx or 3xx responses: 7
  Socket errors: connect 1, read 2, write 0, timeout 3
Requests/sec:  12345.67
Transfer/sec:     14.00MB
`;
  assert.deepEqual(parseWrk(out), {
    requests: 12345,
    seconds: 1,
    rps: 12345.67,
    p50: 0.402,
    p99: 1200,
    errors: 13,
  });
});
