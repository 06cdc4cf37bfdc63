/**
 * The Node proxy most people would write: http-proxy-3 with a keep-alive agent and
 * nothing else (no auth, no routing, no logging). Run as its own process:
 *   node --import tsx bench/bare-proxy.ts PORT UPSTREAM_URL
 */
import http from 'node:http';
import { ProxyServer } from 'http-proxy-3';

const [port, upstream] = process.argv.slice(2);
if (!port || !upstream) {
  process.stderr.write('usage: bare-proxy.ts PORT UPSTREAM_URL\n');
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' });
const proxy = new ProxyServer({ target: upstream, agent });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
  else res.destroy();
});
const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
