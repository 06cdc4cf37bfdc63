/**
 * One refresh at a time per gateway, across every `kube-bastion` process of
 * the user: a lock file made with O_EXCL. Refresh tokens rotate and a used one
 * revokes the whole sign-in, so two processes refreshing with the same token
 * would sign the user out (openunison#60). The holder writes its pid; a lock
 * whose holder is gone, or that is older than `staleMs`, is taken over.
 */
import { open, readFile, rm, stat } from 'node:fs/promises';
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

async function abandoned(file: string, staleMs: number): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    const pid = Number(text.trim());
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) return true;
    return Date.now() - info.mtimeMs > staleMs;
  } catch {
    return false; // gone meanwhile, or half-written: try to take it again
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
  for (let pause = 20; ; pause = Math.min(pause * 2, 500)) {
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await abandoned(file, staleMs)) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() - started > waitMs) throw new LockTimeoutError(file, Date.now() - started);
    await changeOf(file, pause);
  }
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}
