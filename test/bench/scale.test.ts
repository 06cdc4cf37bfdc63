/**
 * The large-cluster part of `npm run bench` on a small cluster: the compiled
 * gateway gets ready against the fake API server, its memory is read, and
 * traffic follows an EndpointSlice change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayCLI } from '../../bench/lib/build.js';
import { renderScaleMarkdown } from '../../bench/report.js';
import { runScale } from '../../bench/scale.js';

test('the large-cluster run reports ready time, memory and traffic shift', { timeout: 90_000 }, async () => {
  const r = await runScale({ services: 200, endpointsPerService: 3, shifts: 2, cli: gatewayCLI() });
  assert.equal(r.endpoints, 600);
  // How fast is the bench's business (bench/budgets.ts): here, that each number was measured.
  assert.ok(r.readyMs > 0, `ready after ${r.readyMs} ms`);
  assert.ok(r.readyCpuMs > 0, `${r.readyCpuMs} ms of CPU to ready`);
  assert.ok(
    r.rssReadyMB > 20 && r.rssPeakMB >= r.rssReadyMB,
    `RSS ${r.rssReadyMB} MB, peak ${r.rssPeakMB} MB`,
  );
  assert.ok(r.heapUsedMB > 1, `heap ${r.heapUsedMB} MB read from /metrics`);
  assert.equal(r.shiftFirstMs.length, 2);
  for (const ms of r.shiftFirstMs) assert.ok(Number.isFinite(ms) && ms >= 0, `traffic moved after ${ms} ms`);
  const markdown = renderScaleMarkdown(r);
  assert.match(markdown, /\| 200 \| 600 \|/);
  assert.match(markdown, /first request on it after/);
});
