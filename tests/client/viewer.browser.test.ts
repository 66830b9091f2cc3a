import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { TestWindow, onDisplay, waitFor } from '../helpers/x11.js';
import { desktopProcess } from '../server/desktop/room-helpers.js';
import { DESKTOP, framesDecoded, neko, pictureRect, screenshot, until } from './support.js';

const clipboardText = (display: string) => onDisplay(display, 'xclip', ['-o', '-selection', 'clipboard']).catch(() => '');

async function openTab(page: Page, tab: string): Promise<void> {
  if (!(await neko<boolean>(page, '.panelOpen'))) await page.click('#panel-toggle');
  await page.click(`#tab-${tab}`);
}

describe('viewer in Chromium: log in, watch, control, and the controls a user expects', () => {
  let app: App;
  let chrome: Browser;
  let context: BrowserContext;
  let page: Page;
  let desk: TestWindow;
  const cleanups: Array<() => void> = [];

  before(async () => {
    app = await startApp();
    desk = await TestWindow.open(app.desktop.display);
    chrome = await launchChromium();
    context = await chrome.newContext(DESKTOP);
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    page = await context.newPage();
  });

  after(async () => {
    cleanups.forEach((c) => c());
    await chrome?.close();
    await desk?.close();
    await app?.close();
  });

  test('a wrong password shows an error and keeps the login form', async () => {
    await page.goto(`${app.url}/`);
    await screenshot(page, 'desktop-login');
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
    assert.equal(await neko(page, '.playback'), 'playing');
    await screenshot(page, 'desktop-watching');
  });

  test('the picture always fits, letterboxed, with its aspect kept', async () => {
    for (const viewport of [{ width: 1366, height: 768 }, { width: 900, height: 1000 }, { width: 1600, height: 500 }]) {
      await page.setViewportSize(viewport);
      await page.waitForFunction(`document.getElementById('video').getBoundingClientRect().width <= ${viewport.width}`);
      const video = (await page.locator('#video').boundingBox())!;
      const pic = await pictureRect(page);
      assert.ok(Math.abs(pic.width / pic.height - 1280 / 720) < 0.01, `aspect kept at ${viewport.width}x${viewport.height}`);
      assert.ok(pic.x >= video.x - 0.5 && pic.y >= video.y - 0.5, 'inside the stage');
      assert.ok(pic.x + pic.width <= video.x + video.width + 0.5 && pic.y + pic.height <= video.y + video.height + 0.5, 'inside the stage');
      const fillsWidth = Math.abs(pic.width - video.width) < 1;
      const fillsHeight = Math.abs(pic.height - video.height) < 1;
      assert.ok(fillsWidth || fillsHeight, `touches two sides at ${viewport.width}x${viewport.height}`);
      const [sw, iw] = (await page.evaluate('[document.documentElement.scrollWidth, innerWidth]')) as number[];
      assert.ok(sw! <= iw!, 'no horizontal scrolling');
    }
    await page.setViewportSize(DESKTOP.viewport!);
  });

  test('taking control, a click and a typed key on the video reach the desktop', async () => {
    await page.click('#control');
    await until(page, 's.isHost && s.dataChannelOpen');
    const pic = await pictureRect(page);
    desk.clear();
    await page.mouse.click(pic.x + pic.width / 2, pic.y + pic.height / 2);
    const press = await waitFor('ButtonPress on the desktop', () => desk.of('ButtonPress')[0]);
    assert.equal(press.detail, 1);
    assert.ok(Math.abs(press.x - 640) <= 2 && Math.abs(press.y - 360) <= 2, `click landed at ${press.x},${press.y}`);

    await page.keyboard.press('q');
    const key = await waitFor('KeyPress on the desktop', () => desk.of('KeyPress')[0]);
    const keysyms = await desk.keysymsOf(key.detail);
    assert.equal(keysyms[0], 0x71, `keycode ${key.detail} carries keysym q`);
    await waitFor('KeyRelease on the desktop', () => desk.of('KeyRelease')[0]);
    await screenshot(page, 'desktop-hosting');
  });

  test('scroll sensitivity and invert change what a wheel notch does on the desktop', async () => {
    const pic = await pictureRect(page);
    const notch = async (wanted: { button: number; count: number }) => {
      desk.clear();
      await page.mouse.move(pic.x + pic.width / 2, pic.y + pic.height / 2);
      await page.mouse.wheel(0, 100);
      await waitFor(`${wanted.count} presses of button ${wanted.button}`, () => desk.of('ButtonPress').filter((e) => e.detail === wanted.button).length >= wanted.count);
      // Barrier: a click after the wheel; everything before it has arrived once it does.
      await page.mouse.click(pic.x + 5, pic.y + 5);
      await waitFor('barrier click', () => desk.of('ButtonPress').some((e) => e.detail === 1));
      return desk.of('ButtonPress').filter((e) => e.detail === 4 || e.detail === 5).map((e) => e.detail);
    };
    assert.deepEqual(await notch({ button: 5, count: 1 }), [5], 'default: one notch down = one click of button 5');

    await openTab(page, 'settings');
    await page.locator('#scroll-sensitivity').fill('30');
    await until(page, 's.scroll.sensitivity === 30');
    assert.deepEqual(await notch({ button: 5, count: 3 }), [5, 5, 5], 'sensitivity 30: three clicks a notch');

    await page.check('#scroll-invert');
    await until(page, 's.scroll.invert');
    assert.deepEqual(await notch({ button: 4, count: 3 }), [4, 4, 4], 'inverted: the other way');
    await page.locator('#scroll-sensitivity').fill('10');
    await page.uncheck('#scroll-invert');
    await screenshot(page, 'desktop-settings');
  });

  test('keyboard layout: the picker sets the desktop\'s XKB layout', async () => {
    await openTab(page, 'settings');
    await until(page, 's.keyboardMap !== null');
    await page.selectOption('#keyboard-layout', 'de');
    await waitFor('layout de on the desktop', async () => /layout:\s+de\b/.test(await onDisplay(app.desktop.display, 'setxkbmap', ['-query'])));
    await page.selectOption('#keyboard-layout', 'us');
    await waitFor('layout us on the desktop', async () => /layout:\s+us\b/.test(await onDisplay(app.desktop.display, 'setxkbmap', ['-query'])));
  });

  test('clipboard: copied here reaches the desktop, copied there reaches this page, and the paste box works', async () => {
    await page.evaluate(`navigator.clipboard.writeText('copied in the browser')`);
    // Coming back to the page is when its clipboard is read.
    await page.evaluate(`window.dispatchEvent(new Event('focus'))`);
    await waitFor('browser clipboard on the desktop', async () => (await clipboardText(app.desktop.display)) === 'copied in the browser', 10_000);

    const owner = desktopProcess(app.desktop.display, 'xclip', ['-verbose', '-selection', 'clipboard', '-i'], 'copied on the desktop');
    cleanups.push(owner.kill);
    await until(page, `s.remoteClipboard === 'copied on the desktop'`);
    await page.waitForFunction(`navigator.clipboard.readText().then((t) => t === 'copied on the desktop')`, null, { timeout: 10_000 });
    owner.kill();

    await openTab(page, 'clipboard');
    assert.equal(await page.inputValue('#clipboard-text'), 'copied on the desktop');
    await page.fill('#clipboard-text', 'typed into the box');
    await page.click('#clipboard-send');
    await waitFor('paste box text on the desktop', async () => (await clipboardText(app.desktop.display)) === 'typed into the box', 10_000);
    await screenshot(page, 'desktop-clipboard');
  });

  test('volume slider and mute button drive the video', async () => {
    await page.locator('#volume').fill('40');
    await page.waitForFunction(`Math.abs(document.getElementById('video').volume - 0.4) < 0.01`);
    await page.click('#mute');
    await page.waitForFunction(`document.getElementById('video').muted`);
    assert.equal(await neko(page, '.muted'), true);
    await page.click('#mute');
    await page.waitForFunction(`!document.getElementById('video').muted`);
    // Remembered for the next visit.
    assert.equal(await page.evaluate(`JSON.parse(localStorage.getItem('neko.prefs')).volume`), 40);
  });

  test('fullscreen with keyboard lock, and picture-in-picture', async () => {
    await page.evaluate(`(() => {
      window.__locked = false;
      const lock = navigator.keyboard && navigator.keyboard.lock.bind(navigator.keyboard);
      if (lock) navigator.keyboard.lock = (...a) => { window.__locked = true; return lock(...a); };
    })()`);
    await page.click('#fullscreen');
    await until(page, 's.fullscreen');
    assert.equal(await page.evaluate(`document.fullscreenElement && document.fullscreenElement.id`), 'app-view');
    assert.equal(await page.evaluate('window.__locked'), true, 'keyboard lock asked for');
    await page.click('#fullscreen');
    await until(page, '!s.fullscreen');

    await page.click('#menu');
    await page.click('#pip');
    await until(page, 's.pip');
    assert.equal(await page.evaluate(`document.pictureInPictureElement && document.pictureInPictureElement.id`), 'video');
    await page.evaluate('document.exitPictureInPicture()');
    await until(page, '!s.pip');
  });

  test('a browser that blocks autoplay with sound gets an unmute overlay; a click brings the sound', async () => {
    const strict = await launchChromium({ autoplay: false });
    try {
      const p = await (await strict.newContext(DESKTOP)).newPage();
      // Anything Playwright evaluates in the page counts as a user gesture, which would let the
      // sound play; so nothing is asked of the page until its video has started. The page
      // reports how play() went instead.
      const outcomes: string[] = [];
      let started: () => void;
      const playing = new Promise<void>((resolve) => (started = resolve));
      await p.exposeFunction('reportPlay', (outcome: string) => {
        outcomes.push(outcome);
        if (outcome.startsWith('played')) started();
      });
      await p.addInitScript(`(() => {
        const play = HTMLMediaElement.prototype.play;
        HTMLMediaElement.prototype.play = function () {
          const muted = this.muted;
          const result = play.call(this);
          result.then(() => window.reportPlay('played ' + (this.muted ? 'muted' : 'with sound')), (e) => window.reportPlay('refused ' + (muted ? 'muted' : 'with sound') + ' ' + e.name));
          return result;
        };
      })()`);
      await p.goto(`${app.url}/?usr=dora&pwd=neko`);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`video never started: ${outcomes.join(', ')}`)), 20_000);
      });
      await Promise.race([playing, late]).finally(() => clearTimeout(timer));
      assert.deepEqual(outcomes, ['refused with sound NotAllowedError', 'played muted']);
      const overlay = p.locator('#unmute');
      await overlay.waitFor({ timeout: 5000 });
      assert.equal(await neko(p, '.playback'), 'muted');
      await screenshot(p, 'desktop-autoplay-blocked');
      await overlay.click();
      await until(p, `s.playback === 'playing'`);
      await p.waitForFunction(`!document.getElementById('video').muted && !document.getElementById('video').paused`);
      assert.ok(await p.isHidden('#overlay-autoplay'));
    } finally {
      await strict.close();
    }
  });

  test('logging out returns to the login form; the token is gone', async () => {
    await page.click('#menu');
    await page.click('#logout');
    await page.waitForSelector('#login');
    assert.equal(await page.evaluate(`sessionStorage.getItem('neko.token') ?? localStorage.getItem('neko.token')`), null);
  });
});
