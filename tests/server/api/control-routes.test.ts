import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import type { MemberProfile } from '../../../server/src/members/types.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient } from '../../helpers/viewer.js';

const API_TOKEN = 'control-routes-test-api-token';

interface Member {
  id: string;
  token: string;
}

describe('control routes: /api/room/control* × every role (contract §3.3, §6)', () => {
  let app: App;
  let admin: Member;
  let ann: Member;
  let bob: Member;
  let noHost: Member;
  let noLogin: Member;
  const sockets: SocketClient[] = [];

  const loginAs = async (username: string, password = 'neko'): Promise<Member> => {
    const res = await api(app.url).post('/api/login').send({ username, password }).expect(200);
    return { id: res.body.id, token: res.body.token };
  };
  const restrict = (member: Member, patch: Partial<MemberProfile>) => {
    const session = app.sessions.get(member.id);
    assert.ok(session, `session ${member.id} exists`);
    app.sessions.updateProfile(session, { ...session.profile, ...patch });
  };
  const connect = async (member: Member): Promise<SocketClient> => {
    const socket = await SocketClient.open(app.url, member.token);
    sockets.push(socket);
    await socket.waitFor('system/init');
    return socket;
  };
  const error = (code: number, message: string) => ({ code, message });
  const settings = (token: string, patch: Record<string, unknown>) =>
    api(app.url, token).post('/api/room/settings').send(patch).expect(204);
  const hostId = async () => (await api(app.url, admin.token).get('/api/room/control').expect(200)).body.host_id as string | undefined;

  before(async () => {
    app = await startApp(['--session.api_token', API_TOKEN]);
    admin = await loginAs('root', 'admin');
    ann = await loginAs('ann');
    bob = await loginAs('bob');
    noHost = await loginAs('nohost');
    restrict(noHost, { can_host: false });
    noLogin = await loginAs('nologin');
    restrict(noLogin, { can_login: false });
  });

  afterEach(async () => {
    await settings(admin.token, { private_mode: false, locked_controls: false, implicit_hosting: false });
    await api(app.url, admin.token).post('/api/room/control/reset').expect(204);
    for (const socket of sockets.splice(0)) socket.close();
  });

  after(async () => {
    await app?.close();
  });

  const routes = (target: string): Array<['get' | 'post', string]> => [
    ['get', '/api/room/control'],
    ['post', '/api/room/control/request'],
    ['post', '/api/room/control/release'],
    ['post', '/api/room/control/take'],
    ['post', `/api/room/control/give/${target}`],
    ['post', '/api/room/control/reset'],
  ];

  test('every route: anonymous 401, can_login=false 403, can_host=false 403, private-mode user 422', async () => {
    for (const [method, path] of routes(ann.id)) {
      const anon = await api(app.url)[method](path).expect(401);
      assert.deepEqual(anon.body, error(401, 'Unauthorized'), `${path} anonymous`);
      const disabled = await api(app.url, noLogin.token)[method](path).expect(403);
      assert.deepEqual(disabled.body, error(403, 'login is disabled for this session'), `${path} can_login=false`);
      const cannot = await api(app.url, noHost.token)[method](path).expect(403);
      assert.deepEqual(cannot.body, error(403, 'session cannot host'), `${path} can_host=false`);
    }
    await settings(admin.token, { private_mode: true });
    for (const [method, path] of routes(ann.id)) {
      const res = await api(app.url, bob.token)[method](path).expect(422);
      assert.deepEqual(res.body, error(422, 'private mode is enabled'), `${path} user in private mode`);
      const blocked = await api(app.url, noHost.token)[method](path).expect(403);
      assert.deepEqual(blocked.body, error(403, 'session cannot host'), `${path}: can_host is checked before private mode`);
    }
    await api(app.url, admin.token).get('/api/room/control').expect(200);
    await api(app.url, API_TOKEN).get('/api/room/control').expect(200);
  });

  test('GET control: status for users, admins and the API session', async () => {
    for (const token of [ann.token, admin.token, API_TOKEN]) {
      const res = await api(app.url, token).get('/api/room/control').expect(200);
      assert.deepEqual(res.body, { has_host: false });
    }
    await api(app.url, ann.token).post('/api/room/control/request').expect(204);
    const res = await api(app.url, bob.token).get('/api/room/control').expect(200);
    assert.deepEqual(res.body, { has_host: true, host_id: ann.id });
  });

  test('request: 204 without a host; 202 with one, and the host (only) is sent control/request', async () => {
    const annWs = await connect(ann);
    const bobWs = await connect(bob);
    const adminWs = await connect(admin);
    await api(app.url, ann.token).post('/api/room/control/request').expect(204);
    const hostEvent = await bobWs.waitFor('control/host', (p) => p.host_id === ann.id);
    assert.deepEqual(hostEvent.payload, { id: ann.id, has_host: true, host_id: ann.id });

    const sent = await api(app.url, bob.token).post('/api/room/control/request').expect(202);
    assert.deepEqual(sent.body, { code: 202, message: 'control request sent' });
    assert.deepEqual((await annWs.waitFor('control/request')).payload, { id: bob.id });
    assert.equal(await hostId(), ann.id, 'the caller stays a viewer');

    await settings(admin.token, { implicit_hosting: true });
    await api(app.url, admin.token).post('/api/room/control/request').expect(202);
    await annWs.waitFor('control/request', (p) => p.id === admin.id);
    await api(app.url, ann.token).post('/api/room/control/request').expect(202);
    await annWs.waitFor('control/request', (p) => p.id === ann.id);
    assert.equal(await hostId(), ann.id, 'REST requests never take control, even with implicit hosting');

    // A broadcast after the unicasts: anything sent to the others would have arrived before it.
    await api(app.url, admin.token).post('/api/room/control/reset').expect(204);
    await bobWs.waitFor('control/host', (p) => p.has_host === false);
    await adminWs.waitFor('control/host', (p) => p.has_host === false);
    assert.equal(bobWs.events.filter((e) => e.event === 'control/request').length, 0, 'bob got no control/request');
    assert.equal(adminWs.events.filter((e) => e.event === 'control/request').length, 0, 'admin got no control/request');
  });

  test('request with locked controls: 403 for users without a host, 204 for admins', async () => {
    await settings(admin.token, { locked_controls: true });
    const res = await api(app.url, ann.token).post('/api/room/control/request').expect(403);
    assert.deepEqual(res.body, error(403, 'controls are locked'));
    await api(app.url, admin.token).post('/api/room/control/request').expect(204);
    assert.equal(await hostId(), admin.id);
    const asked = await api(app.url, ann.token).post('/api/room/control/request').expect(202);
    assert.deepEqual(asked.body, { code: 202, message: 'control request sent' });
  });

  test('release: 422 unless host, 204 for the host', async () => {
    const res = await api(app.url, ann.token).post('/api/room/control/release').expect(422);
    assert.deepEqual(res.body, error(422, 'session is not the host'));
    await api(app.url, ann.token).post('/api/room/control/request').expect(204);
    const other = await api(app.url, bob.token).post('/api/room/control/release').expect(422);
    assert.deepEqual(other.body, error(422, 'session is not the host'));
    await api(app.url, admin.token).post('/api/room/control/release').expect(422);
    await api(app.url, ann.token).post('/api/room/control/release').expect(204);
    assert.equal(await hostId(), undefined);
  });

  test('take: admins and the API session only', async () => {
    await api(app.url, ann.token).post('/api/room/control/request').expect(204);
    const res = await api(app.url, bob.token).post('/api/room/control/take').expect(403);
    assert.deepEqual(res.body, error(403, 'session is not admin'));
    const host = await api(app.url, ann.token).post('/api/room/control/take').expect(403);
    assert.deepEqual(host.body, error(403, 'session is not admin'), 'being host is not enough');
    await api(app.url, admin.token).post('/api/room/control/take').expect(204);
    assert.equal(await hostId(), admin.id);
    await api(app.url, API_TOKEN).post('/api/room/control/take').expect(204);
    assert.equal(await hostId(), 'API');
  });

  test('give: host or admin; target must exist and be allowed to host', async () => {
    const bobWs = await connect(bob);
    const viewer = await api(app.url, bob.token).post(`/api/room/control/give/${ann.id}`).expect(403);
    assert.deepEqual(viewer.body, error(403, 'session is not host or admin'));

    await api(app.url, ann.token).post('/api/room/control/request').expect(204);
    const missing = await api(app.url, ann.token).post('/api/room/control/give/nobody-xxxxx').expect(404);
    assert.deepEqual(missing.body, error(404, 'target session was not found'));
    const notAllowed = await api(app.url, ann.token).post(`/api/room/control/give/${noHost.id}`).expect(400);
    assert.deepEqual(notAllowed.body, error(400, 'target session is not allowed to host'));
    await api(app.url, ann.token).post(`/api/room/control/give/${bob.id}`).expect(204);
    const given = await bobWs.waitFor('control/host', (p) => p.host_id === bob.id);
    assert.deepEqual(given.payload, { id: ann.id, has_host: true, host_id: bob.id }, 'id is the giver');

    const formerHost = await api(app.url, ann.token).post(`/api/room/control/give/${ann.id}`).expect(403);
    assert.deepEqual(formerHost.body, error(403, 'session is not host or admin'));
    await api(app.url, admin.token).post(`/api/room/control/give/${ann.id}`).expect(204);
    await bobWs.waitFor('control/host', (p) => p.host_id === ann.id && p.id === admin.id);
    await api(app.url, API_TOKEN).post(`/api/room/control/give/${bob.id}`).expect(204);
    await bobWs.waitFor('control/host', (p) => p.host_id === bob.id && p.id === 'API');

    await settings(admin.token, { private_mode: true });
    const privateTarget = await api(app.url, admin.token).post(`/api/room/control/give/${ann.id}`).expect(400);
    assert.deepEqual(privateTarget.body, error(400, 'target session is not allowed to host'), 'private mode shuts users out');
  });

  test('a host without a WebSocket stops being host when its session is deleted', async () => {
    const carl = await loginAs('carl');
    await api(app.url, carl.token).post('/api/room/control/request').expect(204);
    assert.equal(await hostId(), carl.id);
    await api(app.url, carl.token).post('/api/logout').expect(200);
    assert.equal(await hostId(), undefined);
  });

  test('reset: admins and the API session only; always 204', async () => {
    const annWs = await connect(ann);
    const res = await api(app.url, ann.token).post('/api/room/control/reset').expect(403);
    assert.deepEqual(res.body, error(403, 'session is not admin'));
    await api(app.url, admin.token).post('/api/room/control/reset').expect(204);
    await api(app.url, ann.token).post('/api/room/control/request').expect(204);
    await api(app.url, API_TOKEN).post('/api/room/control/reset').expect(204);
    const cleared = await annWs.waitFor('control/host', (p) => p.has_host === false);
    assert.deepEqual(cleared.payload, { id: 'API', has_host: false });
    await api(app.url, admin.token).post('/api/room/control/reset').expect(204);
  });
});
