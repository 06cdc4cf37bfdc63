/**
 * The rewrite benchmark on small bodies: every markup shape runs through the
 * gateway's body rewriter and reports its cost, and the hostile shapes stop
 * at the limit meant for them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderRewriteMarkdown, runRewriteBench, SHAPES } from '../../bench/rewrite.js';

test('the rewrite bench measures every shape and names the limit that stopped it', async () => {
  const rows = await runRewriteBench([2]);
  assert.deepEqual(
    rows.map((r) => r.shape),
    SHAPES.map((s) => s.name),
  );
  const limitOf = (name: string) => rows.find((r) => r.shape.startsWith(name))?.cells[0].limit;
  assert.equal(limitOf('a page of links'), undefined, 'ordinary markup is rewritten to the end');
  assert.equal(limitOf('one unclosed attribute'), 'token');
  assert.equal(limitOf('nested'), 'nesting');
  for (const r of rows) assert.ok(r.cells[0].cpuMsPerMB > 0, r.shape);
  const table = renderRewriteMarkdown(rows);
  assert.match(table, /\| markup \| 2 MB \|/);
  assert.equal(
    table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| markup')).length,
    SHAPES.length,
  );
});
