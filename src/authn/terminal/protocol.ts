/**
 * The wire protocol between `kube-bastion login` and the gateway, in one
 * place that both sides import: endpoint paths, grant types, error codes,
 * the shapes of the JSON answers, and the PKCE and user-code rules. The
 * shapes follow RFC 6749 (token endpoint), RFC 7636 (PKCE, S256 only),
 * RFC 8252 (loopback redirect) and RFC 8628 (device authorization grant).
 */
import { createHash } from 'node:crypto';

export const TERMINAL_PATHS = {
  /** GET: the confirmation page of the loopback flow; POST: its Continue / Cancel buttons. */
  authorize: '/auth/cli/authorize',
  /** POST: every grant (authorization_code, refresh_token, device_code). */
  token: '/auth/cli/token',
  /** POST: starts a device authorization (RFC 8628 §3.1). */
  device: '/auth/cli/device',
  /** POST: revokes the sign-in (token family) a refresh or access token belongs to (RFC 7009 shape). */
  revoke: '/auth/cli/revoke',
  /** GET: where a person enters a device's user code; POST: Confirm / Deny. Short, for typing on a phone. */
  devicePage: '/auth/device',
  /** GET: the caller's identity (the same endpoint browsers use). */
  whoami: '/auth/whoami',
} as const;

/** The only path the gateway ever redirects to on the loopback listener. */
export const LOOPBACK_CALLBACK_PATH = '/callback';
/** The only host it redirects to (RFC 8252 §8.3: an IP literal, not `localhost`). */
export const LOOPBACK_HOST = '127.0.0.1';
/** Ports a loopback listener may have: unprivileged only. */
export const LOOPBACK_PORTS = { min: 1024, max: 65535 } as const;

export const GRANT_TYPES = {
  code: 'authorization_code',
  refresh: 'refresh_token',
  device: 'urn:ietf:params:oauth:grant-type:device_code',
} as const;

/** RFC 6749 §5.2 and RFC 8628 §3.5 error codes the token endpoint answers with. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token'
  | 'temporarily_unavailable'
  | 'server_error';

export interface OAuthErrorBody {
  error: OAuthErrorCode;
  error_description?: string;
}

/** Who the tokens stand for, as the gateway mapped them at sign-in. */
export interface TerminalIdentity {
  username: string;
  uid?: string;
  groups: string[];
  email?: string;
  extra?: Record<string, string[]>;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds. */
  expires_in: number;
  refresh_token: string;
  /** Seconds until this refresh token can no longer be used (idle limit or the sign-in's end). */
  refresh_token_expires_in: number;
  /** The identity the tokens carry, for `kube-bastion whoami` without a round trip. */
  identity: TerminalIdentity;
}

export interface DeviceAuthorizationResponse {
  device_code: string;
  /** As shown to people: `BCDF-GHJK`. */
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  /** Seconds. */
  expires_in: number;
  /** Seconds between polls. */
  interval: number;
}

// --- PKCE (RFC 7636) ------------------------------------------------------------

/** RFC 7636 §4.1: 43–128 characters of the unreserved set. */
export const VERIFIER_SHAPE = /^[A-Za-z0-9._~-]{43,128}$/;
/** A base64url SHA-256 digest: exactly 43 characters. */
export const CHALLENGE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** `state` is the client's; we only carry it back, so only its size and alphabet are bounded. */
export const STATE_SHAPE = /^[A-Za-z0-9._~-]{16,128}$/;

/** The S256 code challenge of a verifier. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

// --- user codes (RFC 8628 §6.1) -------------------------------------------------------

/** 20 consonants, no vowels (no words), nothing that reads as another letter or a digit. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;

/**
 * What a person typed, as the code it stands for: case, dashes and spaces do
 * not matter. Undefined when it cannot be a user code at all.
 */
export function normalizeUserCode(typed: string): string | undefined {
  const code = typed.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== USER_CODE_LENGTH) return undefined;
  for (const c of code) if (!USER_CODE_ALPHABET.includes(c)) return undefined;
  return code;
}

/** `BCDFGHJK` → `BCDF-GHJK`. */
export function displayUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}
