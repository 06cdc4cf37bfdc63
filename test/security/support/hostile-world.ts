/**
 * The security world plus Service team-a/hostile, whose one endpoint is a
 * scripted raw-socket upstream (hostile-upstream.ts) that alice may reach
 * with every verb: for attacks that come from the upstream's side.
 */
import { endpointSlice, pod, service, type KubeObject } from '../../support/fake-apiserver.js';
import { eventually } from '../../support/eventually.js';
import { send, type Reply } from '../../support/http.js';
import type { ConfigInput } from '../../../src/config/schema.js';
import { startHostileUpstream, type HostileUpstream } from './hostile-upstream.js';
import { NS_A, RULES, startWorld, type World } from './world.js';

/** The path prefix of team-a/hostile. */
export const HOSTILE = `${NS_A}/services/hostile:http/proxy`;

export interface HostileWorld {
  w: World;
  up: HostileUpstream;
  /** Sends a request as alice to `HOSTILE + path`. */
  call(path: string, method?: string, headers?: Record<string, string>, body?: string): Promise<Reply>;
  /** /readyz on the admin port. */
  ready(): Promise<number>;
  close(): Promise<void>;
}

export async function startHostileWorld(config: ConfigInput = {}): Promise<HostileWorld> {
  const up = await startHostileUpstream();
  const hostileRule = {
    groups: ['devs'],
    namespaces: ['team-a'],
    resources: ['services' as const],
    names: ['hostile:http'],
    verbs: ['*' as const],
  };
  const w = await startWorld({
    config: { ...config, authorization: { rules: [...RULES, hostileRule], ...config.authorization } },
  });
  w.h.api.upsert<KubeObject>(
    service('team-a', 'hostile', [{ name: 'http', port: 80, targetPort: up.port }]),
    endpointSlice(
      'team-a',
      'hostile',
      [{ ip: up.host, pod: 'hostile-0' }],
      [{ name: 'http', port: up.port }],
    ),
    pod('team-a', 'hostile-0', up.host, [{ name: 'http', containerPort: up.port }]),
  );
  const call = (path: string, method = 'GET', headers: Record<string, string> = {}, body?: string) =>
    send(
      w.h.url,
      method,
      `${HOSTILE}${path}`,
      { authorization: `Bearer ${w.alice}`, accept: 'application/json', ...headers },
      body,
    );
  await eventually(async () => (await call('/ready')).status === 200, 10_000, 20);
  return {
    w,
    up,
    call,
    ready: async () => (await fetch(`${w.h.adminURL}/readyz`)).status,
    async close() {
      await w.close();
      await up.close();
    },
  };
}
