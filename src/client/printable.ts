/**
 * Text a server or an IdP chose, made safe for the person's terminal
 * (Kubernetes CVE-2021-25743: kubectl printed raw server text). A Status
 * message, an OAuth error, a user name from the IdP's claims can carry ESC
 * (move the cursor, set the window title, an OSC 8 hyperlink), CR (rewrite
 * the line), an 8-bit CSI (U+009B), or bidi and invisible format characters
 * (U+202E reverses what follows, U+200B hides). Every such character is
 * written as a visible escape instead; other non-ASCII (a name in any
 * script) stays as it is.
 */

/** C0/C1 controls and DEL, format characters (bidi, zero-width), line and paragraph separators, lone surrogates. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** Foreign text cut to this many characters unless the caller says otherwise: one line stays one line. */
export const SHOWN_CHARS = 300;

function escape(ch: string): string {
  const c = ch.codePointAt(0) ?? 0;
  if (c <= 0xff) return `\\x${c.toString(16).padStart(2, '0')}`;
  return c <= 0xffff ? `\\u${c.toString(16).padStart(4, '0')}` : `\\u{${c.toString(16)}}`;
}

/** `text` on one line with every unsafe character escaped (`\x1b`, `\u202e`), cut to `max` characters with `…`. */
export function printable(text: string, max = SHOWN_CHARS): string {
  const chars = [...String(text)];
  const shown = chars.slice(0, max).join('').replace(UNSAFE, escape);
  return chars.length > max ? `${shown}…` : shown;
}

/**
 * A value as JSON that is safe on a terminal and still the same data: JSON
 * itself escapes C0 controls but not C1, bidi or format characters, which can
 * only stand inside its strings, so escaping them there (`\u202e`) keeps
 * every value as it was for `jq` and friends.
 */
export function terminalJSON(value: unknown): string {
  // Raw controls left in JSON's text are its own line breaks: JSON escapes every one inside a string.
  return JSON.stringify(value, null, 2).replace(UNSAFE, (ch) =>
    ch === '\n'
      ? ch
      : [...Array(ch.length).keys()]
          .map((i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`)
          .join(''),
  );
}
