// The postMessage API and embed.js across two origins on loopback: the host pages are
// served by a small static server here on http://127.0.0.1:<p2>, the neko server on
// http://localhost:<p1>, which lists only the first as an embedding origin.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { TestWindow, waitFor } from '../helpers/x11.js';
import { DESKTOP, PHONE, screenshot } from './support.js';

const DIST = fileURLToPath(new URL('../../client/dist/', import.meta.url));

/** Serves the example page and `pages` (name → HTML) on 127.0.0.1. */
async function hostServer(pages: Record<string, string>): Promise<[Server, string]> {
  const example = await readFile(`${DIST}embed-example.html`, 'utf8');
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = path === '/embed-example.html' ? example : pages[path];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
}

const close = (server: Server | undefined) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, headers: { 'Content-Type': 'application/json', ...init.headers } });
  assert.ok(res.ok, `${init.method ?? 'GET'} ${url}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

/** The viewer's frame inside a host page. */
async function viewerFrame(page: Page, origin: string): Promise<Frame> {
  let frame: Frame | undefined;
  await waitFor('viewer frame', () => (frame = page.frames().find((f) => f.url().startsWith(origin))));
  return frame!;
}

const state = <T>(frame: Frame, expr: string) => frame.evaluate(`window.__neko.state()${expr}`) as Promise<T>;
const frameUntil = (frame: Frame, expr: string, timeout = 15_000) =>
  frame.waitForFunction(`(() => { const s = window.__neko && window.__neko.state(); return !!s && (${expr}); })()`, null, { timeout });

/** Records every event of `window.player` into `window.__events` (from now on). */
const RECORD = `(() => {
  window.__events = [];
  for (const type of ['connected', 'disconnected', 'host', 'chat', 'member.joined', 'member.left', 'stats']) {
    window.player.on(type, (data) => window.__events.push({ type, ...data }));
  }
})()`;
const eventSeen = (page: Page, expr: string, timeout = 15_000) =>
  page.waitForFunction(`window.__events && window.__events.some((e) => ${expr})`, null, { timeout });

describe('postMessage API and embed.js across origins', () => {
  let app: App;
  let chrome: Browser;
  let desk: TestWindow;
  let hosts: Server;
  let hostOrigin: string;
  let other: Server;
  let otherOrigin: string;
  let neko: string;
  let adminToken: string;
  const contexts: BrowserContext[] = [];

  const share = async (scope: 'view' | 'control', name: string) =>
    (await json<{ token: string }>(`${neko}/api/shares`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ scope, name, expires_in: 600 }),
    })).token;

  const open = async (url: string, options = DESKTOP) => {
    const context = await chrome.newContext(options);
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(url);
    return page;
  };

  /** The example page from the allowed origin, mounted with a share link. */
  const example = async (token: string, options = DESKTOP) => {
    const page = await open(`${hostOrigin}/embed-example.html?server=${encodeURIComponent(`${neko}/`)}&share=${token}&autostart=1`, options);
    await page.waitForFunction('window.player', null, { timeout: 15_000 });
    await page.evaluate(RECORD);
    const frame = await viewerFrame(page, neko);
    await frameUntil(frame, 's.connected && s.sessionId !== null');
    return { page, frame };
  };

  before(async () => {
    // The other origin frames the viewer from inside an allowed page, to post from there.
    [other, otherOrigin] = await hostServer({
      '/intruder.html': `<!doctype html><script>
        window.replies = [];
        addEventListener('message', (ev) => window.replies.push(ev.data));
        window.attack = (text) => parent.frames[0].postMessage({ neko: 1, id: 'evil', type: 'chat.send', text }, '*');
      </script>`,
    });
    [hosts, hostOrigin] = await hostServer({});
    app = await startApp(['--embed.origins', hostOrigin]);
    neko = app.url.replace('127.0.0.1', 'localhost');
    adminToken = (await json<{ token: string }>(`${neko}/api/login`, { method: 'POST', body: JSON.stringify({ username: 'boss', password: 'admin' }) })).token;
    desk = await TestWindow.open(app.desktop.display);
    chrome = await launchChromium();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await chrome?.close();
    await desk?.close();
    await app?.close();
    await close(hosts);
    await close(other);
  });

  test('the example page embeds the player with a control link: video, commands and events, keys reach X', async () => {
    const { page, frame } = await example(await share('control', 'guest'));
    await frame.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 20_000 });
    await page.waitForFunction(`[...document.querySelectorAll('#log li')].some((li) => li.textContent.includes('connected {"sessionId":"share_'))`);
    await page.waitForFunction(`[...document.querySelectorAll('#log li')].some((li) => li.textContent.includes(' ready '))`);

    await page.evaluate('window.player.requestControl()');
    await eventSeen(page, `e.type === 'host' && e.isHost === true`);
    assert.equal(await state(frame, '.isHost'), true);

    await page.evaluate(`window.player.sendChat('hello from the host page')`);
    await eventSeen(page, `e.type === 'chat' && e.text === 'hello from the host page' && e.name.startsWith('guest')`);

    await page.evaluate('window.player.setVolume(30)');
    assert.equal(await state(frame, '.volume'), 30);
    await page.evaluate('window.player.setMuted(true)');
    assert.equal(await state(frame, '.muted'), true);

    assert.equal(await frame.locator('.bar').count(), 0, 'embed=1: no bar');
    await page.evaluate('window.player.setUi({ controls: true, side: true })');
    await frame.locator('.bar').waitFor();
    assert.equal(await state(frame, '.panelOpen'), true);
    await page.evaluate('window.player.setUi({ controls: false, side: false })');
    await frame.locator('.bar').waitFor({ state: 'detached' });

    const refused = (await page.evaluate(`window.player.send('volume', { volume: 500 }).then(() => 'ok', (e) => e.message)`)) as string;
    assert.match(refused, /volume/);
    assert.equal(await page.evaluate(`window.player.setQuality('auto').then(() => 'ok', (e) => e.message)`), 'ok');

    await eventSeen(page, `e.type === 'stats' && typeof e.fps === 'number'`, 20_000);

    // A second member joins and leaves: the host page hears of both.
    const viewer = await open(`${neko}/?usr=watcher&pwd=neko`);
    await eventSeen(page, `e.type === 'member.joined' && e.name === 'watcher'`);
    await viewer.context().close();
    await eventSeen(page, `e.type === 'member.left' && e.name === 'watcher'`);

    // Released, then taken back through the hint's button inside the frame: focus stays on
    // the stage, so keys typed next reach the desktop.
    await page.evaluate('window.player.releaseControl()');
    await eventSeen(page, `e.type === 'host' && e.isHost === false`);
    const box = (await page.locator('#player iframe').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await frame.locator('#hint-request').click();
    await frameUntil(frame, 's.isHost && s.dataChannelOpen');
    desk.clear();
    await page.keyboard.type('ab');
    const keys = await waitFor('two key presses', () => (desk.of('KeyPress').length >= 2 ? desk.of('KeyPress') : undefined));
    assert.equal(keys.length, 2);

    await screenshot(page, 'desktop-embed-example');
  });

  test('a view link cannot take control; a refused command says why', async () => {
    const { page, frame } = await example(await share('view', 'onlooker'));
    const answer = (await page.evaluate(`window.player.requestControl().then(() => 'ok', (e) => e.message)`)) as string;
    assert.match(answer, /not allowed/);
    assert.equal(await state(frame, '.isHost'), false);
  });

  test('a message from an origin outside the list is ignored: no reply, no effect', async () => {
    const { page, frame } = await example(await share('control', 'target'));
    await page.evaluate(`(() => {
      const f = document.createElement('iframe');
      f.id = 'intruder';
      f.src = ${JSON.stringify(`${otherOrigin}/intruder.html`)};
      document.body.appendChild(f);
      return new Promise((resolve) => (f.onload = resolve));
    })()`);
    const intruder = page.frames().find((f) => f.url().startsWith(otherOrigin))!;
    await intruder.evaluate(`window.attack('intruder says hi')`);
    // Barrier: a command from the allowed page after the intruder's; the viewer handles
    // messages in order, so once this one is answered the intruder's was seen and dropped.
    await page.evaluate(`window.player.sendChat('after the intruder')`);
    await eventSeen(page, `e.type === 'chat' && e.text === 'after the intruder'`);
    const chat = (await state<{ text: string }[]>(frame, '.chat')).map((l) => l.text);
    assert.ok(!chat.includes('intruder says hi'), `chat: ${chat.join(' | ')}`);
    assert.deepEqual(await intruder.evaluate('window.replies'), []);
  });

  test('the viewer logs in with /?share=, drops the token from the address, and explains a refused link', async () => {
    const token = await share('view', 'direct');
    const page = await open(`${neko}/?share=${token}&lang=en`);
    await page.waitForFunction(`window.__neko.state().connected`, null, { timeout: 15_000 });
    assert.equal(new URL(page.url()).searchParams.has('share'), false, 'token gone from the address bar');
    assert.equal(new URL(page.url()).searchParams.get('lang'), 'en', 'other parameters stay');
    assert.equal(await page.evaluate(`window.__neko.state().members.find((m) => m.you).name.startsWith('direct')`), true);

    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${token.slice(0, -2)}${last}${token.at(-1)}`;
    const bad = await open(`${neko}/?share=${tampered}`);
    await bad.locator('#login-error', { hasText: 'share link was refused' }).waitFor({ timeout: 15_000 });
    assert.equal(new URL(bad.url()).searchParams.has('share'), false);
    assert.equal(await bad.evaluate('window.__neko.state().phase'), 'login');
  });

  test('the example page at phone size', async () => {
    const { page, frame } = await example(await share('view', 'phone'), PHONE);
    await frame.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 20_000 });
    await screenshot(page, 'phone-embed-example');
    const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    assert.ok(width <= 390, `page is ${width} px wide`);
  });
});
