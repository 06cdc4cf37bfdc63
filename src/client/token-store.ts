/**
 * Where `kube-bastion login` keeps a terminal user's credentials: one file per
 * exact gateway origin under `$XDG_CONFIG_HOME/kube-bastion/` (else
 * `~/.config/kube-bastion/`), the folder 0700 and every file 0600, written
 * atomically; a store another user owns or can write to is refused
 * (store-guard.ts). A file is found by its origin only, so a token can never be
 * handed to another host; `default` names the origin used last, for commands
 * run without `--server`.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { guardDir, readPrivate, writePrivate, type Warn } from './store-guard.js';

/** What the gateway issued to this terminal, as stored. Times are ms since the epoch. */
export interface StoredCredentials {
  /** The exact origin the user typed at login (gateway-origin.ts); the only place these are sent. */
  origin: string;
  accessToken: string;
  accessTokenExpiresAt: number;
  /** When the access token was issued (its lifetime decides how early it is renewed). */
  accessTokenIssuedAt?: number;
  refreshToken?: string;
  /** After this the refresh token is refused (idle limit or the sign-in's end): log in again. */
  refreshTokenExpiresAt?: number;
  /** The identity the gateway reported at login (for `whoami` without a round trip). */
  identity?: { username: string; groups: string[]; email?: string };
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/')
      ? env.XDG_CONFIG_HOME
      : join(homedir(), '.config');
  return join(base, 'kube-bastion');
}

/** The file for one origin: a digest, so no character of a host name can reach the file system. */
function fileFor(dir: string, origin: string): string {
  return join(dir, 'credentials', `${createHash('sha256').update(origin).digest('hex').slice(0, 32)}.json`);
}

const toStderr: Warn = (line) => void process.stderr.write(`kube-bastion: ${line}\n`);

export class TokenStore {
  constructor(
    readonly dir: string = configDir(),
    private readonly warn: Warn = toStderr,
  ) {}

  /** Both folders are the user's alone before anything in them is read or written (store-guard.ts). */
  private async guard(): Promise<void> {
    await guardDir(this.dir, this.warn);
    await guardDir(join(this.dir, 'credentials'), this.warn);
  }

  private async ensureDirs(): Promise<void> {
    await this.guard(); // before mkdir: a folder someone else made is refused, not used
    await mkdir(join(this.dir, 'credentials'), { recursive: true, mode: 0o700 });
    await this.guard();
  }

  async load(origin: string): Promise<StoredCredentials | undefined> {
    await this.guard();
    const text = await readPrivate(fileFor(this.dir, origin), this.warn);
    if (text === undefined) return undefined;
    const value = JSON.parse(text) as StoredCredentials;
    // A file copied from another origin's name is not this origin's.
    return value.origin === origin ? value : undefined;
  }

  /**
   * Stores an origin's credentials; `asDefault` (a login) also makes it the
   * origin of commands run without `--server` — a refresh does not.
   */
  async save(credentials: StoredCredentials, o: { asDefault?: boolean } = {}): Promise<void> {
    await this.ensureDirs();
    await writePrivate(fileFor(this.dir, credentials.origin), JSON.stringify(credentials, null, 2));
    if (o.asDefault ?? true) await writePrivate(join(this.dir, 'default'), `${credentials.origin}\n`);
  }

  /**
   * The lock file that makes refreshing this origin's tokens one process at a
   * time (refresh-lock.ts); its folder exists once credentials were saved.
   */
  lockFile(origin: string): string {
    return fileFor(this.dir, origin).replace(/\.json$/, '.lock');
  }

  async delete(origin: string): Promise<void> {
    await this.guard();
    await rm(fileFor(this.dir, origin), { force: true });
    if ((await this.defaultOrigin()) === origin) await rm(join(this.dir, 'default'), { force: true });
  }

  /** The origin of the last login, for commands run without `--server`. */
  async defaultOrigin(): Promise<string | undefined> {
    await this.guard();
    return (await readPrivate(join(this.dir, 'default'), this.warn))?.trim() || undefined;
  }
}
