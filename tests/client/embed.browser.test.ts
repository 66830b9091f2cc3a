import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { TestWindow, waitFor } from '../helpers/x11.js';
import { DESKTOP, PHONE, join, neko, pictureRect, screenshot, until } from './support.js';

describe('embed parameters: ?embed, ?cast, ?volume, ?scroll, ?show_side, ?mute_chat, ?lang', () => {
  let app: App;
  let chrome: Browser;
  let desk: TestWindow;
  const pages: Page[] = [];

  const open = async (user: string, query: string, options = DESKTOP) => {
    const [page] = await join(chrome, app.url, user, 'neko', options, query);
    pages.push(page);
    return page;
  };

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

  test('?embed=1: only the video, filling the window; a click still offers control', async () => {
    const page = await open('embedded', '&embed=1');
    await page.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    assert.equal(await page.locator('.bar').count(), 0, 'no bar');
    assert.equal(await page.locator('#panel-toggle').count(), 0, 'no panel');
    const stage = (await page.locator('#stage').boundingBox())!;
    assert.deepEqual(stage, { x: 0, y: 0, width: 1366, height: 768 }, 'the stage is the whole window');
    await screenshot(page, 'desktop-embed');

    const pic = await pictureRect(page);
    await page.mouse.click(pic.x + pic.width / 2, pic.y + pic.height / 2);
    await page.click('#hint-request');
    await until(page, 's.isHost && s.dataChannelOpen');
    desk.clear();
    await page.mouse.click(pic.x + pic.width / 4, pic.y + pic.height / 4);
    const press = await waitFor('ButtonPress', () => desk.of('ButtonPress')[0]);
    assert.ok(Math.abs(press.x - 320) <= 2 && Math.abs(press.y - 180) <= 2, `click landed at ${press.x},${press.y}`);
  });

  test('?cast=1: view only, no controls, input goes nowhere (not even a hint)', async () => {
    const host = pages[0]!;
    const page = await open('caster', '&cast=1', PHONE);
    await page.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    assert.equal(await page.locator('.bar').count(), 0);
    assert.equal(await page.locator('#soft-keyboard').count(), 0);
    await screenshot(page, 'phone-cast');
    desk.clear();
    const pic = await pictureRect(page);
    await page.touchscreen.tap(pic.x + 10, pic.y + 10);
    await page.keyboard.press('a');
    // Barrier: the host's click comes after; the first press on the desktop is the host's.
    const hostPic = await pictureRect(host);
    await host.mouse.click(hostPic.x + hostPic.width / 2, hostPic.y + hostPic.height / 2);
    const press = await waitFor('ButtonPress', () => desk.of('ButtonPress')[0]);
    assert.ok(Math.abs(press.x - 640) <= 2 && Math.abs(press.y - 360) <= 2, `first click is the host's: ${press.x},${press.y}`);
    assert.equal(desk.of('KeyPress').length, 0);
    assert.equal(await neko(page, '.hint'), false);
  });

  test('?volume= sets the starting volume without saving it; 0 starts muted', async () => {
    const page = await open('vol', '&volume=30');
    await page.waitForFunction(`Math.abs(document.getElementById('video').volume - 0.3) < 0.01`);
    assert.equal(await page.inputValue('#volume'), '30');
    assert.equal(await page.evaluate(`localStorage.getItem('neko.prefs')`), null, 'not remembered');
    const silent = await open('silent', '&volume=0');
    await silent.waitForFunction(`document.getElementById('video').muted`);
    assert.equal(await neko(silent, '.muted'), true);
  });

  test('?scroll= sets the scroll sensitivity the desktop sees', async () => {
    const page = pages[0]!;
    await page.goto(`${app.url}/?usr=embedded2&pwd=neko&embed=1&scroll=50`);
    await until(page, 's.connected && s.scroll.sensitivity === 50');
    await page.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    const pic = await pictureRect(page);
    await page.mouse.click(pic.x + pic.width / 2, pic.y + pic.height / 2);
    await page.click('#hint-request');
    await until(page, 's.isHost && s.dataChannelOpen');
    desk.clear();
    await page.mouse.move(pic.x + pic.width / 2, pic.y + pic.height / 2);
    await page.mouse.wheel(0, -100);
    await waitFor('five wheel-up clicks', () => desk.of('ButtonPress').filter((e) => e.detail === 4).length >= 5);
  });

  test('?show_side=1 opens the side panel; ?mute_chat=1 turns the chat sound off', async () => {
    const page = await open('side', '&show_side=1&mute_chat=1');
    await page.locator('#panel').waitFor();
    assert.equal(await neko(page, '.chatSound'), false);
    await page.click('#tab-settings');
    assert.equal(await page.isChecked('#chat-sound'), false);
    const closed = await open('noside', '&show_side=0');
    assert.equal(await closed.locator('#panel').count(), 0);
  });

  test('?lang=de shows German, and so does a German browser without it; English otherwise', async () => {
    const context = await chrome.newContext(DESKTOP);
    const login = await context.newPage();
    await login.goto(`${app.url}/?lang=de`);
    assert.equal(await login.textContent('#login'), 'Anmelden');
    assert.equal(await login.getAttribute('html', 'lang'), 'de');
    await context.close();

    const page = await open('deutsch', '&lang=de');
    assert.equal(await page.textContent('#control'), 'Steuerung anfragen');
    await page.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    await page.click('#panel-toggle');
    await page.click('#tab-settings');
    await screenshot(page, 'desktop-german');

    const german = await chrome.newContext({ ...DESKTOP, locale: 'de-DE' });
    const p = await german.newPage();
    await p.goto(`${app.url}/`);
    assert.equal(await p.textContent('#login'), 'Anmelden');
    await german.close();

    const english = await chrome.newContext({ ...DESKTOP, locale: 'fr-FR' });
    const e = await english.newPage();
    await e.goto(`${app.url}/`);
    assert.equal(await e.textContent('#login'), 'Log in');
    await english.close();
  });
});
