/**
 * Rewrites the URL attributes of one start tag by splicing the raw source:
 * only the value of a rewritten attribute changes, every other byte of the
 * tag (case, quoting, other attributes, entities) stays as the upstream sent
 * it. The apiserver instead re-serializes every start tag it sees.
 */
import { planSrcsetRewrite } from './srcset.js';
import { applyEdits, planURLRewrite, type RewriteContext, type URLEdit } from './url.js';

/** The parts of parse5's start-tag token this module reads (sourceCodeLocation is always on in RewritingStream). */
export interface StartTagToken {
  tagName: string;
  attrs: { name: string; value: string }[];
  sourceCodeLocation?: {
    startOffset: number;
    attrs?: Record<string, { startOffset: number; endOffset: number }>;
  } | null;
}

/** The apiserver's table (transport.go `atomsToAttrs`), plus srcset, which it lacks. */
const URL_ATTRIBUTES: ReadonlyMap<string, readonly string[]> = new Map([
  ['a', ['href']],
  ['applet', ['codebase']],
  ['area', ['href']],
  ['audio', ['src']],
  ['base', ['href']],
  ['blockquote', ['cite']],
  ['body', ['background']],
  ['button', ['formaction']],
  ['command', ['icon']],
  ['del', ['cite']],
  ['embed', ['src']],
  ['form', ['action']],
  ['frame', ['longdesc', 'src']],
  ['head', ['profile']],
  ['html', ['manifest']],
  ['iframe', ['longdesc', 'src']],
  ['img', ['longdesc', 'src', 'usemap']],
  ['input', ['src', 'usemap', 'formaction']],
  ['ins', ['cite']],
  ['link', ['href']],
  ['object', ['classid', 'codebase', 'data', 'usemap']],
  ['q', ['cite']],
  ['script', ['src']],
  ['source', ['src']],
  ['video', ['poster', 'src']],
]);

const SRCSET_ATTRIBUTES: ReadonlyMap<string, readonly string[]> = new Map([
  ['img', ['srcset']],
  ['source', ['srcset']],
  ['link', ['imagesrcset']],
]);

const NON_ASCII = /[\u{80}-\u{10FFFF}]/u;

// name, `=` with optional spaces, optional opening quote.
const ATTRIBUTE_HEAD = /^([\s\S][^\s=]*)\s*=\s*(["']?)/;

/** The tag's new source text, or undefined when none of its attributes needs the prefix. */
export function rewriteStartTag(tag: StartTagToken, raw: string, ctx: RewriteContext): string | undefined {
  const urlAttrs = URL_ATTRIBUTES.get(tag.tagName);
  const srcsetAttrs = SRCSET_ATTRIBUTES.get(tag.tagName);
  if (urlAttrs === undefined && srcsetAttrs === undefined) return undefined;
  const tagStart = tag.sourceCodeLocation?.startOffset ?? 0;
  const splices: { start: number; end: number; text: string }[] = [];
  for (const attr of tag.attrs) {
    const edits = srcsetAttrs?.includes(attr.name)
      ? planSrcsetRewrite(attr.value, ctx)
      : urlAttrs?.includes(attr.name)
        ? [planURLRewrite(attr.value, ctx)].filter((e) => e !== undefined)
        : [];
    const loc = tag.sourceCodeLocation?.attrs?.[attr.name];
    if (edits.length === 0 || loc === undefined) continue;
    const start = loc.startOffset - tagStart;
    const end = loc.endOffset - tagStart;
    const text = rewriteAttributeSource(raw.slice(start, end), attr.value, edits);
    if (text !== undefined) splices.push({ start, end, text });
  }
  if (splices.length === 0) return undefined;
  return splices.reduceRight((acc, s) => acc.slice(0, s.start) + s.text + acc.slice(s.end), raw);
}

/** `name="value"` (any quoting) with the edits applied to its raw value. */
function rewriteAttributeSource(source: string, decoded: string, edits: URLEdit[]): string | undefined {
  const head = ATTRIBUTE_HEAD.exec(source);
  if (head === null) return undefined;
  const quote = head[2];
  const valueEnd = quote !== '' && source.endsWith(quote) && source.length > head[0].length ? -1 : undefined;
  const rawValue = source.slice(head[0].length, valueEnd);
  const q = quote === '' ? '"' : quote;
  const value = applyEditsToRaw(rawValue, decoded, edits).replaceAll(q, q === '"' ? '&quot;' : '&#39;');
  return `${head[1]}=${q}${value}${q}`;
}

/**
 * Applies edits planned on the decoded value to the raw one. Positions agree
 * while the raw text up to an edit has no character reference; when they do
 * not, the whole value is re-escaped from the decoded form instead. One pass
 * each way: a srcset can hold a hundred thousand candidates.
 */
function applyEditsToRaw(raw: string, decoded: string, edits: URLEdit[]): string {
  const lastEnd = edits.at(-1)?.end ?? 0;
  if (raw.slice(0, lastEnd) === decoded.slice(0, lastEnd)) return applyEdits(raw, edits, escapeAmpersands);
  const rewritten = escapeAmpersands(applyEdits(decoded, edits));
  // The body is decoded as latin1 (one char per byte). Non-ASCII chars of an
  // all-ASCII raw value came from references (`&eacute;`) and must stay references.
  const fromReferences = !NON_ASCII.test(raw);
  return fromReferences
    ? rewritten.replace(new RegExp(NON_ASCII, 'gu'), (c) => `&#${c.codePointAt(0)};`)
    : rewritten;
}

function escapeAmpersands(s: string): string {
  return s.replaceAll('&', '&amp;');
}
