/**
 * The benchmark runs the gateway with the node flags of the image it measures:
 * read from the Dockerfile's ENTRYPOINT, this tree's or a baseline commit's.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { entrypointNodeFlags, imageNodeFlags, imageNodeFlagsAt } from '../../bench/lib/image-flags.js';

test('the flags are what sits between node and the script in the last ENTRYPOINT', () => {
  const twoStages = `FROM a AS build
ENTRYPOINT ["/bin/node", "--old-flag", "build.js"]
FROM b
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=4", "--stack-size=900", "dist/cli.js"]
CMD ["serve"]
`;
  assert.deepEqual(entrypointNodeFlags(twoStages), ['--max-semi-space-size=4', '--stack-size=900']);
  assert.deepEqual(entrypointNodeFlags('FROM b\nENTRYPOINT ["/nodejs/bin/node", "dist/cli.js"]\n'), []);
  assert.deepEqual(entrypointNodeFlags('FROM b\nCMD ["node", "x.js"]\n'), []);
  assert.throws(() => entrypointNodeFlags('FROM b\nENTRYPOINT ["node", 4]\n'), /exec-form list of strings/);
});

test("this tree's flags, and a commit's own (none before there was a Dockerfile, or for a commit it cannot read)", () => {
  assert.ok(imageNodeFlags().includes('--max-semi-space-size=4'));
  const first = execFileSync('git', ['rev-list', '--max-parents=0', 'HEAD'], { encoding: 'utf8' })
    .trim()
    .split('\n')[0];
  assert.deepEqual(imageNodeFlagsAt(first), []);
  assert.deepEqual(imageNodeFlagsAt('0'.repeat(40)), []);
});
