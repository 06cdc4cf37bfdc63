/**
 * Verified claims → user, with the Kubernetes AuthenticationConfiguration
 * semantics: `claim` + `prefix` or a CEL `expression` for each field, claim
 * validation rules before mapping, user validation rules after it.
 *
 * Everything here is pure and compiled once per issuer; IO (signature checks,
 * JWKS, userinfo) happens before the claims get here.
 */
import type { ClaimMappingsConfig, JwtIssuerConfig } from '../../config/schema.js';
import type { Identity } from '../../request/identity.js';
import {
  compileExpression,
  ExpressionError,
  TOKEN_COST_LIMIT,
  toPlain,
  withCostBudget,
  type CompiledExpression,
} from './cel.js';
import { ClaimError } from './claim-error.js';
import { checkEmail, checkName, checkNotReserved } from './identity-names.js';

export { ClaimError };
export type Claims = Record<string, unknown>;
export type MappedUser = Omit<Identity, 'method'>;

/**
 * Claims larger than this are refused before any expression sees them. A
 * bearer token is capped at 12 KiB already; this bounds ID tokens and
 * userinfo from browser sign-in the same way, and with it the CEL cost.
 */
export const MAX_CLAIMS_BYTES = 64 * 1024;

type FieldMapping = NonNullable<ClaimMappingsConfig['groups']>;
type ClaimRule = JwtIssuerConfig['claimValidationRules'][number];
type UserRule = JwtIssuerConfig['userValidationRules'][number];

export interface MapperOptions {
  mappings: ClaimMappingsConfig;
  claimValidationRules?: ClaimRule[];
  userValidationRules?: UserRule[];
  /** Used for the default username prefix (`<issuer>#`), as the apiserver does for non-email claims. */
  issuerURL: string;
  /** Config path of this issuer, for expression errors (`authentication.jwt[0]`). */
  path: string;
  /** Let user names and groups start with `system:` (off: Kubernetes' own identities are refused). */
  allowSystemNames?: boolean;
}

/**
 * The apiserver's rule (OIDC core §5.1): an email is unverified only when the
 * token says so. `email_verified` absent is fine; present, it must be `true`
 * (a JSON boolean — the apiserver cannot read a string there either).
 */
const emailVerified = (claims: Claims) => !('email_verified' in claims) || claims.email_verified === true;

function evaluate(expr: CompiledExpression, vars: Record<string, unknown>, what: string): unknown {
  try {
    return toPlain(expr(vars));
  } catch (err) {
    throw new ClaimError(`${what}: ${(err as Error).message.split('\n')[0]}`);
  }
}

function stringList(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.filter((v) => v !== '');
  throw new ClaimError(`${what} must be a string or a list of strings`);
}

type StringField = ((claims: Claims) => string | undefined) & { expr?: CompiledExpression };

/** One field: a string from `claim` (with prefix) or from `expression`. */
function stringField(m: FieldMapping, path: string, defaultPrefix: string): StringField {
  if (m.expression !== undefined) {
    const expr = compileExpression(m.expression, 'claims', `${path}.expression`);
    const field: StringField = (claims) => {
      const v = evaluate(expr, { claims }, `${path.split('.').pop()} expression`);
      if (v === undefined || v === null || v === '') return undefined;
      if (typeof v !== 'string')
        throw new ClaimError(`${path.split('.').pop()} expression must return a string`);
      return v;
    };
    field.expr = expr;
    return field;
  }
  const claim = m.claim!;
  const prefix = m.prefix ?? defaultPrefix;
  return (claims) => {
    const v = claims[claim];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new ClaimError(`claim "${claim}" must be a string`);
    return prefix + v;
  };
}

function listField(m: FieldMapping, path: string): (claims: Claims) => string[] {
  if (m.expression !== undefined) {
    const expr = compileExpression(m.expression, 'claims', `${path}.expression`);
    return (claims) =>
      stringList(evaluate(expr, { claims }, 'groups expression'), 'groups expression result');
  }
  const claim = m.claim!;
  const prefix = m.prefix ?? '';
  return (claims) => stringList(claims[claim], `claim "${claim}"`).map((g) => prefix + g);
}

function claimRule(
  rule: ClaimRule,
  path: string,
): { check: (claims: Claims) => void; expr?: CompiledExpression } {
  if ('claim' in rule) {
    return {
      check(claims) {
        if (claims[rule.claim] !== rule.requiredValue) {
          throw new ClaimError(`claim "${rule.claim}" must be "${rule.requiredValue}"`);
        }
      },
    };
  }
  const expr = compileExpression(rule.expression, 'claims', `${path}.expression`);
  const message = rule.message ?? `claim validation rule failed: ${rule.expression}`;
  return {
    expr,
    check(claims) {
      if (evaluate(expr, { claims }, 'claim validation rule') !== true) throw new ClaimError(message);
    },
  };
}

function userRule(rule: UserRule, path: string): (user: MappedUser) => void {
  const expr = compileExpression(rule.expression, 'user', `${path}.expression`);
  const message = rule.message ?? `user validation rule failed: ${rule.expression}`;
  return (user) => {
    const vars = {
      user: { username: user.username, uid: user.uid ?? '', groups: user.groups, extra: user.extra },
    };
    if (evaluate(expr, vars, 'user validation rule') !== true) throw new ClaimError(message);
  };
}

/** Every field and rule of an issuer, compiled (expressions parsed, patterns checked). */
function compileParts(opts: MapperOptions) {
  const { mappings, path } = opts;
  const usernameClaim = mappings.username.expression === undefined ? mappings.username.claim! : undefined;
  // The apiserver prefixes non-email username claims with the issuer unless told otherwise,
  // so `sub` from two issuers can never name the same user.
  const defaultUserPrefix =
    usernameClaim === undefined || usernameClaim === 'email' ? '' : `${opts.issuerURL}#`;
  const parts = {
    usernameClaim,
    username: stringField(mappings.username, `${path}.claimMappings.username`, defaultUserPrefix),
    groups: mappings.groups ? listField(mappings.groups, `${path}.claimMappings.groups`) : () => [],
    uid: mappings.uid ? stringField(mappings.uid, `${path}.claimMappings.uid`, '') : () => undefined,
    email: mappings.email ? stringField(mappings.email, `${path}.claimMappings.email`, '') : verifiedEmail,
    extra: (mappings.extra ?? []).map((e, i) => ({
      key: e.key,
      expr: compileExpression(
        e.valueExpression,
        'claims',
        `${path}.claimMappings.extra[${i}].valueExpression`,
      ),
    })),
    claimRules: (opts.claimValidationRules ?? []).map((r, i) =>
      claimRule(r, `${path}.claimValidationRules[${i}]`),
    ),
    userRules: (opts.userValidationRules ?? []).map((r, i) =>
      userRule(r, `${path}.userValidationRules[${i}]`),
    ),
  };
  if (parts.username.expr)
    requireEmailVerifiedUse(opts, parts.username.expr, [
      ...parts.extra.map((e) => e.expr),
      ...parts.claimRules.map((r) => r.expr),
    ]);
  return parts;
}

/**
 * Compiles an issuer's mappings and rules into one function. Throws
 * ExpressionError (with the config path) when an expression does not parse.
 */
export function compileClaimMapper(opts: MapperOptions): (claims: Claims) => MappedUser {
  const { usernameClaim, username, groups, uid, email, extra, claimRules, userRules } = compileParts(opts);
  const mapUser = (claims: Claims): MappedUser => {
    for (const rule of claimRules) rule.check(claims);
    if (usernameClaim === 'email' && !emailVerified(claims)) {
      throw new ClaimError('email is not verified (the token’s email_verified claim is not true)');
    }
    const name = username(claims);
    if (name === undefined) {
      throw new ClaimError(
        usernameClaim ? `token has no "${usernameClaim}" claim` : 'username expression returned nothing',
      );
    }
    const user: MappedUser = { username: name, groups: groups(claims), extra: {} };
    const u = uid(claims);
    if (u !== undefined) user.uid = u;
    const e = email(claims);
    if (e !== undefined) user.email = e;
    for (const { key, expr } of extra) {
      const values = stringList(evaluate(expr, { claims }, `extra "${key}"`), `extra "${key}"`);
      if (values.length > 0) user.extra[key] = values;
    }
    for (const check of userRules) check(user);
    checkIdentity(user, opts.allowSystemNames === true);
    return user;
  };
  return (claims) => {
    checkClaimsSize(claims);
    return withCostBudget(TOKEN_COST_LIMIT, () => mapUser(claims));
  };
}

/** What authorization sees is what the upstream reads, and Kubernetes' own names stay Kubernetes'. */
function checkIdentity(user: MappedUser, allowSystemNames: boolean): void {
  checkName(user.username, 'user name');
  for (const g of user.groups) checkName(g, 'group');
  if (user.email !== undefined) checkEmail(user.email);
  if (!allowSystemNames) checkNotReserved(user);
}

function checkClaimsSize(claims: Claims): void {
  let size: number;
  try {
    size = JSON.stringify(claims).length;
  } catch {
    // Nested deeper than the stack allows: no mapping needs that.
    throw new ClaimError("the token's claims are nested too deeply");
  }
  if (size > MAX_CLAIMS_BYTES)
    throw new ClaimError(`the token's claims are larger than ${MAX_CLAIMS_BYTES / 1024} KiB`);
}

/**
 * The apiserver refuses a username expression that reads `claims.email`
 * unless `claims.email_verified` is read somewhere too (the username
 * expression, an extra mapping or a claim validation rule): an expression
 * bypasses the automatic check a `claim: email` mapping gets.
 */
function requireEmailVerifiedUse(
  opts: MapperOptions,
  usernameExpr: CompiledExpression,
  others: (CompiledExpression | undefined)[],
): void {
  if (!usernameExpr.readsClaim('email')) return;
  if ([usernameExpr, ...others].some((e) => e?.readsClaim('email_verified'))) return;
  throw new ExpressionError(
    `${opts.path}.claimMappings.username.expression`,
    'claims.email_verified must be used in claimMappings.username.expression or claimMappings.extra[*].valueExpression or claimValidationRules[*].expression when claims.email is used in claimMappings.username.expression',
  );
}

/**
 * Without an explicit email mapping, the `email` claim is passed on under the
 * same rule as an email user name: unless the token says it is unverified.
 */
function verifiedEmail(claims: Claims): string | undefined {
  return typeof claims.email === 'string' && emailVerified(claims) ? claims.email : undefined;
}
