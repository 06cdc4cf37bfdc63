/**
 * A real gateway (createGateway) with OIDC sign-in against the test IdP, in
 * front of a real echo upstream published as the static Service team-a/echo.
 * Several instances may share one publicURL and secret, like replicas behind
 * a load balancer.
 */
import { parseConfig } from '../../src/config/load.js';
import type { Clock } from '../../src/clock.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createLogger, silentLogger, type Logger } from '../../src/observability/logger.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import type { EchoServer } from '../support/echo-server.js';
import type { TestIdP } from '../support/oidc-provider.js';
import { startAuthApp, type AuthApp } from './helpers.js';
import { freePort, onFreePort } from '../support/free-port.js';
export { freePort, onFreePort };

export const SECRET = 'a-test-session-secret-that-is-long-enough';
export const ECHO_PATH = '/api/v1/namespaces/team-a/services/echo:http/proxy/';

export interface FixtureOptions {
  idp: TestIdP;
  echo: EchoServer;
  /**
   * The URL users reach; the instance listens on its port unless `port` says otherwise (0: any,
   * e.g. a second replica behind the same URL). Without one, the instance's own URL, on a port it
   * gets without racing anyone.
   */
  publicURL?: string;
  port?: number;
  session?: NonNullable<ConfigInput['authentication']>['session'];
  /** The clock sessions are judged by: tests move it instead of sleeping. */
  clock?: Clock;
  /** Logs of the instance (silent unless AUTHN_TEST_LOG is set). */
  logger?: Logger;
}

/** The authentication part of the config: the test IdP's client and a cookie (or Redis) session. */
export function signInConfig(o: Pick<FixtureOptions, 'idp' | 'session'>): ConfigInput['authentication'] {
  return {
    oidc: {
      issuer: o.idp.issuer,
      clientID: 'kube-bastion',
      clientSecret: 'kube-bastion-secret',
      scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    },
    session: { secret: SECRET, ...o.session },
  };
}

/** The sign-in router and session check on a tiny app that forwards to the echo upstream (see helpers.ts). */
export async function startSignInApp(o: FixtureOptions): Promise<AuthApp> {
  return startAuthApp(
    { publicURL: o.publicURL, authentication: signInConfig(o) },
    {
      upstream: o.echo.url,
      port: o.port ?? (o.publicURL ? Number(new URL(o.publicURL).port) : 0),
      publicURLIsOwn: o.publicURL === undefined,
      clock: o.clock,
      logger: o.logger ?? testLogger(),
    },
  );
}

export const testLogger = (): Logger =>
  process.env.AUTHN_TEST_LOG ? createLogger({ level: 'debug', format: 'json' }) : silentLogger();

export async function startGateway(o: FixtureOptions): Promise<{ gateway: Gateway; url: string }> {
  if (o.publicURL !== undefined) {
    const publicURL = o.publicURL;
    return startGatewayOn(o.port ?? Number(new URL(publicURL).port), publicURL, o);
  }
  // Its publicURL names its own port: taken before it listens, so a port someone grabbed meanwhile means another.
  return onFreePort((port) => startGatewayOn(port, `http://127.0.0.1:${port}`, o));
}

async function startGatewayOn(
  port: number,
  publicURL: string,
  o: FixtureOptions,
): Promise<{ gateway: Gateway; url: string }> {
  const config = parseConfig(
    {
      listen: { address: '127.0.0.1', port },
      admin: { address: '127.0.0.1', port: 0 },
      publicURL,
      kubernetes: 'none',
      static: {
        services: [
          {
            namespace: 'team-a',
            name: 'echo',
            ports: [{ name: 'http', port: o.echo.port }],
            endpoints: [`127.0.0.1:${o.echo.port}`],
          },
        ],
      },
      upstream: { allowedAddresses: ['127.0.0.0/8'] },
      authorization: {
        rules: [{ groups: ['team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['*'] }],
      },
      authentication: signInConfig(o),
      logging: { level: 'silent', audit: { enabled: false } },
    },
    { env: {} },
  );
  const gateway = await createGateway({ config, logger: o.logger ?? testLogger(), clock: o.clock });
  try {
    const { url } = await gateway.listen();
    return { gateway, url };
  } catch (err) {
    await gateway.close().catch(() => undefined);
    throw err;
  }
}
