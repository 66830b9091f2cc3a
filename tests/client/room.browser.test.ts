import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { TestWindow, waitFor } from '../helpers/x11.js';
import { join, neko, pictureRect, screenshot, until } from './support.js';

async function chatLine(page: Page, text: string): Promise<string> {
  const line = page.locator('.chat-line', { hasText: text });
  await line.waitFor({ timeout: 10_000 });
  return (await line.locator('.chat-from').textContent()) ?? '';
}

/** Clicks the picture at a fraction of the remote screen. */
async function clickAt(page: Page, fx: number, fy: number): Promise<void> {
  const pic = await pictureRect(page);
  await page.mouse.click(pic.x + pic.width * fx, pic.y + pic.height * fy);
}

async function openTab(page: Page, tab: string): Promise<void> {
  if (!(await neko<boolean>(page, '.panelOpen'))) await page.click('#panel-toggle');
  await page.click(`#tab-${tab}`);
}

describe('viewers in one room: people, control handover, hints, implicit hosting, chat, admin', () => {
  let app: App;
  let chrome: Browser;
  let desk: TestWindow;
  let alice: Page;
  let bob: Page;
  let root: Page;
  let aliceId: string;
  let bobId: string;
  let rootId: string;

  before(async () => {
    app = await startApp();
    desk = await TestWindow.open(app.desktop.display);
    chrome = await launchChromium();
    [alice, aliceId] = await join(chrome, app.url, 'alice', 'neko');
    [bob, bobId] = await join(chrome, app.url, 'bob', 'neko');
    [root, rootId] = await join(chrome, app.url, 'root', 'admin');
  });

  after(async () => {
    await chrome?.close();
    await desk?.close();
    await app?.close();
  });

  test('each side panel lists the members as online', async () => {
    for (const page of [alice, bob]) {
      await page.click('#panel-toggle');
      for (const id of [aliceId, bobId, rootId]) {
        await page.locator(`.member[data-id="${id}"][data-connected="true"]`).waitFor({ timeout: 10_000 });
      }
    }
    const names = await alice.locator('.member-name').allTextContents();
    assert.ok(names.includes('alice') && names.includes('bob'), `alice sees ${names.join(', ')}`);
  });

  test('alice takes control with nobody hosting; bob sees it', async () => {
    assert.equal(await alice.textContent('#control'), 'Take control');
    await alice.click('#control');
    await until(alice, 's.isHost');
    await until(bob, `s.hostId === ${JSON.stringify(aliceId)} && !s.isHost`);
    await bob.locator(`.member[data-id="${aliceId}"][data-host="true"]`).waitFor({ timeout: 5000 });
    assert.equal(await bob.textContent('#host'), 'Host: alice');
  });

  test('bob clicking without control gets a hint, and his click does not reach the desktop', async () => {
    await bob.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    await alice.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    await until(alice, 's.dataChannelOpen');
    desk.clear();
    await clickAt(bob, 0.25, 0.25);
    const hint = bob.locator('#overlay-hint');
    await hint.waitFor({ timeout: 5000 });
    assert.match((await hint.textContent()) ?? '', /do not have control.*alice has control/);
    await screenshot(bob, 'desktop-hint');
    await bob.keyboard.press('x');
    // Barrier: alice's click comes after bob's attempts; the first press the desktop sees is hers.
    await clickAt(alice, 0.75, 0.75);
    const press = await waitFor('ButtonPress from alice', () => desk.of('ButtonPress')[0]);
    assert.ok(Math.abs(press.x - 960) <= 2 && Math.abs(press.y - 540) <= 2, `first click landed at ${press.x},${press.y}`);
    assert.equal(desk.of('KeyPress').length, 0, 'bob typed nothing onto the desktop');
  });

  test('bob asks, alice denies: bob is told and can ask again', async () => {
    await bob.click('#control');
    await until(bob, 's.controlRequested');
    assert.equal(await bob.textContent('#control'), 'Control requested');
    const deny = alice.locator(`#handover [data-action="deny"][data-id="${bobId}"]`);
    await deny.waitFor({ timeout: 10_000 });
    await screenshot(alice, 'desktop-control-request');
    await deny.click();
    await until(bob, '!s.controlRequested && !s.isHost');
    await bob.locator('.notice', { hasText: 'alice declined your request for control' }).waitFor({ timeout: 5000 });
    assert.ok(await alice.isHidden('#handover'), 'the request is gone from alice');
    assert.equal(await bob.textContent('#control'), 'Request control');
  });

  test('bob asks, alice gives: bob becomes host, is told, and his click reaches the desktop', async () => {
    await bob.click('#control');
    await until(bob, 's.controlRequested');
    const give = alice.locator(`#handover [data-action="give"][data-id="${bobId}"]`);
    await give.waitFor({ timeout: 10_000 });
    assert.ok((await alice.textContent('#handover'))?.includes('bob asks for control'), 'the request names the requester');
    await give.click();

    await until(bob, 's.isHost && !s.controlRequested');
    await until(alice, `!s.isHost && s.hostId === ${JSON.stringify(bobId)} && s.controlRequests.length === 0`);
    assert.ok(await alice.isHidden('#handover'), 'the request is gone once control moved');
    await bob.locator('.notice', { hasText: 'alice gave you control' }).waitFor({ timeout: 5000 });

    await until(bob, 's.dataChannelOpen');
    desk.clear();
    await clickAt(bob, 0.5, 0.5);
    const press = await waitFor('ButtonPress from bob on the desktop', () => desk.of('ButtonPress')[0]);
    assert.equal(press.detail, 1);
    assert.ok(Math.abs(press.x - 640) <= 2 && Math.abs(press.y - 360) <= 2, `click landed at ${press.x},${press.y}`);
  });

  test('an admin takes control from the host; the host is told', async () => {
    assert.equal(await root.textContent('#control'), 'Take control');
    await root.click('#control');
    await until(root, 's.isHost');
    await until(bob, '!s.isHost');
    await bob.locator('.notice', { hasText: 'root took control' }).waitFor({ timeout: 5000 });
    await root.click('#control');
    await until(bob, 's.hostId === null');
  });

  test('implicit hosting: with nobody hosting, bob\'s click makes him host and lands on the desktop', async () => {
    await openTab(root, 'admin');
    await root.getByLabel('Implicit hosting').click();
    await until(bob, 's.settings.implicit_hosting === true && s.hostId === null');
    desk.clear();
    await clickAt(bob, 0.5, 0.25);
    await until(bob, 's.isHost');
    const press = await waitFor('ButtonPress from bob', () => desk.of('ButtonPress')[0]);
    assert.ok(Math.abs(press.x - 640) <= 2 && Math.abs(press.y - 180) <= 2, `click landed at ${press.x},${press.y}`);
    await waitFor('ButtonRelease from bob', () => desk.of('ButtonRelease')[0]);
    assert.equal(await bob.isHidden('#overlay-hint'), true, 'no hint for an implicit host');

    // With a host present, another viewer's click does not take control away.
    await clickAt(alice, 0.5, 0.5);
    await alice.locator('#overlay-hint').waitFor({ timeout: 5000 });
    assert.equal(await neko(bob, '.isHost'), true);
    await root.getByLabel('Implicit hosting').click();
    await until(alice, 's.settings.implicit_hosting === false');
    await bob.click('#control');
    await until(alice, 's.hostId === null');
  });

  test('chat messages appear in both pages with the sender name; unread count on the toggle', async () => {
    await openTab(alice, 'chat');
    await openTab(bob, 'chat');
    await until(alice, 's.chatEnabled');
    await alice.fill('.chat-input', 'hello from alice');
    await alice.press('.chat-input', 'Enter');
    assert.equal(await chatLine(alice, 'hello from alice'), 'alice');
    assert.equal(await chatLine(bob, 'hello from alice'), 'alice');
    assert.equal(await alice.inputValue('.chat-input'), '', 'the box empties after sending');

    await bob.fill('.chat-input', 'hi alice, bob here');
    await bob.click('.chat-form button[type="submit"]');
    assert.equal(await chatLine(bob, 'hi alice, bob here'), 'bob');
    assert.equal(await chatLine(alice, 'hi alice, bob here'), 'bob');

    // With the panel closed, new lines from others are counted on its toggle.
    await bob.click('#panel-toggle');
    await alice.fill('.chat-input', 'are you there?');
    await alice.press('.chat-input', 'Enter');
    await bob.waitForSelector('#panel-toggle[data-unread="1"]', { state: 'attached', timeout: 10_000 });
    await bob.click('#panel-toggle');
    await bob.waitForSelector('#panel-toggle[data-unread=""]', { state: 'attached', timeout: 5000 });
  });

  test('only an admin sees room settings; a switch there changes the room for everyone', async () => {
    await openTab(root, 'admin');
    const box = root.getByLabel('Implicit hosting');
    await box.waitFor({ timeout: 5000 });
    assert.ok(await alice.isHidden('#tab-admin'), 'no admin tab for a non-admin');
    assert.ok(await alice.isHidden('section[aria-label="Room settings"]'), 'hidden for a non-admin');
    assert.equal(await box.isChecked(), false);

    await box.click();
    await until(alice, 's.settings.implicit_hosting === true');
    await until(root, 's.settings.implicit_hosting === true');
    assert.equal(await box.isChecked(), true);

    await box.click();
    await until(alice, 's.settings.implicit_hosting === false');
  });

  test('private mode: the blanked viewer is told why; the admin still sees the desktop', async () => {
    await openTab(root, 'admin');
    await root.getByLabel('Private mode').click();
    const overlay = alice.locator('#overlay-private');
    await overlay.waitFor({ timeout: 10_000 });
    assert.match((await overlay.textContent()) ?? '', /private mode.*paused for everyone but admins/i);
    await screenshot(alice, 'desktop-private-mode');
    assert.ok(await root.isHidden('#overlay-private'), 'admins are not blanked');
    assert.ok(await alice.isDisabled('#control'), 'no control in private mode');
    await root.getByLabel('Private mode').click();
    await overlay.waitFor({ state: 'detached', timeout: 10_000 });
  });
});
