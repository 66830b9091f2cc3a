import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { DESKTOP, join, neko, PHONE, screenshot, until } from './support.js';

/** Counts the chimes the page plays (one gain node each) without touching the product. */
const COUNT_CHIMES = `
  window.__chimes = 0;
  const createGain = AudioContext.prototype.createGain;
  AudioContext.prototype.createGain = function () { window.__chimes++; return createGain.call(this); };
`;
const chimes = (page: Page) => page.evaluate('window.__chimes') as Promise<number>;

async function openTab(page: Page, tab: string): Promise<void> {
  if (!(await neko<boolean>(page, '.panelOpen'))) await page.click('#panel-toggle');
  await page.click(`#tab-${tab}`);
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('.chat-input', text);
  await page.press('.chat-input', 'Enter');
}

/** Waits until the page's chat holds a message with exactly this text. */
const received = (page: Page, text: string) => until(page, `s.chat.some((l) => l.text === ${JSON.stringify(text)})`);

const notice = (page: Page, text: string) => page.locator('.chat-notice', { hasText: text }).last().waitFor({ timeout: 10_000 });

describe('chat: safe links, emoji, timestamps, unread badge, sound, room notices, permission layers', () => {
  let app: App;
  let chrome: Browser;
  let alice: Page;
  let bob: Page;
  let root: Page;

  before(async () => {
    app = await startApp();
    chrome = await launchChromium();
    [alice] = await join(chrome, app.url, 'alice', 'neko', DESKTOP, '', COUNT_CHIMES);
    [bob] = await join(chrome, app.url, 'bob', 'neko', PHONE, '', COUNT_CHIMES);
    [root] = await join(chrome, app.url, 'root', 'admin');
    await openTab(alice, 'chat');
    await until(alice, 's.chatEnabled && s.canSendChat');
  });

  after(async () => {
    await chrome?.close();
    await app?.close();
  });

  test('markup arrives as text, URLs as new-tab anchors, other schemes as text', async () => {
    await openTab(bob, 'chat');
    const markup = '<img src=x onerror="window.__xss=1"><b>bold</b>';
    await say(alice, markup);
    await say(alice, 'docs at https://example.com/guide?a=1&b=2. and javascript:alert(1)');
    await received(bob, 'docs at https://example.com/guide?a=1&b=2. and javascript:alert(1)');

    const line = bob.locator('.chat-line', { hasText: 'onerror' });
    assert.equal(await line.locator('.chat-text').textContent(), markup, 'the markup is shown as typed');
    assert.equal(await line.locator('img, b').count(), 0, 'no element was made from it');
    assert.equal(await bob.evaluate('window.__xss'), undefined);

    const links = bob.locator('.chat-line', { hasText: 'docs at' }).locator('a');
    assert.equal(await links.count(), 1, 'only the http(s) URL is a link');
    assert.equal(await links.getAttribute('href'), 'https://example.com/guide?a=1&b=2');
    assert.equal(await links.textContent(), 'https://example.com/guide?a=1&b=2');
    assert.equal(await links.getAttribute('target'), '_blank');
    assert.equal(await links.getAttribute('rel'), 'noopener noreferrer');
    assert.match((await bob.locator('.chat-line', { hasText: 'docs at' }).locator('.chat-time').textContent()) ?? '', /^\d\d:\d\d$/);
  });

  test('emoji: :shortcodes: show as emoji, and the picker inserts one into the box', async () => {
    await say(bob, 'ship it :rocket: :tada:');
    await received(alice, 'ship it :rocket: :tada:');
    assert.equal(await alice.locator('.chat-line', { hasText: 'ship it' }).locator('.chat-text').textContent(), 'ship it 🚀 🎉');

    await alice.fill('.chat-input', 'nice ');
    await alice.click('#chat-emoji');
    await alice.click('.emoji-pick[data-name="thumbsup"]');
    assert.equal(await alice.inputValue('.chat-input'), 'nice 👍');
    await alice.press('.chat-input', 'Enter');
    await received(bob, 'nice 👍');
    await screenshot(alice, 'desktop-chat');
    await screenshot(bob, 'phone-chat');
  });

  test('unread: a badge on the chat tab and the panel toggle until the chat is opened', async () => {
    await openTab(bob, 'people');
    await say(alice, 'unread one');
    await say(alice, 'unread two');
    await received(bob, 'unread two');
    await bob.locator('#tab-chat .tab-badge', { hasText: '2' }).waitFor({ timeout: 5000 });
    await bob.click('#panel-close');
    await bob.waitForSelector('#panel-toggle[data-unread="2"]', { state: 'attached', timeout: 5000 });
    await screenshot(bob, 'phone-chat-unread');
    await openTab(bob, 'chat');
    await bob.waitForSelector('#panel-toggle[data-unread=""]', { state: 'attached', timeout: 5000 });
    assert.equal(await bob.locator('#tab-chat .tab-badge').count(), 0);
  });

  test('sound: a chime for messages from others while the chat is out of sight; switched off, it stays off across a reload', async () => {
    await openTab(bob, 'people');
    const before = await chimes(bob);
    await say(alice, 'ding');
    await received(bob, 'ding');
    assert.equal(await chimes(bob), before + 1, 'one chime for one message');
    const alicesOwn = await chimes(alice);
    await say(alice, 'my own line');
    await received(alice, 'my own line');
    assert.equal(await chimes(alice), alicesOwn, 'no chime for one\'s own message');

    await openTab(bob, 'chat');
    await bob.click('#chat-sound');
    await until(bob, '!s.chatSound');
    await bob.reload();
    await until(bob, 's.connected && s.sessionId !== null && !s.chatSound');
    await openTab(bob, 'people');
    const silent = await chimes(bob);
    await say(alice, 'quiet please');
    // The chime would play in the same task that adds the line; once the line is there, it did not.
    await received(bob, 'quiet please');
    assert.equal(await chimes(bob), silent);
    await openTab(bob, 'chat');
    await bob.click('#chat-sound');
    await until(bob, 's.chatSound');
  });

  test('notices: joins, leaves, control changes and settings changes appear in everyone\'s chat', async () => {
    const [carol] = await join(chrome, app.url, 'carol', 'neko');
    await notice(alice, 'carol joined');
    await carol.click('#control');
    await notice(alice, 'carol took control');
    await notice(bob, 'carol took control');
    await carol.click('#control');
    await notice(alice, 'carol released control');
    await carol.context().close();
    await notice(alice, 'carol left');

    await openTab(root, 'admin');
    await root.getByLabel('Implicit hosting').click();
    await notice(alice, 'root turned on Implicit hosting');
    await root.getByLabel('Implicit hosting').click();
    await notice(alice, 'root turned off Implicit hosting');
    await screenshot(alice, 'desktop-chat-notices');
  });

  test('permission layers: the room\'s chat switches bind members but not admins; ?mute_chat=1 silences', async () => {
    await openTab(root, 'admin');
    await root.getByLabel('Members can chat').click();
    await until(alice, '!s.canSendChat');
    assert.ok(await alice.isDisabled('.chat-input'));
    assert.equal(await alice.getAttribute('.chat-input', 'placeholder'), 'You cannot send messages');
    await notice(alice, 'root turned off Members can chat');
    await openTab(root, 'chat');
    await say(root, 'admins still talk');
    await received(alice, 'admins still talk');

    await openTab(root, 'admin');
    await root.getByLabel('Members can read the chat').click();
    await until(alice, '!s.canReceiveChat');
    await alice.locator('.chat-banner').waitFor({ timeout: 5000 });
    await openTab(root, 'chat');
    await say(root, 'hidden from members');
    await openTab(root, 'admin');
    await root.getByLabel('Members can read the chat').click();
    await root.getByLabel('Members can chat').click();
    await until(alice, 's.canSendChat && s.canReceiveChat');
    await openTab(root, 'chat');
    await say(root, 'visible again');
    await received(alice, 'visible again');
    assert.equal(await neko<boolean>(alice, '.chat.some((l) => l.text === "hidden from members")'), false, 'the server kept it from her');

    const [dave] = await join(chrome, app.url, 'dave', 'neko', DESKTOP, '&mute_chat=1');
    assert.equal(await neko<boolean>(dave, '.chatSound'), false);
    await dave.context().close();
  });

  test('a server without member accounts says how members are managed instead', async () => {
    await openTab(root, 'admin');
    const text = await root.locator('#members-sessions-only').textContent({ timeout: 10_000 });
    assert.match(text ?? '', /keeps no member accounts.*People tab/);
  });
});
