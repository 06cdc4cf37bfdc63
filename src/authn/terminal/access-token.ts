/**
 * The gateway's own access tokens for the terminal: short-lived JWTs the CLI
 * sends as `Authorization: Bearer`.
 *
 *   header  { alg: HS256, typ: "kb-cli+jwt", kid }
 *   claims  { iss: publicURL, aud: "<publicURL origin>/auth/cli", sub: username,
 *             uid?, groups, email?, extra?, fam, jti, iat, exp }
 *
 * Nothing about them is shared with the identity assertion every upstream
 * receives (ES256, `typ: JWT`, `aud` = the target, its own key): a token is
 * accepted here only with this `typ`, this algorithm, this audience and a key
 * derived from the session secret for this purpose alone, so an upstream that
 * replays an assertion as a bearer token is refused (CVE-2024-47616 class).
 * `fam` names the sign-in (token family) the token belongs to: revoking the
 * family ends every token of it (families.ts).
 */
import { createHash, hkdfSync, randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { TerminalIdentity } from './protocol.js';

export const ACCESS_TOKEN_TYPE = 'kb-cli+jwt';
const ALGORITHM = 'HS256';

/** Why an access token was refused, in words a user can act on. */
export class AccessTokenError extends Error {
  readonly code = 'ERR_CLI_ACCESS_TOKEN';
  constructor(message: string) {
    super(message);
    this.name = 'AccessTokenError';
  }
}

export interface VerifiedAccessToken {
  identity: TerminalIdentity;
  /** The token family (sign-in) it belongs to. */
  fid: string;
  /** ms since the epoch. */
  expiresAt: number;
}

interface Key {
  kid: string;
  raw: Uint8Array;
}

function deriveKey(secret: string): Key {
  const raw = new Uint8Array(hkdfSync('sha256', secret, 'kube-bastion', 'cli-access-token:v1', 32));
  return { kid: createHash('sha256').update(raw).digest('base64url').slice(0, 12), raw };
}

/** Whether a bearer token is one of ours by its header alone (no other authenticator judges it then). */
export function isAccessTokenShape(token: string): boolean {
  try {
    return decodeProtectedHeader(token).typ === ACCESS_TOKEN_TYPE;
  } catch {
    return false;
  }
}

export class AccessTokens {
  private readonly current: Key;
  private readonly byKid: Map<string, Key>;
  readonly issuer: string;
  readonly audience: string;

  /** `secrets[0]` signs; every one of them verifies (session secret rotation). */
  constructor(
    secrets: readonly string[],
    publicURL: URL,
    private readonly now: () => number,
  ) {
    const keys = secrets.map(deriveKey);
    this.current = keys[0];
    this.byKid = new Map(keys.map((k) => [k.kid, k]));
    this.issuer = publicURL.href.replace(/\/+$/, '');
    this.audience = `${publicURL.origin}/auth/cli`;
  }

  async mint(identity: TerminalIdentity, fid: string, expiresAt: number): Promise<string> {
    const claims: Record<string, unknown> = { groups: identity.groups, fam: fid };
    if (identity.uid) claims.uid = identity.uid;
    if (identity.email) claims.email = identity.email;
    if (identity.extra && Object.keys(identity.extra).length > 0) claims.extra = identity.extra;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid: this.current.kid })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(identity.username)
      .setJti(randomUUID())
      .setIssuedAt(Math.floor(this.now() / 1000))
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(this.current.raw);
  }

  async verify(token: string): Promise<VerifiedAccessToken> {
    let payload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = typeof header.kid === 'string' ? this.byKid.get(header.kid) : undefined;
          if (!key) throw new AccessTokenError('the token was signed with a key this gateway no longer has');
          return key.raw;
        },
        {
          algorithms: [ALGORITHM],
          typ: ACCESS_TOKEN_TYPE,
          issuer: this.issuer,
          audience: this.audience,
          requiredClaims: ['sub', 'exp', 'iat', 'fam'],
          currentDate: new Date(this.now()),
        },
      ));
    } catch (err) {
      if (err instanceof AccessTokenError) throw err;
      if (err instanceof joseErrors.JWTExpired)
        throw new AccessTokenError('the access token has expired; run `kube-bastion token` for a new one');
      throw new AccessTokenError('the access token is not valid for this gateway');
    }
    const groups = Array.isArray(payload.groups) ? payload.groups.filter((g) => typeof g === 'string') : [];
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return {
      fid: String(payload.fam),
      expiresAt: payload.exp! * 1000,
      identity: {
        username: payload.sub!,
        uid: str(payload.uid),
        groups,
        email: str(payload.email),
        extra: (payload.extra as Record<string, string[]> | undefined) ?? {},
      },
    };
  }
}
