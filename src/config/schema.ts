/**
 * The one source of truth for the configuration file: its TypeScript types,
 * its defaults, its validation messages (with the path of the bad key) and the
 * generated reference in docs/configuration.md all come from here.
 *
 * Every object is strict, so a typo'd key is an error that names its path.
 *
 * The sections live in ./schema/, a file each (the claim mappings that jwt and
 * oidc share have their own, the common checks and `describe` are in
 * primitives.ts); this file composes them and applies the rules that span
 * sections (cross-section.ts). The files a config names are read and checked
 * when it loads (load.ts, named-files.ts). Together these are every rule the
 * gateway has about its config: the parts it builds assume a config that passed.
 */
import { z } from 'zod';
import { crossSectionIssues } from './cross-section.js';
import { authentication } from './schema/authentication.js';
import { authorization } from './schema/authorization.js';
import { kubernetes, staticState } from './schema/kubernetes.js';
import { admin, listen } from './schema/listen.js';
import { logging } from './schema/logging.js';
import { anyURL, describe } from './schema/primitives.js';
import { routing } from './schema/routing.js';
import { tunnels } from './schema/tunnels.js';
import { upstream } from './schema/upstream.js';

const sections = z.strictObject({
  listen: describe(listen.prefault({}), 'the public listener: proxied requests, sign-in and the portal'),
  admin: describe(admin.prefault({}), 'the admin listener: health checks and metrics'),
  publicURL: describe(
    anyURL
      .refine((u) => /^https?:\/\//.test(u), { message: 'must be an http:// or https:// URL' })
      .default('http://localhost:8080'),
    'external base URL: OIDC redirect URI and cookie flags',
  ),
  kubernetes,
  static: describe(staticState.prefault({}), 'Services defined in the file instead of read from a cluster'),
  authentication: describe(
    authentication.prefault({}),
    'who the caller is: browser sign-in, bearer tokens and sessions',
  ),
  authorization: describe(authorization.prefault({}), 'what a caller may reach'),
  routing: describe(routing, 'host-based access: Services on their own hostnames, with no path prefix'),
  tunnels: describe(
    tunnels.prefault({}),
    'TCP tunnels to Services and Pods (`kube-bastion connect`); off by default',
    [{ enabled: true, ports: [5432, 6379, 22], idleTimeout: '30m', maxLifetime: '8h', keepalive: '30s' }],
  ),
  upstream: describe(upstream, 'how requests reach the backends', [
    {
      connectTimeout: '2s',
      responseHeaderTimeout: '5m',
      idleTimeout: '60s',
      maxRequestBodyBytes: 10_485_760,
    },
  ]),
  logging: describe(logging, 'operational log and audit trail', [
    { level: 'warn', format: 'json', audit: { file: '/var/log/kube-bastion/audit.log' } },
  ]),
});

export const configSchema = sections.superRefine((config, ctx) => {
  for (const { path, message } of crossSectionIssues(config)) ctx.addIssue({ code: 'custom', path, message });
});

/** The validated configuration with every default filled in; durations in ms. */
export type Config = z.output<typeof sections>;
/** What a config file may contain. */
export type ConfigInput = z.input<typeof sections>;
export type JwtIssuerConfig = Config['authentication']['jwt'][number];
export type ClaimMappingsConfig = JwtIssuerConfig['claimMappings'];
export type RuleConfig = Config['authorization']['rules'][number];
export type StaticServiceConfig = Config['static']['services'][number];
