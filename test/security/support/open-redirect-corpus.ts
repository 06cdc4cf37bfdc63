/**
 * oauth2-proxy's open-redirect corpus (../fixtures/openredirects.txt, 558
 * payloads behind CVE-2020-5233, CVE-2020-11053, CVE-2020-4037 and their kin)
 * as `rd` values, the world it is sent to (a gateway with sign-in and host
 * routing), and the judge of where a Location sends a
 * browser. The tables are split over two test files so each stays well under
 * a minute on a shared machine.
 */
import { readFileSync } from 'node:fs';
import type { TestIdP } from '../../support/oidc-provider.js';
import { startIdP, startSignInWorld, type SignInWorld } from './signin-world.js';

export const CORPUS = readFileSync(new URL('../fixtures/openredirects.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line !== '');

/** Go's url.QueryUnescape, as bytes: `+` is a space, `%XX` any byte (even one that is not UTF-8). */
function goQueryUnescape(line: string): Buffer {
  const out: number[] = [];
  const bytes = Buffer.from(line.replace(/\+/g, ' '));
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes.subarray(i + 1, i + 3).toString();
    if (bytes[i] === 0x25 && /^[0-9a-f]{2}$/i.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(bytes[i]);
  }
  return Buffer.from(out);
}

/** Bytes as a query parameter value: every byte but the unreserved ones percent-encoded. */
const queryValue = (bytes: Buffer) =>
  [...bytes]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

/**
 * Every rd to try, already encoded for the query: each line as oauth2-proxy's test feeds it to its
 * validator (query-unescaped, byte for byte), and as the line is written.
 */
export const RDS = [
  ...new Set(CORPUS.flatMap((line) => [queryValue(goQueryUnescape(line)), queryValue(Buffer.from(line))])),
];

/**
 * Where a browser at `page` goes with this Location: it must be on an origin `origins` accepts, and
 * the header must hold nothing a browser would strip or reinterpret (control bytes, spaces,
 * backslashes, `//`). Returns the problem, or undefined.
 */
export function problemWith(
  location: string | null | undefined,
  page: string,
  origins: (o: string) => boolean,
): string | undefined {
  if (!location) return 'no Location';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f\\]/.test(location)) return `unsafe bytes in ${JSON.stringify(location)}`;
  if (location.startsWith('//')) return `scheme-relative ${location}`;
  const target = new URL(location, page);
  if (!origins(target.origin)) return `leaves for ${target.origin} (${location})`;
  if (!/^https?:$/.test(target.protocol)) return `scheme ${target.protocol}`;
  return undefined;
}

/**
 * Runs `check` for every rd, one at a time in each of `workers` (a browser each: a sign-in in
 * progress is one per browser); returns the failures, one line per payload.
 */
export async function table<W>(
  workers: W[],
  check: (rd: string, worker: W) => Promise<string | undefined>,
): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    workers.map(async (worker) => {
      while (next < RDS.length) {
        const rd = RDS[next++];
        const problem = await check(rd, worker).catch((err: Error) => err.message);
        if (problem) failures.push(`rd=${rd}: ${problem}`);
      }
    }),
  );
  return failures;
}

export const ROUTING_SUFFIX = 'apps.test';

export interface CorpusWorld {
  /** The gateway's port (publicURL's), which routed hosts share. */
  port: string;
  idp: TestIdP;
  w: SignInWorld;
  /** `web--team-a.apps.test:PORT`: a routed app's host, as the browser sends it. */
  routed: string;
  close(): Promise<void>;
}

/** A gateway with sign-in and host routing; `dora` has one group (a cheap sign-in). */
export async function startCorpusWorld(): Promise<CorpusWorld> {
  const idp = await startIdP();
  const w = await startSignInWorld(idp, undefined, undefined, [], {
    routing: { hostSuffix: ROUTING_SUFFIX },
  });
  idp.users.set('dora', { password: 'dora', email: 'dora@example.com', groups: ['devs'] });
  return {
    port: new URL(w.base).port,
    idp,
    w,
    routed: `web--team-a.${ROUTING_SUFFIX}:${new URL(w.base).port}`,
    async close() {
      await w.close();
      await idp.close();
    },
  };
}
