/**
 * The image cannot be built here (no registry), so the Dockerfile is checked by
 * reading it: dockerfile-utils' linter, then the properties the chart relies on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { validate } from 'dockerfile-utils';
import { entrypointNodeFlags } from '../../bench/lib/image-flags.js';
import { ROOT } from './helm-tool.js';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions per stage, with line continuations joined and comments dropped. */
function stages(text: string): Instruction[][] {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n');
  const result: Instruction[][] = [];
  for (const line of lines) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!m || line.trim().startsWith('#')) continue;
    const instruction = { keyword: m[1], args: m[2] };
    if (instruction.keyword === 'FROM') result.push([]);
    result.at(-1)?.push(instruction);
  }
  return result;
}

const all = stages(dockerfile);
const runtime = all.at(-1)!;
const one = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword);

test('dockerfile-utils finds no problem in the Dockerfile (and does find them in a broken one)', () => {
  assert.deepEqual(
    validate(dockerfile).map((d) => `line ${d.range.start.line + 1}: ${JSON.stringify(d.message)}`),
    [],
  );
  assert.ok(
    validate('FROM node:24\nMAINTAINER someone\nHEALTHCHECK CMD\n').length >= 2,
    'the linter is live',
  );
});

test('multi-stage: the build stage compiles with dev dependencies, the runtime gets production ones only', () => {
  assert.ok(all.length >= 2, 'at least a build and a runtime stage');
  const runs = all.flatMap((s) => one(s, 'RUN')).map((i) => i.args);
  assert.ok(
    runs.some((r) => /npm ci\b(?!.*--omit=dev)/.test(r)),
    'a stage installs every dependency to build',
  );
  assert.ok(runs.some((r) => /npm run build/.test(r)));
  assert.ok(
    runs.some((r) => /npm ci\b.*--omit=dev/.test(r)),
    'a stage installs production dependencies only',
  );
  const copies = one(runtime, 'COPY').map((i) => i.args);
  assert.ok(
    copies.some((c) => /--from=\w+ \/app\/dist /.test(c)),
    'the runtime copies the compiled dist/',
  );
  assert.ok(
    copies.some((c) => /package\.json/.test(c)),
    'package.json ("type": "module", version) is in the image',
  );
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.type, 'module');
  assert.ok(pkg.scripts.build, 'npm run build exists');
});

test('the runtime stage: Node 24, no shell needed, numeric non-root user, production mode, OCI labels', () => {
  const from = one(runtime, 'FROM')[0].args;
  const base = /\$\{(\w+)\}/.exec(from)?.[1];
  const image = base ? new RegExp(`ARG ${base}=(\\S+)`).exec(dockerfile)?.[1] : from;
  assert.match(image ?? '', /distroless\/nodejs24|node:24/);
  assert.deepEqual(one(runtime, 'RUN'), [], 'nothing runs a shell in the runtime stage');
  const user = one(runtime, 'USER').at(-1)?.args ?? '';
  assert.match(user, /^[1-9]\d*(:\d+)?$/, 'USER is a numeric non-root UID');
  assert.equal(user.split(':')[0], '65532', 'the UID the chart runs as (podSecurityContext.runAsUser)');
  assert.ok(one(runtime, 'ENV').some((i) => /NODE_ENV=production/.test(i.args)));
  const labels = one(runtime, 'LABEL')
    .map((i) => i.args)
    .join(' ');
  for (const key of ['title', 'description', 'source', 'licenses', 'version']) {
    assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`));
  }
  assert.deepEqual(one(runtime, 'EXPOSE')[0]?.args.split(/\s+/), ['8080', '9090']);
});

test('the process is PID 1 in exec form and runs `node dist/cli.js serve --config` as the chart expects', () => {
  const entrypoint = JSON.parse(one(runtime, 'ENTRYPOINT')[0].args) as string[];
  const cmd = JSON.parse(one(runtime, 'CMD')[0].args) as string[];
  assert.match(entrypoint[0], /\/node$/);
  assert.equal(entrypoint.at(-1), 'dist/cli.js');
  // Node flags sit between the two, and the benchmark reads them from here to run the gateway the same way.
  assert.deepEqual(entrypoint.slice(1, -1), entrypointNodeFlags(dockerfile));
  assert.deepEqual(entrypointNodeFlags(dockerfile), ['--max-semi-space-size=4']);
  assert.deepEqual(cmd, ['serve', '--config', '/etc/kube-bastion/config.yaml']);
  const deployment = readFileSync(join(ROOT, 'helm/kube-bastion/templates/deployment.yaml'), 'utf8');
  assert.match(deployment, /args: \[serve, --config, \/etc\/kube-bastion\/config\.yaml\]/);
});

test('.dockerignore lets in exactly what the Dockerfile copies from the build context', () => {
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
  const allowed = ignore
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''));
  assert.match(ignore, /^\*$/m, 'everything else (node_modules, .git, .tools, tests) stays out');
  const sources = all
    .flatMap((s) => one(s, 'COPY'))
    .filter((i) => !i.args.startsWith('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  for (const source of sources)
    assert.ok(allowed.includes(source.replace(/\/$/, '')), `${source} is excluded by .dockerignore`);
});
