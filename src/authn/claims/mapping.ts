/**
 * Verified claims → user, with the Kubernetes AuthenticationConfiguration
 * semantics: `claim` + `prefix` or a CEL `expression` for each field, claim
 * validation rules before mapping, user validation rules after it.
 *
 * Everything here is pure and compiled once per issuer; IO (signature checks,
 * JWKS, userinfo) happens before the claims get here.
 */
import type { ClaimMappingsConfig, JwtIssuerConfig } from '../../config/schema.js';
import type { Identity } from '../identity.js';
import { compileExpression, toPlain, type CompiledExpression } from './cel.js';

export type Claims = Record<string, unknown>;
export type MappedUser = Omit<Identity, 'method'>;

/** The claims do not yield an acceptable user; the message is safe to show the client. */
export class ClaimError extends Error {
  readonly code = 'ERR_CLAIMS';
  constructor(message: string) {
    super(message);
    this.name = 'ClaimError';
  }
}

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
}

const isVerified = (v: unknown) => v === true || v === 'true';

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

/** One field: a string from `claim` (with prefix) or from `expression`. */
function stringField(
  m: FieldMapping,
  path: string,
  defaultPrefix: string,
): (claims: Claims) => string | undefined {
  if (m.expression !== undefined) {
    const expr = compileExpression(m.expression, 'claims', `${path}.expression`);
    return (claims) => {
      const v = evaluate(expr, { claims }, `${path.split('.').pop()} expression`);
      if (v === undefined || v === null || v === '') return undefined;
      if (typeof v !== 'string')
        throw new ClaimError(`${path.split('.').pop()} expression must return a string`);
      return v;
    };
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

function claimRule(rule: ClaimRule, path: string): (claims: Claims) => void {
  if ('claim' in rule) {
    return (claims) => {
      if (claims[rule.claim] !== rule.requiredValue) {
        throw new ClaimError(`claim "${rule.claim}" must be "${rule.requiredValue}"`);
      }
    };
  }
  const expr = compileExpression(rule.expression, 'claims', `${path}.expression`);
  const message = rule.message ?? `claim validation rule failed: ${rule.expression}`;
  return (claims) => {
    if (evaluate(expr, { claims }, 'claim validation rule') !== true) throw new ClaimError(message);
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

/**
 * Compiles an issuer's mappings and rules into one function. Throws
 * ExpressionError (with the config path) when an expression does not parse.
 */
export function compileClaimMapper(opts: MapperOptions): (claims: Claims) => MappedUser {
  const { mappings, path } = opts;
  const usernameClaim = mappings.username.expression === undefined ? mappings.username.claim! : undefined;
  // The apiserver prefixes non-email username claims with the issuer unless told otherwise,
  // so `sub` from two issuers can never name the same user.
  const defaultUserPrefix =
    usernameClaim === undefined || usernameClaim === 'email' ? '' : `${opts.issuerURL}#`;
  const username = stringField(mappings.username, `${path}.claimMappings.username`, defaultUserPrefix);
  const groups = mappings.groups ? listField(mappings.groups, `${path}.claimMappings.groups`) : () => [];
  const uid = mappings.uid ? stringField(mappings.uid, `${path}.claimMappings.uid`, '') : () => undefined;
  const email = mappings.email
    ? stringField(mappings.email, `${path}.claimMappings.email`, '')
    : verifiedEmail;
  const extra = (mappings.extra ?? []).map((e, i) => ({
    key: e.key,
    expr: compileExpression(e.valueExpression, 'claims', `${path}.claimMappings.extra[${i}].valueExpression`),
  }));
  const claimRules = (opts.claimValidationRules ?? []).map((r, i) =>
    claimRule(r, `${path}.claimValidationRules[${i}]`),
  );
  const userRules = (opts.userValidationRules ?? []).map((r, i) =>
    userRule(r, `${path}.userValidationRules[${i}]`),
  );

  return (claims) => {
    for (const check of claimRules) check(claims);
    if (usernameClaim === 'email' && !isVerified(claims.email_verified)) {
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
    return user;
  };
}

/** Without an explicit email mapping, only a verified email is passed on (X-Forwarded-Email is trusted upstream). */
function verifiedEmail(claims: Claims): string | undefined {
  return typeof claims.email === 'string' && isVerified(claims.email_verified) ? claims.email : undefined;
}
