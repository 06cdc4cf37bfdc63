/**
 * One refresh at a time per gateway, across every `kube-bastion` process of
 * the user: a lock file that appears whole (written aside, then linked into
 * place, which fails when one exists). Refresh tokens rotate and a used one
 * revokes the whole sign-in, so two processes refreshing with the same token
 * would sign the user out (openunison#60). The lock holds its holder's pid and
 * a nonce; a lock whose holder is gone, or that is older than `staleMs`, is
 * taken over — by moving it aside (one of several callers wins the rename) and
 * deleting it only if what moved is the very lock judged abandoned (its nonce),
 * else putting it back: a plain delete could remove the fresh lock another
 * caller had just made, and both would hold it.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { watch } from 'node:fs';
import { dirname } from 'node:path';

export class LockTimeoutError extends Error {
  readonly code = 'ERR_LOCK_TIMEOUT';
  constructor(file: string, waitedMs: number) {
    super(`another kube-bastion process has held ${file} for over ${Math.round(waitedMs / 1000)} s`);
    this.name = 'LockTimeoutError';
  }
}

export interface LockOptions {
  /** A lock older than this is presumed abandoned (its holder hung or died mid-refresh). */
  staleMs?: number;
  /** Longest wait for another holder. */
  waitMs?: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's text when it is abandoned (its holder gone, or older than `staleMs`); else undefined. */
async function abandoned(file: string, staleMs: number): Promise<string | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    const pid = Number(text.split(' ')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) return text;
    return Date.now() - info.mtimeMs > staleMs ? text : undefined;
  } catch {
    return undefined; // gone meanwhile: try to take it again
  }
}

/** Makes the lock, whole, if there is none; true when this caller holds it now. */
async function create(file: string, text: string): Promise<boolean> {
  const fresh = `${file}.${randomUUID()}.new`;
  await writeFile(fresh, text, { mode: 0o600, flag: 'wx' });
  try {
    await link(fresh, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    await rm(fresh, { force: true });
  }
}

/** Removes the lock whose text is `judged` (abandoned, or our own at release), and nothing else. */
async function takeOver(file: string, judged: string): Promise<void> {
  const aside = `${file}.${randomUUID()}.stale`;
  try {
    await rename(file, aside);
  } catch {
    return; // gone: another caller took it over first
  }
  try {
    // A lock made since it was judged (its own nonce) goes back where it was. (Should a third caller make
    // one in the instant between the move and the put-back, the put-back fails and two hold it: that takes
    // three callers within microseconds of each other, where a plain delete took two within milliseconds.)
    if ((await readFile(aside, 'utf8')) !== judged) await link(aside, file).catch(() => undefined);
  } finally {
    await rm(aside, { force: true });
  }
}

/** Resolves when `file` changes or disappears, or after `ms` at the latest (a missed event costs no more). */
function changeOf(file: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: ReturnType<typeof watch> | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      watcher = watch(dirname(file), done);
      watcher.on('error', done);
    } catch {
      // No watch on this file system: the timer alone.
    }
  });
}

/** Runs `fn` holding the lock `file` (its folder must exist). */
export async function withLock<T>(file: string, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  const staleMs = o.staleMs ?? 60_000;
  const waitMs = o.waitMs ?? 90_000;
  const started = Date.now();
  const mine = `${process.pid} ${randomUUID()}\n`;
  for (let pause = 20; ; pause = Math.min(pause * 2, 500)) {
    if (await create(file, mine)) break;
    const judged = await abandoned(file, staleMs);
    if (judged !== undefined) {
      await takeOver(file, judged);
      continue;
    }
    if (Date.now() - started > waitMs) throw new LockTimeoutError(file, Date.now() - started);
    await changeOf(file, pause);
  }
  try {
    return await fn();
  } finally {
    // Ours only: a holder that outlived `staleMs` may find its lock taken over.
    await takeOver(file, mine);
  }
}
