/**
 * The token store is the person's alone, checked as ssh checks ~/.ssh
 * (StrictModes): a folder or file another user owns, or that others can
 * write to, is refused — what it holds may have been planted (another user's
 * tokens: the person would act as them) or be read by them later; modes left
 * loose from before (0755, 0644) are tightened, and the person told, since
 * others may have read the tokens already. A file is judged through the
 * handle it is read with (fstat, fchmod), so the file judged is the file
 * read, and it is opened without following a symbolic link; a folder is
 * judged through a handle too but then used by its path, which is enough: a
 * folder swapped in between can neither plant a token (a file is read only
 * when it is the user's own) nor read one (new files are created
 * exclusively, 0600). A symlinked store folder (dotfile managers) is judged
 * by what it points to.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';

export class UnsafeStoreError extends Error {
  readonly code = 'ERR_UNSAFE_STORE';
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeStoreError';
  }
}

/** Prints one line to the person (a store whose modes were tightened). */
export type Warn = (line: string) => void;

/** Owners and modes mean nothing there. */
const POSIX = process.platform !== 'win32';

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** Refuses what another user owns or others can write; tightens to `own` what others can read. */
async function judge(fh: FileHandle, path: string, own: number, warn: Warn): Promise<void> {
  const st = await fh.stat();
  if (st.uid !== process.getuid?.())
    throw new UnsafeStoreError(
      `${path} is owned by another user (uid ${st.uid}), so what it holds may not be yours: remove it, or set XDG_CONFIG_HOME to a folder of your own`,
    );
  if (st.mode & 0o022)
    throw new UnsafeStoreError(
      `${path} is writable by other users (mode ${octal(st.mode)}), so what it holds may not be yours: check it, then run chmod ${octal(own).slice(1)} ${path}`,
    );
  if ((st.mode & 0o777) === own) return;
  try {
    await fh.chmod(own);
  } catch (err) {
    // A file system without Unix modes (vfat, some network mounts) cannot keep the tokens private.
    throw new UnsafeStoreError(
      `${path} has mode ${octal(st.mode)} and could not be made ${octal(own)} (${(err as NodeJS.ErrnoException).code}): set XDG_CONFIG_HOME to a folder on a local disk`,
    );
  }
  if (st.mode & 0o077)
    warn(
      `tightened ${path} from ${octal(st.mode)} to ${octal(own)}: other users of this machine could read it; if they may have, run \`kube-bastion logout\` and log in again`,
    );
}

/** Judges a store folder if it exists (a missing one is made by the caller, 0700). */
export async function guardDir(path: string, warn: Warn): Promise<void> {
  if (!POSIX) return;
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new UnsafeStoreError(`${path} is not a folder: remove it and log in again`);
    throw err;
  }
  try {
    await judge(fh, path, 0o700, warn);
  } finally {
    await fh.close();
  }
}

/** A store file's text, or undefined when there is none; never through a symbolic link. */
export async function readPrivate(path: string, warn: Warn): Promise<string | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP')
      throw new UnsafeStoreError(
        `${path} is a symbolic link, which kube-bastion does not follow (someone may have planted it): remove it and log in again`,
      );
    throw err;
  }
  try {
    if (!(await fh.stat()).isFile())
      throw new UnsafeStoreError(`${path} is not a plain file: remove it and log in again`);
    if (POSIX) await judge(fh, path, 0o600, warn);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** Writes a store file whole: a fresh 0600 file (never an existing one, never through a link) renamed over the old. */
export async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
