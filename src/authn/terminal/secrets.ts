/**
 * The secrets the gateway hands to a terminal, and what it keeps of them:
 * only a SHA-256 digest ever reaches the store, so reading the store (a
 * Secret, a Redis key) gives nobody a code or token they could use.
 *
 *   refresh token   kbr1.<family id>.<32 random bytes>   (the family id finds the record)
 *   one-time code   32 random bytes, base64url           (loopback redirect)
 *   device code     32 random bytes, base64url           (RFC 8628 device_code)
 *   user code       8 of USER_CODE_ALPHABET              (typed by a person)
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { USER_CODE_ALPHABET, USER_CODE_LENGTH } from './protocol.js';

export const digest = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** The id of a person's record (their list of sign-ins): a digest, so no store key holds a user name. */
export const personId = (username: string): string => digest(`person\n${username}`);

export const randomSecret = (): string => randomBytes(32).toString('base64url');

/** A new family id: 128 random bits, hex (fits Kubernetes object names). */
export const newFamilyId = (): string => randomBytes(16).toString('hex');

const REFRESH = /^kbr1\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;

export function newRefreshToken(fid: string): string {
  return `kbr1.${fid}.${randomSecret()}`;
}

/** The family a refresh token names; undefined when it is not shaped like one. */
export function refreshTokenFamily(token: string): string | undefined {
  return REFRESH.exec(token)?.[1];
}

/** A user code: about 34 bits, so guessing one needs ~10^10 tries against a 10-minute life and a rate limit. */
export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}
