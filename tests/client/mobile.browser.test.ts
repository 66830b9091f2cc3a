import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContextOptions, CDPSession, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { TestWindow, onDisplay, waitFor } from '../helpers/x11.js';
import {
  DESKTOP, PHONE, PHONE_LANDSCAPE, TABLET, assertControlsInside, assertNoHorizontalScroll, join, neko, pictureRect, screenshot,
  until,
} from './support.js';

type Box = { x: number; y: number; width: number; height: number };
const box = async (page: Page, selector: string): Promise<Box> => (await page.locator(selector).boundingBox())!;

/** Where the X pointer is now. */
async function pointer(display: string): Promise<{ x: number; y: number }> {
  const out = await onDisplay(display, 'xdotool', ['getmouselocation']);
  const m = /x:(\d+) y:(\d+)/.exec(out)!;
  return { x: Number(m[1]), y: Number(m[2]) };
}

const near = (a: { x: number; y: number }, x: number, y: number, slack = 4) => Math.abs(a.x - x) <= slack && Math.abs(a.y - y) <= slack;

describe('viewer layouts from desktop to phone; touch and the phone keyboard', () => {
  let app: App;
  let chrome: Browser;
  let desk: TestWindow;

  before(async () => {
    app = await startApp();
    desk = await TestWindow.open(app.desktop.display);
    chrome = await launchChromium();
  });

  after(async () => {
    await chrome?.close();
    await desk?.close();
    await app?.close();
  });

  const sizes: Array<[string, BrowserContextOptions, 'docked' | 'drawer']> = [
    ['desktop', DESKTOP, 'docked'],
    ['tablet', TABLET, 'drawer'],
    ['phone', PHONE, 'drawer'],
    ['phone-landscape', PHONE_LANDSCAPE, 'drawer'],
  ];

  for (const [name, options, panel] of sizes) {
    test(`${name} (${options.viewport!.width}x${options.viewport!.height}): no sideways scrolling, every control on screen, the picture fits, the panel is ${panel}`, async () => {
      const [page] = await join(chrome, app.url, `view-${name}`, 'neko', options);
      try {
        await page.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
        await assertNoHorizontalScroll(page, name);
        await assertControlsInside(page, name);
        const bar = await box(page, '.bar');
        assert.ok(bar.width <= options.viewport!.width, `bar is ${bar.width} px wide`);
        const stage = await box(page, '#stage');
        const pic = await pictureRect(page);
        assert.ok(pic.x >= stage.x - 0.5 && pic.x + pic.width <= stage.x + stage.width + 0.5, 'picture within the stage');
        assert.ok(pic.y >= stage.y - 0.5 && pic.y + pic.height <= stage.y + stage.height + 0.5, 'picture within the stage');
        assert.ok(stage.y + stage.height <= options.viewport!.height + 0.5, 'stage within the window');
        await screenshot(page, `${name}-watching`);

        await page.click('#panel-toggle');
        await page.locator('#panel').waitFor();
        const side = await box(page, '#panel');
        assert.ok(side.x + side.width <= options.viewport!.width + 0.5, 'panel within the window');
        const after = await box(page, '#stage');
        if (panel === 'docked') {
          assert.ok(after.width < stage.width && after.x + after.width <= side.x + 0.5, 'the stage makes room for the panel');
        } else {
          assert.deepEqual(after, stage, 'the drawer lies over the stage, which keeps its size');
          assert.ok(await page.isVisible('.panel-backdrop'), 'a backdrop behind the drawer');
        }
        await assertNoHorizontalScroll(page, `${name} with the panel`);
        await assertControlsInside(page, `${name} with the panel`);
        await page.click('#tab-chat');
        await screenshot(page, `${name}-panel`);
        await page.click('#panel-close');
        await page.locator('#panel').waitFor({ state: 'detached' });

        await page.click('#menu');
        await assertControlsInside(page, `${name} with the menu`);
        await screenshot(page, `${name}-menu`);
        await page.keyboard.press('Escape');
        await page.locator('.menu-list').waitFor({ state: 'detached' });
      } finally {
        await page.context().close();
      }
    });
  }

  describe('on a phone', () => {
    let page: Page;
    let cdp: CDPSession;
    let pic: Box;
    /** Screen pixel → page point (the desktop is 1280x720). */
    const at = (x: number, y: number) => ({ x: pic.x + (x / 1280) * pic.width, y: pic.y + (y / 720) * pic.height });
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', points: Array<{ x: number; y: number }>) =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map((p, id) => ({ x: p.x, y: p.y, id })) });

    before(async () => {
      [page] = await join(chrome, app.url, 'phone', 'neko', PHONE);
      cdp = await page.context().newCDPSession(page);
      await page.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
      await page.tap('#control');
      await until(page, 's.isHost && s.dataChannelOpen');
      pic = await pictureRect(page);
    });

    after(async () => {
      await page?.context().close();
    });

    test('tap = left click where tapped', async () => {
      desk.clear();
      const p = at(320, 200);
      await page.touchscreen.tap(p.x, p.y);
      const press = await waitFor('ButtonPress', () => desk.of('ButtonPress')[0]);
      await waitFor('ButtonRelease', () => desk.of('ButtonRelease')[0]);
      assert.equal(press.detail, 1);
      assert.ok(near(press, 320, 200), `tap landed at ${press.x},${press.y}`);
    });

    test('drag = press where the finger lands, move, release where it lifts', async () => {
      desk.clear();
      const from = at(200, 300);
      const to = at(700, 500);
      await touch('touchStart', [from]);
      for (let i = 1; i <= 10; i++) await touch('touchMove', [{ x: from.x + ((to.x - from.x) * i) / 10, y: from.y + ((to.y - from.y) * i) / 10 }]);
      await touch('touchEnd', []);
      const press = await waitFor('ButtonPress', () => desk.of('ButtonPress')[0]);
      const release = await waitFor('ButtonRelease', () => desk.of('ButtonRelease')[0]);
      assert.equal(press.detail, 1);
      assert.ok(near(press, 200, 300), `pressed at ${press.x},${press.y}`);
      assert.equal(release.detail, 1);
      assert.ok(near(release, 700, 500), `released at ${release.x},${release.y}`);
      assert.ok(near(await pointer(app.desktop.display), 700, 500), 'the pointer followed the finger');
    });

    test('two fingers = scroll: moving up scrolls down, moving down scrolls up', async () => {
      const swipe = async (dy: number) => {
        const a = at(500, 360);
        const b = at(700, 360);
        await touch('touchStart', [a, b]);
        for (let i = 1; i <= 10; i++) await touch('touchMove', [{ x: a.x, y: a.y + (dy * i) / 10 }, { x: b.x, y: b.y + (dy * i) / 10 }]);
        await touch('touchEnd', []);
      };
      desk.clear();
      await swipe(-200);
      await waitFor('wheel down', () => desk.of('ButtonPress').some((e) => e.detail === 5));
      assert.ok(desk.of('ButtonPress').every((e) => e.detail === 5), 'only wheel-down clicks, no button 1');
      desk.clear();
      await swipe(200);
      await waitFor('wheel up', () => desk.of('ButtonPress').some((e) => e.detail === 4));
      assert.ok(desk.of('ButtonPress').every((e) => e.detail === 4), 'only wheel-up clicks');
    });

    test('long press = right click where the finger rests', async () => {
      desk.clear();
      const p = at(900, 150);
      await touch('touchStart', [p]);
      const press = await waitFor('right button press', () => desk.of('ButtonPress')[0], 5000);
      await touch('touchEnd', []);
      assert.equal(press.detail, 3);
      assert.ok(near(press, 900, 150), `pressed at ${press.x},${press.y}`);
      await waitFor('ButtonRelease 3', () => desk.of('ButtonRelease').find((e) => e.detail === 3));
      assert.ok(!desk.of('ButtonPress').some((e) => e.detail === 1), 'no left click after it');
    });

    test('the keyboard button opens a text box whose typing reaches the desktop: text, IME, backspace', async () => {
      await page.tap('#keyboard');
      assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'soft-keyboard');
      await until(page, 'document.activeElement.id === "soft-keyboard"');
      await screenshot(page, 'phone-keyboard');

      const typed = async (count: number) => {
        const presses = await waitFor(`${count} key presses`, () => desk.of('KeyPress').length >= count && desk.of('KeyPress'));
        await waitFor(`${count} key releases`, () => desk.of('KeyRelease').length >= count);
        const syms: number[] = [];
        for (const p of presses) syms.push((await desk.keysymsOf(p.detail)).find((k) => k !== 0)!);
        return syms;
      };

      // Text a phone keyboard commits without key events.
      desk.clear();
      await page.keyboard.insertText('hi');
      assert.deepEqual(await typed(2), [0x68, 0x69]);

      // An IME composition is sent once, when it is committed.
      desk.clear();
      await cdp.send('Input.imeSetComposition', { text: 'u', selectionStart: 1, selectionEnd: 1 });
      await cdp.send('Input.imeSetComposition', { text: 'ü', selectionStart: 1, selectionEnd: 1 });
      await cdp.send('Input.insertText', { text: 'ü' });
      const [umlaut] = await typed(1);
      assert.equal(umlaut, 0xfc, 'ü arrives as its keysym');
      assert.equal(await page.inputValue('#soft-keyboard'), '', 'the box stays empty');

      // Backspace as a key, and as a phone keyboard reports it (a deletion, no key code).
      desk.clear();
      await page.keyboard.press('Backspace');
      await page.evaluate(`document.getElementById('soft-keyboard').dispatchEvent(new InputEvent('beforeinput', { inputType: 'deleteContentBackward', cancelable: true, bubbles: true }))`);
      assert.deepEqual(await typed(2), [0xff08, 0xff08]);

      // Enter from the keyboard.
      desk.clear();
      await page.keyboard.press('Enter');
      assert.deepEqual(await typed(1), [0xff0d]);
    });

    test('without clipboard permission, the clipboard tab offers the paste box', async () => {
      await page.tap('#panel-toggle');
      await page.tap('#tab-clipboard');
      await page.evaluate(`window.dispatchEvent(new Event('focus'))`);
      await until(page, `s.clipboardAccess === 'denied'`);
      await page.locator('.notice-line', { hasText: 'copy and paste through this box' }).waitFor();
      await page.fill('#clipboard-text', 'from the phone');
      await page.tap('#clipboard-send');
      await waitFor('text on the desktop clipboard', async () => (await onDisplay(app.desktop.display, 'xclip', ['-o', '-selection', 'clipboard']).catch(() => '')) === 'from the phone', 10_000);
      await screenshot(page, 'phone-clipboard');
      assert.equal(await neko(page, '.isHost'), true);
    });
  });
});
