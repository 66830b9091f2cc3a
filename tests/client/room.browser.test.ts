import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { TestWindow, waitFor } from '../helpers/x11.js';

// Page-side expressions are strings so the TypeScript transform cannot rename browser globals.
const neko = <T>(page: Page, expr: string) => page.evaluate(`window.__neko.state()${expr}`) as Promise<T>;
const until = (page: Page, expr: string, timeout = 10_000) =>
  page.waitForFunction(`(() => { const s = window.__neko.state(); return ${expr}; })()`, null, { timeout });

/** Logs a fresh browser context in through the viewer's `?usr=&pwd=` shortcut; returns its session id. */
async function join(chrome: Browser, url: string, user: string, password: string): Promise<[Page, string]> {
  const context = await chrome.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${url}/?usr=${user}&pwd=${password}`);
  await until(page, 's.connected && s.sessionId !== null && s.members.length > 0');
  return [page, await neko<string>(page, '.sessionId')];
}

async function chatLine(page: Page, text: string): Promise<string> {
  const line = page.locator('.chat-line', { hasText: text });
  await line.waitFor({ timeout: 10_000 });
  return (await line.locator('.chat-from').textContent()) ?? '';
}

describe('two viewers in one room: people, control handover, chat, admin settings', () => {
  let app: App;
  let chrome: Browser;
  let desk: TestWindow;
  let alice: Page;
  let bob: Page;
  let aliceId: string;
  let bobId: string;

  before(async () => {
    app = await startApp();
    desk = await TestWindow.open(app.desktop.display);
    chrome = await launchChromium();
    [alice, aliceId] = await join(chrome, app.url, 'alice', 'neko');
    [bob, bobId] = await join(chrome, app.url, 'bob', 'neko');
  });

  after(async () => {
    await chrome?.close();
    await desk?.close();
    await app?.close();
  });

  test('each side panel lists both members as online', async () => {
    for (const page of [alice, bob]) {
      await page.click('#panel-toggle');
      for (const id of [aliceId, bobId]) {
        await page.locator(`.member[data-id="${id}"][data-connected="true"]`).waitFor({ timeout: 10_000 });
      }
    }
    const names = await alice.locator('.member-name').allTextContents();
    assert.ok(names.includes('alice') && names.includes('bob'), `alice sees ${names.join(', ')}`);
  });

  test('alice requests control with nobody hosting and becomes host; bob sees it', async () => {
    await alice.click('#control');
    await until(alice, 's.isHost');
    await until(bob, `s.hostId === ${JSON.stringify(aliceId)} && !s.isHost`);
    await bob.locator(`.member[data-id="${aliceId}"][data-host="true"]`).waitFor({ timeout: 5000 });
    assert.equal(await bob.textContent('#host'), 'Host: alice');
  });

  test('bob asks, alice gives: bob becomes host and his click reaches the desktop', async () => {
    await bob.click('#control');
    await until(bob, 's.controlRequested');
    assert.equal(await bob.textContent('#control'), 'Control requested');

    const give = alice.locator(`#handover [data-action="give"][data-id="${bobId}"]`);
    await give.waitFor({ timeout: 10_000 });
    assert.ok((await alice.textContent('#handover'))?.includes('bob asks for control'), 'notice names the requester');
    await give.click();

    await until(bob, 's.isHost && !s.controlRequested');
    await until(alice, `!s.isHost && s.hostId === ${JSON.stringify(bobId)} && s.controlRequests.length === 0`);
    assert.ok(await alice.isHidden('#handover'), 'the notice is gone once control moved');

    await bob.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });
    const box = (await bob.locator('#video').boundingBox())!;
    desk.clear();
    // The middle of the displayed picture is the middle of the 1280x720 screen.
    await bob.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const press = await waitFor('ButtonPress from bob on the desktop', () => desk.of('ButtonPress')[0]);
    assert.equal(press.detail, 1);
    assert.ok(Math.abs(press.x - 640) <= 2 && Math.abs(press.y - 360) <= 2, `click landed at ${press.x},${press.y}`);
  });

  test('chat messages appear in both pages with the sender name', async () => {
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
    assert.equal(await bob.getAttribute('#panel-toggle', 'data-unread'), '');
  });

  test('only an admin sees room settings; a switch there changes the room for everyone', async () => {
    const [root] = await join(chrome, app.url, 'root', 'admin');
    await root.click('#panel-toggle');
    const box = root.getByLabel('Implicit hosting');
    await box.waitFor({ timeout: 5000 });
    assert.ok(await alice.isHidden('section[aria-label="Room settings"]'), 'hidden for a non-admin');
    assert.equal(await box.isChecked(), false);

    await box.click();
    await until(alice, 's.settings.implicit_hosting === true');
    await until(root, 's.settings.implicit_hosting === true');
    assert.equal(await box.isChecked(), true);

    await box.click();
    await until(alice, 's.settings.implicit_hosting === false');
    await root.context().close();
  });
});
