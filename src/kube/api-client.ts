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
function tlsKey(o: https.AgentOptions | https.RequestOptions): string {
  return [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, o.rejectUnauthorized]
    .map(String)
    .join('\n');
}

export function keepAliveAgents(): (ctx: RequestContext) => Promise<RequestContext> {
  let shared: { key: string; agent: https.Agent } | undefined;
  return (ctx) => {
    const fresh = ctx.getAgent();
    if (fresh?.constructor === https.Agent) {
      const options = fresh.options;
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

/** A non-2xx answer of the API server to a postJSON call. */
export class ApiStatusError extends Error {
  override name = 'ApiStatusError';
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`API server answered ${status}: ${body.slice(0, 200)}`);
  }
}

/**
 * POSTs JSON to the API server and parses its JSON answer, over one keep-alive
 * agent. For the reviews the gateway sends per request, where the generated
 * client's per-call work (object serializer, observables) costs several times
 * the call itself; credentials come from the same KubeConfig code path
 * (`applyToHTTPSOptions`: tokens, exec plugins, client certificates) as every
 * other call.
 */
export function jsonPoster(
  kc: KubeConfig,
  timeoutMs = 30_000,
): <T>(path: string, body: unknown) => Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  let shared: { key: string; agent: https.Agent } | undefined;
  return async <T>(path: string, body: unknown): Promise<T> => {
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const key = tlsKey(opts);
    if (shared?.key !== key) {
      const { ca, cert, key: privateKey, pfx, passphrase, servername, rejectUnauthorized } = opts;
      const tls = { ca, cert, key: privateKey, pfx, passphrase, servername, rejectUnauthorized };
      shared = { key, agent: new https.Agent({ ...tls, keepAlive: true }) };
    }
    // Through a proxy (`proxy-url`), the client's own proxy agent.
    const agent = cluster.proxyUrl ? opts.agent : shared.agent;
    const data = JSON.stringify(body);
    const url = new URL(path, cluster.server);
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        url,
        {
          method: 'POST',
          agent,
          timeout: timeoutMs,
          headers: {
            ...opts.headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(data),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) return reject(new ApiStatusError(status, text));
            try {
              resolve(JSON.parse(text) as T);
            } catch {
              reject(new ApiStatusError(status, `not JSON: ${text}`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`POST ${path} took longer than ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(data);
    });
  };
}
