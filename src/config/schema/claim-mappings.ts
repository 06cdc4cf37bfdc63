/**
 * How verified token claims become a user, and the checks on those claims:
 * shared by the bearer-token issuers (`jwt[]`) and browser sign-in (`oidc`).
 */
import { z } from 'zod';
import { describe, nonEmpty } from './primitives.js';

const claimOrExpression = z
  .strictObject({
    claim: describe(z.string().optional(), 'name of the token claim the value is read from'),
    prefix: describe(
      z.string().optional(),
      'prepended to the claim value (to each group); unset for username means `<issuer url>#` unless the claim is `email`',
    ),
    expression: describe(
      z.string().optional(),
      'CEL over `claims` computing the value instead of `claim` (a string; a list of strings for groups)',
    ),
  })
  .refine((m) => (m.claim === undefined) !== (m.expression === undefined), {
    message: 'set exactly one of claim or expression',
  })
  .refine((m) => m.expression === undefined || m.prefix === undefined, {
    message: 'prefix goes with claim, not with expression',
  });

export const claimMappings = z.strictObject({
  username: describe(
    claimOrExpression,
    'how the username is formed; with `claim: email` the token must have `email_verified: true`',
  ),
  groups: describe(
    claimOrExpression.optional(),
    'how the groups are formed (claim: a string or a list); none when unset',
  ),
  uid: describe(claimOrExpression.optional(), 'how the user’s uid is formed; none when unset'),
  email: describe(
    claimOrExpression.optional(),
    'how the email (sent upstream) is formed; default: the `email` claim, only when `email_verified` is true',
  ),
  extra: describe(
    z
      .array(
        z.strictObject({
          key: describe(nonEmpty, 'name of the extra attribute, e.g. `example.com/tenant`'),
          valueExpression: describe(
            nonEmpty,
            'CEL over `claims` returning a string or a list of strings; empty results are left out',
          ),
        }),
      )
      .optional(),
    'extra user attributes, passed to Kubernetes RBAC in the SubjectAccessReview',
  ),
});

export const claimValidationRule = z.union([
  z.strictObject({
    claim: describe(nonEmpty, 'claim that must hold exactly requiredValue'),
    requiredValue: describe(z.string(), 'the string the claim must equal'),
  }),
  z.strictObject({
    expression: describe(nonEmpty, 'CEL over `claims` that must return true'),
    message: describe(
      z.string().optional(),
      'why the token is refused when the rule fails (shown to the client)',
    ),
  }),
]);
