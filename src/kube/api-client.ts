/**
 * API clients that keep their connections. client-node 1.4 builds a new
 * https.Agent for every call (KubeConfig.applySecurityAuthentication), so each
 * Pod read, SubjectAccessReview or LIST page pays a TCP and TLS handshake —
 * on a busy API server and a busy gateway, tens of milliseconds, which the
 * Pod-owns-IP check and the portal's reviews multiply. Here a middleware
 * swaps that per-call agent for one keep-alive agent with the same TLS
 * settings (a new one when they change, e.g. a rotated client certificate).
 * Proxy agents (`proxy-url` in the kubeconfig) are left as they are.
 */
import https from 'node:https';
import {
  createConfiguration,
  ServerConfiguration,
  type Configuration,
  type KubeConfig,
  type RequestContext,
} from '@kubernetes/client-node';

/** What makes two per-call agents interchangeable. */
function tlsKey(o: https.AgentOptions): string {
  return [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, o.rejectUnauthorized].map(String).join('\n');
}

export function keepAliveAgents(): (ctx: RequestContext) => Promise<RequestContext> {
  let shared: { key: string; agent: https.Agent } | undefined;
  return (ctx) => {
    const fresh = ctx.getAgent();
    if (fresh?.constructor === https.Agent) {
      const options = (fresh).options;
      const key = tlsKey(options);
      if (shared?.key !== key) shared = { key, agent: new https.Agent({ ...options, keepAlive: true }) };
      ctx.setAgent(shared.agent);
    }
    return Promise.resolve(ctx);
  };
}

/** `kc.makeApiClient(Api)`, with connections kept alive between calls. */
export function makeKeepAliveClient<T>(kc: KubeConfig, Api: new (config: Configuration) => T): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  const pre = keepAliveAgents();
  return new Api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [{ pre, post: (rsp) => Promise.resolve(rsp) }],
    }),
  );
}
