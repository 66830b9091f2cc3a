import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient } from '../../helpers/viewer.js';

const API_TOKEN = 'sessions-test-api-token-0123456789';

interface LoggedIn {
  id: string;
  token: string;
}

async function login(app: App, username: string, password: string): Promise<LoggedIn> {
  return (await api(app.url).post('/api/login').send({ username, password }).expect(200)).body;
}

describe('sessions routes', () => {
  let app: App;
  let admin: LoggedIn;
  let user: LoggedIn;
  let blocked: LoggedIn;
  let watcher: SocketClient;

  before(async () => {
    app = await startApp(['--capture.video.ids', 'main', '--session.api_token', API_TOKEN]);
    admin = await login(app, 'root', 'admin');
    user = await login(app, 'ann', 'neko');
    blocked = await login(app, 'bob', 'neko');
    await api(app.url, admin.token).post(`/api/members/${blocked.id}`).send({ can_login: false }).expect(204);
    watcher = await SocketClient.open(app.url, admin.token);
    await watcher.waitFor('system/init');
  });
  after(async () => {
    watcher?.close();
    await app?.close();
  });

  test('guards: anonymous 401, can_login=false 403, non-admin 403 on admin routes', async () => {
    const routes = [
      { method: 'get', path: '/api/sessions', adminOnly: false },
      { method: 'get', path: `/api/sessions/${user.id}`, adminOnly: true },
      { method: 'delete', path: `/api/sessions/${blocked.id}`, adminOnly: true },
      { method: 'post', path: `/api/sessions/${user.id}/disconnect`, adminOnly: true },
    ] as const;
    for (const route of routes) {
      const label = `${route.method} ${route.path}`;
      assert.deepEqual((await api(app.url)[route.method](route.path).expect(401)).body, { code: 401, message: 'Unauthorized' }, label);
      assert.deepEqual((await api(app.url, blocked.token)[route.method](route.path).expect(403)).body,
        { code: 403, message: 'login is disabled for this session' }, label);
      if (route.adminOnly) {
        assert.deepEqual((await api(app.url, user.token)[route.method](route.path).expect(403)).body,
          { code: 403, message: 'session is not admin' }, label);
      }
    }
  });

  test('list: every session, connected or not, for any member; never the API session', async () => {
    for (const token of [user.token, admin.token, API_TOKEN]) {
      const res = await api(app.url, token).get('/api/sessions').expect(200);
      const byId = new Map((res.body as Array<{ id: string; state: { is_connected: boolean } }>).map((s) => [s.id, s]));
      assert.ok(byId.has(user.id) && byId.has(admin.id) && byId.has(blocked.id), 'all logged-in sessions are listed');
      assert.ok(!byId.has('API'), 'the API session is not listed');
      assert.equal(byId.get(admin.id)!.state.is_connected, true);
      assert.equal(byId.get(user.id)!.state.is_connected, false);
    }
  });

  test('get: SessionData for admins and the API session; 404 for unknown ids', async () => {
    const res = await api(app.url, admin.token).get(`/api/sessions/${user.id}`).expect(200);
    const me = await api(app.url, user.token).get('/api/whoami').expect(200);
    assert.deepEqual(res.body, me.body);
    await api(app.url, API_TOKEN).get(`/api/sessions/${user.id}`).expect(200);
    assert.deepEqual((await api(app.url, admin.token).get('/api/sessions/nobody').expect(404)).body, { code: 404, message: 'session not found' });
    assert.deepEqual((await api(app.url, admin.token).get('/api/sessions/API').expect(404)).body, { code: 404, message: 'session not found' });
  });

  test('the API session cannot log out or be deleted', async () => {
    assert.deepEqual((await api(app.url, API_TOKEN).post('/api/logout').expect(400)).body, { code: 400, message: 'session is not logged in' });
    assert.deepEqual((await api(app.url, API_TOKEN).delete('/api/sessions/API').expect(400)).body, { code: 400, message: 'cannot delete own session' });
    assert.deepEqual((await api(app.url, admin.token).delete('/api/sessions/API').expect(400)).body, { code: 400, message: 'session not found' });
    await api(app.url, API_TOKEN).get('/api/whoami').expect(200);
  });

  test('delete: not your own, not unknown; the target is told, others see session/deleted', async () => {
    assert.deepEqual((await api(app.url, admin.token).delete(`/api/sessions/${admin.id}`).expect(400)).body,
      { code: 400, message: 'cannot delete own session' });
    assert.deepEqual((await api(app.url, admin.token).delete('/api/sessions/nobody').expect(400)).body,
      { code: 400, message: 'session not found' });

    const target = await login(app, 'cat', 'neko');
    const socket = await SocketClient.open(app.url, target.token);
    await socket.waitFor('system/init');
    await api(app.url, admin.token).delete(`/api/sessions/${target.id}`).expect(204);
    assert.deepEqual((await socket.waitFor('system/disconnect')).payload, { message: 'session deleted' });
    assert.equal(await socket.closed, 1000);
    assert.deepEqual((await watcher.waitFor('session/deleted', (p) => p.id === target.id)).payload, { id: target.id });
    await api(app.url, target.token).get('/api/whoami').expect(401);
    await api(app.url, admin.token).get(`/api/sessions/${target.id}`).expect(404);

    const viaApi = await login(app, 'dee', 'neko');
    await api(app.url, API_TOKEN).delete(`/api/sessions/${viaApi.id}`).expect(204);
    await api(app.url, viaApi.token).get('/api/whoami').expect(401);
  });

  test('disconnect: the socket is closed but the session and its token remain', async () => {
    assert.deepEqual((await api(app.url, admin.token).post('/api/sessions/nobody/disconnect').expect(400)).body,
      { code: 400, message: 'session not found' });
    const target = await login(app, 'eli', 'neko');
    const socket = await SocketClient.open(app.url, target.token);
    await socket.waitFor('system/init');
    await api(app.url, admin.token).post(`/api/sessions/${target.id}/disconnect`).expect(204);
    assert.deepEqual((await socket.waitFor('system/disconnect')).payload, { message: 'session disconnected' });
    assert.equal(await socket.closed, 1000);
    await watcher.waitFor('session/state', (p) => p.id === target.id && p.is_connected === false);
    assert.ok(!watcher.events.some((e) => e.event === 'session/deleted' && e.payload.id === target.id), 'not deleted');

    const me = await api(app.url, target.token).get('/api/whoami').expect(200);
    assert.equal(me.body.state.is_connected, false);
    assert.ok(me.body.state.not_connected_since, 'not_connected_since is set');
    await api(app.url, admin.token).post(`/api/sessions/${target.id}/disconnect`).expect(204);

    const again = await SocketClient.open(app.url, target.token);
    await again.waitFor('system/init');
    await watcher.waitFor('session/state', (p) => p.id === target.id && p.is_connected === true);
    again.close();
  });
});
