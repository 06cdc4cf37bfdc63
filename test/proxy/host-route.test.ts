/**
 * Host routing picks a port the host form cannot spell: the default-port rule
 * (a port named http/https, else 80/443, else the only or first port), the
 * explicit `{service}-{port}--{namespace}` form with its ambiguity rule, and
 * `routes` targets without a port. Authorization still sees the name the host
 * carries; the port and TLS follow from the Service.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { defaultServicePort, isTLSPort } from '../../src/proxy/default-port.js';
import { createHostRouter, routedHostMatcher } from '../../src/proxy/host-route.js';
import { service } from '../support/fake-apiserver/objects.js';

test('the default port: named http, named https, 80, 443, then the only or first', () => {
  const cases: [string, { name?: string; port: number }[], string | number | undefined][] = [
    [
      'named http wins over everything',
      [
        { name: 'grpc', port: 80 },
        { name: 'https', port: 443 },
        { name: 'http', port: 8080 },
      ],
      'http',
    ],
    [
      'then named https',
      [
        { name: 'metrics', port: 80 },
        { name: 'https', port: 8443 },
      ],
      'https',
    ],
    [
      'then port 80',
      [
        { name: 'metrics', port: 9100 },
        { name: 'web', port: 80 },
      ],
      'web',
    ],
    [
      'then port 443',
      [
        { name: 'metrics', port: 9100 },
        { name: 'tls', port: 443 },
      ],
      'tls',
    ],
    [
      'then the first',
      [
        { name: 'a', port: 9000 },
        { name: 'b', port: 9001 },
      ],
      'a',
    ],
    ['an only unnamed port', [{ port: 3000 }], 3000],
    ['no port at all', [], undefined],
  ];
  for (const [why, ports, want] of cases) {
    const got = defaultServicePort(ports);
    assert.equal(got === undefined ? undefined : (got.name ?? got.port), want, why);
  }
});

test('a port speaks TLS when named https, numbered 443 or declared appProtocol https', () => {
  assert.equal(isTLSPort({ name: 'https', port: 8443 }), true);
  assert.equal(isTLSPort({ name: 'web', port: 443 }), true);
  assert.equal(isTLSPort({ name: 'web', port: 8443, appProtocol: 'HTTPS' }), true);
  assert.equal(isTLSPort({ name: 'http', port: 80 }), false);
  assert.equal(isTLSPort({ name: 'grpc', port: 9000, appProtocol: 'kubernetes.io/h2c' }), false);
});

const SERVICES: V1Service[] = [
  service('team-a', 'web', [
    { name: 'metrics', port: 9100 },
    { name: 'http', port: 80 },
  ]),
  service('team-a', 'secure', [
    { name: 'admin', port: 9000 },
    { name: 'https', port: 443 },
  ]),
  service('team-a', 'single', [8080]),
  // Both readings of `web-metrics--team-a` exist: Service `web-metrics`, and port `metrics` of `web`.
  service('team-a', 'web-metrics', [{ name: 'http', port: 80 }]),
];
const lookup = (ns: string, name: string) =>
  SERVICES.find((s) => s.metadata!.namespace === ns && s.metadata!.name === name);

const router = createHostRouter(
  {
    hostSuffix: 'apps.example.com',
    routes: [
      { host: 'grafana.example.com', target: 'team-a/web' },
      { host: 'metrics.example.com', target: 'team-a/web:metrics' },
    ],
  },
  lookup,
);
const routed = (host: string) => {
  const r = router.route(host, '/x?y=1');
  return r && { segment: r.path.segment, port: r.path.port, scheme: r.path.scheme, ambiguous: !!r.ambiguity };
};

test('a host without a port reaches the default port; authorization sees the name the host carries', () => {
  assert.deepEqual(routed('web--team-a.apps.example.com'), {
    segment: 'web',
    port: 'http',
    scheme: '',
    ambiguous: false,
  });
  assert.deepEqual(routed('secure--team-a.apps.example.com:443'), {
    segment: 'secure',
    port: 'https',
    scheme: 'https',
    ambiguous: false,
  });
  assert.deepEqual(routed('single--team-a.apps.example.com'), {
    segment: 'single',
    port: '',
    scheme: '',
    ambiguous: false,
  });
  assert.deepEqual(routed('grafana.example.com'), {
    segment: 'web',
    port: 'http',
    scheme: '',
    ambiguous: false,
  });
  // An unknown Service keeps what the host said: resolution answers its 404.
  assert.deepEqual(routed('nope--team-a.apps.example.com'), {
    segment: 'nope',
    port: '',
    scheme: '',
    ambiguous: false,
  });
});

test('a host naming a port reaches that port, by name or number; two readings stay ambiguous', () => {
  assert.deepEqual(routed('secure-admin--team-a.apps.example.com'), {
    segment: 'secure:admin',
    port: 'admin',
    scheme: '',
    ambiguous: false,
  });
  assert.deepEqual(routed('web-9100--team-a.apps.example.com'), {
    segment: 'web:9100',
    port: '9100',
    scheme: '',
    ambiguous: false,
  });
  assert.deepEqual(routed('metrics.example.com'), {
    segment: 'web:metrics',
    port: 'metrics',
    scheme: '',
    ambiguous: false,
  });
  assert.equal(routed('web-metrics--team-a.apps.example.com')!.ambiguous, true);
});

test('routed hosts by form: the sign-in handoff goes to these only', () => {
  const isRouted = routedHostMatcher({
    hostSuffix: 'apps.example.com',
    routes: [{ host: 'Grafana.Example.com.', target: 'a/b' }],
  });
  for (const host of [
    'web--team-a.apps.example.com',
    'WEB--Team-A.apps.example.com:8443',
    'grafana.example.com',
    'grafana.example.com.',
  ])
    assert.equal(isRouted(host), true, host);
  for (const host of [
    'apps.example.com',
    'bastion.apps.example.com',
    '--team-a.apps.example.com',
    'web--Team_A.apps.example.com',
    'web--team-a.apps.example.com.evil.test',
    'web--team-a.evilapps.example.com',
    'example.com',
    '',
  ])
    assert.equal(isRouted(host), false, host);
});
