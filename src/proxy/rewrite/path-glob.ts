/**
 * Path globs of the config (`upstream.rewriteHTMLExclude`,
 * `upstream.rewrite.sandbox`), matched in time linear in the path.
 *
 * picomatch compiles a glob to a JavaScript RegExp with nested lazy
 * quantifiers that backtrack: `…/proxy/**∕*-*-*-*-*.js` against a 238-byte
 * path blocked the event loop for 23 s, and the path is the client's to
 * choose. The same globs are compiled here to an RE2 expression (re2js, as
 * CEL's `matches()`), which never backtracks:
 *
 *   `**` as a whole segment   any number of segments (`a/**∕b` matches `a/b`, `a/x/y/b`; `a/**` matches `a`)
 *   `*`                       any run of characters but `/` (at least one when it is the whole segment)
 *   `?`                       one character but `/`
 *   `[abc]` `[a-z]` `[!a]`    one character of (or not of: `!` or `^`) the class, never `/`
 *   `{a,b}`                   either alternative (they may nest)
 *   `\x`                      `x` itself
 *
 * A path with a trailing slash matches a pattern without one, as in picomatch.
 * Everything else is literal, as are extglobs (`+(a|b)`) and a leading `!`,
 * which picomatch would read otherwise; picomatch also reads `[!a]` as the
 * class of `!` and `a`, where here (as in a shell) it is "not `a`".
 */
import { RE2JS } from 're2js';

/** RE2 syntax characters: escaped when they stand for themselves. */
const SPECIAL = /[\\^$.|?*+()[\]{}]/;
const literal = (c: string) => (SPECIAL.test(c) ? `\\${c}` : c);

/** Index of the `}` closing the `{` at `open`, when the braces hold a `,` at their own depth. */
function closingBrace(pattern: string, open: number): number | undefined {
  let depth = 0;
  let comma = false;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === ',' && depth === 1) comma = true;
    else if (c === '}' && --depth === 0) return comma ? i : undefined;
  }
  return undefined;
}

/** The class at `open` (`[` … `]`) as RE2, and the index after it; undefined when it does not close. */
function charClass(pattern: string, open: number): { re: string; next: number } | undefined {
  let i = open + 1;
  const negated = pattern[i] === '!' || pattern[i] === '^';
  if (negated) i++;
  let body = '';
  for (let first = true; i < pattern.length; i++, first = false) {
    const c = pattern[i];
    if (c === ']' && !first) return { re: negated ? `[^/${body}]` : `(?:[${body}])`, next: i + 1 };
    if (c === '\\' && i + 1 < pattern.length) body += `\\${pattern[++i]}`;
    else body += c === '-' ? '-' : /[\w]/.test(c) ? c : `\\${c}`;
  }
  return undefined;
}

const segmentStart = (p: string, i: number) => i === 0 || p[i - 1] === '/';
const segmentEnd = (p: string, i: number) => i === p.length || p[i] === '/';

/** The RE2 expression (unanchored) for one glob. */
export function globToRE2(pattern: string): string {
  let out = '';
  const closers: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) {
      out += literal(pattern[++i]);
    } else if (c === '/' && pattern.slice(i) === '/**') {
      out += '(?:/.*)?'; // `a/**` is `a` and everything below it
      break;
    } else if (c === '*') {
      let end = i;
      while (pattern[end + 1] === '*') end++;
      const whole = segmentStart(pattern, i) && segmentEnd(pattern, end + 1);
      if (end > i && whole && pattern[end + 1] === '/') {
        out += '(?:.*/)?'; // `**/`: any number of leading segments, none included
        i = end + 1;
      } else if (end > i && whole) {
        out += '.*';
        i = end;
      } else {
        out += whole ? '[^/]+' : '[^/]*';
        i = end;
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const cls = charClass(pattern, i);
      if (cls) {
        out += cls.re;
        i = cls.next - 1;
      } else out += literal(c);
    } else if (c === '{' && closingBrace(pattern, i) !== undefined) {
      closers.push(closingBrace(pattern, i)!);
      out += '(?:';
    } else if (c === ',' && closers.length > 0) {
      out += '|';
    } else if (c === '}' && closers.at(-1) === i) {
      closers.pop();
      out += ')';
    } else {
      out += literal(c);
    }
  }
  // As picomatch: a path that ends in a slash matches a pattern that does not.
  return pattern.endsWith('/') || pattern.endsWith('**') ? out : `${out}/?`;
}

/** One predicate for all `patterns`: true when the whole path matches any of them. */
export function compilePathGlobs(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const re = RE2JS.compile(patterns.map((p) => `(?:${globToRE2(p)})`).join('|'), RE2JS.DOTALL);
  return (path) => re.matches(path);
}
