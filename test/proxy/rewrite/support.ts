/** Shared arrangements for the rewrite tests: one prefix, and feeding a body through in small chunks. */
import { once } from 'node:events';
import type { Transform } from 'node:stream';
import { gatewayCookieMatcher } from '../../../src/authn/session/cookie-jar.js';
import { createBodyRewriter, type RewriteContext } from '../../../src/proxy/rewrite/index.js';

export const PREFIX = '/api/v1/namespaces/ns/services/web:http/proxy';
export const ctx: RewriteContext = {
  prefix: PREFIX,
  upstreamHost: '10.0.0.7:8080',
  requestHost: 'bastion.example.com',
};

/** What the gateway passes the response rewriter about its cookies (the default name). */
export const options = { isGatewayCookie: gatewayCookieMatcher({ name: 'kube_bastion' }) };

/** Writes `input` in `chunkSize`-byte pieces (yielding between them) and collects everything that comes out. */
export async function throughInChunks(stream: Transform, input: Buffer, chunkSize = 7): Promise<Buffer> {
  const out: Buffer[] = [];
  stream.on('data', (c: Buffer) => out.push(c));
  const ended = once(stream, 'end');
  for (let i = 0; i < input.length; i += chunkSize) {
    if (!stream.write(input.subarray(i, i + chunkSize))) await once(stream, 'drain');
  }
  stream.end();
  await ended;
  return Buffer.concat(out);
}

/** Rewrites an identity-encoded HTML string fed in 7-byte chunks. */
export async function rewriteHTML(html: string | Buffer, context: RewriteContext = ctx): Promise<string> {
  const input = typeof html === 'string' ? Buffer.from(html) : html;
  return (await throughInChunks(createBodyRewriter(undefined, context), input)).toString();
}
