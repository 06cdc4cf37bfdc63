/**
 * The security world with browser sign-in: the same gateway and grants, plus
 * the real test IdP (oidc-provider) and a cookie session. Users carry many
 * groups, so a session spans several cookie chunks and chunk attacks are real.
 */
import type { ConfigInput } from '../../../src/config/schema.js';
import { FetchBrowser } from '../../support/fetch-browser.js';
import { gatewayClient, startTestIdP, type TestIdP, type TestUser } from '../../support/oidc-provider.js';
import { startWorld, type World } from './world.js';
import { freePort } from '../../support/free-port.js';
import type { FrontDoor } from '../../support/front-door.js';
export { freePort };

export const SECRET_OLD = 'the-old-session-secret-of-at-least-32-characters';
export const SECRET_NEW = 'the-new-session-secret-of-at-least-32-characters';

const manyGroups = (who: string) =>
  Array.from({ length: 120 }, (_, i) => `${who}-group-with-a-long-name-${i}`);
const user = (name: string): TestUser => ({
  password: name,
  email: `${name}@example.com`,
  email_verified: true,
  name,
  groups: ['devs', ...manyGroups(name)],
});

export async function startIdP(bases: string[]): Promise<TestIdP> {
  return startTestIdP({
    users: { alice: user('alice'), carol: user('carol') },
    clients: [gatewayClient(bases)],
  });
}

export interface SignInWorld extends World {
  base: string;
}

/**
 * A gateway on `port` with OIDC sign-in at `idp`, the given session secrets and (optionally) host
 * routing. Given a front door instead of a port, the gateway listens on port 0 behind it.
 */
export async function startSignInWorld(
  idp: TestIdP,
  port: number | FrontDoor,
  secret = SECRET_NEW,
  previousSecrets: string[] = [],
  extra: Pick<ConfigInput, 'routing'> = {},
): Promise<SignInWorld> {
  const door = typeof port === 'number' ? undefined : port;
  const base = door?.url ?? `http://127.0.0.1:${port as number}`;
  const w = await startWorld({
    config: {
      ...extra,
      listen: { port: door ? 0 : (port as number) },
      publicURL: base,
      authentication: {
        oidc: {
          issuer: idp.issuer,
          clientID: 'kube-bastion',
          clientSecret: 'kube-bastion-secret',
          scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
        },
        session: { secret, previousSecrets },
      },
    },
  });
  door?.to(w.h.url);
  return Object.assign(w, { base });
}

/** Signs `who` in through the real IdP; returns the browser holding the session. */
export async function signedIn(base: string, who: string): Promise<FetchBrowser> {
  const browser = new FetchBrowser();
  const res = await browser.signIn(`${base}/auth/whoami`, who);
  if (res.status !== 200) throw new Error(`sign-in as ${who} failed: ${res.status} ${await res.text()}`);
  return browser;
}

/** The gateway's session cookies in the browser's jar, chunk order. */
export function sessionChunks(browser: FetchBrowser): [string, string][] {
  return [...browser.cookies('127.0.0.1')]
    .filter(([name]) => /^kube_bastion(_\d+)?$/.test(name))
    .sort(([a], [b]) => a.length - b.length || a.localeCompare(b));
}
