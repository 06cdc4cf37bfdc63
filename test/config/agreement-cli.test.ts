/**
 * The rest of the corpus runs both commands in this process, as the commands call the
 * loader and the gateway; these cases run them as the real command line does — child
 * processes of src/cli.ts — so the wiring from argv to exit code and printed lines is
 * the one the in-process runs stand for: an accepted file, a refused config, a refused file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  agreeAsProcesses,
  fixtureCases,
  namesAFile,
  readFixtures,
  startWorld,
  type World,
} from './corpus.js';

const good = readFixtures('good');
const bad = readFixtures('bad');
const sample = fixtureCases([
  good.find((f) => f.name.includes('jwt-and-static-services'))!,
  bad.find((f) => !namesAFile(f))!,
  bad.find(namesAFile)!,
]);

let world: World;
let dir: string;
before(async () => {
  world = await startWorld();
  dir = mkdtempSync(join(tmpdir(), 'bastion-cli-agreement-'));
});
after(async () => {
  await world?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const c of sample) {
  const what = c.refuse
    ? `both exit 1 naming ${c.refuse.join(', ')}`
    : 'check-config exits 0, serve becomes ready';
  test(`the real command line on ${c.name}: ${what}`, () => agreeAsProcesses(c, world, dir));
}
