/**
 * The floor for a Node proxy on undici, the client the gateway forwards with:
 * node's HTTP server, one undici Pool to the backend (keep-alive, no
 * pipelining), the response head copied and its body streamed. Nothing else:
 * no auth, no routing, no hop-by-hop handling beyond Connection. Run as its own process:
 *   node --import tsx bench/bare-undici.ts PORT UPSTREAM_URL
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import { Pool } from 'undici';

const [port, upstream] = process.argv.slice(2);
if (!port || !upstream) {
  process.stderr.write('usage: bare-undici.ts PORT UPSTREAM_URL\n');
  process.exit(2);
}

const pool = new Pool(upstream, { connections: null, pipelining: 1, keepAliveTimeout: 65_000 });
const HOP = new Set(['connection', 'keep-alive', 'host', 'transfer-encoding']);

const server = http.createServer((req, res) => {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!HOP.has(req.rawHeaders[i].toLowerCase())) headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  let body: Readable | undefined;
  pool.dispatch(
    { method: req.method!, path: req.url!, headers, body: req.method === 'GET' ? undefined : req },
    {
      onConnect() {},
      onHeaders(status, raw, resume) {
        const out: Record<string, string> = {};
        for (let i = 0; i < raw.length; i += 2) {
          const name = raw[i].toString('latin1').toLowerCase();
          if (!HOP.has(name)) out[name] = raw[i + 1].toString('latin1');
        }
        body = new Readable({ read: () => resume() });
        res.writeHead(status, out);
        body.pipe(res);
        return true;
      },
      onData: (chunk) => body!.push(chunk),
      onComplete: () => void body!.push(null),
      onError(err) {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy(err);
      },
    },
  );
});
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
