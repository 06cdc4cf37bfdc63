import { randomBytes } from 'node:crypto';

/** A random, unguessable session handle (144 bits). */
export const newSessionId = (): string => randomBytes(18).toString('base64url');
