import assert from 'node:assert/strict';
import test from 'node:test';
import { renderTunnelMarkdown } from '../../bench/report.js';
import type { TunnelDirection, TunnelResult } from '../../bench/tunnel.js';

const direction = (tunnelMBps: number, gatewayCpuMsPerMB: number): TunnelDirection => ({
  directMBps: 1000,
  tunnelMBps,
  ratio: tunnelMBps / 1000,
  bareRelaysMBps: 800,
  nativeRelaysMBps: 1200,
  gatewayCpuMsPerMB,
  clientCpuMsPerMB: 1,
});
const result = (up: number, down: number, gatewayCpu: number): TunnelResult => ({
  bytes: 256e6,
  rounds: 3,
  up: direction(up, gatewayCpu),
  down: direction(down, gatewayCpu),
  loadAverage: [1, 1.5],
});

test('the tunnel table shows a --baseline build as rows of its own, beside this build', () => {
  const markdown = renderTunnelMarkdown(result(500, 600, 1.2), 'bench/results/x.json', {
    label: 'baseline HEAD~1',
    tunnel: result(400, 450, 2),
  });
  const rows = markdown.split('\n').filter((l) => l.startsWith('| up') || l.startsWith('| down'));
  assert.deepEqual(
    rows.map((r) => r.split('|')[1].trim()),
    ['up (client → backend)', 'down (backend → client)', 'up, baseline HEAD~1', 'down, baseline HEAD~1'],
  );
  // Beside direct, the reference: two bare Node relays in a row, and the tunnel's share of what they move.
  // And what a native relay pair (socat) moves in the same layout, as a share of direct.
  assert.match(rows[0], /500 MB\/s \| 0\.50× \| 800 MB\/s \| 0\.63× \| 1200 MB\/s \(1\.20×\) \| 1\.20 ms/);
  assert.match(rows[2], /400 MB\/s \| 0\.40× \| 800 MB\/s \| 0\.50× \| 1200 MB\/s \(1\.20×\) \| 2\.00 ms/);
  assert.match(markdown, /the baseline's run: 1\.0 → 1\.5/);
  assert.doesNotMatch(renderTunnelMarkdown(result(500, 600, 1.2)), /baseline/);
});

test('without socat on the machine, its column says so instead of a number', () => {
  const t = result(500, 600, 1.2);
  delete t.up.nativeRelaysMBps;
  delete t.down.nativeRelaysMBps;
  const markdown = renderTunnelMarkdown(t);
  const up = markdown.split('\n').find((l) => l.startsWith('| up'))!;
  assert.match(up, /\| 0\.63× \| – \| 1\.20 ms/);
  assert.match(markdown, /two socat relays/);
});
