/**
 * The admin port: /healthz (process alive), /readyz (caches synced, IdP
 * discovery done, not draining), /metrics (Prometheus text format). It is a
 * plain http.Server so it keeps answering while the public port drains.
 */
import http from 'node:http';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  ok: () => boolean;
}

export function createAdminServer(checks: ReadinessCheck[], registry: Registry): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const failing = checks.filter((c) => !c.ok()).map((c) => c.name);
      const verbose = (req.url ?? '').includes('verbose');
      const body = failing.length
        ? `not ready: ${failing.join(', ')}\n`
        : verbose
          ? checks.map((c) => `[+]${c.name} ok`).join('\n') + '\nok\n'
          : 'ok\n';
      res.writeHead(failing.length ? 503 : 200, { 'content-type': 'text/plain' }).end(body);
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
}
