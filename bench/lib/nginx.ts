/**
 * Debian nginx, unprivileged: its own prefix directory, config, pid and temp
 * paths, `daemon off` so it stays our child, one worker.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onFreePorts } from './ports.js';
import { startProcess, waitUntilServing, type Proc } from './proc.js';

/** The fixed response: 1 KiB of text. */
export const BODY = 'x'.repeat(1024);

const common = (dir: string) => `
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
`;

const temps = (dir: string) => `
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
`;

function backendConfig(dir: string, port: number): string {
  return `${common(dir)}
http {
${temps(dir)}
  server {
    listen 127.0.0.1:${port};
    location / { default_type text/plain; return 200 '${BODY}'; }
  }
}
`;
}

function proxyConfig(dir: string, port: number, upstreamPort: number): string {
  return `${common(dir)}
http {
${temps(dir)}
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 64; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
    }
  }
}
`;
}

export interface Nginx {
  url: string;
  port: number;
  proc: Proc;
  stop(): Promise<void>;
}

/** `upstreamPort` set: a reverse proxy to it; otherwise the 1 KiB backend. */
export function startNginx(opts: { core?: number; upstreamPort?: number }): Promise<Nginx> {
  return onFreePorts(1, ([port]) => startNginxOn(opts, port));
}

async function startNginxOn(opts: { core?: number; upstreamPort?: number }, port: number): Promise<Nginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kb-bench-nginx-'));
  const config =
    opts.upstreamPort === undefined ? backendConfig(dir, port) : proxyConfig(dir, port, opts.upstreamPort);
  writeFileSync(path.join(dir, 'nginx.conf'), config);
  const proc = startProcess(
    'nginx',
    ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')],
    { core: opts.core },
  );
  const url = `http://127.0.0.1:${port}/`;
  const stop = async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilServing(url, proc);
  } catch (err) {
    // nginx says why in its error log (a port taken meanwhile: "Address already in use"), not on stderr.
    const log = readFileSync(path.join(dir, 'error.log'), { encoding: 'utf8', flag: 'a+' });
    await stop();
    throw new Error(`${(err as Error).message}\n${log}`, { cause: err });
  }
  return { url, port, proc, stop };
}
