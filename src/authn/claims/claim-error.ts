/** The claims do not yield an acceptable user; the message is safe to show the client (401). */
export class ClaimError extends Error {
  readonly code = 'ERR_CLAIMS';
  constructor(message: string) {
    super(message);
    this.name = 'ClaimError';
  }
}
