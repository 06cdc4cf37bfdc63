#!/usr/bin/env node
/**
 * kube-bastion command line: argv → one command module. This file only
 * dispatches; each command (its flags, help line and work) is a module of
 * its own, loaded when it is asked for. To add one, write the module and
 * add its line to COMMANDS.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type Command } from './commands/command.js';
import { VERSION } from './version.js';

type CommandModule = { command: Command };

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  serve: () => import('./commands/serve.js'),
  'check-config': () => import('./commands/check-config.js'),
  demo: () => import('./commands/demo.js'),
  // The terminal's (docs/terminal.md): light imports, since `token` runs in `$(…)` and as an exec plugin.
  login: () => import('./client/commands/login.js'),
  token: () => import('./client/commands/token.js'),
  whoami: () => import('./client/commands/whoami.js'),
  logout: () => import('./client/commands/logout.js'),
  connect: () => import('./client/commands/connect.js'),
};
/** What runs when the first argument is a flag or there is none. */
const DEFAULT_COMMAND = 'serve';

const TITLE = `kube-bastion ${VERSION} — an identity-aware gateway to the services, pods and nodes of a Kubernetes cluster`;

const GLOBAL_OPTIONS: Command['options'] = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  version: { type: 'boolean', short: 'v', help: 'print the version' },
};

/** Each flag once (commands share some, e.g. --config), then --help and --version. */
function optionLines(commands: Command[]): string[] {
  const seen = new Map<string, string>();
  for (const options of [...commands.map((c) => c.options), GLOBAL_OPTIONS])
    for (const [name, o] of Object.entries(options)) {
      if (seen.has(name)) continue;
      const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
      seen.set(name, `  ${flag.padEnd(22)}  ${o.help}`);
    }
  return [...seen.values()];
}

async function helpText(names: string[]): Promise<string> {
  const commands = await Promise.all(names.map(async (n) => (await COMMANDS[n]()).command));
  const width = Math.max(...names.map((n) => n.length)) + 3;
  return [
    TITLE,
    '',
    'Usage:',
    ...commands.map((c) => `  kube-bastion ${c.usage}`),
    '',
    'Commands:',
    ...commands.map((c, i) => `  ${names[i].padEnd(width)}${c.summary}`),
    '',
    'Options:',
    ...optionLines(commands),
    '',
  ].join('\n');
}

function usageError(message: string, help: string): never {
  process.stderr.write(`kube-bastion: ${message}\n\n${help}`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === '-h' || first === '--help' || first === 'help') {
    const asked = rest.filter((n) => n in COMMANDS); // `help check-config`: that command's help
    return void process.stdout.write(await helpText(asked.length > 0 ? asked : Object.keys(COMMANDS)));
  }
  if (first === '-v' || first === '--version') return void process.stdout.write(`${VERSION}\n`);
  const named = first !== undefined && !first.startsWith('-');
  const name = named ? first : DEFAULT_COMMAND;
  if (!(name in COMMANDS)) usageError(`unknown command "${name}"`, await helpText(Object.keys(COMMANDS)));
  const { command } = await COMMANDS[name]();
  const help = await helpText([name]);

  const options: ParseArgsConfig['options'] = {};
  for (const [flag, o] of Object.entries({ ...command.options, ...GLOBAL_OPTIONS }))
    options[flag] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  let parsed;
  try {
    parsed = parseArgs({ args: named ? rest : argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    usageError((err as Error).message, help);
  }
  const { values, positionals } = parsed;
  if (values.help) return void process.stdout.write(help);
  if (values.version) return void process.stdout.write(`${VERSION}\n`);
  if (positionals.length > (command.maxPositionals ?? 0))
    usageError(`unexpected argument "${positionals[command.maxPositionals ?? 0]}"`, help);
  try {
    await command.run(values as never, positionals);
  } catch (err) {
    if (err instanceof UsageError) usageError(err.message, help);
    throw err;
  }
}

await main(process.argv.slice(2));
