/**
 * A `fetch` that trusts an extra CA bundle, for issuers (and discovery
 * documents) served with a private CA — the `certificateAuthority` of an
 * AuthenticationConfiguration `jwt` entry. Without a CA the global fetch is used.
 */
import { request } from 'node:https';

export type Fetch = (
  url: string,
  init?: { headers?: ConstructorParameters<typeof Headers>[0]; signal?: AbortSignal; method?: string },
) => Promise<Response>;

const MAX_BODY = 1024 * 1024;

export function fetchTrusting(ca: string | undefined): Fetch {
  if (ca === undefined) return (url, init) => fetch(url, { ...init, redirect: 'manual' });
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(new Headers(init.headers)),
          ca,
          signal: init.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) req.destroy(new Error(`response from ${url} is larger than 1 MiB`));
            else chunks.push(c);
          });
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
}

/** GETs a JSON document, with a timeout (the body included), a size cap and a clear error. */
export async function fetchJSON(
  fetcher: Fetch,
  url: string,
  timeoutMs = 5000,
): Promise<Record<string, unknown>> {
  const res = await fetcher(url, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`GET ${url}: HTTP ${res.status}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(await readCapped(res, url));
  } catch (err) {
    if (err instanceof SyntaxError) throw new Error(`GET ${url}: not JSON`, { cause: err });
    throw err;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new Error(`GET ${url}: not a JSON object`);
  return body as Record<string, unknown>;
}

/** The body as text, refusing more than MAX_BODY bytes (an issuer's documents are a few KB). */
async function readCapped(res: Response, url: string): Promise<string> {
  if (!res.body) return '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
    if (done || !value) break;
    size += value.byteLength;
    if (size > MAX_BODY) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`response from ${url} is larger than 1 MiB`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
