import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient } from '../../helpers/viewer.js';

const API_TOKEN = 'room-settings-test-api-token';

const DEFAULTS = {
  private_mode: false,
  locked_logins: false,
  locked_controls: false,
  control_protection: false,
  implicit_hosting: false,
  inactive_cursors: false,
  merciful_reconnect: true,
  heartbeat_interval: 10,
  plugins: null,
};

interface Member {
  id: string;
  token: string;
}

describe('room settings routes: GET/POST /api/room/settings (contract §3.3)', () => {
  let app: App;
  let admin: Member;
  let ann: Member;
  const sockets: SocketClient[] = [];

  const loginAs = async (username: string, password = 'neko'): Promise<Member> => {
    const res = await api(app.url).post('/api/login').send({ username, password }).expect(200);
    return { id: res.body.id, token: res.body.token };
  };
  const connect = async (member: Member): Promise<SocketClient> => {
    const socket = await SocketClient.open(app.url, member.token);
    sockets.push(socket);
    await socket.waitFor('system/init');
    return socket;
  };
  const current = async () => (await api(app.url, admin.token).get('/api/room/settings').expect(200)).body;

  before(async () => {
    app = await startApp(['--session.api_token', API_TOKEN]);
    admin = await loginAs('root', 'admin');
    ann = await loginAs('ann');
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) {
      socket.close();
      await socket.closed;
    }
    await api(app.url, API_TOKEN).post('/api/room/settings').send({ ...DEFAULTS }).expect(204);
  });

  after(async () => {
    await app?.close();
  });

  test('roles: anonymous 401, users 403, admins and the API session pass', async () => {
    for (const method of ['get', 'post'] as const) {
      const anon = await api(app.url)[method]('/api/room/settings').send({}).expect(401);
      assert.deepEqual(anon.body, { code: 401, message: 'Unauthorized' });
      const user = await api(app.url, ann.token)[method]('/api/room/settings').send({}).expect(403);
      assert.deepEqual(user.body, { code: 403, message: 'session is not admin' });
    }
    assert.deepEqual((await api(app.url, API_TOKEN).get('/api/room/settings').expect(200)).body, DEFAULTS);
    assert.deepEqual(await current(), DEFAULTS);
  });

  test('POST merges partially and broadcasts system/settings {id: caller, ...settings} to everyone', async () => {
    const annWs = await connect(ann);
    const adminWs = await connect(admin);
    await api(app.url, admin.token).post('/api/room/settings').send({ implicit_hosting: true, heartbeat_interval: 25 }).expect(204);
    const expected = { ...DEFAULTS, implicit_hosting: true, heartbeat_interval: 25 };
    assert.deepEqual(await current(), expected);
    for (const ws of [annWs, adminWs]) {
      const msg = await ws.waitFor('system/settings');
      assert.deepEqual(msg.payload, { id: admin.id, ...expected });
    }
    await api(app.url, API_TOKEN).post('/api/room/settings').send({ inactive_cursors: true, unknown_key: 1 }).expect(204);
    const byApi = await annWs.waitFor('system/settings', (p) => p.id === 'API');
    assert.deepEqual(byApi.payload, { id: 'API', ...expected, inactive_cursors: true });
    assert.equal('unknown_key' in (await current()), false, 'unknown keys are ignored');
  });

  test('plugins are merged key by key; null clears them', async () => {
    await api(app.url, admin.token).post('/api/room/settings').send({ plugins: { 'chat.enabled': false } }).expect(204);
    await api(app.url, admin.token).post('/api/room/settings').send({ plugins: { 'filetransfer.enabled': true } }).expect(204);
    assert.deepEqual((await current()).plugins, { 'chat.enabled': false, 'filetransfer.enabled': true });
    await api(app.url, admin.token).post('/api/room/settings').send({ plugins: null }).expect(204);
    assert.equal((await current()).plugins, null);
  });

  test('bad input: 400 and nothing applied', async () => {
    const bad: unknown[] = [
      { private_mode: 'yes' },
      { locked_controls: 1 },
      { implicit_hosting: true, merciful_reconnect: 'false' },
      { heartbeat_interval: '10' },
      { heartbeat_interval: 1.5 },
      { heartbeat_interval: 0 },
      { heartbeat_interval: 1e9 },
      { plugins: [] },
      { plugins: 'chat' },
      { plugins: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`p.k${i}`, true])) },
      [],
      [{ private_mode: true }],
      42,
      'text',
    ];
    for (const body of bad) {
      const res = await api(app.url, admin.token)
        .post('/api/room/settings')
        .set('content-type', 'application/json')
        .send(JSON.stringify(body))
        .expect(400);
      assert.deepEqual(res.body, { code: 400, message: 'unable to parse provided data' }, JSON.stringify(body).slice(0, 80));
    }
    const broken = await api(app.url, admin.token).post('/api/room/settings').set('content-type', 'application/json').send('{"private_mode":').expect(400);
    assert.deepEqual(broken.body, { code: 400, message: 'unable to parse provided data' });
    const empty = await api(app.url, admin.token).post('/api/room/settings').set('content-type', 'application/json').send('').expect(400);
    assert.deepEqual(empty.body, { code: 400, message: 'no data provided' });
    const huge = await api(app.url, admin.token)
      .post('/api/room/settings')
      .send({ plugins: { 'x.y': 'z'.repeat(2 << 20) } })
      .expect(413);
    assert.equal(huge.body.code, 413);
    assert.deepEqual(await current(), DEFAULTS, 'no partial update happened');
  });

  test('heartbeat_interval reaches new clients in system/init', async () => {
    await api(app.url, admin.token).post('/api/room/settings').send({ heartbeat_interval: 3 }).expect(204);
    const annWs = await connect(ann);
    const init = await annWs.waitFor('system/init');
    assert.equal(init.payload.settings.heartbeat_interval, 3);
  });

  test('merciful_reconnect takes effect for the next connection', async () => {
    await api(app.url, admin.token).post('/api/room/settings').send({ merciful_reconnect: false }).expect(204);
    const first = await connect(ann);
    const second = await SocketClient.open(app.url, ann.token);
    sockets.push(second);
    const refused = await second.waitFor('system/disconnect');
    assert.deepEqual(refused.payload, { message: 'already connected' });
    await second.closed;

    await api(app.url, admin.token).post('/api/room/settings').send({ merciful_reconnect: true }).expect(204);
    const third = await connect(ann);
    const replaced = await first.waitFor('system/disconnect');
    assert.deepEqual(replaced.payload, { message: 'connection replaced' });
    assert.ok(third.events.some((e) => e.event === 'system/init'), 'the new socket is accepted');
  });

  test('control protection: enabling it with no admin connected locks controls; an admin joining unlocks', async () => {
    const annWs = await connect(ann);
    await api(app.url, API_TOKEN).post('/api/room/settings').send({ control_protection: true }).expect(204);
    const locked = await annWs.waitFor('system/settings', (p) => p.control_protection === true);
    assert.equal(locked.payload.locked_controls, true, 'locked in the same update');
    assert.equal(annWs.events.filter((e) => e.event === 'system/settings').length, 1, 'one system/settings for one POST');

    await connect(admin);
    const unlocked = await annWs.waitFor('system/settings', (p) => p.locked_controls === false);
    assert.equal(unlocked.payload.id, admin.id);

    await api(app.url, admin.token).post('/api/room/settings').send({ control_protection: false }).expect(204);
    await api(app.url, admin.token).post('/api/room/settings').send({ control_protection: true }).expect(204);
    const kept = await annWs.waitFor('system/settings', (p) => p.control_protection === true && p.id === admin.id);
    assert.equal(kept.payload.locked_controls, false, 'an admin is connected: stays unlocked');
  });
});
