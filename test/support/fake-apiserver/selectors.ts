/**
 * Label and field selectors, as the apiserver parses them from `labelSelector`
 * and `fieldSelector`: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`,
 * `k notin (a,b)`, joined by commas.
 */
import type { KubeObject } from './store.js';

export type ObjectMatcher = (obj: KubeObject) => boolean;

export class SelectorError extends Error {
  override name = 'SelectorError';
}

type Requirement = (value: string | undefined) => boolean;

/** Splits on commas that are not inside `( … )`. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function parseTerm(term: string, allowSets: boolean): [string, Requirement] {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set && allowSets) {
    const values = new Set(set[3].split(',').map((v) => v.trim()));
    return set[2] === 'in'
      ? [set[1], (v) => v !== undefined && values.has(v)]
      : [set[1], (v) => v === undefined || !values.has(v)];
  }
  const cmp = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/.exec(term);
  if (cmp) {
    const [, key, op, want] = cmp;
    return op === '!=' ? [key, (v) => v !== want] : [key, (v) => v === want];
  }
  if (allowSets && /^![^\s!=]+$/.test(term)) return [term.slice(1), (v) => v === undefined];
  if (allowSets && /^[^\s!=()]+$/.test(term)) return [term, (v) => v !== undefined];
  throw new SelectorError(`unable to parse requirement: ${JSON.stringify(term)}`);
}

export function parseLabelSelector(selector: string | null): ObjectMatcher {
  if (!selector) return () => true;
  const requirements = splitTerms(selector).map((t) => parseTerm(t, true));
  return (obj) => requirements.every(([key, ok]) => ok(obj.metadata?.labels?.[key]));
}

function fieldValue(obj: KubeObject, path: string): string | undefined {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return typeof cur === 'string' || typeof cur === 'number' || typeof cur === 'boolean'
    ? String(cur)
    : undefined;
}

/** Field selectors support `=`, `==` and `!=` on dotted paths such as `metadata.name`. */
export function parseFieldSelector(selector: string | null): ObjectMatcher {
  if (!selector) return () => true;
  const requirements = splitTerms(selector).map((t) => parseTerm(t, false));
  return (obj) => requirements.every(([path, ok]) => ok(fieldValue(obj, path) ?? ''));
}
