/**
 * The refresh lock (src/client/refresh-lock.ts) across the user's processes:
 * one holder at a time, also when the lock a crashed process left behind is
 * taken over by several at once — two holders would refresh with the same
 * token, which the gateway takes for a replay, signing the user out.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { withLock } from '../../src/client/refresh-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'kb-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has ended: what a crash leaves in the lock. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

/** Holders of `file` at once, at most, when `n` callers take it together. */
async function mostAtOnce(file: string, n: number): Promise<number> {
  let active = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: n }, () =>
      withLock(file, async () => {
        most = Math.max(most, ++active);
        // A refresh's round trip: long enough for every other caller to get as far as it can.
        for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
        active--;
      }),
    ),
  );
  return most;
}

test('one holder at a time', async () => {
  assert.equal(await mostAtOnce(join(dir, 'plain.lock'), 6), 1);
});

test('a lock left by a crashed process is taken over by one caller at a time, however many find it at once', async () => {
  for (let round = 0; round < 20; round++) {
    const file = join(dir, `crashed-${round}.lock`);
    writeFileSync(file, `${deadPid()}\n`);
    assert.equal(await mostAtOnce(file, 6), 1, `round ${round}`);
  }
  assert.deepEqual(
    readdirSync(dir).filter((f) => !f.endsWith('.lock') || f.includes('crashed')),
    [],
  );
});
