/**
 * The Pod-check and portal parts of `npm run bench` on a small cluster: the
 * compiled gateway against the fake API server, the numbers they report, and
 * the Markdown they write. Timings are reported, not asserted; counts are.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayCLI } from '../../bench/lib/build.js';
import { runPodCheck } from '../../bench/pod-check.js';
import { runPortal } from '../../bench/portal.js';
import { renderPodCheckMarkdown, renderPortalMarkdown } from '../../bench/report.js';

test('the Pod check reads each new Pod once, then nothing', { timeout: 120_000 }, async () => {
  const rows = await runPodCheck({ sizes: [1, 5], services: 2, later: 3, cli: gatewayCLI() });
  assert.deepEqual(
    rows.map((r) => [r.endpoints, r.podReadsFirst, r.podReadsTwin]),
    [
      [1, 1, 0],
      [5, 5, 0],
    ],
  );
  for (const r of rows) assert.ok(r.firstMs > 0 && r.twinMs > 0 && r.laterMs > 0);
  assert.match(renderPodCheckMarkdown(rows), /^\| 5 \| [\d.]+ ms \| 5 \|/m);
});

test(
  'a portal page on a cluster larger than its budget sends at most 100 reviews',
  { timeout: 120_000 },
  async () => {
    const r = await runPortal({ services: 200, namespaces: 10, cli: gatewayCLI() });
    assert.equal(r.reviews, 100, 'the budget is spent, not exceeded');
    assert.equal(r.cachedReviews, 0);
    assert.ok(r.unchecked > 0);
    assert.match(renderPortalMarkdown(r), /^\| 200 \| 400 \| 10 \| 100 \|/m);
  },
);
