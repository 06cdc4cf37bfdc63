/**
 * The config's globs: `*` matches any run of characters (including none,
 * `/` and `:`), everything else is literal, and the whole string must match.
 * Deliberately smaller than picomatch: names, namespaces, usernames such as
 * `system:serviceaccount:team-a:ci` and groups are not file paths.
 *
 * Matching never backtracks. The values come from the caller (user names and
 * groups from tokens, names from the URL), so a pattern compiled to a RegExp
 * (`^.*a.*a.*a.*b$`) let a 200-character name block the event loop for
 * 26 seconds, growing as the length to the power of the stars. Here the
 * literal pieces between stars are found left to right, each at its first
 * place after the previous one — for `*`-only globs the first place is
 * always a right one — so a match costs one pass of `indexOf` per piece.
 */
export type Matcher = (value: string) => boolean;

/** Does `value` match `pieces` (the pattern split at `*`, at least two pieces)? */
function matchPieces(pieces: readonly string[], value: string): boolean {
  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  // The middle pieces must fit, in order, between the prefix and the suffix.
  let from = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i];
    if (piece === '') continue;
    const at = value.indexOf(piece, from);
    if (at === -1 || at + piece.length > end) return false;
    from = at + piece.length;
  }
  return true;
}

export function compileGlob(pattern: string): Matcher {
  if (!pattern.includes('*')) return (value) => value === pattern;
  const pieces = pattern.split('*');
  if (pieces.every((p) => p === '')) return () => true;
  return (value) => matchPieces(pieces, value);
}

/** True when any of the patterns matches; `undefined` patterns mean "no restriction". */
export function compileGlobs(patterns: readonly string[] | undefined): Matcher {
  if (patterns === undefined) return () => true;
  const matchers = patterns.map(compileGlob);
  return (value) => matchers.some((m) => m(value));
}
