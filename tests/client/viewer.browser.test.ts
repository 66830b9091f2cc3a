import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { TestWindow, waitFor } from '../helpers/x11.js';

// Page-side expressions are strings so the TypeScript transform cannot rename browser globals.
const framesDecoded = (page: Page) => page.evaluate('window.__neko.framesDecoded()') as Promise<number>;

describe('viewer in Chromium: log in, watch, take control, click and type', () => {
  let app: App;
  let chrome: Browser;
  let page: Page;
  let desk: TestWindow;

  before(async () => {
    app = await startApp();
    desk = await TestWindow.open(app.desktop.display);
    chrome = await launchChromium();
    page = await chrome.newPage({ viewport: { width: 1280, height: 800 } });
  });

  after(async () => {
    await chrome?.close();
    await desk?.close();
    await app?.close();
  });

  test('a wrong password shows an error and keeps the login form', async () => {
    await page.goto(`${app.url}/`);
    await page.fill('#username', 'carol');
    await page.fill('#password', 'nope');
    await page.click('#login');
    await page.waitForSelector('#login-error:not(:empty)');
    assert.ok(await page.isVisible('#login'), 'login button still visible');
  });

  test('logging in plays the video: decoded frames keep growing', async () => {
    await page.fill('#password', 'neko');
    await page.click('#login');
    await page.waitForFunction('window.__neko && window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    const first = await framesDecoded(page);
    await page.waitForTimeout(1000);
    const later = await framesDecoded(page);
    assert.ok(later > first + 5, `frames grew from ${first} to ${later}`);
  });

  test('taking control, a click and a typed key on the video reach the desktop', async () => {
    await page.click('#control');
    await page.waitForFunction('window.__neko.state().isHost', null, { timeout: 5000 });
    await page.waitForFunction('window.__neko.state().dataChannelOpen', null, { timeout: 5000 });
    const box = (await page.locator('#video').boundingBox())!;
    desk.clear();
    // The middle of the displayed picture is the middle of the 1280x720 screen.
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const press = await waitFor('ButtonPress on the desktop', () => desk.of('ButtonPress')[0]);
    assert.equal(press.detail, 1);
    assert.ok(Math.abs(press.x - 640) <= 2 && Math.abs(press.y - 360) <= 2, `click landed at ${press.x},${press.y}`);

    await page.keyboard.press('q');
    const key = await waitFor('KeyPress on the desktop', () => desk.of('KeyPress')[0]);
    const keysyms = await desk.keysymsOf(key.detail);
    assert.equal(keysyms[0], 0x71, `keycode ${key.detail} carries keysym q`);
    await waitFor('KeyRelease on the desktop', () => desk.of('KeyRelease')[0]);
  });
});
