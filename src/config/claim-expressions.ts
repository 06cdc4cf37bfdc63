/**
 * Every CEL expression and claim mapping of the bearer-token issuers and of
 * browser sign-in, compiled when the config loads: a bad expression is a
 * problem with its path (`authentication.jwt[1].claimMappings.username.expression`)
 * instead of a gateway that cannot start. The compiler is authn's own (the
 * one the gateway runs), so what passes here is what the gateway accepts.
 */
import { ExpressionError } from '../authn/claims/cel.js';
import { compileClaimMapper } from '../authn/claims/mapping.js';
import { parsePath, type ConfigIssue } from './issue.js';
import type { Config } from './schema.js';

function compiled(compile: () => unknown): ConfigIssue[] {
  try {
    compile();
    return [];
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return [{ path: parsePath(err.path), message: err.message.slice(err.path.length + 2) }];
  }
}

/** One issue per issuer (and for oidc) whose mappings do not compile: the first bad expression. */
export function claimExpressionIssues(authentication: Config['authentication']): ConfigIssue[] {
  const issues = authentication.jwt.flatMap((entry, i) =>
    compiled(() =>
      compileClaimMapper({
        ...entry,
        mappings: entry.claimMappings,
        issuerURL: entry.issuer.url,
        path: `authentication.jwt[${i}]`,
      }),
    ),
  );
  const oidc = authentication.oidc;
  if (oidc)
    issues.push(
      ...compiled(() =>
        compileClaimMapper({
          mappings: oidc.claimMappings,
          issuerURL: oidc.issuer,
          path: 'authentication.oidc',
          allowSystemNames: oidc.allowSystemNames,
        }),
      ),
    );
  return issues;
}
