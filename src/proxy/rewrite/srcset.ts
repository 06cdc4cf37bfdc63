/**
 * `srcset` / `imagesrcset` hold several URLs ("a.png 1x, /b.png 2x"); the
 * apiserver skips them (kubernetes/kubernetes#48503), which breaks responsive
 * images under the prefix. Parsed as in the HTML standard's "parse a srcset
 * attribute": a URL is a run of non-space characters (trailing commas end the
 * candidate), descriptors run to the next comma outside parentheses.
 */
import { planURLRewrite, type RewriteContext, type URLEdit } from './url.js';

const SPACE = /[\t\n\f\r ]/;

/** One edit per candidate URL that needs the prefix, in ascending order. */
export function planSrcsetRewrite(value: string, ctx: RewriteContext): URLEdit[] {
  const edits: URLEdit[] = [];
  let pos = 0;
  while (pos < value.length) {
    while (pos < value.length && (SPACE.test(value[pos]) || value[pos] === ',')) pos++;
    if (pos >= value.length) break;
    const urlStart = pos;
    while (pos < value.length && !SPACE.test(value[pos])) pos++;
    let urlEnd = pos;
    const endedByComma = value[urlEnd - 1] === ',';
    while (urlEnd > urlStart && value[urlEnd - 1] === ',') urlEnd--;
    const edit = planURLRewrite(value.slice(urlStart, urlEnd), ctx);
    if (edit)
      edits.push({ start: urlStart + edit.start, end: urlStart + edit.end, replacement: edit.replacement });
    if (!endedByComma) pos = skipDescriptors(value, pos);
  }
  return edits;
}

/** Moves past the descriptors ("2x", "100w", or anything up to a comma outside parentheses). */
function skipDescriptors(value: string, from: number): number {
  let depth = 0;
  let pos = from;
  for (; pos < value.length; pos++) {
    const c = value[pos];
    if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (c === ',' && depth === 0) return pos + 1;
  }
  return pos;
}
