import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../../server/src/log.js';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient, type Envelope } from '../../helpers/viewer.js';

interface Member {
  id: string;
  token: string;
  ws: SocketClient;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const SETTINGS_KEYS = [
  'control_protection', 'heartbeat_interval', 'implicit_hosting', 'inactive_cursors', 'locked_controls',
  'locked_logins', 'merciful_reconnect', 'plugins', 'private_mode',
];
const PROFILE_KEYS = [
  'can_access_clipboard', 'can_connect', 'can_host', 'can_login', 'can_see_inactive_cursors', 'can_share_media',
  'can_watch', 'is_admin', 'name', 'plugins', 'sends_inactive_cursor',
];

async function loginAs(url: string, username: string, password: string): Promise<{ id: string; token: string }> {
  const res = await api(url).post('/api/login').send({ username, password }).expect(200);
  return { id: res.body.id as string, token: res.body.token as string };
}

async function join(url: string, username: string, password: string): Promise<Member> {
  const { id, token } = await loginAs(url, username, password);
  const ws = await SocketClient.open(url, token);
  await ws.waitFor('system/init');
  return { id, token, ws };
}

/** Events a client got, heartbeats left out (they may come at any time). */
function received(c: SocketClient, event?: string): Envelope[] {
  return c.events.filter((e) => e.event !== 'system/heartbeat' && (event === undefined || e.event === event));
}

/**
 * Orders the server: `from` broadcasts a marker, `to` waits for it. Anything the server sent
 * `to` before handling the marker has then arrived, so absence checks need no sleeping.
 */
async function barrier(from: Member, to: Member[]): Promise<void> {
  const mark = `mark-${Math.random()}`;
  from.ws.send('send/broadcast', { subject: mark, body: null });
  await Promise.all(to.map((m) => m.ws.waitFor('send/broadcast', (p) => p.subject === mark)));
}

describe('websocket contract: handshake, connect sequence, events and recipients', () => {
  let app: App;
  let ann: Member; // user
  let root: Member; // admin
  let bob: Member; // user
  const logLines: string[] = [];
  let heartbeatWatcher: SocketClient;
  let pings = 0;

  before(async () => {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => logLines.push(...chunk.toString().split('\n').filter(Boolean)));
    app = await startApp(['--capture.video.ids', 'main'], createLogger({ level: 'info', destination: stream }));
    const watcher = await join(app.url, 'hb', 'neko');
    heartbeatWatcher = watcher.ws;
    heartbeatWatcher.ws.on('ping', () => pings++);
  });
  after(async () => {
    for (const m of [ann, root, bob]) m?.ws.close();
    heartbeatWatcher?.close();
    await app?.close();
  });

  test('authentication happens after the upgrade and failures say why', async () => {
    const expectRefused = async (token: string | null, message: string) => {
      const ws = await SocketClient.open(app.url, token);
      const bye = await ws.waitFor('system/disconnect');
      assert.deepEqual(bye.payload, { message });
      assert.equal(await ws.closed, 1000, `closed cleanly after "${message}"`);
      assert.equal(received(ws, 'system/init').length, 0, 'no init for a refused socket');
    };
    await expectRefused(null, 'no authentication provided');
    await expectRefused('x'.repeat(64), 'session not found');
    const noLogin = await loginAs(app.url, 'nologin', 'admin');
    await api(app.url, noLogin.token).post('/api/profile').send({ can_login: false }).expect(200);
    await expectRefused(noLogin.token, 'session login disabled');
    const noConnect = await loginAs(app.url, 'noconnect', 'admin');
    await api(app.url, noConnect.token).post('/api/profile').send({ can_connect: false }).expect(200);
    await expectRefused(noConnect.token, 'connection disabled');
  });

  test('connect sequence: system/init contents, system/admin only for admins, then state and plugins', async () => {
    ann = await join(app.url, 'ann', 'neko');
    await ann.ws.waitFor('openinapp/init');
    assert.deepEqual(
      received(ann.ws).map((e) => e.event),
      ['system/init', 'session/state', 'filetransfer/update', 'chat/init', 'openinapp/init'],
    );
    const init = ann.ws.events[0]!.payload;
    assert.deepEqual(Object.keys(init).sort(), [
      'control_host', 'screen_size', 'screencast_enabled', 'session_id', 'sessions', 'settings', 'touch_events', 'webrtc',
    ]);
    assert.equal(init.session_id, ann.id);
    assert.deepEqual(init.control_host, { id: '', has_host: false });
    assert.deepEqual(Object.keys(init.screen_size).sort(), ['height', 'rate', 'width']);
    assert.deepEqual(init.webrtc, { videos: ['main'] });
    assert.equal(typeof init.touch_events, 'boolean');
    assert.equal(init.screencast_enabled, false);
    assert.deepEqual(Object.keys(init.settings).sort(), SETTINGS_KEYS);
    assert.equal(init.settings.heartbeat_interval, 10);
    // Every session, connected or not, keyed by id, as SessionData.
    for (const id of [ann.id]) {
      const data = init.sessions[id];
      assert.ok(data, `sessions map holds ${id}`);
      assert.deepEqual(Object.keys(data).sort(), ['id', 'profile', 'state']);
      assert.deepEqual(Object.keys(data.profile).sort(), PROFILE_KEYS);
    }
    assert.equal(init.sessions[ann.id].state.is_connected, true);
    const offline = Object.values(init.sessions as Record<string, { state: { is_connected: boolean } }>);
    assert.ok(offline.some((s) => !s.state.is_connected), 'sessions that are not connected are listed too');
    const state = received(ann.ws, 'session/state')[0]!.payload;
    assert.equal(state.id, ann.id);
    assert.equal(state.is_connected, true);
    assert.match(state.connected_since, RFC3339);
    assert.deepEqual(received(ann.ws, 'filetransfer/update')[0]!.payload, {
      enabled: false, root_dir: '/home/neko/Downloads', user_download: false, user_upload: false, user_delete: false, files: null,
    });
    assert.deepEqual(received(ann.ws, 'chat/init')[0]!.payload, { enabled: true });
    assert.deepEqual(received(ann.ws, 'openinapp/init')[0]!.payload, { enabled: false });

    root = await join(app.url, 'root', 'admin');
    await root.ws.waitFor('openinapp/init');
    assert.deepEqual(
      received(root.ws).map((e) => e.event),
      ['system/init', 'system/admin', 'session/state', 'filetransfer/update', 'chat/init', 'openinapp/init'],
    );
    const admin = received(root.ws, 'system/admin')[0]!.payload;
    assert.deepEqual(Object.keys(admin).sort(), ['broadcast_status', 'screen_sizes_list']);
    assert.deepEqual(admin.broadcast_status, { is_active: false });
    assert.ok(Array.isArray(admin.screen_sizes_list) && admin.screen_sizes_list.length > 0, 'screen sizes listed');
    // The newcomer's state reaches everyone; the admin-only event does not.
    await ann.ws.waitFor('session/state', (p) => p.id === root.id && p.is_connected);
    await barrier(root, [ann]);
    assert.equal(received(ann.ws, 'system/admin').length, 0, 'system/admin goes to admins only');
  });

  test('session/created, session/profile, session/state and session/deleted are broadcast', async () => {
    const { id, token } = await loginAs(app.url, 'bob', 'neko');
    for (const m of [ann, root]) {
      const created = (await m.ws.waitFor('session/created', (p) => p.id === id)).payload;
      assert.deepEqual(Object.keys(created).sort(), ['id', 'profile', 'state']);
      assert.equal(created.state.is_connected, false);
      assert.equal(created.profile.name, 'bob');
    }
    await api(app.url, token).post('/api/profile').send({ name: 'Bobby' }).expect(200);
    for (const m of [ann, root]) {
      const profile = (await m.ws.waitFor('session/profile', (p) => p.id === id)).payload;
      assert.deepEqual(Object.keys(profile).sort(), ['id', ...PROFILE_KEYS].sort());
      assert.equal(profile.name, 'Bobby');
    }
    const ws = await SocketClient.open(app.url, token);
    await ws.waitFor('system/init');
    for (const m of [ann, root]) {
      const state = (await m.ws.waitFor('session/state', (p) => p.id === id && p.is_connected)).payload;
      assert.deepEqual(Object.keys(state).sort(), ['connected_since', 'id', 'is_connected', 'is_watching']);
    }
    ws.close();
    for (const m of [ann, root]) {
      const state = (await m.ws.waitFor('session/state', (p) => p.id === id && !p.is_connected)).payload;
      assert.match(state.not_connected_since, RFC3339);
      assert.equal(state.connected_since, undefined);
    }
    await api(app.url, token).post('/api/logout').expect(200);
    for (const m of [ann, root]) {
      assert.deepEqual((await m.ws.waitFor('session/deleted', (p) => p.id === id)).payload, { id });
    }
    bob = await join(app.url, 'bob2', 'neko');
  });

  test('send/unicast reaches only its receiver; unknown receivers are dropped', async () => {
    ann.ws.send('send/unicast', { receiver: root.id, subject: 'hello', body: { n: 1 } });
    const got = await root.ws.waitFor('send/unicast', (p) => p.subject === 'hello');
    assert.deepEqual(got.payload, { sender: ann.id, receiver: root.id, subject: 'hello', body: { n: 1 } });
    ann.ws.send('send/unicast', { receiver: 'nobody-here', subject: 'lost', body: 'x' });
    await barrier(ann, [root, bob]);
    for (const m of [ann, bob]) assert.equal(received(m.ws, 'send/unicast').length, 0, 'only the receiver gets a unicast');
    assert.equal(received(root.ws, 'send/unicast').length, 1, 'the unknown receiver message went nowhere');
  });

  test('send/broadcast reaches everyone but its sender', async () => {
    ann.ws.send('send/broadcast', { subject: 'all', body: [1, 'two'] });
    for (const m of [root, bob]) {
      const got = await m.ws.waitFor('send/broadcast', (p) => p.subject === 'all');
      assert.deepEqual(got.payload, { sender: ann.id, subject: 'all', body: [1, 'two'] });
    }
    await barrier(root, [ann]);
    assert.equal(received(ann.ws, 'send/broadcast').filter((e) => e.payload.subject === 'all').length, 0, 'sender excluded');
  });

  test('chat: messages go to every session that can receive, sender included; permissions in three layers', async () => {
    ann.ws.send('chat/message', { text: 'hi all' });
    for (const m of [ann, root, bob]) {
      const msg = (await m.ws.waitFor('chat/message', (p) => p.content?.text === 'hi all')).payload;
      assert.deepEqual(Object.keys(msg).sort(), ['content', 'created', 'id']);
      assert.equal(msg.id, ann.id);
      assert.match(msg.created, RFC3339);
      assert.deepEqual(msg.content, { text: 'hi all' });
    }

    // Profile layer: bob stops receiving.
    const bobSession = app.sessions.get(bob.id)!;
    app.sessions.updateProfile(bobSession, { ...bobSession.profile, plugins: { 'chat.can_receive': false } });
    root.ws.send('chat/message', { text: 'not for bob' });
    await root.ws.waitFor('chat/message', (p) => p.content.text === 'not for bob');
    await barrier(root, [bob]);
    assert.ok(!received(bob.ws, 'chat/message').some((e) => e.payload.content.text === 'not for bob'), 'bob cannot receive');
    app.sessions.updateProfile(bobSession, { ...bobSession.profile, plugins: null });

    // Room layer: users may no longer send; admins still may.
    await api(app.url, root.token).post('/api/room/settings').send({ plugins: { 'chat.can_send': false } }).expect(204);
    ann.ws.send('chat/message', { text: 'muted' });
    root.ws.send('chat/message', { text: 'admin speaks' });
    await ann.ws.waitFor('chat/message', (p) => p.content.text === 'admin speaks');
    await barrier(ann, [root]);
    assert.ok(!received(root.ws, 'chat/message').some((e) => e.payload.content.text === 'muted'), 'room setting blocks users');

    // REST: admins only, and only with can_send.
    await api(app.url, root.token).post('/api/chat').send({ text: 'over rest' }).expect(204);
    const rest = await bob.ws.waitFor('chat/message', (p) => p.content.text === 'over rest');
    assert.equal(rest.payload.id, root.id);
    const denied = await api(app.url, ann.token).post('/api/chat').send({ text: 'x' }).expect(403);
    assert.deepEqual(denied.body, { code: 403, message: 'session is not admin' });
    await api(app.url, root.token).post('/api/room/settings').send({ plugins: null }).expect(204);
    const rootSession = app.sessions.get(root.id)!;
    app.sessions.updateProfile(rootSession, { ...rootSession.profile, plugins: { 'chat.can_send': false } });
    const cannot = await api(app.url, root.token).post('/api/chat').send({ text: 'x' }).expect(403);
    assert.deepEqual(cannot.body, { code: 403, message: 'not allowed to send chat messages' });
    app.sessions.updateProfile(rootSession, { ...rootSession.profile, plugins: null });
    await api(app.url, root.token).post('/api/chat').send({ text: 42 }).expect(400);
  });

  test('merciful reconnect replaces the old socket; without it the new one is refused', async () => {
    const second = await SocketClient.open(app.url, ann.token);
    await second.waitFor('system/init');
    assert.deepEqual((await ann.ws.waitFor('system/disconnect')).payload, { message: 'connection replaced' });
    await ann.ws.closed;
    ann = { ...ann, ws: second };
    await barrier(root, [ann]);
    assert.ok(
      !received(root.ws, 'session/state').some((e) => e.payload.id === ann.id && !e.payload.is_connected),
      'a replaced socket does not make the session look disconnected',
    );

    await api(app.url, root.token).post('/api/room/settings').send({ merciful_reconnect: false }).expect(204);
    const third = await SocketClient.open(app.url, ann.token);
    assert.deepEqual((await third.waitFor('system/disconnect')).payload, { message: 'already connected' });
    await third.closed;
    await barrier(root, [ann]);
    await api(app.url, root.token).post('/api/room/settings').send({ merciful_reconnect: true }).expect(204);
  });

  test('abnormal close: a reconnect within 5 s keeps the session connected; without one it drops after the grace', async () => {
    const stateFlips = () => received(root.ws, 'session/state').filter((e) => e.payload.id === ann.id && !e.payload.is_connected);
    const before = stateFlips().length;
    ann.ws.ws.terminate();
    await ann.ws.closed;
    await sleep(300);
    const again = await SocketClient.open(app.url, ann.token);
    await again.waitFor('system/init');
    ann = { ...ann, ws: again };
    await barrier(ann, [root]);
    assert.equal(stateFlips().length, before, 'no is_connected=false flip for a quick reconnect');
    assert.equal(app.sessions.get(ann.id)!.state.is_connected, true);

    const started = Date.now();
    ann.ws.ws.terminate();
    await root.ws.waitFor('session/state', (p) => p.id === ann.id && !p.is_connected, 9000);
    assert.ok(Date.now() - started >= 4000, `disconnect deferred by the grace period (${Date.now() - started} ms)`);

    // A clean close counts at once.
    ann = await join(app.url, 'ann3', 'neko');
    const cleanStart = Date.now();
    ann.ws.close();
    await root.ws.waitFor('session/state', (p) => p.id === ann.id && !p.is_connected, 3000);
    assert.ok(Date.now() - cleanStart < 3000, 'clean close is immediate');
    ann = await join(app.url, 'ann4', 'neko');
  });

  test('bad input is ignored and the socket stays usable; client logs reach the server log', async () => {
    ann.ws.sendRaw('{not json');
    ann.ws.sendRaw('[]');
    ann.ws.sendRaw('{"event": 5}');
    ann.ws.send('no/such/event', { a: 1 });
    ann.ws.send('send/unicast', 'not an object');
    ann.ws.send('chat/message', { text: 'x'.repeat(5000) });
    ann.ws.send('client/heartbeat');
    ann.ws.send('system/logs', [{ level: 'warn', fields: { where: 'contract-test' }, message: 'client says hi' }]);
    await barrier(ann, [root]);
    assert.ok(!received(root.ws, 'chat/message').some((e) => e.payload.content.text.length > 4096), 'over-long chat dropped');
    assert.ok(
      logLines.some((l) => l.includes('"module":"client"') && l.includes('client says hi') && l.includes('contract-test')),
      'system/logs entries are written to the server log with module=client',
    );
  });

  test('the server sends system/heartbeat and a ping frame every 10 s', async () => {
    const beat = await heartbeatWatcher.waitFor('system/heartbeat', () => true, 15_000);
    assert.equal('payload' in beat, false, 'heartbeat carries no payload');
    await sleep(200);
    assert.ok(pings >= 1, 'a WebSocket ping frame follows the heartbeat');
  });

  test('shutdown tells connected clients and does not wait for them to leave', async () => {
    const started = Date.now();
    await app.close();
    assert.ok(Date.now() - started < 10_000, 'closing with clients connected finishes');
    for (const m of [ann, root, bob]) {
      assert.deepEqual((await m.ws.waitFor('system/disconnect')).payload, { message: 'server shutdown' });
      await m.ws.closed;
    }
  });
});
