import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../../server/src/log.js';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient } from '../../helpers/viewer.js';

interface LoggedIn {
  id: string;
  token: string;
  profile: Record<string, unknown>;
}

interface Share {
  id: string;
  token: string;
  url: string;
}

describe('share link routes', () => {
  let dir: string;
  let app: App;
  let admin: LoggedIn;
  let user: LoggedIn;
  const minted: string[] = [];
  // Every log line of both runs at trace level: no token may ever show up in them.
  const logs: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => logs.push(chunk));
  const logger = createLogger({ level: 'trace', destination: sink });

  const login = async (username: string, password: string): Promise<LoggedIn> =>
    (await api(app.url).post('/api/login').send({ username, password }).expect(200)).body;
  const share = async (body: Record<string, unknown>): Promise<Share> => {
    const created = (await api(app.url, admin.token).post('/api/shares').send(body).expect(201)).body as Share;
    minted.push(created.token);
    return created;
  };
  const shareLogin = (token: string) => api(app.url).post('/api/login/share').send({ token });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'neko-share-routes-'));
    app = await startApp(['--share.dir', dir], logger);
    admin = await login('root', 'admin');
    user = await login('ann', 'neko');
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('admin-only routes: guest 401, user 403; the login is open to anyone with a token', async () => {
    const body = { scope: 'view', name: 'x', expires_in: 60 };
    for (const [method, route] of [['post', '/api/shares'], ['get', '/api/shares'], ['delete', '/api/shares/whatever']] as const) {
      const guest = api(app.url)[method](route);
      assert.deepEqual((await (method === 'post' ? guest.send(body) : guest).expect(401)).body, { code: 401, message: 'Unauthorized' });
      const asUser = api(app.url, user.token)[method](route);
      assert.deepEqual((await (method === 'post' ? asUser.send(body) : asUser).expect(403)).body, { code: 403, message: 'session is not admin' });
    }
    assert.deepEqual((await shareLogin('not-a-token').expect(401)).body, { code: 401, message: 'share token is malformed' });
    await api(app.url).post('/api/login/share').send({}).expect(400);
  });

  test('create validates its body and answers id, token, url, scope, name, expires_at; the list has no tokens', async () => {
    for (const bad of [
      { scope: 'owner', name: 'x', expires_in: 60 },
      { scope: 'view', name: '', expires_in: 60 },
      { scope: 'view', name: 'x'.repeat(65), expires_in: 60 },
      { scope: 'view', name: 'x', expires_in: 0 },
      { scope: 'view', name: 'x', expires_in: 1.5 },
      { scope: 'view', name: 'x', expires_in: 60, uses: 0 },
    ]) {
      await api(app.url, admin.token).post('/api/shares').send(bad).expect(400);
    }
    const before = Date.now();
    const created = await share({ scope: 'view', name: 'watcher', expires_in: 3600, uses: 5 });
    assert.equal(created.url, `${app.url}/?share=${created.token}`);
    const body = created as unknown as Record<string, unknown>;
    assert.equal(body.scope, 'view');
    assert.equal(body.name, 'watcher');
    const expires = Date.parse(body.expires_at as string);
    assert.ok(expires >= Math.floor(before / 1000) * 1000 + 3_600_000 && expires <= Date.now() + 3_600_000);
    const list = (await api(app.url, admin.token).get('/api/shares').expect(200)).body as Array<Record<string, unknown>>;
    const row = list.find((s) => s.id === created.id);
    assert.deepEqual({ ...row, created_at: undefined }, {
      id: created.id, scope: 'view', name: 'watcher', created_at: undefined, expires_at: body.expires_at, uses: 5, uses_left: 5, revoked: false, sessions: [],
    });
    assert.ok(!JSON.stringify(list).includes(created.token));
  });

  test('view scope watches but cannot take control; control scope can; admin scope is admin', async () => {
    const view = await share({ scope: 'view', name: 'viewer', expires_in: 600, uses: 1 });
    const viewer = (await shareLogin(view.token).expect(200)).body as LoggedIn;
    assert.equal(viewer.profile.name, 'viewer');
    assert.deepEqual(
      [viewer.profile.is_admin, viewer.profile.can_watch, viewer.profile.can_host, viewer.profile.can_access_clipboard, viewer.profile.can_share_media],
      [false, true, false, false, false],
    );
    assert.deepEqual((await api(app.url, viewer.token).post('/api/room/control/request').expect(403)).body, { code: 403, message: 'session cannot host' });
    assert.deepEqual((await shareLogin(view.token).expect(401)).body, { code: 401, message: 'share link has no uses left' });

    const control = await share({ scope: 'control', name: 'helper', expires_in: 600 });
    const helper = (await shareLogin(control.token).expect(200)).body as LoggedIn;
    assert.match(helper.profile.name as string, /^helper-[0-9a-f]{6}$/);
    assert.deepEqual([helper.profile.is_admin, helper.profile.can_host, helper.profile.can_access_clipboard], [false, true, true]);
    await api(app.url, helper.token).post('/api/room/control/request').expect(204);
    assert.equal(app.sessions.host?.id, helper.id);
    await api(app.url, helper.token).post('/api/room/control/release').expect(204);

    const adminShare = await share({ scope: 'admin', name: 'boss', expires_in: 600, uses: 1 });
    const boss = (await shareLogin(adminShare.token).expect(200)).body as LoggedIn;
    assert.equal(boss.profile.is_admin, true);
    assert.equal(boss.profile.name, 'boss');
  });

  test('DELETE ?disconnect=true revokes and ends the sessions the link made at once', async () => {
    const created = await share({ scope: 'control', name: 'party', expires_in: 600 });
    const guest = (await shareLogin(created.token).expect(200)).body as LoggedIn;
    const kept = await share({ scope: 'view', name: 'kept', expires_in: 600 });
    const other = (await shareLogin(kept.token).expect(200)).body as LoggedIn;
    const watcher = await SocketClient.open(app.url, admin.token);
    const socket = await SocketClient.open(app.url, guest.token);
    try {
      await socket.waitFor('system/init');
      await watcher.waitFor('system/init');
      await api(app.url, admin.token).delete(`/api/shares/${created.id}?disconnect=maybe`).expect(400);
      await api(app.url, admin.token).delete(`/api/shares/${created.id}?disconnect=true`).expect(204);
      assert.deepEqual((await socket.waitFor('system/disconnect')).payload, { message: 'session deleted' });
      await socket.closed;
      await watcher.waitFor('session/deleted', (p: { id: string }) => p.id === guest.id);
      await api(app.url, guest.token).get('/api/whoami').expect(401);
      assert.deepEqual((await shareLogin(created.token).expect(401)).body, { code: 401, message: 'share link was revoked' });
      // Revoking without disconnect leaves the sessions alone.
      await api(app.url, admin.token).delete(`/api/shares/${kept.id}`).expect(204);
      await api(app.url, other.token).get('/api/whoami').expect(200);
      const list = (await api(app.url, admin.token).get('/api/shares').expect(200)).body as Array<{ id: string; revoked: boolean }>;
      assert.equal(list.find((s) => s.id === kept.id)?.revoked, true);
      await api(app.url, admin.token).delete('/api/shares/unknown-id').expect(404);
    } finally {
      socket.close();
      watcher.close();
    }
  });

  test('locked_settings: validated at creation, listed, and refused to the sessions the link made', async () => {
    for (const [bad, message] of [
      [{ locked_settings: 'private_mode' }, 'locked_settings must be a list of at most 32 room settings keys'],
      [{ locked_settings: [1] }, 'locked_settings must be a list of at most 32 room settings keys'],
      [{ locked_settings: ['private_mode', 'screen_size'] }, 'locked_settings: unknown room setting "screen_size"; use private_mode, locked_logins, locked_controls, control_protection, implicit_hosting, inactive_cursors, merciful_reconnect, heartbeat_interval, plugins or plugins.<key>'],
      [{ locked_settings: ['plugins.'] }, 'locked_settings: unknown room setting "plugins."; use private_mode, locked_logins, locked_controls, control_protection, implicit_hosting, inactive_cursors, merciful_reconnect, heartbeat_interval, plugins or plugins.<key>'],
      [{ locked_settings: Array.from({ length: 33 }, (_, i) => `plugins.p${i}`) }, 'locked_settings must be a list of at most 32 room settings keys'],
      [{ scope: 'control', locked_settings: ['private_mode'] }, 'locked_settings only applies to admin scope links'],
    ] as const) {
      const body = { scope: 'admin', name: 'x', expires_in: 60, ...bad };
      assert.deepEqual((await api(app.url, admin.token).post('/api/shares').send(body).expect(400)).body, { code: 400, message });
    }
    // An empty list locks nothing and is not shown.
    const plain = (await share({ scope: 'view', name: 'plain', expires_in: 600, locked_settings: [] })) as unknown as Record<string, unknown>;
    assert.equal(plain.locked_settings, undefined);

    const locked = ['private_mode', 'plugins.chat.enabled', 'private_mode'];
    const created = (await share({ scope: 'admin', name: 'cohost', expires_in: 600, locked_settings: locked })) as Share & Record<string, unknown>;
    assert.deepEqual(created.locked_settings, ['private_mode', 'plugins.chat.enabled']);
    const list = (await api(app.url, admin.token).get('/api/shares').expect(200)).body as Array<Record<string, unknown>>;
    assert.deepEqual(list.find((s) => s.id === created.id)?.locked_settings, ['private_mode', 'plugins.chat.enabled']);

    const cohost = (await shareLogin(created.token).expect(200)).body as LoggedIn;
    const settings = (await api(app.url, cohost.token).get('/api/room/settings').expect(200)).body as Record<string, unknown>;
    const changeAs = (token: string, body: Record<string, unknown>) => api(app.url, token).post('/api/room/settings').send(body);
    assert.deepEqual((await changeAs(cohost.token, { private_mode: !settings.private_mode }).expect(403)).body, {
      code: 403,
      message: 'room setting private_mode is locked for this session',
    });
    assert.deepEqual((await changeAs(cohost.token, { plugins: { 'chat.enabled': false } }).expect(403)).body, {
      code: 403,
      message: 'room setting plugins.chat.enabled is locked for this session',
    });
    // Clearing the plugin map would change the locked plugin key once it is set.
    await changeAs(admin.token, { plugins: { 'chat.enabled': true } }).expect(204);
    await changeAs(cohost.token, { plugins: null }).expect(403);
    // A refused update applies nothing, not even its unlocked keys.
    await changeAs(cohost.token, { implicit_hosting: !settings.implicit_hosting, private_mode: !settings.private_mode }).expect(403);
    assert.equal(app.sessions.settings.implicit_hosting, settings.implicit_hosting);
    assert.equal(app.sessions.settings.private_mode, settings.private_mode);
    // Unlocked keys, and the whole settings object posted back unchanged, go through.
    await changeAs(cohost.token, { implicit_hosting: !settings.implicit_hosting, plugins: { 'file.enabled': true } }).expect(204);
    assert.equal(app.sessions.settings.implicit_hosting, !settings.implicit_hosting);
    await changeAs(cohost.token, { ...app.sessions.settings }).expect(204);
    // The lock binds the link's sessions only: a password admin still changes it.
    await changeAs(admin.token, { private_mode: !settings.private_mode }).expect(204);
    await changeAs(admin.token, { private_mode: settings.private_mode, implicit_hosting: settings.implicit_hosting, plugins: null }).expect(204);
  });

  test('the viewer page opened with ?share= is served; tokens never reach the logs', async () => {
    const created = await share({ scope: 'view', name: 'page', expires_in: 600 });
    const page = await fetch(`${app.url}/?share=${created.token}`);
    assert.equal(page.status, 200);
    await page.text();
    await shareLogin(created.token).expect(200);
    const text = Buffer.concat(logs).toString();
    assert.ok(text.includes('share link created'), 'share events are logged');
    for (const token of minted) assert.ok(!text.includes(token), 'a share token was written to the log');
  });

  test('links, uses left and revocations survive a restart (same generated key)', async () => {
    const limited = await share({ scope: 'view', name: 'twice', expires_in: 600, uses: 2 });
    const revoked = await share({ scope: 'view', name: 'gone', expires_in: 600 });
    const locked = await share({ scope: 'admin', name: 'cohost', expires_in: 600, locked_settings: ['locked_logins'] });
    await shareLogin(limited.token).expect(200);
    await api(app.url, admin.token).delete(`/api/shares/${revoked.id}`).expect(204);
    await app.close();
    app = await startApp(['--share.dir', dir], logger);
    admin = await login('root', 'admin');
    assert.deepEqual((await shareLogin(revoked.token).expect(401)).body, { code: 401, message: 'share link was revoked' });
    await shareLogin(limited.token).expect(200);
    assert.deepEqual((await shareLogin(limited.token).expect(401)).body, { code: 401, message: 'share link has no uses left' });
    const list = (await api(app.url, admin.token).get('/api/shares').expect(200)).body as Array<Record<string, unknown>>;
    assert.deepEqual(list.find((s) => s.id === locked.id)?.locked_settings, ['locked_logins']);
    const cohost = (await shareLogin(locked.token).expect(200)).body as LoggedIn;
    await api(app.url, cohost.token).post('/api/room/settings').send({ locked_logins: !app.sessions.settings.locked_logins }).expect(403);
    const text = Buffer.concat(logs).toString();
    for (const token of minted) assert.ok(!text.includes(token), 'a share token was written to the log');
  });
});
