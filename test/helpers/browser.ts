/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * A real browser for the web UI's tests: Debian's Chromium (installed by .ci/run) driven by
 * playwright-core, which downloads no browser of its own. Also the accessibility checks the UI
 * tests run on every page: every control has a name, and text has enough contrast.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.KEEL_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Where the tests write their screenshots (gitignored). */
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-output', 'ui');

/** @throws when Chromium is not installed: the UI tests never skip. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 120_000 });
}

export const screenshot = (page: Page, name: string) =>
  page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

/** The controls of the page that have no accessible name (a label, aria-label, or text). */
export const unnamedControls = (page: Page): Promise<string[]> =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('input, select, textarea, button, a[href]')]
      .filter((el) => {
        const labelled =
          el.getAttribute('aria-label') ||
          el.getAttribute('aria-labelledby') ||
          (el as HTMLInputElement).labels?.length ||
          el.getAttribute('title') ||
          (el.tagName !== 'INPUT' && el.tagName !== 'SELECT' && el.textContent?.trim());
        return !labelled;
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );

/**
 * Every visible text element whose contrast against its background is below WCAG AA (4.5:1),
 * with its colours and ratio. The background is the first opaque one among its ancestors.
 */
export const lowContrast = (page: Page): Promise<string[]> =>
  page.evaluate(() => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const ch = [r, g, b].map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
    };
    const background = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const bad: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('body *')) {
      const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent?.trim());
      if (!own || el.offsetParent === null || el.closest('.visually-hidden, [aria-hidden="true"]')) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || Number(style.opacity) < 1) continue;
      const fg = rgb(style.color).slice(0, 3);
      const bg = background(el);
      const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      if (ratio < 4.5)
        bad.push(
          `${el.tagName} "${el.textContent?.trim().slice(0, 30)}" ${style.color} on rgb(${bg}) ${ratio.toFixed(2)}`,
        );
    }
    return bad;
  });
