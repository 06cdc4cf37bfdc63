/**
 * What a valid config may still get wrong: said by `check-config` (a line on
 * stderr each, still exit 0) and by `serve` at start (a warn log line each).
 * Warnings, not refusals: each is a choice an admin may make on purpose, but
 * rarely does.
 */
import { compileGlobs } from '../authz/glob.js';
import type { Config } from './schema.js';
import { isLoopbackURL } from './schema/primitives.js';

export interface ConfigWarning {
  /** The key the warning is about, as errors name them (`authorization.namespaces.deny`). */
  path: string;
  message: string;
}

export function configWarnings(config: Config): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const fence = config.authorization.namespaces;
  // Setting `deny` replaces its default (kube-system): a list written for a team's namespace opens the system one.
  if (compileGlobs(fence.allow)('kube-system') && !compileGlobs(fence.deny)('kube-system'))
    warnings.push({
      path: 'authorization.namespaces.deny',
      message:
        'kube-system is inside the namespace fence: setting deny replaced its default [kube-system]; add kube-system to deny unless you mean to reach it',
    });
  const publicURL = new URL(config.publicURL);
  if (config.authentication.oidc && publicURL.protocol === 'http:' && !isLoopbackURL(publicURL))
    warnings.push({
      path: 'publicURL',
      message:
        'plain http on a non-loopback host: session cookies are not Secure, and terminal sign-ins cannot be confirmed (browsers send no Fetch Metadata to plain http)',
    });
  return warnings;
}

/** One line per warning, as both commands print them. */
export const warningLine = (w: ConfigWarning): string => `warning: ${w.path}: ${w.message}`;
