import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';

describe('auth routes: login, whoami, profile, logout', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main']);
  });
  after(async () => {
    await app?.close();
  });

  test('login gives a 64-character token in the body when cookies are off', async () => {
    const res = await api(app.url).post('/api/login').send({ username: 'ann', password: 'neko' }).expect(200);
    assert.match(res.body.token, /^[_0-9a-zA-Z-]{64}$/);
    assert.match(res.body.id, /^ann-[a-z0-9]{5}$/);
    assert.equal(res.body.profile.is_admin, false);
    assert.equal(res.headers['set-cookie'], undefined);
    const admin = await api(app.url).post('/api/login').send({ username: 'root', password: 'admin' }).expect(200);
    assert.equal(admin.body.profile.is_admin, true);
  });

  test('bad bodies get the contract messages', async () => {
    const empty = await api(app.url).post('/api/login').set('content-type', 'application/json').send('').expect(400);
    assert.deepEqual(empty.body, { code: 400, message: 'no data provided' });
    const broken = await api(app.url).post('/api/login').set('content-type', 'application/json').send('{"username":').expect(400);
    assert.deepEqual(broken.body, { code: 400, message: 'unable to parse provided data' });
    const wrong = await api(app.url).post('/api/login').send({ username: 'x', password: 'bad' }).expect(401);
    assert.deepEqual(wrong.body, { code: 401, message: 'Unauthorized' });
    const huge = await api(app.url).post('/api/login').send({ username: 'x'.repeat(2 << 20), password: 'neko' }).expect(413);
    assert.equal(huge.body.code, 413);
  });

  test('whoami, profile and logout with each token transport', async () => {
    const { body } = await api(app.url).post('/api/login').send({ username: 'bea', password: 'neko' }).expect(200);
    const me = await api(app.url, body.token).get('/api/whoami').expect(200);
    assert.equal(me.body.id, body.id);
    assert.equal(me.body.token, undefined);
    await api(app.url).get(`/api/whoami?token=${body.token}`).expect(200);
    await api(app.url).get('/api/whoami').expect(401);
    await api(app.url, 'x'.repeat(64)).get(`/api/whoami?token=${body.token}`).expect(401);

    const renamed = await api(app.url, body.token).post('/api/profile').send({ name: 'Bea', is_admin: true }).expect(200);
    assert.equal(renamed.text, 'true\n');
    const after = await api(app.url, body.token).get('/api/whoami').expect(200);
    assert.equal(after.body.profile.name, 'Bea');
    assert.equal(after.body.profile.is_admin, false, 'a non-admin cannot grant itself admin');

    const out = await api(app.url, body.token).post('/api/logout').expect(200);
    assert.equal(out.text, 'true\n');
    await api(app.url, body.token).get('/api/whoami').expect(401);
  });
});
