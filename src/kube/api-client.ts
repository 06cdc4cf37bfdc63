/**
 * The gateway's HTTP client for the API server: JSON in, JSON out, over one
 * keep-alive agent (client-node 1.4 built a new agent, so a new TCP and TLS
 * connection, for every call), with the credentials of an `ApiServerAccess`
 * applied to every request (a rotated token or certificate is used at once;
 * new TLS settings get a new agent). Objects stay plain JSON: no generated
 * model classes, no serializer — the caches keep only a few fields of them
 * anyway (slim.ts). A `proxy-url` agent, when the access supplies one, is
 * used as it is.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { ApiServerAccess } from './api-access.js';

/** A non-2xx answer of the API server. */
export class ApiStatusError extends Error {
  override name = 'ApiStatusError';
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`API server answered ${status}: ${body.slice(0, 200)}`);
  }
}

export interface ApiRequest {
  body?: unknown;
  signal?: AbortSignal;
  /** Socket inactivity limit (ms); streams have none. */
  timeoutMs?: number;
}

/** What makes two sets of TLS options interchangeable for one agent. */
function tlsKey(o: https.RequestOptions): string {
  return [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, o.rejectUnauthorized]
    .map(String)
    .join('\n');
}

export class ApiClient {
  private shared: { key: string; agent: http.Agent } | undefined;

  constructor(
    private readonly access: ApiServerAccess,
    private readonly defaultTimeoutMs = 30_000,
  ) {}

  get<T>(path: string, o: ApiRequest = {}): Promise<T> {
    return this.json<T>('GET', path, o);
  }

  post<T>(path: string, body: unknown, o: Omit<ApiRequest, 'body'> = {}): Promise<T> {
    return this.json<T>('POST', path, { ...o, body });
  }

  put<T>(path: string, body: unknown, o: Omit<ApiRequest, 'body'> = {}): Promise<T> {
    return this.json<T>('PUT', path, { ...o, body });
  }

  /** DELETE, with DeleteOptions (preconditions) as the body when given. */
  delete<T>(path: string, o: ApiRequest = {}): Promise<T> {
    return this.json<T>('DELETE', path, o);
  }

  /** GET whose 200 response is handed over unread (watches); anything else is an ApiStatusError. */
  async stream(path: string, signal: AbortSignal): Promise<IncomingMessage> {
    const res = await this.send('GET', path, { signal, timeoutMs: 0 });
    if (res.statusCode === 200) return res;
    throw new ApiStatusError(res.statusCode ?? 0, await text(res));
  }

  private async json<T>(method: string, path: string, o: ApiRequest): Promise<T> {
    const res = await this.send(method, path, o);
    const body = await text(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw new ApiStatusError(status, body);
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new ApiStatusError(status, `not JSON: ${body}`);
    }
  }

  private async send(method: string, path: string, o: ApiRequest): Promise<IncomingMessage> {
    const cluster = this.access.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    const opts: https.RequestOptions = {};
    await this.access.applyToHTTPSOptions(opts);
    const url = new URL(path, `${cluster.server}/`);
    const secure = url.protocol === 'https:';
    const data = o.body === undefined ? undefined : JSON.stringify(o.body);
    const timeout = o.timeoutMs ?? this.defaultTimeoutMs;
    const request = (secure ? https : http).request(url, {
      method,
      // Through a proxy (`proxy-url`), the agent client-node built for it.
      agent: opts.agent ?? this.agent(secure, opts),
      auth: opts.auth,
      signal: o.signal,
      timeout: timeout > 0 ? timeout : undefined,
      headers: {
        ...opts.headers,
        accept: 'application/json',
        ...(data === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }),
      },
    });
    return new Promise<IncomingMessage>((resolve, reject) => {
      request.on('response', resolve);
      request.on('error', reject);
      request.on('timeout', () =>
        request.destroy(new Error(`${method} ${path} took longer than ${timeout} ms`)),
      );
      request.end(data);
    });
  }

  private agent(secure: boolean, opts: https.RequestOptions): http.Agent {
    const key = `${secure}\n${tlsKey(opts)}`;
    // A new agent for new TLS settings; the old one's connections (a watch among them) run their course.
    if (this.shared?.key !== key) {
      const { ca, cert, key: privateKey, pfx, passphrase, servername, rejectUnauthorized } = opts;
      const agent = secure
        ? new https.Agent({
            ca,
            cert,
            key: privateKey,
            pfx,
            passphrase,
            servername,
            rejectUnauthorized,
            keepAlive: true,
          })
        : new http.Agent({ keepAlive: true });
      this.shared = { key, agent };
    }
    return this.shared.agent;
  }
}

function text(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/**
 * POSTs JSON and parses the JSON answer: the reviews the gateway sends per
 * request (SubjectAccessReview, TokenReview). `signal` aborts the call.
 */
export function jsonPoster(
  access: ApiServerAccess,
  timeoutMs = 30_000,
): <T>(path: string, body: unknown, signal?: AbortSignal) => Promise<T> {
  const client = new ApiClient(access, timeoutMs);
  return <T>(path: string, body: unknown, signal?: AbortSignal) => client.post<T>(path, body, { signal });
}
