// Shared by the viewer's browser tests: page-state probes, logging in, device profiles and
// screenshots. Page-side expressions are strings so the TypeScript transform cannot rename
// browser globals.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1366, height: 768 } };
export const TABLET: BrowserContextOptions = { viewport: { width: 820, height: 1180 }, isMobile: true, hasTouch: true };
export const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
export const PHONE_LANDSCAPE: BrowserContextOptions = { ...PHONE, viewport: { width: 844, height: 390 } };

/** A value from `window.__neko.state()`, e.g. `neko(page, '.isHost')`. */
export const neko = <T>(page: Page, expr: string) => page.evaluate(`window.__neko.state()${expr}`) as Promise<T>;

/** Waits until `expr` (with `s` = the viewer's state) holds. */
export const until = (page: Page, expr: string, timeout = 10_000) =>
  page.waitForFunction(`(() => { const s = window.__neko && window.__neko.state(); return !!s && (${expr}); })()`, null, { timeout });

export const framesDecoded = (page: Page) => page.evaluate('window.__neko.framesDecoded()') as Promise<number>;

/**
 * Opens the viewer in a fresh context and logs in through `?usr=&pwd=`; returns the page and
 * its session id. `initScript` runs in the page before the viewer does (instrumentation).
 */
export async function join(
  chrome: Browser,
  url: string,
  user: string,
  password: string,
  options: BrowserContextOptions = DESKTOP,
  query = '',
  initScript?: string,
): Promise<[Page, string]> {
  const context = await chrome.newContext(options);
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  await page.goto(`${url}/?usr=${user}&pwd=${password}${query}`);
  await until(page, 's.connected && s.sessionId !== null && s.members.length > 0');
  return [page, await neko<string>(page, '.sessionId')];
}

const SHOTS = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

/** Saves a screenshot of the page as test-output/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}${name}.png` });
}

/** Fails if the page can scroll sideways. */
export async function assertNoHorizontalScroll(page: Page, what: string): Promise<void> {
  const [scrollWidth, innerWidth] = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number];
  assert.ok(scrollWidth <= innerWidth, `${what}: page is ${scrollWidth} px wide in a ${innerWidth} px window`);
}

/** Every visible button and link lies inside the window (none cut off at the edges). */
export async function assertControlsInside(page: Page, what: string): Promise<void> {
  const outside = (await page.evaluate(`(() => {
    const w = window.innerWidth, h = window.innerHeight, out = [];
    for (const el of document.querySelectorAll('button, a, input, select, textarea')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden' || el.id === 'soft-keyboard') continue;
      if (r.left < -1 || r.top < -1 || r.right > w + 1 || r.bottom > h + 1) out.push((el.id || el.className || el.tagName) + ' ' + Math.round(r.left) + ',' + Math.round(r.top) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
    }
    return out;
  })()`)) as string[];
  assert.deepEqual(outside, [], `${what}: controls outside the window`);
}

/** The displayed picture's rectangle inside the video element (object-fit: contain). */
export async function pictureRect(page: Page): Promise<{ x: number; y: number; width: number; height: number }> {
  return (await page.evaluate(`(() => {
    const v = document.getElementById('video');
    const r = v.getBoundingClientRect();
    const s = window.__neko.state().screen;
    const cw = v.videoWidth || s.width, ch = v.videoHeight || s.height;
    const scale = Math.min(r.width / cw, r.height / ch);
    const width = cw * scale, height = ch * scale;
    return { x: r.left + (r.width - width) / 2, y: r.top + (r.height - height) / 2, width, height };
  })()`)) as { x: number; y: number; width: number; height: number };
}
