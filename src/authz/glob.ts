/**
 * The config's globs: `*` matches any run of characters (including none,
 * `/` and `:`), everything else is literal, and the whole string must match.
 * Deliberately smaller than picomatch: names, namespaces, usernames such as
 * `system:serviceaccount:team-a:ci` and groups are not file paths.
 */
export type Matcher = (value: string) => boolean;

/**
 * Matched without a regular expression: `^a.*b.*c$` backtracks, and with a
 * few stars (`*-*-*-*-prod`) a name the caller chose (a pod name may be 253
 * bytes) took V8 seconds to refuse — on every request, before any decision.
 * With `*` the only wildcard, taking each literal piece at its first place
 * after the previous one is exact, so a match costs at most one pass over
 * the value per piece.
 */
export function compileGlob(pattern: string): Matcher {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (value) => value === pattern;
  const pieces = pattern.split('*');
  const head = pieces[0];
  const tail = pieces[pieces.length - 1];
  const middle = pieces.slice(1, -1).filter((p) => p !== '');
  const least = pieces.reduce((n, p) => n + p.length, 0);
  return (value) => {
    if (value.length < least || !value.startsWith(head) || !value.endsWith(tail)) return false;
    const end = value.length - tail.length;
    let at = head.length;
    for (const piece of middle) {
      const found = value.indexOf(piece, at);
      if (found === -1 || found + piece.length > end) return false;
      at = found + piece.length;
    }
    return true;
  };
}

/** True when any of the patterns matches; `undefined` patterns mean "no restriction". */
export function compileGlobs(patterns: readonly string[] | undefined): Matcher {
  if (patterns === undefined) return () => true;
  const matchers = patterns.map(compileGlob);
  // A loop, not `some` with an arrow: this runs several times per request, and the arrow was a closure each time.
  return (value) => {
    for (const m of matchers) if (m(value)) return true;
    return false;
  };
}
