import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';

const framesDecoded = (page: Page) => page.evaluate('window.__neko.framesDecoded()') as Promise<number>;

describe('viewer in Chromium with the H264 encoder', () => {
  let app: App;
  let chrome: Browser;

  before(async () => {
    app = await startApp(['--capture.video.codec', 'h264']);
    chrome = await launchChromium();
  });

  after(async () => {
    await chrome?.close();
    await app?.close();
  });

  test('H264 video plays: decoded frames keep growing', async () => {
    const page = await chrome.newPage();
    await page.goto(`${app.url}/?usr=hana&pwd=neko`);
    await page.waitForFunction('window.__neko && window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    const first = await framesDecoded(page);
    await page.waitForTimeout(1000);
    const later = await framesDecoded(page);
    assert.ok(later > first + 5, `frames grew from ${first} to ${later}`);
  });
});
