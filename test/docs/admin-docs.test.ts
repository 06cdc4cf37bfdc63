/**
 * The admin docs point at real things: links resolve, the source files the
 * architecture page names exist, and the pipeline order it shows is the code's.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = [
  'docs/install.md',
  'docs/security.md',
  'docs/architecture.md',
  'docs/configuration.md',
  'helm/kube-bastion/README.md',
];
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

test('relative links in the admin docs lead to files that exist', () => {
  const broken: string[] = [];
  for (const doc of DOCS) {
    for (const [, target] of read(doc).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      if (!existsSync(resolve(ROOT, dirname(doc), target))) broken.push(`${doc}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});

test('every source file and folder the architecture page names exists', () => {
  const doc = read('docs/architecture.md');
  const paths = new Set(
    [...doc.matchAll(/(?:src\/)?\b((?:[a-z-]+\/)+(?:[a-z-]+\.ts)?)(?=[`<\s,)])/g)]
      .map((m) => m[1])
      .filter((p) =>
        /^(authn|authz|config|kube|observability|proxy|request|server|upstream-identity|web)\//.test(p),
      ),
  );
  assert.ok(paths.size > 20, `expected many module references, found ${paths.size}`);
  const missing = [...paths].filter((p) => !existsSync(join(ROOT, 'src', p)));
  assert.deepEqual(missing, []);
});

test('the architecture page shows the stage order of src/server/pipeline.ts and assemble.ts, with a Mermaid diagram', () => {
  const doc = read('docs/architecture.md');
  assert.match(doc, /```mermaid\nflowchart/);
  const pipeline = read('src/server/pipeline.ts');
  // authorize and admit run inside small wrappers (decide, admit) that record a refusal for the audit.
  assert.match(pipeline, /function decide\([^]*?stages\.authorize\(/);
  assert.match(pipeline, /function admit\([^]*?stages\.admit\(/);
  const body = pipeline.slice(pipeline.indexOf('async function admitAndResolve('));
  const order = ['stages.authenticate(', 'stages.attributes(', 'decide(', 'admit(', 'stages.resolve('];
  const calls = order.map((call) => body.indexOf(call));
  assert.ok(
    calls.every((at, i) => at > 0 && (i === 0 || at > calls[i - 1])),
    `admitAndResolve calls ${order.join(' → ')}`,
  );
  assert.match(
    doc,
    /route → authenticate → authorize → admit → resolve → balance \+ forward \(or tunnel\) → record/,
  );
  // The assembly builds the stages in the order a request meets them.
  const assembly = read('src/server/assemble.ts');
  const built = [
    '// route:',
    '// authenticate:',
    '// authorize, then admit:',
    '// resolve:',
    '// balance + forward:',
    '// record:',
  ];
  const at = built.map((mark) => assembly.indexOf(mark));
  assert.ok(
    at.every((i, n) => i > 0 && (n === 0 || i > at[n - 1])),
    `assemble.ts builds ${built.join(' → ')}`,
  );
});

test('install guide: redirect URI, first RoleBinding, upgrading', () => {
  const doc = read('docs/install.md');
  assert.match(doc, /https:\/\/bastion\.example\.com\/auth\/callback/);
  assert.match(doc, /create role bastion-services --resource=services\/proxy/);
  assert.match(doc, /## Upgrading/);
  assert.match(doc, /helm upgrade bastion \.\/helm\/kube-bastion/);
});

test('security page: threat model topics and how to report a vulnerability', () => {
  const doc = read('docs/security.md');
  for (const topic of [
    '## Who can reach what',
    'SSRF',
    'targetRef',
    '169.254.169.254',
    '## Node proxy',
    'CSRF',
    '## Browser sessions',
    '## Reporting a vulnerability',
  ]) {
    assert.ok(doc.includes(topic), `docs/security.md should cover ${topic}`);
  }
});
