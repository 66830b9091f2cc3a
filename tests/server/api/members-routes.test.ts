import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serializeMemberFile } from '../../../server/src/members/file.js';
import { sha256Base64 } from '../../../server/src/members/password.js';
import { newMemberProfile, type MemberProfile } from '../../../server/src/members/types.js';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient } from '../../helpers/viewer.js';

const API_TOKEN = 'members-test-api-token-0123456789';
const UNAUTHORIZED = { code: 401, message: 'Unauthorized' };
const NOT_ADMIN = { code: 403, message: 'session is not admin' };
const LOGIN_DISABLED = { code: 403, message: 'login is disabled for this session' };

async function login(app: App, username: string, password: string): Promise<{ id: string; token: string; profile: MemberProfile }> {
  const res = await api(app.url).post('/api/login').send({ username, password }).expect(200);
  return res.body;
}

/** Every members route with a body that would be valid, so only the guards can refuse it. */
const MEMBER_ROUTES: Array<{ method: 'get' | 'post' | 'delete'; path: string; body?: unknown; adminOnly: boolean }> = [
  { method: 'get', path: '/api/members', adminOnly: false },
  { method: 'post', path: '/api/members', body: { username: 'x1', password: 'x1' }, adminOnly: true },
  { method: 'get', path: '/api/members/user', adminOnly: true },
  { method: 'post', path: '/api/members/user', body: { name: 'x' }, adminOnly: true },
  { method: 'delete', path: '/api/members/user', adminOnly: true },
  { method: 'post', path: '/api/members/user/password', body: { password: 'x' }, adminOnly: true },
  { method: 'post', path: '/api/members_bulk/update', body: { ids: ['user'], profile: { name: 'x' } }, adminOnly: true },
  { method: 'post', path: '/api/members_bulk/delete', body: { ids: ['user'] }, adminOnly: true },
];

describe('members routes with the file provider', () => {
  let app: App;
  let dir: string;
  let file: string;
  let admin: string;
  let user: string;
  let blocked: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'members-routes-'));
    file = path.join(dir, 'members.json');
    // A neko-style file: legacy base64(SHA-256) passwords must log in.
    await writeFile(file, serializeMemberFile(new Map([
      ['admin', { password: sha256Base64('admin'), profile: { ...newMemberProfile('Admin'), is_admin: true } }],
      ['user', { password: sha256Base64('neko'), profile: { ...newMemberProfile('User'), can_host: false } }],
      ['blocked', { password: sha256Base64('blocked'), profile: { ...newMemberProfile('Blocked'), can_login: false } }],
    ])));
    app = await startApp(['--capture.video.ids', 'main', '--member.provider', 'file', '--member.file.path', file, '--session.api_token', API_TOKEN]);
    admin = (await login(app, 'admin', 'admin')).token;
    user = (await login(app, 'user', 'neko')).token;
    blocked = (await login(app, 'blocked', 'blocked')).token;
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('guards: anonymous 401, can_login=false 403, non-admin 403 on admin routes', async () => {
    for (const route of MEMBER_ROUTES) {
      const call = (token?: string) => {
        const req = api(app.url, token)[route.method](route.path);
        return route.body === undefined ? req : req.send(route.body as object);
      };
      const label = `${route.method.toUpperCase()} ${route.path}`;
      assert.deepEqual((await call().expect(401)).body, UNAUTHORIZED, label);
      assert.deepEqual((await call('x'.repeat(64)).expect(401)).body, UNAUTHORIZED, label);
      assert.deepEqual((await call(blocked).expect(403)).body, LOGIN_DISABLED, label);
      if (route.adminOnly) assert.deepEqual((await call(user).expect(403)).body, NOT_ADMIN, label);
    }
    const list = await api(app.url, user).get('/api/members').expect(200);
    assert.deepEqual(list.body.map((m: { id: string }) => m.id).sort(), ['admin', 'blocked', 'user'], 'any member may list');
    assert.deepEqual(list.body.find((m: { id: string }) => m.id === 'user').profile, { ...newMemberProfile('User'), can_host: false });
  });

  test('legacy passwords were upgraded to scrypt by the logins', async () => {
    const disk = JSON.parse(await readFile(file, 'utf8'));
    for (const id of ['admin', 'user', 'blocked']) assert.match(disk[id].password, /^scrypt\$/, id);
  });

  test('create: defaults, partial profile, errors', async () => {
    const bare = await api(app.url, admin).post('/api/members').send({ username: 'carl', password: 'carl-pw' }).expect(200);
    assert.deepEqual(bare.body, { id: 'carl', profile: newMemberProfile('carl') });
    const partial = await api(app.url, admin).post('/api/members')
      .send({ username: 'dana', password: 'dana-pw', profile: { name: 'Dana', can_watch: false, plugins: { 'chat.can_send': false } } }).expect(200);
    assert.deepEqual(partial.body, { id: 'dana', profile: { ...newMemberProfile('Dana'), can_watch: false, plugins: { 'chat.can_send': false } } });
    assert.deepEqual((await api(app.url, admin).post('/api/members').send({ username: 'carl', password: 'x' }).expect(422)).body,
      { code: 422, message: 'member already exists' });
    assert.deepEqual((await api(app.url, admin).post('/api/members').send({ username: '', password: 'x' }).expect(400)).body,
      { code: 400, message: 'username cannot be empty' });
    assert.deepEqual((await api(app.url, admin).post('/api/members').send({ password: 'x' }).expect(400)).body,
      { code: 400, message: 'username cannot be empty' });
    assert.deepEqual((await api(app.url, admin).post('/api/members').send({ username: 'eve' }).expect(400)).body,
      { code: 400, message: 'password cannot be empty' });

    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('carl-pw') && !text.includes('dana-pw'), 'created passwords are not stored in clear');
    const carl = await login(app, 'carl', 'carl-pw');
    assert.equal(carl.id, 'carl', 'file provider session id = username');
    assert.deepEqual(carl.profile, newMemberProfile('carl'));
  });

  test('get, update (partial merge), password, delete, with 404s', async () => {
    await api(app.url, admin).post('/api/members').send({ username: 'fred', password: 'fred-pw', profile: { can_host: false } }).expect(200);
    const got = await api(app.url, admin).get('/api/members/fred').expect(200);
    assert.deepEqual(got.body, { ...newMemberProfile('fred'), can_host: false }, 'a bare profile, no id');

    await api(app.url, admin).post('/api/members/fred').send({ name: 'Fred', is_admin: true }).expect(204);
    assert.deepEqual((await api(app.url, admin).get('/api/members/fred').expect(200)).body,
      { ...newMemberProfile('Fred'), is_admin: true, can_host: false }, 'unnamed fields keep their value');
    assert.equal(JSON.parse(await readFile(file, 'utf8')).fred.profile.name, 'Fred', 'the update is persisted');

    await api(app.url, admin).post('/api/members/fred/password').send({ password: 'fred-new' }).expect(204);
    await api(app.url).post('/api/login').send({ username: 'fred', password: 'fred-pw' }).expect(401);
    assert.equal((await login(app, 'fred', 'fred-new')).profile.name, 'Fred');
    assert.ok(!(await readFile(file, 'utf8')).includes('fred-new'), 'a changed password is not stored in clear');

    for (const [method, suffix, body] of [['get', '', undefined], ['post', '', { name: 'x' }], ['delete', '', undefined], ['post', '/password', { password: 'x' }]] as const) {
      const req = api(app.url, admin)[method](`/api/members/ghost${suffix}`);
      const res = await (body ? req.send(body) : req).expect(404);
      assert.deepEqual(res.body, { code: 404, message: 'member not found' }, `${method} ghost${suffix}`);
    }

    await api(app.url, admin).delete('/api/members/fred').expect(204);
    await api(app.url, admin).get('/api/members/fred').expect(404);
    await api(app.url).post('/api/login').send({ username: 'fred', password: 'fred-new' }).expect(401);
    assert.equal(JSON.parse(await readFile(file, 'utf8')).fred, undefined, 'the delete is persisted');
  });

  test('list: limit and offset, non-numeric values count as 0', async () => {
    const all = (await api(app.url, admin).get('/api/members').expect(200)).body as Array<{ id: string }>;
    assert.ok(all.length >= 4, `several members (${all.length})`);
    const ids = all.map((m) => m.id);
    assert.deepEqual((await api(app.url, admin).get('/api/members?limit=2').expect(200)).body.map((m: { id: string }) => m.id), ids.slice(0, 2));
    assert.deepEqual((await api(app.url, admin).get('/api/members?limit=2&offset=1').expect(200)).body.map((m: { id: string }) => m.id), ids.slice(1, 3));
    assert.deepEqual((await api(app.url, admin).get('/api/members?limit=abc&offset=xyz').expect(200)).body.length, all.length);
    assert.deepEqual((await api(app.url, admin).get('/api/members?limit=0&offset=1').expect(200)).body.length, all.length - 1);
    assert.deepEqual((await api(app.url, admin).get('/api/members?limit=-1&offset=-5').expect(200)).body.length, all.length);
    assert.deepEqual((await api(app.url, admin).get(`/api/members?offset=${all.length}`).expect(200)).body, []);
  });

  test('bulk update merges into each member and stops at the first failure', async () => {
    await api(app.url, admin).post('/api/members').send({ username: 'g1', password: 'pw', profile: { can_host: false } }).expect(200);
    await api(app.url, admin).post('/api/members').send({ username: 'g2', password: 'pw', profile: { name: 'Gee Two' } }).expect(200);
    await api(app.url, admin).post('/api/members').send({ username: 'g3', password: 'pw' }).expect(200);
    await api(app.url, admin).post('/api/members_bulk/update').send({ ids: ['g1', 'g2'], profile: { can_watch: false } }).expect(204);
    assert.deepEqual((await api(app.url, admin).get('/api/members/g1').expect(200)).body, { ...newMemberProfile('g1'), can_host: false, can_watch: false });
    assert.deepEqual((await api(app.url, admin).get('/api/members/g2').expect(200)).body, { ...newMemberProfile('Gee Two'), can_watch: false });

    const failed = await api(app.url, admin).post('/api/members_bulk/update').send({ ids: ['g1', 'ghost', 'g3'], profile: { is_admin: true } }).expect(500);
    assert.deepEqual(failed.body, { code: 500, message: 'failed to update member ghost' });
    assert.equal((await api(app.url, admin).get('/api/members/g1').expect(200)).body.is_admin, true, 'ids before the failure are updated');
    assert.equal((await api(app.url, admin).get('/api/members/g3').expect(200)).body.is_admin, false, 'ids after the failure are not');
    await api(app.url, admin).post('/api/members_bulk/update').send({ ids: [], profile: {} }).expect(204);
  });

  test('bulk delete deletes in order and stops at the first failure', async () => {
    for (const u of ['h1', 'h2', 'h3']) await api(app.url, admin).post('/api/members').send({ username: u, password: 'pw' }).expect(200);
    await api(app.url, admin).post('/api/members_bulk/delete').send({ ids: ['h1'] }).expect(204);
    const failed = await api(app.url, admin).post('/api/members_bulk/delete').send({ ids: ['h2', 'ghost', 'h3'] }).expect(500);
    assert.deepEqual(failed.body, { code: 500, message: 'failed to delete member ghost' });
    await api(app.url, admin).get('/api/members/h1').expect(404);
    await api(app.url, admin).get('/api/members/h2').expect(404);
    await api(app.url, admin).get('/api/members/h3').expect(200);
  });

  test('bad input on every body route is a 4xx with the contract message', async () => {
    const routes = [
      '/api/members', '/api/members/user', '/api/members/user/password', '/api/members_bulk/update', '/api/members_bulk/delete',
    ];
    for (const route of routes) {
      const bulk = route.includes('bulk');
      const empty = await api(app.url, admin).post(route).set('content-type', 'application/json').send('').expect(400);
      assert.deepEqual(empty.body, { code: 400, message: bulk ? 'unable to unmarshal payload' : 'no data provided' }, route);
      const broken = await api(app.url, admin).post(route).set('content-type', 'application/json').send('{"ids": [').expect(400);
      assert.deepEqual(broken.body, { code: 400, message: bulk ? 'unable to unmarshal payload' : 'unable to parse provided data' }, route);
      for (const body of ['[]', '"text"', '42', 'null']) {
        const res = await api(app.url, admin).post(route).set('content-type', 'application/json').send(body).expect(400);
        assert.equal(res.body.code, 400, `${route} ${body}`);
      }
      const huge = await api(app.url, admin).post(route).send({ username: 'big', password: 'x'.repeat(2 << 20) }).expect(413);
      assert.equal(huge.body.code, 413, route);
    }
    const parseError = { code: 400, message: 'unable to parse provided data' };
    const wrong: Array<[string, unknown]> = [
      ['/api/members', { username: 42, password: 'x' }],
      ['/api/members', { username: 'x', password: ['x'] }],
      ['/api/members', { username: 'x', password: 'x', profile: 'admin' }],
      ['/api/members', { username: 'x', password: 'x', profile: { is_admin: 'yes' } }],
      ['/api/members', { username: 'x', password: 'x', profile: { plugins: [1] } }],
      ['/api/members/user', { can_watch: 1 }],
      ['/api/members/user', { name: null }],
      ['/api/members/user/password', { password: 1234 }],
    ];
    for (const [route, body] of wrong) {
      assert.deepEqual((await api(app.url, admin).post(route).send(body as object).expect(400)).body, parseError, `${route} ${JSON.stringify(body)}`);
    }
    assert.deepEqual((await api(app.url, admin).post('/api/members/user/password').send({}).expect(400)).body,
      { code: 400, message: 'password cannot be empty' });
    assert.equal((await api(app.url, admin).post('/api/members').send({ username: 'u'.repeat(300), password: 'x' }).expect(400)).body.message, 'username is too long');
    assert.equal((await api(app.url, admin).post('/api/members').send({ username: 'u', password: 'x'.repeat(2000) }).expect(400)).body.message, 'password is too long');

    const unmarshal = { code: 400, message: 'unable to unmarshal payload' };
    const bulkWrong: Array<[string, unknown]> = [
      ['/api/members_bulk/update', { profile: {} }],
      ['/api/members_bulk/update', { ids: 'user', profile: {} }],
      ['/api/members_bulk/update', { ids: [1], profile: {} }],
      ['/api/members_bulk/update', { ids: ['user'] }],
      ['/api/members_bulk/update', { ids: ['user'], profile: { can_host: 'no' } }],
      ['/api/members_bulk/delete', {}],
      ['/api/members_bulk/delete', { ids: [null] }],
    ];
    for (const [route, body] of bulkWrong) {
      assert.deepEqual((await api(app.url, admin).post(route).send(body as object).expect(400)).body, unmarshal, `${route} ${JSON.stringify(body)}`);
    }
    const many = Array.from({ length: 1001 }, (_, i) => `id${i}`);
    assert.equal((await api(app.url, admin).post('/api/members_bulk/delete').send({ ids: many }).expect(400)).body.code, 400);
    assert.deepEqual((await api(app.url, admin).get('/api/members/user').expect(200)).body.name, 'User', 'nothing was changed by bad input');
  });

  test('the API token session manages members', async () => {
    const created = await api(app.url, API_TOKEN).post('/api/members').send({ username: 'viaapi', password: 'pw' }).expect(200);
    assert.equal(created.body.id, 'viaapi');
    await api(app.url, API_TOKEN).post('/api/members/viaapi').send({ can_connect: false }).expect(204);
    assert.equal((await api(app.url, API_TOKEN).get('/api/members/viaapi').expect(200)).body.can_connect, false);
    await api(app.url, API_TOKEN).post('/api/members/viaapi/password').send({ password: 'pw2' }).expect(204);
    await api(app.url, API_TOKEN).post('/api/members_bulk/update').send({ ids: ['viaapi'], profile: { name: 'Via API' } }).expect(204);
    await api(app.url, API_TOKEN).post('/api/members_bulk/delete').send({ ids: ['viaapi'] }).expect(204);
    await api(app.url, API_TOKEN).get('/api/members/viaapi').expect(404);
  });

  test('login rules: connected → 422, otherwise the session is replaced (events seen by others)', async () => {
    await api(app.url, admin).post('/api/members').send({ username: 'ivy', password: 'ivy-pw' }).expect(200);
    const watcher = await SocketClient.open(app.url, admin);
    try {
      await watcher.waitFor('system/init');
      const first = await login(app, 'ivy', 'ivy-pw');
      await watcher.waitFor('session/created', (p) => p.id === 'ivy');
      const second = await login(app, 'ivy', 'ivy-pw');
      assert.equal(second.id, 'ivy');
      assert.notEqual(second.token, first.token, 'a new token');
      await api(app.url, first.token).get('/api/whoami').expect(401);
      const events = watcher.events.filter((e) => e.payload?.id === 'ivy' && /^session\/(created|deleted)$/.test(e.event)).map((e) => e.event);
      assert.deepEqual(events, ['session/created', 'session/deleted', 'session/created']);

      const ivy = await SocketClient.open(app.url, second.token);
      await ivy.waitFor('system/init');
      const again = await api(app.url).post('/api/login').send({ username: 'ivy', password: 'ivy-pw' }).expect(422);
      assert.deepEqual(again.body, { code: 422, message: 'session already connected' });
      await api(app.url, second.token).get('/api/whoami').expect(200);
      ivy.close();
      await ivy.closed;
    } finally {
      watcher.close();
    }
  });

  test('member updates reach the live session; deleting a member deletes its session', async () => {
    await api(app.url, admin).post('/api/members').send({ username: 'jay', password: 'jay-pw' }).expect(200);
    const jay = await login(app, 'jay', 'jay-pw');
    const watcher = await SocketClient.open(app.url, admin);
    const jaySocket = await SocketClient.open(app.url, jay.token);
    try {
      await watcher.waitFor('system/init');
      await jaySocket.waitFor('system/init');

      await api(app.url, jay.token).post('/api/profile').send({ name: 'Jay (live)' }).expect(200);
      const live = await api(app.url, admin).get('/api/members/jay').expect(200);
      assert.equal(live.body.name, 'Jay (live)', 'the live session is preferred over the store');

      await api(app.url, admin).post('/api/members/jay').send({ can_host: false }).expect(204);
      const profile = await watcher.waitFor('session/profile', (p) => p.id === 'jay' && p.can_host === false);
      assert.deepEqual(profile.payload, { id: 'jay', ...newMemberProfile('Jay (live)'), can_host: false });
      assert.equal((await api(app.url, jay.token).get('/api/whoami').expect(200)).body.profile.can_host, false);
      assert.equal(JSON.parse(await readFile(file, 'utf8')).jay.profile.name, 'Jay (live)', 'the merged profile is stored');

      await api(app.url, admin).delete('/api/members/jay').expect(204);
      assert.deepEqual((await jaySocket.waitFor('system/disconnect')).payload, { message: 'session deleted' });
      await watcher.waitFor('session/deleted', (p) => p.id === 'jay');
      await api(app.url, jay.token).get('/api/whoami').expect(401);
    } finally {
      watcher.close();
      jaySocket.close();
    }
  });
});

describe('members routes with the multiuser provider (members are live sessions)', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main']);
  });
  after(async () => {
    await app?.close();
  });

  test('list is empty; id routes resolve live sessions only; create, password, delete answer 500', async () => {
    const admin = await login(app, 'root', 'admin');
    const user = await login(app, 'ann', 'neko');
    assert.match(user.id, /^ann-[a-z0-9]{5}$/);
    const internal = { code: 500, message: 'Internal Server Error' };

    assert.deepEqual((await api(app.url, admin.token).get('/api/members').expect(200)).body, []);
    assert.deepEqual((await api(app.url, admin.token).get(`/api/members/${user.id}`).expect(200)).body, user.profile);
    assert.deepEqual((await api(app.url, admin.token).get('/api/members/ann').expect(500)).body, internal);
    assert.deepEqual((await api(app.url, admin.token).post('/api/members').send({ username: 'x', password: 'y' }).expect(500)).body, internal);
    assert.deepEqual((await api(app.url, admin.token).post(`/api/members/${user.id}/password`).send({ password: 'y' }).expect(500)).body, internal);

    await api(app.url, admin.token).post(`/api/members/${user.id}`).send({ name: 'Ann!' }).expect(204);
    assert.equal((await api(app.url, user.token).get('/api/whoami').expect(200)).body.profile.name, 'Ann!', 'the session was updated');
    await api(app.url, admin.token).post('/api/members_bulk/update').send({ ids: [user.id], profile: { can_host: false } }).expect(204);
    assert.equal((await api(app.url, user.token).get('/api/whoami').expect(200)).body.profile.can_host, false);
    assert.deepEqual((await api(app.url, admin.token).post('/api/members_bulk/update').send({ ids: ['nobody-abcde'], profile: {} }).expect(500)).body,
      { code: 500, message: 'failed to update member nobody-abcde' });

    assert.deepEqual((await api(app.url, admin.token).delete(`/api/members/${user.id}`).expect(500)).body, internal);
    await api(app.url, user.token).get('/api/whoami').expect(401);
    const other = await login(app, 'bo', 'neko');
    assert.deepEqual((await api(app.url, admin.token).post('/api/members_bulk/delete').send({ ids: [other.id] }).expect(500)).body,
      { code: 500, message: `failed to delete member ${other.id}` });
    await api(app.url, other.token).get('/api/whoami').expect(401);
  });
});

describe('members routes with the object and noauth providers', () => {
  test('object: config users log in by username and are managed in memory', async () => {
    const users = JSON.stringify([
      { username: 'boss', password: 'boss-pw', profile: { is_admin: true } },
      { username: 'kim', password: 'kim-pw', profile: { name: 'Kim' } },
    ]);
    const app = await startApp(['--capture.video.ids', 'main', '--member.provider', 'object', '--member.object.users', users]);
    try {
      const boss = await login(app, 'boss', 'boss-pw');
      assert.equal(boss.id, 'boss');
      await api(app.url).post('/api/login').send({ username: 'kim', password: 'boss-pw' }).expect(401);
      const kim = await login(app, 'kim', 'kim-pw');
      assert.deepEqual(kim.profile, newMemberProfile('Kim'));
      await api(app.url, kim.token).post('/api/members').send({ username: 'x', password: 'y' }).expect(403);
      await api(app.url, boss.token).post('/api/members').send({ username: 'lee', password: 'lee-pw' }).expect(200);
      assert.equal((await login(app, 'lee', 'lee-pw')).id, 'lee');
      assert.deepEqual((await api(app.url, kim.token).get('/api/members').expect(200)).body.map((m: { id: string }) => m.id), ['boss', 'kim', 'lee']);
      await api(app.url, boss.token).delete('/api/members/kim').expect(204);
      await api(app.url, kim.token).get('/api/whoami').expect(401);
      await api(app.url).post('/api/login').send({ username: 'kim', password: 'kim-pw' }).expect(401);
    } finally {
      await app.close();
    }
  });

  test('noauth: anyone logs in as a full admin with a fresh id', async () => {
    const app = await startApp(['--capture.video.ids', 'main', '--member.provider', 'noauth']);
    try {
      const a = await login(app, 'zed', 'anything');
      const b = await login(app, 'zed', '');
      assert.match(a.id, /^zed-[a-z0-9]{5}$/);
      assert.notEqual(a.id, b.id);
      assert.equal(a.profile.is_admin, true);
      assert.deepEqual((await api(app.url, a.token).get('/api/members').expect(200)).body, []);
      assert.equal((await api(app.url, a.token).get(`/api/members/${b.id}`).expect(200)).body.name, 'zed');
      await api(app.url, a.token).get('/api/members/zed').expect(500);
    } finally {
      await app.close();
    }
  });
});
