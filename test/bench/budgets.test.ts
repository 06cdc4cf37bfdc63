/**
 * The timing budgets `npm run bench` prints: the limits tests no longer hold,
 * judged on given numbers (no timing here).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkBudgets, renderBudgets } from '../../bench/budgets.js';
import type { Summary } from '../../bench/harness.js';
import type { ScaleResult } from '../../bench/scale.js';

const summary = (name: string, rps: number, vsDirect?: number) => ({ name, rps, vsDirect }) as Summary;
const scale = (readyMs: number, shiftFirstMs: number[]) =>
  ({ services: 10_000, readyMs, shiftFirstMs }) as ScaleResult;

test('each budget holds or is reported exceeded, by name and number', () => {
  const checks = checkBudgets({
    summary: [summary('direct', 20_000), summary('bare-node', 40, 1.8)],
    scale: scale(2440, [0.9, 1200]),
  });
  assert.deepEqual(
    checks.map((c) => [c.name, c.measured, c.ok]),
    [
      ['direct: throughput', '20000 req/s', true],
      ['bare-node: throughput', '40 req/s', false],
      ['bare-node vs direct', '1.80×', false],
      ['large cluster: process start → ready (10000 Services)', '2.44 s', true],
      ['EndpointSlice change → first request on the new endpoint (slowest)', '1200.0 ms', false],
    ],
  );
  const text = renderBudgets(checks);
  assert.match(text, /^ {2}ok {6} {2}direct: throughput: 20000 req\/s \(budget ≥ 100 req\/s\)$/m);
  assert.match(text, /^ {2}EXCEEDED {2}EndpointSlice change/m);
});

test('parts that did not run have no budget rows', () => {
  assert.deepEqual(checkBudgets({ summary: [] }), []);
});
