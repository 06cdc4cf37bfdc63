/**
 * Issuer URLs compared the way people write them: scheme and host without
 * case, with or without a trailing slash. For checks that must not be dodged
 * by spelling (the gateway's own assertion issuer is never a bearer issuer);
 * an issuer's own `iss` is still matched exactly, as the apiserver does.
 */
export function sameIssuer(a: string, b: string): boolean {
  const norm = (s: string) => {
    try {
      return new URL(s).href.replace(/\/+$/, '');
    } catch {
      return s.replace(/\/+$/, '');
    }
  };
  return norm(a) === norm(b);
}
