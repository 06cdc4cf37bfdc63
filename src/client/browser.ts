/**
 * Opens a URL in the user's browser, as other command-line tools do: the
 * commands in `$BROWSER` (a `:`-separated list, `%s` standing for the URL)
 * in order, else the platform's opener. Never fails: when nothing opens (an
 * SSH session, an empty `$BROWSER`) the URL the caller printed is the way.
 * The URL goes to the program as one argument, never through a shell.
 */
import { spawn } from 'node:child_process';

function platformOpener(url: string): string[] {
  if (process.platform === 'darwin') return ['open', url];
  if (process.platform === 'win32') return ['rundll32', 'url.dll,FileProtocolHandler', url];
  return ['xdg-open', url];
}

/** The commands to try, each as argv. */
export function browserCommands(url: string, env: NodeJS.ProcessEnv = process.env): string[][] {
  if (env.BROWSER === undefined) return [platformOpener(url)];
  return env.BROWSER.split(':')
    .map((entry) => entry.trim().split(/\s+/).filter(Boolean))
    .filter((argv) => argv.length > 0)
    .map((argv) =>
      argv.some((a) => a.includes('%s')) ? argv.map((a) => a.replaceAll('%s', url)) : [...argv, url],
    );
}

function trySpawn(argv: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}

/** True when some program was started for the URL (not a promise that a page opened). */
export async function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  for (const argv of browserCommands(url, env)) if (await trySpawn(argv)) return true;
  return false;
}
