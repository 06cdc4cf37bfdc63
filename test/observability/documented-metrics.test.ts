/**
 * docs/operations.md is what an operator builds dashboards and alerts from:
 * every metric it lists must be on a running gateway's /metrics with the
 * documented type, and every metric the gateway serves must be listed there
 * (prom-client's process metrics, which the page mentions as a group, apart).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { scrape } from '../support/scrape.js';

const OPERATIONS = new URL('../../docs/operations.md', import.meta.url);

/** The rows of the Metrics table: `| \`name\` | type | labels | meaning |`. */
function documentedMetrics(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(OPERATIONS, 'utf8').split('\n')) {
    // Padded or not: `npm run format` (prettier) aligns the table.
    const row = /^\|\s*`(kube_bastion_[a-z_]+)`\s*\|\s*([a-z]+)\s*\|/.exec(line);
    if (row) out.set(row[1], row[2]);
  }
  return out;
}

/** prom-client's process metrics under the gateway's prefix, which the page names only as a group. */
async function processMetrics(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kube_bastion_' });
  return new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
}

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

test('the metrics docs/operations.md lists are exactly the ones a gateway serves, with their types', async () => {
  const documented = documentedMetrics();
  assert.ok(documented.size >= 20, `the Metrics table was read (${documented.size} rows)`);
  const processOnes = await processMetrics();
  const served = new Map([...(await scrape(h.adminURL)).types].filter(([name]) => !processOnes.has(name)));

  const undocumented = [...served.keys()].filter((name) => !documented.has(name));
  assert.deepEqual(undocumented, [], 'served on /metrics but not in docs/operations.md');
  const missing = [...documented.keys()].filter((name) => !served.has(name));
  assert.deepEqual(missing, [], 'in docs/operations.md but not served on /metrics');
  for (const [name, type] of documented) assert.equal(served.get(name), type, `type of ${name}`);
});

test('the process metrics the page promises are there, under the same prefix', async () => {
  const served = (await scrape(h.adminURL)).types;
  for (const name of await processMetrics()) assert.ok(served.has(name), name);
});
