/**
 * What a benchmark contestant is: a process to start and a URL (plus headers)
 * to load; everything else — pinning, CPU accounting, rounds — is the
 * harness's job, so adding one is a few lines in bench/contestants.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onFreePorts } from './ports.js';
import { startProcess, waitUntilServing, type Proc } from './proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface BenchContext {
  /** Port of the 1 KiB backend every proxy forwards to. */
  backendPort: number;
  /** A scratch directory for config files. */
  dir: string;
  /** The core the contestant runs on (undefined: no pinning). */
  core: number | undefined;
}

export interface Running {
  url: string;
  headers?: Record<string, string>;
  /** The process whose CPU time is the contestant's (with its descendants). */
  pid: number;
  stop(): Promise<void>;
}

export interface Contestant {
  name: string;
  /** One line for the report: what it is and how it is configured. */
  description: string;
  start(ctx: BenchContext): Promise<Running>;
}

/** How to start a process contestant on `port` and where to load it. */
export interface Launch {
  command: string;
  args: string[];
  url: string;
  headers?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/** A contestant that is a command line: started, polled until it answers 200, then measured. */
export function processContestant(
  name: string,
  description: string,
  launch: (ctx: BenchContext, port: number) => Launch | Promise<Launch>,
): Contestant {
  return {
    name,
    description,
    start: (ctx) =>
      onFreePorts(1, async ([port]) => {
        const { command, args, url, headers, env } = await launch(ctx, port);
        const proc: Proc = startProcess(command, args, { core: ctx.core, cwd: ROOT, env });
        try {
          await waitUntilServing(url, proc, headers);
        } catch (err) {
          await proc.stop();
          throw err;
        }
        return { url, headers, pid: proc.pid, stop: () => proc.stop() };
      }),
  };
}
