/**
 * `npm run bench -- --baseline <ref>`: a commit is built on its own and runs
 * as one more contestant, and every row gets its ratio against it. The RBAC
 * and audit rows start and serve: the RBAC one authorized by a
 * SubjectAccessReview at the fake API server, the audit one writing a line per
 * request. (They run the baseline's build of HEAD here, to compile once.)
 */
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { baselineContestant } from '../../bench/contestants.js';
import { missingTools, runBench } from '../../bench/harness.js';
import { baselineCLI } from '../../bench/lib/build.js';
import { gatewayContestant } from '../../bench/lib/gateway.js';
import { startNginx, type Nginx } from '../../bench/lib/nginx.js';
import { renderMarkdown } from '../../bench/report.js';

const missing = missingTools();
const skip = missing.length > 0 && !process.env.CI ? `needs ${missing.join(', ')}` : false;

test(
  'a baseline commit runs beside the RBAC and audit rows, and each row gets its ratio',
  { skip, timeout: 180_000 },
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kb-baseline-test-'));
    let backend: Nginx | undefined;
    try {
      // The bench's own directory for this commit: made once, complete before it appears.
      const baseline = baselineCLI('HEAD');
      backend = await startNginx({});
      const ctx = { backendPort: backend.port, dir, core: undefined };
      const rbac = await gatewayContestant(
        'rbac',
        '',
        { jwt: true, rbac: true },
        () => baseline.cli,
        () => baseline.nodeFlags,
      ).start(ctx);
      try {
        const res = await fetch(rbac.url, { headers: rbac.headers });
        assert.equal(res.status, 200, 'allowed by the cluster');
        assert.equal((await res.text()).length, 1024, 'the backend answered');
      } finally {
        await rbac.stop();
      }
      const auditing = gatewayContestant(
        'audit',
        '',
        { jwt: true, rules: true, audit: true },
        () => baseline.cli,
        () => baseline.nodeFlags,
      );
      const audit = await auditing.start(ctx);
      try {
        assert.equal((await fetch(audit.url, { headers: audit.headers })).status, 200);
      } finally {
        await audit.stop();
      }
      const log = readdirSync(dir).find((f) => f.startsWith('audit-'));
      assert.ok(log, 'an audit file was written');
      assert.match(readFileSync(path.join(dir, log), 'utf8'), /bench-user/);

      const result = await runBench({
        contestants: [
          gatewayContestant(
            'kube-bastion-jwt',
            '',
            { jwt: true, rules: true },
            () => baseline.cli,
            () => baseline.nodeFlags,
          ),
          baselineContestant(baseline),
        ],
        seconds: 2,
        warmupSeconds: 0,
        rounds: 1,
        connections: 4,
      });
      result.baseline = { ref: 'HEAD', commit: baseline.commit, as: 'kube-bastion-jwt' };
      assert.deepEqual(result.failed, []);
      for (const s of result.summary) {
        assert.equal(s.errors, 0, `${s.name} answered every request with 200`);
        assert.ok(s.vsBaseline! > 0, `${s.name} has a ratio against the baseline`);
      }
      assert.equal(result.summary.find((s) => s.name === 'baseline')!.vsBaseline, 1);
      const markdown = renderMarkdown(result);
      assert.match(
        markdown,
        /\*\*This build against the baseline\*\* \(`HEAD` = [0-9a-f]{12}, run as kube-bastion-jwt/,
      );
      assert.match(markdown, /npm run bench -- --baseline HEAD/);
    } finally {
      await backend?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('a baseline is built inside this checkout, never taken from the shared temp dir', { skip }, () => {
  // A directory there under the name a commit's baseline would get can be anyone's (another user planting a
  // cli.js for the bench to run) or a removed checkout's (a CI clone whose node_modules link went with it).
  const planted = path.join(tmpdir(), `kube-bastion-baseline-${baselineCLI('HEAD').commit.slice(0, 12)}`);
  mkdirSync(path.join(planted, 'dist'), { recursive: true });
  writeFileSync(path.join(planted, 'dist/cli.js'), 'process.exit(42)\n');
  try {
    const baseline = baselineCLI('HEAD');
    const cache = realpathSync(path.resolve(import.meta.dirname, '../../node_modules/.cache'));
    assert.ok(realpathSync(baseline.cli).startsWith(cache + path.sep), `${baseline.cli} is in ${cache}`);
    const run = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(path.join(baseline.dir, 'dist/config/load.js'))})`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, `the baseline's modules resolve this checkout's packages: ${run.stderr}`);
  } finally {
    rmSync(planted, { recursive: true, force: true });
  }
});
