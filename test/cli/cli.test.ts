/**
 * The command line as an admin meets it: a real child process of src/cli.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FROM_SOURCE, startCLI } from './cli-process.js';

const ENV = { ...process.env, KUBECONFIG: '/nonexistent' };

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = startCLI([...FROM_SOURCE, ...args], ENV);
  const hung = setTimeout(() => void cli.stop('SIGKILL'), 60_000); // a safety net, not a budget
  const code = await new Promise<number | null>((done) => cli.child.on('close', done));
  clearTimeout(hung);
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bastion-cli-')), 'bastion.yaml');
  writeFileSync(file, text);
  return file;
}

test('--help and --version', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /kube-bastion \[serve\] --config FILE/);
  assert.match(help.stdout, /check-config/);
  const version = await run(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('each command has its own help, listing only its flags', async () => {
  const help = await run(['check-config', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /kube-bastion check-config --config FILE \[--insecure-no-auth\]/);
  assert.doesNotMatch(help.stdout, /--port/, 'the demo’s flag is not check-config’s');
  const wrong = await run(['check-config', '--port', '80']);
  assert.equal(wrong.code, 2, 'a flag of another command is a usage error');
  assert.match(wrong.stderr, /Unknown option '--port'/);
});

test('the terminal commands: listed in the help, each with its own flags and usage errors', async () => {
  const help = await run(['--help']);
  for (const line of ['login <gateway-url> [--device]', 'token [--server URL]', 'whoami', 'logout'])
    assert.ok(help.stdout.includes(`kube-bastion ${line}`), `the help lists "${line}"`);
  const login = await run(['login', '--help']);
  assert.equal(login.code, 0);
  assert.match(login.stdout, /--device/);
  assert.doesNotMatch(login.stdout, /--config/, 'serve’s flag is not login’s');
  const noURL = await run(['login']);
  assert.equal(noURL.code, 2);
  assert.match(noURL.stderr, /which gateway\?/);
  const twoURLs = await run(['login', 'https://a.example.com', 'https://b.example.com']);
  assert.equal(twoURLs.code, 2);
  assert.match(twoURLs.stderr, /unexpected argument "https:\/\/b\.example\.com"/);
  const output = await run(['token', '--output', 'yaml']);
  assert.equal(output.code, 2);
  assert.match(output.stderr, /--output must be token or exec-credential/);
  const home = mkdtempSync(join(tmpdir(), 'bastion-cli-home-'));
  const cli = startCLI([...FROM_SOURCE, 'token'], { ...ENV, XDG_CONFIG_HOME: home });
  const code = await new Promise<number | null>((done) => cli.child.on('close', done));
  assert.equal(code, 1, 'not signed in is a failure of the work, not of the command line');
  assert.match(cli.stderr(), /^kube-bastion: .*login/m);
});

test('check-config prints every error with its path and exits 1', async () => {
  const file = configFile(`
listen: { port: eighty }
authentication:
  jwt:
    - issuer: { url: https://a.example.com, audiences: [x] }
    - issuer: { url: http://b.example.com, audiences: [x] }
authorization:
  namespace: { allow: ["*"] }
`);
  const r = await run(['check-config', '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /listen\.port: /);
  assert.match(r.stderr, /authentication\.jwt\[1\]\.issuer\.url: must be https/);
  assert.match(r.stderr, /authorization\.namespace: unknown key/);
});

test('check-config reports a CEL expression that does not compile, by its path', async () => {
  const file = configFile(`
authentication:
  jwt:
    - issuer: { url: https://a.example.com, audiences: [x] }
      claimMappings:
        username: { expression: "claims.sub +" }
`);
  const r = await run(['check-config', '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /authentication\.jwt\[0\]\.claimMappings\.username\.expression/);
});

test('check-config refuses host routing that cannot work, by the path of each key', async () => {
  const file = configFile(`
publicURL: https://bastion.example.com
authentication:
  oidc: { issuer: https://idp.example.com, clientID: kube-bastion }
  session: { secret: a-session-secret-of-at-least-32-characters }
routing:
  hostSuffix: https://apps.example.com
  routes:
    - { host: bastion.example.com, target: team-a/web }
`);
  const r = await run(['check-config', '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /routing\.hostSuffix: must be a bare host name/);
  assert.match(r.stderr, /routing\.routes\[0\]\.host: "bastion\.example\.com" is publicURL's host/);
});

test('check-config accepts a valid file', async () => {
  const file = configFile(`
publicURL: https://bastion.example.com
authentication:
  jwt:
    - issuer: { url: https://token.actions.githubusercontent.com, audiences: [kube-bastion] }
      claimMappings: { username: { claim: repository, prefix: "github:" } }
`);
  const r = await run(['check-config', '--config', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configuration is valid/);
});

test('serve refuses to start without any authentication method', async () => {
  const r = await run([
    'serve',
    '--config',
    configFile('kubernetes: none\nlisten: { port: 0 }\nadmin: { port: 0 }\n'),
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /no authentication method is configured/);
});

test('an unknown command or flag is a usage error', async () => {
  const r = await run(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  const f = await run(['serve', '--nope']);
  assert.equal(f.code, 2);
});

test('serve --insecure-no-auth: loopback only, a loud warning, one access-log line per request, clean SIGTERM', async () => {
  const { startEchoServer } = await import('../support/echo-server.js');
  const backend = await startEchoServer({ host: '127.0.0.1' });
  const file = configFile(`
kubernetes: none
listen: { address: 0.0.0.0, port: 0, shutdown: { delay: 0s } }
admin: { address: 0.0.0.0, port: 0 }
upstream: { allowedAddresses: [127.0.0.0/8] }
static:
  services:
    - { namespace: team-a, name: web, ports: [{ name: http, port: 80 }], endpoints: ["127.0.0.1:${backend.port}"] }
`);
  const cli = startCLI([...FROM_SOURCE, 'serve', '--config', file, '--insecure-no-auth'], ENV);
  try {
    const [, url] = await cli.waitFor(/"url":"(http:\/\/[^"]+)"/);
    const out = cli.stdout();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'binds to loopback whatever listen.address says');
    const adminURL = /"adminURL":"(http:\/\/[^"]+)"/.exec(out)?.[1];
    assert.match(
      String(adminURL),
      /^http:\/\/127\.0\.0\.1:\d+$/,
      'the admin port too, whatever admin.address says',
    );
    assert.match(out, /"level":"warn".*INSECURE/);
    const r = await fetch(`${url}/api/v1/namespaces/team-a/services/web/proxy/hello?secret=1`);
    assert.equal(r.status, 200);
    const sent = (await r.arrayBuffer()).byteLength;
    assert.ok(sent > 0);
    const [line] = await cli.waitFor(/^.*"msg":"request".*$/m);
    const entry = JSON.parse(line);
    assert.equal(entry.method, 'GET');
    assert.equal(
      entry.path,
      '/api/v1/namespaces/team-a/services/web/proxy/hello',
      'no query string in the log',
    );
    assert.equal(entry.namespace, 'team-a');
    assert.equal(entry.kind, 'services');
    assert.equal(entry.name, 'web');
    assert.equal(entry.endpoint, `127.0.0.1:${backend.port}`);
    assert.equal(entry.status, 200);
    assert.equal(entry.bytes, sent, 'the body bytes the client received');
    assert.equal(typeof entry.ms, 'number');
    assert.equal(await cli.stop('SIGTERM'), 0);
  } finally {
    await cli.stop('SIGKILL');
    await backend.close();
  }
});
