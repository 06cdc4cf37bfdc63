/**
 * One refresh at a time per gateway, across every `kube-bastion` process of
 * the user. Refresh tokens rotate and a used one revokes the whole sign-in,
 * so two processes refreshing with the same token would sign the user out
 * (openunison#60).
 *
 * The lock is a numbered file, `<file>.<n>`, holding its holder's pid and a
 * nonce: made whole aside and linked into place, so of the callers that make
 * the same number exactly one succeeds. The highest number is the lock's
 * state: held while its holder lives (and for at most `staleMs`: a holder
 * that hung is overtaken), free once released (renamed `<file>.<n>.released`)
 * or abandoned; whoever then makes the next number holds it. A lock is never
 * deleted while another caller may still take it for the current one — the
 * way the single-file lock of before failed: a takeover moved a fresh lock
 * aside to check it, and a third caller made another in that instant (two
 * holders, one sign-out). A holder deletes only numbers below its own, after
 * checking that nobody made a higher one; a caller that made a number from
 * an old listing sees the higher one then, and lets go.
 */
import { randomUUID } from 'node:crypto';
import { link, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';

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

/** Whether the lock at `path` is held: its holder alive and the lock younger than `staleMs`. Gone: not held. */
async function held(path: string, staleMs: number): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const pid = Number(text.split(' ')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) return false;
    return Date.now() - info.mtimeMs <= staleMs;
  } catch {
    return false;
  }
}

interface Numbered {
  n: number;
  /** `<file>.<n>` exists: the number is held, or was abandoned. */
  plain: boolean;
  /** `<file>.<n>.released` exists: the number was used before. */
  released: boolean;
}

/** The lock's numbers now, highest first: `<file>.<n>` and `<file>.<n>.released`. */
async function numbers(file: string): Promise<Numbered[]> {
  const prefix = `${basename(file)}.`;
  const found = new Map<number, Numbered>();
  for (const name of await readdir(dirname(file))) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d{1,15})(\.released)?$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const n = Number(m[1]);
    const entry = found.get(n) ?? { n, plain: false, released: false };
    if (m[2] === undefined) entry.plain = true;
    else entry.released = true;
    found.set(n, entry);
  }
  return [...found.values()].sort((a, b) => b.n - a.n);
}

/** Makes `path`, whole, unless it exists; true when this caller made it. */
async function create(path: string, text: string): Promise<boolean> {
  const fresh = `${path}.${randomUUID()}.new`;
  await writeFile(fresh, text, { mode: 0o600, flag: 'wx' });
  try {
    await link(fresh, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    await rm(fresh, { force: true });
  }
}

/**
 * One attempt: the number this caller holds now, or undefined (held by another, or a higher number
 * appeared: look again). `wait` is true when another holds it.
 */
async function attempt(file: string, mine: string, staleMs: number): Promise<{ n?: number; wait: boolean }> {
  const [top] = await numbers(file);
  if (top?.plain && (await held(`${file}.${top.n}`, staleMs))) return { wait: true };
  const n = (top?.n ?? 0) + 1;
  if (!(await create(`${file}.${n}`, mine))) return { wait: false };
  const now = await numbers(file);
  // Made from an old listing: a higher number is the lock's state, or this one was used and released
  // before (the highest number ever made stays visible, so a number nobody used has no released twin).
  if (now[0]?.n !== n || now[0].released) {
    await rm(`${file}.${n}`, { force: true });
    return { wait: false };
  }
  // Below ours, every number is released or abandoned: nobody can take those for the current lock.
  for (const { n: older } of now.slice(1)) {
    await rm(`${file}.${older}`, { force: true });
    await rm(`${file}.${older}.released`, { force: true });
  }
  return { n, wait: false };
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
  let n: number | undefined;
  for (let pause = 20; n === undefined;) {
    const got = await attempt(file, mine, staleMs);
    n = got.n;
    if (n !== undefined || !got.wait) continue;
    if (Date.now() - started > waitMs) throw new LockTimeoutError(file, Date.now() - started);
    await changeOf(file, pause);
    pause = Math.min(pause * 2, 500);
  }
  try {
    return await fn();
  } finally {
    // The number stays visible as released, so the next caller makes a higher one. Gone when a holder
    // that outlived `staleMs` was overtaken (its successor removed it): nothing to release then.
    await rename(`${file}.${n}`, `${file}.${n}.released`).catch(() => undefined);
  }
}
