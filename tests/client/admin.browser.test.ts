import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { App } from '../../server/src/main.js';
import { api } from '../helpers/api.js';
import { startApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { startRtmpServer, type RtmpServer } from '../helpers/rtmp-server.js';
import { waitFor } from '../helpers/x11.js';
import { assertControlsInside, assertNoHorizontalScroll, join, neko, PHONE, screenshot, until } from './support.js';

/** Members of the file provider, with clear passwords (`member.file.hash` off). */
const MEMBERS = {
  root: { password: 'admin', profile: { name: 'root', is_admin: true } },
  ops: { password: 'ops', profile: { name: 'ops', is_admin: true } },
  alice: { password: 'alice', profile: { name: 'alice' } },
  bob: { password: 'bob', profile: { name: 'bob' } },
};

async function openTab(page: Page, tab: string): Promise<void> {
  if (!(await neko<boolean>(page, '.panelOpen'))) await page.click('#panel-toggle');
  await page.click(`#tab-${tab}`);
}

/** Opens the member menu for `id` by right-clicking its row in the People tab. */
async function memberMenu(page: Page, id: string) {
  await openTab(page, 'people');
  await page.click(`.member[data-id="${id}"] .member-name`, { button: 'right' });
  const menu = page.locator(`#member-menu[data-id="${id}"]`);
  await menu.waitFor({ timeout: 5000 });
  return menu;
}

async function closeMenu(page: Page): Promise<void> {
  await page.keyboard.press('Escape');
  await page.locator('#member-menu').waitFor({ state: 'detached', timeout: 5000 });
}

/** Flips one permission box in `id`'s menu and waits until the page of that member sees it. */
async function setPermission(admin: Page, id: string, name: string, on: boolean): Promise<void> {
  const menu = await memberMenu(admin, id);
  const box = menu.locator(`input[name="${name}"]`);
  assert.equal(await box.isChecked(), !on, `${name} before`);
  await box.click();
  await menu.locator(`input[name="${name}"]${on ? ':checked' : ':not(:checked)'}`).waitFor({ timeout: 5000 });
  await closeMenu(admin);
}

const tokenOf = (page: Page) => page.evaluate('sessionStorage.getItem("neko.token") || localStorage.getItem("neko.token")') as Promise<string>;

/** Logs in from the form (the page shows it after being sent away). */
async function loginFromForm(page: Page, user: string, password: string): Promise<void> {
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('#login');
}

describe('admin tools: member menu, room settings, broadcast, member accounts (file provider)', () => {
  let app: App;
  let chrome: Browser;
  let dir: string;
  let rtmp: RtmpServer;
  let root: Page;
  let ops: Page;
  let alice: Page;
  let bob: Page;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'neko-admin-'));
    await writeFile(path.join(dir, 'members.json'), JSON.stringify(MEMBERS));
    rtmp = await startRtmpServer();
    app = await startApp([
      '--member.provider', 'file',
      '--member.file.path', path.join(dir, 'members.json'),
      '--member.file.hash=false',
      '--filetransfer.enabled=true',
      '--filetransfer.dir', path.join(dir, 'files'),
      '--desktop.screen', '800x600@30',
      '--capture.broadcast.video_bitrate', '300',
      '--server.login_successes', '1000',
    ]);
    chrome = await launchChromium();
    [root] = await join(chrome, app.url, 'root', 'admin');
    [ops] = await join(chrome, app.url, 'ops', 'ops', PHONE);
    [alice] = await join(chrome, app.url, 'alice', 'alice');
    [bob] = await join(chrome, app.url, 'bob', 'bob');
  });

  after(async () => {
    await chrome?.close();
    await app?.close();
    await rtmp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the menu opens by right-click and by ⋮; give, take and release control act on the room', async () => {
    let menu = await memberMenu(root, 'alice');
    await screenshot(root, 'desktop-member-menu');
    await menu.locator('[data-action="give"]').click();
    await until(alice, 's.isHost');
    await until(bob, 's.hostId === "alice"');

    menu = await memberMenu(root, 'root');
    await menu.locator('[data-action="take"]').click();
    await until(root, 's.isHost');
    await until(alice, '!s.isHost && s.hostId === "root"');
    menu = await memberMenu(root, 'root');
    await menu.locator('[data-action="release"]').click();
    await until(alice, 's.hostId === null');

    await alice.click('#control');
    await until(root, 's.hostId === "alice"');
    menu = await memberMenu(root, 'alice');
    await menu.locator('[data-action="release"]').click();
    await until(alice, '!s.isHost && s.hostId === null');

    // A phone has no right-click: the ⋮ button opens the same menu, inside the screen.
    await openTab(ops, 'people');
    await ops.click('.member-actions[data-id="bob"]');
    await ops.locator('#member-menu[data-id="bob"]').waitFor({ timeout: 5000 });
    await assertControlsInside(ops, 'phone member menu');
    await screenshot(ops, 'phone-member-menu');
    await ops.click('.member-actions[data-id="bob"]');
    await ops.locator('#member-menu').waitFor({ state: 'detached', timeout: 5000 });
    assert.equal(await alice.locator('.member-actions').count(), 0, 'members get no admin menu');
  });

  test('revoking can_host disables the member\'s control button and the server refuses its requests', async () => {
    await setPermission(root, 'alice', 'can_host', false);
    await alice.waitForSelector('#control:disabled', { timeout: 5000 });
    const token = await tokenOf(alice);
    const refused = await api(app.url, token).post('/api/room/control/request').expect(403);
    assert.equal(refused.body.message, 'session cannot host');
    await setPermission(root, 'alice', 'can_host', true);
    await alice.waitForSelector('#control:enabled', { timeout: 5000 });
    await api(app.url, token).post('/api/room/control/request').expect(204);
    await until(root, 's.hostId === "alice"');
    await alice.click('#control');
    await until(root, 's.hostId === null');
  });

  test('muting a member\'s chat stops its messages; everyone sees it muted', async () => {
    await setPermission(root, 'alice', 'chat_muted', true);
    await until(alice, '!s.canSendChat');
    await openTab(alice, 'chat');
    assert.ok(await alice.isDisabled('.chat-input'));
    await root.locator('.member[data-id="alice"] .badge-muted').waitFor({ timeout: 5000 });
    await bob.click('#panel-toggle');
    await bob.locator('.member[data-id="alice"] .badge-muted').waitFor({ timeout: 5000 });
    await setPermission(root, 'alice', 'chat_muted', false);
    await until(alice, 's.canSendChat');
    await alice.fill('.chat-input', 'back in the conversation');
    await alice.press('.chat-input', 'Enter');
    await until(bob, 's.chat.some((l) => l.text === "back in the conversation")');
  });

  test('can_watch, can_share_media and can_access_clipboard change what the member has', async () => {
    // Bob's page asks for video again after the server closes its peer; that request is refused.
    const cdp = await bob.context().newCDPSession(bob);
    await cdp.send('Network.enable');
    let videoRequests = 0;
    cdp.on('Network.webSocketFrameSent', (ev) => {
      if (ev.response.payloadData.includes('"signal/request"')) videoRequests++;
    });
    await setPermission(root, 'bob', 'can_watch', false);
    await bob.locator('#overlay-nowatch').waitFor({ timeout: 10_000 });
    await root.locator('.member[data-id="bob"][data-watching="false"]').waitFor({ timeout: 10_000 });
    await waitFor('bob\'s refused request for video', () => videoRequests > 0, 15_000);
    await cdp.detach();
    await setPermission(root, 'bob', 'can_watch', true);
    await bob.locator('#overlay-nowatch').waitFor({ state: 'detached', timeout: 10_000 });
    await until(bob, 's.peerState === "connected"', 20_000);

    assert.ok(await bob.isVisible('#mic'));
    await setPermission(root, 'bob', 'can_share_media', false);
    await bob.locator('#mic').waitFor({ state: 'detached', timeout: 5000 });
    await setPermission(root, 'bob', 'can_share_media', true);
    await bob.locator('#mic').waitFor({ timeout: 5000 });

    await openTab(bob, 'people');
    await bob.locator('#tab-clipboard').waitFor({ timeout: 5000 });
    await setPermission(root, 'bob', 'can_access_clipboard', false);
    await bob.locator('#tab-clipboard').waitFor({ state: 'detached', timeout: 5000 });
    await setPermission(root, 'bob', 'can_access_clipboard', true);
    await bob.locator('#tab-clipboard').waitFor({ timeout: 5000 });
  });

  test('disconnect: the member is told an admin disconnected it, and continues the same session', async () => {
    const menu = await memberMenu(root, 'bob');
    await menu.locator('[data-action="kick"]').click();
    await bob.locator('#login-error', { hasText: 'An admin disconnected you' }).waitFor({ timeout: 10_000 });
    await root.locator('.member[data-id="bob"][data-connected="false"]').waitFor({ timeout: 10_000 });
    await bob.click('#resume');
    await until(bob, 's.connected && s.sessionId === "bob"');
    await root.locator('.member[data-id="bob"][data-connected="true"]').waitFor({ timeout: 10_000 });
  });

  test('remove: it takes a second click; the member\'s session ends and it logs in anew', async () => {
    const menu = await memberMenu(root, 'bob');
    await menu.locator('[data-action="remove"]').click();
    assert.equal(await menu.locator('[data-action="remove"]').textContent(), 'Click again to remove');
    await until(bob, 's.connected');
    const token = await tokenOf(bob);
    await menu.locator('[data-action="remove"]').click();
    await bob.locator('#login-error', { hasText: 'An admin removed you from the room' }).waitFor({ timeout: 10_000 });
    assert.equal(await bob.locator('#resume').count(), 0, 'nothing to continue');
    await api(app.url, token).get('/api/whoami').expect(401);
    await loginFromForm(bob, 'bob', 'bob');
    await until(bob, 's.connected && s.sessionId === "bob"');
  });

  test('revoking can_login logs the member out until an admin allows it again', async () => {
    await setPermission(root, 'bob', 'can_login', false);
    await bob.locator('#login-error', { hasText: 'Your permissions changed' }).waitFor({ timeout: 10_000 });
    await loginFromForm(bob, 'bob', 'bob');
    await bob.locator('#login-error', { hasText: 'You are not allowed to log in' }).waitFor({ timeout: 10_000 });
    await setPermission(root, 'bob', 'can_login', true);
    await loginFromForm(bob, 'bob', 'bob');
    await until(bob, 's.connected && s.sessionId === "bob"');
  });

  test('room settings: each switch reaches the members; private mode explains itself to those it blanks', async () => {
    await openTab(root, 'admin');
    await screenshot(root, 'desktop-settings');
    await openTab(ops, 'admin');
    await assertNoHorizontalScroll(ops, 'phone settings panel');
    // The panel scrolls up and down; across, every control fits.
    const cut = (await ops.evaluate(`[...document.querySelectorAll('#panel button, #panel input, #panel select')]
      .map((el) => el.getBoundingClientRect()).filter((r) => r.width > 0 && (r.left < 0 || r.right > window.innerWidth)).length`)) as number;
    assert.equal(cut, 0, 'controls cut off at the sides of the phone settings panel');
    await screenshot(ops, 'phone-settings');
    const flip = async (label: string, check: string) => {
      await root.getByLabel(label, { exact: true }).click();
      await until(alice, check);
    };

    await flip('Private mode', 's.settings.private_mode');
    const overlay = alice.locator('#overlay-private');
    await overlay.waitFor({ timeout: 10_000 });
    assert.match((await overlay.textContent()) ?? '', /private mode.*paused for everyone but admins/i);
    assert.ok(await alice.isDisabled('#control'));
    assert.equal(await root.locator('#overlay-private').count(), 0, 'admins still see the desktop');
    await screenshot(alice, 'desktop-private-mode-explained');
    await flip('Private mode', '!s.settings.private_mode');
    await overlay.waitFor({ state: 'detached', timeout: 10_000 });

    await flip('Lock logins', 's.settings.locked_logins');
    const locked = await api(app.url).post('/api/login').send({ username: 'alice', password: 'alice' }).expect(403);
    assert.equal(locked.body.message, 'logins are locked');
    await flip('Lock logins', '!s.settings.locked_logins');
    // Past the lock now: the login is only refused because alice is connected already.
    const unlocked = await api(app.url).post('/api/login').send({ username: 'alice', password: 'alice' }).expect(422);
    assert.equal(unlocked.body.message, 'session already connected');

    await flip('Lock controls', 's.settings.locked_controls');
    await alice.waitForSelector('#control:disabled', { timeout: 5000 });
    await flip('Lock controls', '!s.settings.locked_controls');
    await alice.waitForSelector('#control:enabled', { timeout: 5000 });

    await flip('Control protection', 's.settings.control_protection');
    await flip('Control protection', '!s.settings.control_protection');
    await flip('Implicit hosting', 's.settings.implicit_hosting');
    await flip('Implicit hosting', '!s.settings.implicit_hosting');
    await flip('Show everyone\'s cursors', 's.settings.inactive_cursors');
    await flip('Show everyone\'s cursors', '!s.settings.inactive_cursors');

    await openTab(alice, 'people');
    await alice.locator('#tab-files').waitFor({ timeout: 5000 });
    await flip('File transfer for members', 's.settings.plugins["filetransfer.enabled"] === false');
    await alice.locator('#tab-files').waitFor({ state: 'detached', timeout: 5000 });
    await flip('File transfer for members', 's.settings.plugins["filetransfer.enabled"] === true');
    await alice.locator('#tab-files').waitFor({ timeout: 5000 });
    await flip('Members can chat', '!s.canSendChat');
    await flip('Members can chat', 's.canSendChat');
  });

  test('broadcast: started and stopped from the panel; the RTMP server receives it and both admins see the status', async () => {
    await openTab(root, 'admin');
    await openTab(ops, 'admin');
    const url = rtmp.url('admin-panel');
    await root.fill('#broadcast-url', url);
    await root.click('#broadcast-toggle');
    await root.locator('#broadcast-status[data-active="true"]', { hasText: `Broadcasting to ${url}` }).waitFor({ timeout: 15_000 });
    await ops.locator('#broadcast-status[data-active="true"]').waitFor({ timeout: 5000 });
    await waitFor('the RTMP server records the stream', async () => (await rtmp.recordings()).some((r) => r.size > 1000), 20_000);
    await screenshot(root, 'desktop-broadcast');
    assert.equal(await root.textContent('#broadcast-toggle'), 'Stop broadcast');

    await root.click('#broadcast-toggle');
    await root.locator('#broadcast-status[data-active="false"]').waitFor({ timeout: 15_000 });
    await ops.locator('#broadcast-status[data-active="false"]').waitFor({ timeout: 5000 });
    const status = await api(app.url, await tokenOf(root)).get('/api/room/broadcast').expect(200);
    assert.deepEqual(status.body, { is_active: false });

    // A server that refuses the stream: the admin is told why, and the status stays off.
    await root.fill('#broadcast-url', `rtmp://127.0.0.1:${await freePort()}/live/x`);
    await root.click('#broadcast-toggle');
    await root.locator('.notice-error', { hasText: 'Broadcast not changed' }).waitFor({ timeout: 20_000 });
    assert.equal(await root.getAttribute('#broadcast-status', 'data-active'), 'false');
  });

  test('member accounts: add one, change its password, delete it; logins follow', async () => {
    await openTab(root, 'admin');
    const accounts = root.locator('#members .account');
    await root.locator('#members .account[data-id="bob"]').waitFor({ timeout: 10_000 });
    assert.deepEqual(await accounts.evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))), ['alice', 'bob', 'ops', 'root']);
    const login = (password: string) => api(app.url).post('/api/login').send({ username: 'carol', password });

    const form = root.locator('#member-create');
    await form.locator('input[name="username"]').fill('carol');
    await form.locator('input[name="password"]').fill('carol-1');
    await form.locator('button[type="submit"]').click();
    const carol = root.locator('#members .account[data-id="carol"]');
    await carol.waitFor({ timeout: 10_000 });
    assert.equal(await form.locator('input[name="username"]').inputValue(), '', 'the form empties');
    const created = await login('carol-1').expect(200);
    assert.equal(created.body.profile.is_admin, false);
    await screenshot(root, 'desktop-members');

    await carol.locator('[data-action="password"]').click();
    await carol.locator('input[name="new-password"]').fill('carol-2');
    await carol.locator('.account-password button[type="submit"]').click();
    await root.locator('.notice', { hasText: 'The password of carol was changed' }).waitFor({ timeout: 10_000 });
    await login('carol-1').expect(401);
    await login('carol-2').expect(200);

    await carol.locator('[data-action="delete"]').click();
    await carol.locator('[data-action="confirm-delete"]').click();
    await carol.waitFor({ state: 'detached', timeout: 10_000 });
    await login('carol-2').expect(401);
    const list = await api(app.url, await tokenOf(root)).get('/api/members').expect(200);
    assert.deepEqual((list.body as Array<{ id: string }>).map((m) => m.id).sort(), ['alice', 'bob', 'ops', 'root']);
  });
});
