import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { TestWindow } from '../helpers/x11.js';
import { DESKTOP, join, PHONE, screenshot, until } from './support.js';

/** The number at the start of a stats row's value ("25 fps", "1.20 Mbit/s", "≈ 43 ms"). */
async function stat(page: Page, id: string): Promise<[number, string]> {
  const text = ((await page.locator(`#overlay-stats [data-stat="${id}"] dd`).textContent()) ?? '').trim();
  const match = /-?\d+(\.\d+)?/.exec(text);
  return [match ? Number(match[0]) : NaN, text];
}

async function openStats(page: Page): Promise<void> {
  await page.click('#menu');
  await page.click('#stats-toggle');
  await page.locator('#overlay-stats [data-stat="fps"]').waitFor({ timeout: 15_000 });
}

describe('stats overlay', () => {
  let app: App;
  let chrome: Browser;
  let desk: TestWindow;
  let page: Page;

  before(async () => {
    app = await startApp();
    // Something on the screen, so the encoder has a picture to send.
    desk = await TestWindow.open(app.desktop.display);
    chrome = await launchChromium();
    [page] = await join(chrome, app.url, 'alice', 'neko', DESKTOP);
    await page.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 20_000 });
  });

  after(async () => {
    await chrome?.close();
    await desk?.close();
    await app?.close();
  });

  test('on demand it shows the stream, frame rate, bitrate, loss, jitter buffer, round trip and a latency estimate', async () => {
    assert.equal(await page.locator('#overlay-stats').count(), 0, 'hidden until asked for');
    await openStats(page);
    // Rates need two reports a second apart; wait for the numbers to settle in.
    await until(page, 's.stats && s.stats.fps > 0 && s.stats.bitrateKbps > 0 && s.stats.latencyMs !== null', 15_000);

    const [fps, fpsText] = await stat(page, 'fps');
    assert.ok(fps > 0 && fps <= 120, `frame rate ${fpsText}`);
    const [kbps, rateText] = await stat(page, 'bitrate');
    assert.ok(kbps > 0 && /bit\/s$/.test(rateText), `bitrate ${rateText}`);
    const [loss, lossText] = await stat(page, 'loss');
    assert.ok(loss >= 0 && loss <= 100 && lossText.endsWith('%'), `loss ${lossText}`);
    const [jitter, jitterText] = await stat(page, 'jitter');
    assert.ok(jitter >= 0 && jitter < 5000, `jitter buffer ${jitterText}`);
    const [rtt, rttText] = await stat(page, 'rtt');
    assert.ok(rtt >= 0 && rtt < 5000, `round trip ${rttText}`);
    const [latency, latencyText] = await stat(page, 'latency');
    assert.ok(latency >= jitter && latency < 10_000, `latency ${latencyText} is at least the jitter buffer (${jitterText})`);
    const [, stream] = await stat(page, 'stream');
    assert.equal(stream, 'main', 'the stream the server put us on (the default single stream)');
    const [width, resolution] = await stat(page, 'resolution');
    assert.ok(width > 0 && /×/.test(resolution), `resolution ${resolution}`);
    await screenshot(page, 'desktop-stats');

    await page.click('#stats-close');
    await page.locator('#overlay-stats').waitFor({ state: 'detached', timeout: 5000 });
    await until(page, '!s.statsOpen');
  });

  test('on a phone it fits beside the picture', async () => {
    const [phone] = await join(chrome, app.url, 'bob', 'neko', PHONE);
    await phone.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 20_000 });
    await openStats(phone);
    await until(phone, 's.stats && s.stats.fps > 0', 15_000);
    const box = (await phone.locator('#overlay-stats').boundingBox())!;
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `inside the window: ${JSON.stringify(box)}`);
    await screenshot(phone, 'phone-stats');
    await phone.context().close();
  });
});
