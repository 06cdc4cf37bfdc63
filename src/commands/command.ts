/**
 * One subcommand of the `kube-bastion` binary: its line in the help, its flags,
 * and what it does. Each command is a module of its own (src/commands/ for the
 * gateway's, src/client/commands/ for the terminal's) that cli.ts loads only
 * when it is asked for, so `kube-bastion token` does not pay for the gateway.
 * Keep a command module's top-level imports light: import the heavy parts in run().
 */

export interface CommandOption {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help (`FILE`, `PORT`); string options only. */
  value?: string;
  help: string;
}

export type CommandOptions = Record<string, CommandOption>;

/** The parsed flags, typed from the option table. */
export type OptionValues<O extends CommandOptions> = {
  [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean;
};

export interface Command<O extends CommandOptions = CommandOptions> {
  /** What follows `kube-bastion` in the help's Usage, e.g. `check-config --config FILE`. */
  usage: string;
  /** One line for the help's command list. */
  summary: string;
  options: O;
  /** Most positional arguments after the command's name (default 0: any is a usage error). */
  maxPositionals?: number;
  /** Runs the command; a UsageError is printed with the usage and exits 2. */
  run(values: OptionValues<O>, positionals: string[]): Promise<void>;
}

/** Declares a command with its flags typed from its option table. */
export const defineCommand = <const O extends CommandOptions>(command: Command<O>): Command<O> => command;

/** The command line was wrong (not the work): exit 2 with the usage. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
