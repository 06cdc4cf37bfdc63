/** The public and admin listeners: addresses, ports, TLS, request timeouts, graceful shutdown. */
import { z } from 'zod';
import { bindAddress, cidr, describe, duration, nonEmpty, port } from './primitives.js';

// --- listen / admin -------------------------------------------------------

const tlsFiles = z.strictObject({
  certFile: describe(
    nonEmpty,
    'PEM certificate chain file, the server’s certificate first; read when the config loads',
  ),
  keyFile: describe(
    nonEmpty,
    'PEM private key file (unencrypted) of that certificate; read when the config loads, and must match it',
  ),
});

export const listen = z.strictObject({
  address: describe(bindAddress.default('0.0.0.0'), 'address the public listener binds to'),
  port: describe(port.default(8080), 'public port'),
  tls: describe(tlsFiles.optional(), 'serve HTTPS on the public port; plain HTTP when absent', [
    { certFile: '/etc/kube-bastion/tls/tls.crt', keyFile: '/etc/kube-bastion/tls/tls.key' },
  ]),
  maxHeaderBytes: describe(
    z.number().int().min(1024).max(1_048_576).default(16_384),
    'largest request header block accepted (and at most 1,000 header lines); larger requests get 431 — on a sign-in ' +
      'route (`/auth/…`) no page: the same URL again without the gateway’s own cookies when they were the cause, else ' +
      'the connection is closed. A head larger than this plus what those cookies can take (36 KB) is closed without an ' +
      'answer. Counted as Node counts its parsed head: the target and every header name and value, without the ' +
      'spaces around values, which Node drops (so spaces pad a head toward that hard limit, never past it) ' +
      '(docs/security.md)',
  ),
  requestTimeout: describe(
    duration('5m'),
    'longest time a client may take to send a whole request (slowloris guard)',
  ),
  headersTimeout: describe(duration('20s'), 'longest time a client may take to send the request headers'),
  keepAliveTimeout: describe(duration('65s'), 'idle keep-alive time of client connections'),
  sendTimeout: describe(
    duration('60s'),
    'longest time a client may leave the bytes the gateway has for it unread (slow-read guard, as nginx’s ' +
      '`send_timeout`): the connection is closed, and the upstream connection with it. A response or WebSocket that ' +
      'is merely quiet is never cut. 0 turns it off',
  ),
  trustedProxies: describe(
    z.array(cidr).default([]),
    'peers (CIDRs) whose X-Forwarded-For is kept and appended to, e.g. the ingress controller’s Pods; ' +
      'from any other peer it is replaced by the peer’s address. The client address (sessionAffinity ClientIP, ' +
      'the access log’s `client`) is then the nearest untrusted hop',
    [['10.0.0.0/8']],
  ),
  shutdown: describe(
    z
      .strictObject({
        delay: describe(
          duration('5s'),
          'after SIGTERM, keep serving this long (unready) so load balancers stop sending traffic',
        ),
        timeout: describe(duration('30s'), 'then wait at most this long for in-flight requests to finish'),
      })
      .prefault({}),
    'graceful shutdown on SIGTERM',
  ),
});

export const admin = z.strictObject({
  address: describe(bindAddress.default('0.0.0.0'), 'address the admin listener binds to'),
  port: describe(port.default(9090), 'port of /healthz, /readyz and /metrics'),
});
