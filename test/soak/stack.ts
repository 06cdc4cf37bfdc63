/**
 * Everything the soak runs against: the fake API server, two echo backends,
 * a bearer-token issuer and the real test IdP in this process, and the
 * gateway as its own process (`kube-bastion serve` through the CLI), so its
 * memory and file descriptors are measured alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import {
  endpointSlice,
  pod,
  service,
  startFakeApiServer,
  type FakeApiServer,
} from '../support/fake-apiserver.js';
import { startEchoServer } from '../support/echo-server.js';
import { startJwtIssuer, type JwtIssuer } from '../support/jwt-issuer.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { createTestCA } from '../support/tls.js';
import { freePort } from '../security/support/signin-world.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB = '/api/v1/namespaces/team-a/services/web:http/proxy';

export interface Stack {
  base: string;
  adminURL: string;
  pid: number;
  token: string;
  idp: TestIdP;
  /** Lines the gateway logged at level warn or above. */
  problems: string[];
  rssBytes(): number;
  openFds(): number;
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bastion-soak-'));
  const ca = await createTestCA();
  const [a, b] = await Promise.all([
    startEchoServer({ host: '127.0.0.2', name: 'a' }),
    startEchoServer({ host: '127.0.0.3', name: 'b' }),
  ]);
  // Two endpoints on different ports: one EndpointSlice each, as a dual-port rollout would have.
  const api: FakeApiServer = await startFakeApiServer({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80, targetPort: a.port }]),
      endpointSlice('team-a', 'web', [{ ip: a.host }], [{ name: 'http', port: a.port }], { name: 'web-a' }),
      endpointSlice('team-a', 'web', [{ ip: b.host }], [{ name: 'http', port: b.port }], { name: 'web-b' }),
      pod('team-a', 'web-2', a.host),
      pod('team-a', 'web-3', b.host),
    ],
  });
  const issuer: JwtIssuer = await startJwtIssuer(ca);
  const [port, adminPort] = await Promise.all([freePort(), freePort()]);
  const base = `http://127.0.0.1:${port}`;
  const idp = await startTestIdP({ clients: [gatewayClient(base)] });
  const config = {
    listen: { address: '127.0.0.1', port },
    admin: { address: '127.0.0.1', port: adminPort },
    publicURL: base,
    kubernetes: { kubeconfig: api.writeKubeconfig(path.join(dir, 'kubeconfig')) },
    authentication: {
      oidc: {
        issuer: idp.issuer,
        clientID: 'kube-bastion',
        clientSecret: 'kube-bastion-secret',
        scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
      },
      session: { secret: 'a-soak-session-secret-that-is-long-enough' },
      jwt: [
        {
          issuer: { url: issuer.url, audiences: ['kube-bastion'], certificateAuthority: ca.caPem },
          claimMappings: { username: { claim: 'sub', prefix: '' }, groups: { claim: 'groups', prefix: '' } },
        },
      ],
    },
    authorization: {
      rules: [
        {
          groups: ['devs', 'team-a', 'team-b'],
          namespaces: ['team-a'],
          resources: ['services'],
          verbs: ['*'],
        },
      ],
    },
    upstream: { allowedAddresses: ['127.0.0.0/8'] },
    logging: { level: 'warn', format: 'json', audit: { enabled: false } },
  };
  const file = path.join(dir, 'bastion.yaml');
  writeFileSync(file, stringify(config));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', file],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const problems: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) problems.push(line);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const adminURL = `http://127.0.0.1:${adminPort}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${adminURL}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 300 || child.exitCode !== null)
      throw new Error(`gateway did not become ready:\n${problems.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = await issuer.mint(
    { aud: 'kube-bastion', sub: 'ci', groups: ['devs'] },
    { expiresIn: 86_400 },
  );
  const pid = child.pid!;
  return {
    base,
    adminURL,
    pid,
    token,
    idp,
    problems,
    rssBytes: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024,
    openFds: () => readdirSync(`/proc/${pid}/fd`).length,
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await Promise.all([a.close(), b.close(), issuer.close(), idp.close(), api.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
