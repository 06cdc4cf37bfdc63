/**
 * What an upstream learns about the caller: plain identity headers and a
 * signed assertion, and which client-sent header names are never passed on.
 */
import type { Identity } from '../request/identity.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Target } from '../request/target.js';
import { assertionAudience, createAssertionSigner, type AssertionSigner } from './assertion.js';
import { identityHeaders } from './identity-headers.js';
import { reservedHeaderMatcher } from './reserved-headers.js';

export {
  assertionAudience,
  assertionIssuer,
  createAssertionSigner,
  type AssertionSigner,
} from './assertion.js';
export { encodeGroup, groupsHeaderValue, identityHeaders } from './identity-headers.js';
export { isReservedHeader, reservedHeaderMatcher } from './reserved-headers.js';
export { SigningKeyError } from './signing-keys.js';

export interface UpstreamIdentity {
  /** True for identity/assertion header names in any case or `_`/`-` spelling, custom names included. */
  isReservedHeader(name: string): boolean;
  /**
   * The identity headers plus, when enabled, the signed assertion for this target: at once when the
   * assertion was signed before (the common case), later when it must be signed now.
   */
  headersFor(
    identity: Identity,
    target: Pick<Target, 'kind' | 'namespace' | 'name'>,
  ): Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>;
  /** The public keys for /.well-known/jwks.json (empty when assertions are off). */
  jwks(): { keys: AssertionSignerJWK[] };
  close(): void;
}

type AssertionSignerJWK = ReturnType<AssertionSigner['jwks']>['keys'][number];

export async function createUpstreamIdentity(
  config: Config,
  deps: { logger: Logger; now?: () => number },
): Promise<UpstreamIdentity> {
  const { upstream } = config;
  const signer = upstream.assertion.enabled ? await createAssertionSigner(config, deps) : undefined;
  const assertionHeader = upstream.assertion.header;
  // An identity is never changed once made, and the token cache hands the same one to every request
  // with that token: its headers are built once, and kept with the last assertion it was sent with (the
  // signer hands out the same token until it renews it). Frozen: every request shares them.
  type Sent = {
    plain: Readonly<Record<string, string>>;
    token?: string;
    withToken?: Readonly<Record<string, string>>;
  };
  const sent = new WeakMap<Identity, Sent>();
  const sentFor = (identity: Identity): Sent => {
    let s = sent.get(identity);
    if (!s)
      sent.set(identity, (s = { plain: Object.freeze(identityHeaders(identity, upstream.identityHeaders)) }));
    return s;
  };
  const withAssertion = (s: Sent, token: string) => {
    if (s.token !== token) {
      s.withToken = Object.freeze({ ...s.plain, [assertionHeader]: token });
      s.token = token;
    }
    return s.withToken!;
  };
  return {
    isReservedHeader: reservedHeaderMatcher(upstream),
    headersFor(identity, target) {
      const s = sentFor(identity);
      if (!signer) return s.plain;
      const token = signer.sign(identity, assertionAudience(target));
      if (typeof token === 'string') return withAssertion(s, token);
      return token.then((signed) => withAssertion(s, signed));
    },
    jwks: () => signer?.jwks() ?? { keys: [] },
    close: () => signer?.close(),
  };
}
