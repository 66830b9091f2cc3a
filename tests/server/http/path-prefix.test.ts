import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request, { type Response } from 'supertest';
import type { App } from '../../../server/src/main.js';
import { checkAgainstOpenapi } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient } from '../../helpers/viewer.js';

const PREFIX = '/neko';

/** api() for a server under PREFIX: requests go to PREFIX + path, checked against the unprefixed document. */
function prefixed(app: App, token?: string) {
  const make = (method: 'get' | 'post') => (path: string) => {
    const req = request(app.url)[method](PREFIX + path);
    if (token) req.set('Authorization', `Bearer ${token}`);
    return req.expect((res: Response) => checkAgainstOpenapi(method, path, res));
  };
  return { get: make('get'), post: make('post') };
}

describe('server.path_prefix = /neko/', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main', '--server.path_prefix', `${PREFIX}/`]);
  });
  after(async () => {
    await app?.close();
  });

  test('REST lives under the prefix', async () => {
    const res = await prefixed(app).post('/api/login').send({ username: 'ann', password: 'neko' }).expect(200);
    const me = await prefixed(app, res.body.token).get('/api/whoami').expect(200);
    assert.equal(me.body.id, res.body.id);
    await prefixed(app).get('/health').expect(200);
    const batch = await prefixed(app, res.body.token).post('/api/batch').send([{ path: '/api/whoami', method: 'GET' }]).expect(200);
    assert.equal(batch.body[0].status, 200, 'batch paths are relative to the prefix');
  });

  test('without the prefix everything is a 404', async () => {
    for (const path of ['/api/login', '/health', '/', '/nekoapi/login', '/index.html']) {
      const res = await request(app.url).get(path).expect(404);
      assert.deepEqual(res.body, { code: 404, message: 'Not Found' }, path);
    }
    await request(app.url).post('/api/login').send({ username: 'ann', password: 'neko' }).expect(404);
  });

  test('the WebSocket upgrade lives under the prefix', async () => {
    const { body } = await prefixed(app).post('/api/login').send({ username: 'bob', password: 'neko' }).expect(200);
    const socket = await SocketClient.open(`${app.url}${PREFIX}`, body.token);
    const init = await socket.waitFor('system/init');
    assert.equal(init.payload.session_id, body.id);
    socket.close();
    await assert.rejects(SocketClient.open(app.url, body.token), /404/, 'no upgrade outside the prefix');
  });

  test('the viewer is served under the prefix; the bare prefix redirects to its slash form', async () => {
    const index = await request(app.url).get(`${PREFIX}/`).expect(200);
    assert.match(String(index.headers['content-type']), /text\/html/);
    const bare = await request(app.url).get(PREFIX).expect(301);
    assert.equal(bare.headers.location, `${PREFIX}/`);
    const withQuery = await request(app.url).get(`${PREFIX}?usr=a`).expect(301);
    assert.equal(withQuery.headers.location, `${PREFIX}/?usr=a`);
  });
});
