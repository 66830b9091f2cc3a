import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MAX_BATCH_ITEMS } from '../../../server/src/api/batch.js';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { login } from '../../helpers/viewer.js';

interface Item {
  path: string;
  method: string;
  body?: any;
  status: number;
}

describe('POST /api/batch', () => {
  let app: App;
  let user: { id: string; token: string };
  let admin: { id: string; token: string };
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'neko-batch-'));
    await writeFile(join(dir, 'notes.bin'), Buffer.alloc(200_000, 7));
    app = await startApp(['--capture.video.ids', 'main', '--filetransfer.enabled', '--filetransfer.dir', dir]);
    user = await login(app.url, 'ann', 'neko');
    admin = await login(app.url, 'root', 'admin');
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('runs sub-requests in order with the outer Authorization header', async () => {
    const res = await api(app.url, user.token)
      .post('/api/batch')
      .send([
        { path: '/api/whoami', method: 'GET' },
        { path: '/api/profile', method: 'POST', body: { name: 'Ann B.' } },
        { path: '/api/whoami', method: 'GET' },
        { path: '/api/stats', method: 'GET' },
      ])
      .expect(200);
    const items = res.body as Item[];
    assert.deepEqual(items.map((i) => [i.path, i.method, i.status]), [
      ['/api/whoami', 'GET', 200],
      ['/api/profile', 'POST', 200],
      ['/api/whoami', 'GET', 200],
      ['/api/stats', 'GET', 200],
    ]);
    assert.equal(items[0]!.body.id, user.id);
    assert.equal(items[0]!.body.profile.name, 'ann');
    assert.equal(items[1]!.body, true, 'raw JSON body embedded');
    assert.equal(items[2]!.body.profile.name, 'Ann B.', 'the second whoami sees the profile change: sequential');
    assert.equal(typeof items[3]!.body.total_users, 'number');
    assert.deepEqual(Object.keys(items[0]!), ['path', 'method', 'body', 'status']);
  });

  test('each sub-request is guarded on its own', async () => {
    const anonymous = await api(app.url)
      .post('/api/batch')
      .send([{ path: '/api/whoami', method: 'GET' }, { path: '/api/room/settings', method: 'GET' }])
      .expect(200);
    assert.deepEqual(anonymous.body, [
      { path: '/api/whoami', method: 'GET', body: { code: 401, message: 'Unauthorized' }, status: 401 },
      { path: '/api/room/settings', method: 'GET', body: { code: 401, message: 'Unauthorized' }, status: 401 },
    ]);
    const asUser = await api(app.url, user.token).post('/api/batch').send([{ path: '/api/room/settings', method: 'GET' }]).expect(200);
    assert.deepEqual(asUser.body[0], {
      path: '/api/room/settings',
      method: 'GET',
      body: { code: 403, message: 'session is not admin' },
      status: 403,
    });
    const asAdmin = await api(app.url, admin.token).post('/api/batch').send([{ path: '/api/room/settings', method: 'GET' }]).expect(200);
    assert.equal(asAdmin.body[0].status, 200);
    assert.equal(typeof asAdmin.body[0].body.private_mode, 'boolean');
    const cookie = await api(app.url)
      .post('/api/batch')
      .set('Cookie', `NEKO_SESSION=${user.token}`)
      .send([{ path: '/api/whoami', method: 'GET' }])
      .expect(200);
    assert.equal(cookie.body[0].status, 401, 'cookies are disabled here, so the copied cookie does not count');
    const query = await api(app.url).post('/api/batch').send([{ path: `/api/whoami?token=${user.token}`, method: 'GET' }]).expect(200);
    assert.equal(query.body[0].status, 200, 'the sub-request keeps its query string');
  });

  test('an empty sub-response has no body key', async () => {
    const res = await api(app.url, admin.token)
      .post('/api/batch')
      .send([{ path: '/api/room/control/request', method: 'POST' }, { path: '/api/room/control/release', method: 'POST' }])
      .expect(200);
    assert.deepEqual(res.body, [
      { path: '/api/room/control/request', method: 'POST', status: 204 },
      { path: '/api/room/control/release', method: 'POST', status: 204 },
    ]);
  });

  test('a streamed binary sub-response completes and its bytes are left out', async () => {
    const res = await api(app.url, admin.token)
      .post('/api/batch')
      .send([{ path: '/api/filetransfer?filename=notes.bin', method: 'GET' }, { path: '/api/whoami', method: 'GET' }])
      .expect(200);
    assert.deepEqual(res.body[0], { path: '/api/filetransfer?filename=notes.bin', method: 'GET', status: 200 });
    assert.equal(res.body[1].status, 200);
  });

  test('paths outside /api and excluded paths are refused per item', async () => {
    const res = await api(app.url, user.token)
      .post('/api/batch')
      .send([
        { path: '/health', method: 'GET' },
        { path: '/api/batch', method: 'POST', body: [{ path: '/api/whoami', method: 'GET' }] },
        { path: '/api/ws', method: 'GET' },
        { path: '/api/batch/', method: 'POST', body: [] },
        { path: '/api/ws?token=x', method: 'GET' },
        { path: 'api/whoami', method: 'GET' },
        { path: '/apiary', method: 'GET' },
        { path: '/api/whoami', method: 'GET' },
      ])
      .expect(200);
    const notAllowed = { code: 400, message: 'this path is not allowed in batch requests' };
    const excluded = { code: 400, message: 'this path is excluded from batch requests' };
    assert.deepEqual(
      (res.body as Item[]).map((i) => [i.path, i.status, i.body]),
      [
        ['/health', 400, notAllowed],
        ['/api/batch', 400, excluded],
        ['/api/ws', 400, excluded],
        ['/api/batch/', 400, excluded],
        ['/api/ws?token=x', 400, excluded],
        ['api/whoami', 400, notAllowed],
        ['/apiary', 400, notAllowed],
        ['/api/whoami', 200, res.body[7].body],
      ],
    );
    assert.equal(res.body[7].body.id, user.id, 'refused items do not stop the batch');
  });

  test('sub-requests get the router defaults and the JSON body rules', async () => {
    const res = await api(app.url, user.token)
      .post('/api/batch')
      .send([
        { path: '/api/nothing', method: 'GET' },
        { path: '/api/whoami', method: 'DELETE' },
        { path: '/api/whoami', method: 'PUT' },
        { path: '/api/profile', method: 'POST' },
        { path: '/api/whoami', method: 'get' },
      ])
      .expect(200);
    const statuses = (res.body as Item[]).map((i) => i.status);
    assert.deepEqual(statuses, [404, 405, 405, 400, 200]);
    assert.deepEqual(res.body[3].body, { code: 400, message: 'no data provided' }, 'no body key = empty sub-request body');
    assert.equal(res.body[4].method, 'get', 'the method is echoed as sent');
  });

  test('an outer body that is not a JSON array is a 500', async () => {
    for (const body of ['{"path":"/api/whoami","method":"GET"}', '"x"', 'null', '[1]', '[{"path":1,"method":"GET"}]', 'not json']) {
      const res = await api(app.url, user.token).post('/api/batch').set('content-type', 'application/json').send(body).expect(500);
      assert.deepEqual(res.body, { code: 500, message: 'Internal Server Error' }, `body ${body}`);
    }
    const empty = await api(app.url).post('/api/batch').set('content-type', 'application/json').send('').expect(500);
    assert.equal(empty.body.code, 500);
    const none = await api(app.url).post('/api/batch').send([]).expect(200);
    assert.deepEqual(none.body, []);
  });

  test('limits: outer body size and number of items', async () => {
    const huge = await api(app.url).post('/api/batch').send([{ path: '/api/whoami', method: 'GET', body: 'x'.repeat(2 << 20) }]).expect(413);
    assert.equal(huge.body.code, 413);
    const many = Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => ({ path: '/api/whoami', method: 'GET' }));
    const tooMany = await api(app.url, user.token).post('/api/batch').send(many).expect(413);
    assert.equal(tooMany.body.code, 413);
    const max = await api(app.url, user.token).post('/api/batch').send(many.slice(1)).expect(200);
    assert.equal(max.body.length, MAX_BATCH_ITEMS);
    assert.ok(max.body.every((i: Item) => i.status === 200), 'every item answered');
  });
});
