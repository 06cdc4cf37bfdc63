/**
 * The refresh lock (src/client/refresh-lock.ts) across the user's processes:
 * one holder at a time, also when the lock a crashed process left behind is
 * taken over by several at once — two holders would refresh with the same
 * token, which the gateway takes for a replay, signing the user out.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
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
  for (let round = 0; round < 40; round++) {
    const file = join(dir, `crashed-${round}.lock`);
    // The crashed holder's number, and older ones released before it.
    writeFileSync(`${file}.1.released`, '');
    writeFileSync(`${file}.2`, `${deadPid()} x\n`);
    assert.equal(await mostAtOnce(file, 6), 1, `round ${round}`);
  }
  // What is left of each lock: its last number, released (no crashed lock, no file made aside).
  const left = readdirSync(dir).filter((f) => f.startsWith('crashed-'));
  assert.equal(left.length, 40, left.join(' '));
  for (const f of left) assert.match(f, /^crashed-\d+\.lock\.\d+\.released$/);
});

test('a lock its living holder has kept past staleMs is overtaken, and the number it held is swept', async () => {
  const file = join(dir, 'hung.lock');
  writeFileSync(`${file}.7`, `${process.pid} hung\n`); // alive: this very process, but two minutes old
  const old = new Date(Date.now() - 120_000);
  utimesSync(`${file}.7`, old, old);
  const during = await withLock(file, () =>
    Promise.resolve(readdirSync(dir).filter((f) => f.startsWith('hung.'))),
  );
  assert.deepEqual(during, ['hung.lock.8']);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('hung.')),
    ['hung.lock.8.released'],
  );
});
