/**
 * The config's globs: `*` matches any run of characters (including none,
 * `/` and `:`), everything else is literal, and the whole string must match.
 * Deliberately smaller than picomatch: names, namespaces, usernames such as
 * `system:serviceaccount:team-a:ci` and groups are not file paths.
 */
export type Matcher = (value: string) => boolean;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function compileGlob(pattern: string): Matcher {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (value) => value === pattern;
  const re = new RegExp('^' + pattern.split('*').map(escapeRegExp).join('.*') + '$', 's');
  return (value) => re.test(value);
}

/** True when any of the patterns matches; `undefined` patterns mean "no restriction". */
export function compileGlobs(patterns: readonly string[] | undefined): Matcher {
  if (patterns === undefined) return () => true;
  const matchers = patterns.map(compileGlob);
  return (value) => matchers.some((m) => m(value));
}
