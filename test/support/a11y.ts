/**
 * Accessibility checks that run in a real browser page: text contrast (WCAG 2.1
 * 1.4.3), target size (WCAG 2.2 2.5.8), the focus indicator, horizontal
 * scrolling, and the accessible names Chromium itself computes.
 *
 * Code passed to page.evaluate runs in the page, so it is self-contained and
 * its helpers are object methods: tsx (esbuild keepNames) wraps `const f = () => …`
 * in a `__name()` call that does not exist in the page. The project compiles
 * without the DOM lib, so the page's types are the few declared below.
 */
import type { Locator, Page } from 'playwright-core';

interface Box {
  width: number;
  height: number;
  right: number;
  bottom: number;
}
interface PageElement {
  tagName: string;
  id: string;
  childNodes: ArrayLike<{ nodeType: number; textContent: string | null }>;
  parentElement: PageElement | null;
  textContent: string | null;
  value?: string;
  placeholder?: string;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): Box;
  checkVisibility(o: { checkOpacity: boolean; checkVisibilityCSS: boolean }): boolean;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}
interface PageStyle {
  color: string;
  backgroundColor: string;
  fontSize: string;
  fontWeight: string;
  display: string;
  outlineStyle: string;
  outlineWidth: string;
  outlineColor: string;
  boxShadow: string;
}
interface PageWindow {
  document: {
    body: PageElement;
    activeElement: PageElement | null;
    documentElement: { scrollWidth: number };
  };
  getComputedStyle(el: PageElement, pseudo?: string): PageStyle;
}

export interface ContrastResult {
  /** The element's own text (trimmed), or `placeholder: …` for an empty field. */
  text: string;
  ratio: number;
  /** 4.5 for normal text, 3 for large text (>= 24px, or >= 18.66px bold). */
  required: number;
  color: string;
  background: string;
}

/**
 * The contrast of every visible element with text of its own against its
 * effective background: the first non-transparent background-color up its
 * ancestors (translucent layers blended), white at the root.
 */
export function textContrast(page: Page): Promise<ContrastResult[]> {
  return page.evaluate(() => {
    type RGBA = [number, number, number, number];
    const w = globalThis as unknown as PageWindow;
    const c = {
      parse(css: string): RGBA {
        const m = /^rgba?\(([\d.]+),? ([\d.]+),? ([\d.]+)(?:(?:,| \/) ([\d.]+))?\)$/.exec(css);
        if (!m) throw new Error(`a computed colour this check cannot read: ${css}`);
        return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
      },
      over(top: RGBA, below: RGBA): RGBA {
        const a = top[3];
        return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat(1) as RGBA;
      },
      luminance(rgb: RGBA): number {
        const [r, g, b] = rgb.slice(0, 3).map((v) => {
          const s = v / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      },
      ratio(a: RGBA, b: RGBA): number {
        const [hi, lo] = [this.luminance(a), this.luminance(b)].sort((x, y) => y - x);
        return (hi + 0.05) / (lo + 0.05);
      },
      background(el: PageElement): RGBA {
        const layers: RGBA[] = [];
        for (let e: PageElement | null = el; e; e = e.parentElement) {
          const bg = this.parse(w.getComputedStyle(e).backgroundColor);
          if (bg[3] === 0) continue;
          layers.push(bg);
          if (bg[3] === 1) break;
        }
        return layers.reduceRight<RGBA>((below, layer) => this.over(layer, below), [255, 255, 255, 1]);
      },
      result(el: PageElement, text: string, color: string): ContrastResult {
        const s = w.getComputedStyle(el);
        const bg = this.background(el);
        const size = parseFloat(s.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
        const ratio = this.ratio(this.over(this.parse(color), bg), bg);
        return {
          text: text.length > 60 ? `${text.slice(0, 57)}…` : text,
          ratio: Math.floor(ratio * 100) / 100,
          required: large ? 3 : 4.5,
          color,
          background: `rgb(${bg.slice(0, 3).map(Math.round).join(', ')})`,
        };
      },
      shown(el: PageElement): boolean {
        const box = el.getBoundingClientRect();
        // Off-screen counts as hidden: the skip link waits at left: -999px until it has focus.
        return (
          el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }) &&
          box.width > 0 &&
          box.height > 0 &&
          box.right > 0 &&
          box.bottom > 0
        );
      },
    };
    const out: ContrastResult[] = [];
    for (const el of Array.from(w.document.body.querySelectorAll('*'))) {
      if (!c.shown(el)) continue;
      const own = Array.from(el.childNodes)
        .filter((n) => n.nodeType === 3)
        .map((n) => n.textContent ?? '')
        .join('')
        .replace(/\s+/g, ' ')
        .trim();
      if (own) out.push(c.result(el, own, w.getComputedStyle(el).color));
      const field = el.tagName === 'INPUT' || el.tagName === 'TEXTAREA';
      if (field && el.value) out.push(c.result(el, el.value, w.getComputedStyle(el).color));
      if (field && !el.value && el.placeholder)
        out.push(
          c.result(el, `placeholder: ${el.placeholder}`, w.getComputedStyle(el, '::placeholder').color),
        );
    }
    return out;
  });
}

export interface Target {
  /** aria-label, text, or `#id`: what a failure message names. */
  name: string;
  tag: string;
  width: number;
  height: number;
  /**
   * An inline link inside a sentence, which WCAG 2.5.8 exempts (its height is
   * the line's); every other link, button and field must be 24x24.
   */
  inline: boolean;
}

/** The size of every visible link, button and form field. */
export function targetSizes(page: Page): Promise<Target[]> {
  return page.evaluate(() => {
    const w = globalThis as unknown as PageWindow;
    const controls = w.document.body.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea',
    );
    return Array.from(controls)
      .filter((el) => {
        const box = el.getBoundingClientRect();
        return el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }) && box.right > 0;
      })
      .map((el) => {
        const box = el.getBoundingClientRect();
        const text = (el.textContent ?? '').replace(/\s+/g, ' ').trim();
        return {
          name: el.getAttribute('aria-label') ?? (text || `#${el.id}`),
          tag: el.tagName.toLowerCase(),
          width: Math.round(box.width * 10) / 10,
          height: Math.round(box.height * 10) / 10,
          inline: w.getComputedStyle(el).display === 'inline',
        };
      });
  });
}

/** How wide the page is laid out; wider than the viewport means sideways scrolling. */
export function scrollWidth(page: Page): Promise<number> {
  return page.evaluate(() => (globalThis as unknown as PageWindow).document.documentElement.scrollWidth);
}

/** Presses Tab until `target` has focus; the number of presses, or an error after `max`. */
export async function tabTo(page: Page, target: Locator, max = 20): Promise<number> {
  for (let presses = 1; presses <= max; presses++) {
    await page.keyboard.press('Tab');
    const focused = await target.evaluate(
      (el) => (globalThis as unknown as PageWindow).document.activeElement === el,
    );
    if (focused) return presses;
  }
  throw new Error(`${String(target)} did not get focus within ${max} presses of Tab`);
}

export interface FocusStyle {
  outline: string;
  boxShadow: string;
  /** An outline of some width and style, or a box-shadow. */
  drawn: boolean;
}

/** What the browser draws around an element right now (take it before and after focus). */
export function focusStyle(target: Locator): Promise<FocusStyle> {
  return target.evaluate((el) => {
    const s = (globalThis as unknown as PageWindow).getComputedStyle(el as PageElement);
    return {
      outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
      boxShadow: s.boxShadow,
      drawn: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none',
    };
  });
}

export interface Control {
  role: string;
  /** The accessible name Chromium computed (label[for], aria-label, text…). */
  name: string;
  /** The element, for a failure message: `<input id="q" …>`. */
  element: string;
}

const CONTROL_ROLES = new Set([
  'button',
  'link',
  'textbox',
  'searchbox',
  'combobox',
  'listbox',
  'checkbox',
  'radio',
  'switch',
  'slider',
  'spinbutton',
]);

/** Every interactive node in Chromium's accessibility tree, with its computed name. */
export async function accessibleControls(page: Page): Promise<Control[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const controls = nodes.filter((n) => !n.ignored && CONTROL_ROLES.has(String(n.role?.value)));
    return await Promise.all(
      controls.map(async (n) => {
        let element = '?';
        if (n.backendDOMNodeId !== undefined) {
          const { node } = await cdp.send('DOM.describeNode', { backendNodeId: n.backendDOMNodeId });
          const attrs = node.attributes ?? [];
          const pairs = attrs.flatMap((v, i) => (i % 2 === 0 ? [`${v}="${attrs[i + 1]}"`] : []));
          element = `<${node.localName}${pairs.map((p) => ` ${p}`).join('')}>`;
        }
        return { role: String(n.role?.value), name: String(n.name?.value ?? '').trim(), element };
      }),
    );
  } finally {
    await cdp.detach();
  }
}
