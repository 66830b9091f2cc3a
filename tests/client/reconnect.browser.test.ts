import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { DESKTOP, framesDecoded, neko, screenshot, until } from './support.js';

/**
 * A TCP relay between the browser and the server that the test can cut, like a network
 * that drops: open connections are reset and new ones refused until it is restored.
 */
class Relay {
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
  port = 0;

  constructor(private readonly target: number) {}

  async open(port = 0): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.resetAndDestroy();
    await closed;
  }
}

const portOf = (app: App) => Number(new URL(app.url).port);
const viewerVisible = (page: Page) => page.locator('#stage').isVisible();

describe('the viewer stays connected: network drops, server restarts, remember me', () => {
  let dir: string;
  let app: App;
  let chrome: Browser;
  const flags = () => ['--session.file', joinPath(dir, 'sessions.json')];

  before(async () => {
    dir = mkdtempSync(joinPath(tmpdir(), 'neko-reconnect-'));
    app = await startApp(flags());
    chrome = await launchChromium();
  });

  after(async () => {
    await chrome?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a dropped network: the viewer says it is reconnecting, counts down, and comes back by itself', async () => {
    const relay = new Relay(portOf(app));
    await relay.open();
    const context = await chrome.newContext(DESKTOP);
    try {
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${relay.port}/?usr=wanda&pwd=neko`);
      await until(page, 's.connected && s.peerState === "connected"', 15_000);
      const id = await neko<string>(page, '.sessionId');

      await relay.cut();
      const overlay = page.locator('#overlay-connection');
      await overlay.waitFor({ timeout: 10_000 });
      // Once the first quick attempt failed, the wait before the next one is counted down.
      await page.locator('#overlay-connection', { hasText: /Reconnecting in \d+ s/ }).waitFor({ timeout: 10_000 });
      assert.match((await page.textContent('#status')) ?? '', /Reconnecting/);
      await screenshot(page, 'desktop-reconnecting');

      assert.ok(await page.isVisible('#retry-now'), 'a way to skip the wait');
      await relay.open(relay.port);
      await until(page, 's.connected && s.peerState === "connected"', 20_000);
      assert.equal(await neko(page, '.sessionId'), id, 'the same session');
      assert.ok(await viewerVisible(page), 'never sent back to the login form');
      const frames = await framesDecoded(page);
      await page.waitForFunction(`window.__neko.framesDecoded() > ${frames}`, null, { timeout: 15_000 });
      await relay.cut();
    } finally {
      await context.close();
    }
  });

  test('remember me keeps the session for new tabs; without it a new tab asks to log in', async () => {
    const context = await chrome.newContext(DESKTOP);
    try {
      const first = await context.newPage();
      await first.goto(`${app.url}/`);
      await first.fill('#username', 'rita');
      await first.fill('#password', 'neko');
      await first.check('#remember');
      await first.click('#login');
      await until(first, 's.connected && s.peerState === "connected"', 15_000);
      const id = await neko<string>(first, '.sessionId');
      assert.equal(await first.evaluate(`sessionStorage.getItem('neko.token')`), null, 'not in the tab storage');
      assert.ok(await first.evaluate(`localStorage.getItem('neko.token')`), 'in the browser storage');
      assert.equal(await first.evaluate(`Object.keys(localStorage).some((k) => /pass/i.test(localStorage.getItem(k)) || localStorage.getItem(k).includes('neko"'))`), false, 'no password stored');
      await first.close();

      const second = await context.newPage();
      await second.goto(`${app.url}/`);
      await until(second, 's.connected && s.peerState === "connected"', 15_000);
      assert.equal(await neko(second, '.sessionId'), id, 'back in the same session without typing');
      await second.close();
    } finally {
      await context.close();
    }

    const plain = await chrome.newContext(DESKTOP);
    try {
      const first = await plain.newPage();
      await first.goto(`${app.url}/`);
      await first.fill('#username', 'paul');
      await first.fill('#password', 'neko');
      await first.click('#login');
      await until(first, 's.connected');
      // A reload of the same tab keeps the session.
      await first.reload();
      await until(first, 's.connected');
      const other = await plain.newPage();
      await other.goto(`${app.url}/`);
      await other.waitForSelector('#login');
      assert.equal(await neko(other, '.phase'), 'login');
    } finally {
      await plain.close();
    }
  });

  test('a server restart with persisted sessions: the viewer comes back watching, and a remembered login survives it too', async () => {
    const context = await chrome.newContext(DESKTOP);
    try {
      const page = await context.newPage();
      await page.goto(`${app.url}/`);
      await page.fill('#username', 'sam');
      await page.fill('#password', 'neko');
      await page.check('#remember');
      await page.click('#login');
      await until(page, 's.connected && s.peerState === "connected"', 15_000);
      const id = await neko<string>(page, '.sessionId');

      const port = portOf(app);
      await app.close();
      await until(page, '!s.connected', 10_000);
      await page.locator('#overlay-connection').waitFor({ timeout: 10_000 });
      assert.equal(await neko(page, '.phase'), 'room', 'still in the room, waiting for the server');

      app = await startApp([...flags(), '--server.bind', `127.0.0.1:${port}`]);
      await until(page, 's.connected && s.peerState === "connected"', 30_000);
      assert.equal(await neko(page, '.sessionId'), id, 'the same session as before the restart');
      await page.waitForFunction('window.__neko.framesDecoded() > 0', null, { timeout: 15_000 });

      // And a browser restart on top: the remembered token, nothing typed.
      const again = await context.newPage();
      await page.close();
      await again.goto(`${app.url}/`);
      await until(again, 's.connected && s.peerState === "connected"', 15_000);
      assert.equal(await neko(again, '.sessionId'), id);
    } finally {
      await context.close();
    }
  });

  test('a session the restarted server does not know goes back to the login form, saying so', async () => {
    const context: BrowserContext = await chrome.newContext(DESKTOP);
    try {
      const page = await context.newPage();
      await page.goto(`${app.url}/?usr=tina&pwd=neko`);
      await until(page, 's.connected');
      // Delete the session behind the viewer's back, as a restart without persistence would lose it.
      const id = await neko<string>(page, '.sessionId');
      app.sessions.delete(app.sessions.get(id)!);
      await page.waitForSelector('#login');
      assert.ok(((await page.textContent('#login-error')) ?? '').length > 0, 'the reason is shown');
      assert.equal(await page.evaluate(`sessionStorage.getItem('neko.token') ?? localStorage.getItem('neko.token')`), null);
    } finally {
      await context.close();
    }
  });
});
