/**
 * The command line as a child process: from source (`node --import tsx src/cli.ts`, no build
 * needed; in the transpiled copy `npm test` runs in, scripts/compile-tests.ts, its src/cli.js) or a
 * built bin. Output is collected; tests wait for a line instead of sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
/** How to run src/cli.ts without building: the argv prefix (its transpiled twin when there is one). */
export const FROM_SOURCE = existsSync(resolve(ROOT, 'src/cli.js'))
  ? [process.execPath, '--enable-source-maps', resolve(ROOT, 'src/cli.js')]
  : [process.execPath, '--import', 'tsx', resolve(ROOT, 'src/cli.ts')];

/** The line `kube-bastion demo` prints for the person to open; group 1 is the URL. */
export const DEMO_URL = /Open:\s+(http:\/\/127\.0\.0\.1:\d+\/)/;

export interface CLIProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends `signal` (unless it has exited) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startCLI(argv: string[], env: NodeJS.ProcessEnv = process.env): CLIProcess {
  const [command, ...args] = argv;
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((done, fail) => {
        const check = () => {
          const m = pattern.exec(out);
          if (!m) return;
          cleanup();
          done(m);
        };
        const early = () => {
          cleanup();
          fail(new Error(`exited (${child.exitCode}) before printing ${pattern}\n${out}\n${err}`));
        };
        // A safety net for a hung child, not a timing assertion.
        const timer = setTimeout(() => {
          cleanup();
          fail(new Error(`nothing matched ${pattern} within ${timeoutMs} ms\n${out}\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout.off('data', check);
          child.off('exit', early);
        };
        child.stdout.on('data', check);
        child.once('exit', early);
        check();
        if (child.exitCode !== null || child.signalCode !== null) early();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = await exited;
      return code;
    },
  };
}
