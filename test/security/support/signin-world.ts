/**
 * The security world with browser sign-in: the same gateway and grants, plus
 * the real test IdP (oidc-provider) and a cookie session. Users carry many
 * groups, so a session spans several cookie chunks and chunk attacks are real.
 */
import type { ConfigInput } from '../../../src/config/schema.js';
import { FetchBrowser } from '../../support/fetch-browser.js';
import { gatewayClient, startTestIdP, type TestIdP, type TestUser } from '../../support/oidc-provider.js';
import { startWorld, type World } from './world.js';
import { freePort, onFreePort } from '../../support/free-port.js';
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

/** The gateway URLs each IdP redirects back to (its one client's redirect URIs). */
const redirectBases = new WeakMap<TestIdP, string[]>();

/** The IdP with alice and carol; `bases` are gateway URLs known in advance (startSignInWorld adds its own). */
export async function startIdP(bases: string[] = []): Promise<TestIdP> {
  const idp = await startTestIdP({
    users: { alice: user('alice'), carol: user('carol') },
    clients: [gatewayClient(bases)],
  });
  redirectBases.set(idp, [...bases]);
  return idp;
}

export interface SignInWorld extends World {
  base: string;
}

/**
 * A gateway on `port` with OIDC sign-in at `idp`, the given session secrets and (optionally) host
 * routing. Without a port (undefined or 0), it picks one without racing anyone (its publicURL
 * names it, so it cannot listen on 0) and tells the IdP to redirect to it.
 */
export async function startSignInWorld(
  idp: TestIdP,
  port: number | undefined,
  secret = SECRET_NEW,
  previousSecrets: string[] = [],
  extra: Pick<ConfigInput, 'routing'> = {},
): Promise<SignInWorld> {
  if (port) return startOn(idp, port, secret, previousSecrets, extra);
  const w = await onFreePort((p) => startOn(idp, p, secret, previousSecrets, extra));
  const bases = [...(redirectBases.get(idp) ?? []), w.base];
  redirectBases.set(idp, bases);
  idp.setClients([gatewayClient(bases)]);
  return w;
}

async function startOn(
  idp: TestIdP,
  port: number,
  secret: string,
  previousSecrets: string[],
  extra: Pick<ConfigInput, 'routing'>,
): Promise<SignInWorld> {
  const base = `http://127.0.0.1:${port}`;
  const w = await startWorld({
    config: {
      ...extra,
      listen: { port },
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
