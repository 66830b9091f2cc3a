import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import WebSocket from 'ws';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { login } from '../../helpers/viewer.js';

/** Preflights are not API operations (openapi.yaml has none), so they go through plain supertest. */
function preflight(app: App, path: string, origin: string, method = 'POST', headers = 'content-type') {
  const req = request(app.url).options(path).set('Origin', origin).set('Access-Control-Request-Method', method);
  if (headers) req.set('Access-Control-Request-Headers', headers);
  return req;
}

/** Resolves with the first message, or rejects with the HTTP status of a refused upgrade. */
function openSocket(app: App, token: string, origin: string): Promise<{ first: string; ws: WebSocket }> {
  const ws = new WebSocket(`${app.url.replace(/^http/, 'ws')}/api/ws?token=${token}`, { origin });
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve({ first: data.toString(), ws }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('CORS with server.cors = http://a.example', () => {
  let app: App;
  let token: string;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main', '--server.cors', 'http://a.example']);
    token = (await login(app.url, 'ann', 'neko')).token;
  });
  after(async () => {
    await app?.close();
  });

  test('a preflight from a listed origin gets the contract headers', async () => {
    const res = await preflight(app, '/api/login', 'http://a.example', 'POST', 'Content-Type, Authorization').expect(204);
    assert.equal(res.headers['access-control-allow-origin'], 'http://a.example');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-allow-methods'], 'GET, POST, DELETE, OPTIONS');
    assert.equal(res.headers['access-control-allow-headers'], 'Accept, Authorization, Content-Type, X-CSRF-Token');
    assert.equal(res.headers['access-control-max-age'], '300');
    assert.match(String(res.headers.vary), /Origin/);
  });

  test('an unlisted origin, method or header gets no CORS headers', async () => {
    for (const res of [
      await preflight(app, '/api/login', 'http://b.example').expect(204),
      await preflight(app, '/api/login', 'http://a.example', 'PUT').expect(204),
      await preflight(app, '/api/login', 'http://a.example', 'POST', 'x-secret').expect(204),
    ]) {
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
    }
  });

  test('actual requests from a listed origin carry the origin, credentials and exposed Link', async () => {
    const res = await api(app.url, token).get('/api/whoami').set('Origin', 'http://a.example').expect(200);
    assert.equal(res.headers['access-control-allow-origin'], 'http://a.example');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-expose-headers'], 'Link');
    const denied = await api(app.url).get('/api/whoami').set('Origin', 'http://a.example').expect(401);
    assert.equal(denied.headers['access-control-allow-origin'], 'http://a.example', 'errors are readable by the page too');
    const other = await api(app.url, token).get('/api/whoami').set('Origin', 'http://b.example').expect(200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  test('the WebSocket refuses an unlisted origin and accepts a listed one', async () => {
    await assert.rejects(openSocket(app, token, 'http://b.example'), /status 400/);
    const { first, ws } = await openSocket(app, token, 'http://a.example');
    assert.equal(JSON.parse(first).event, 'system/init');
    ws.close();
  });
});

describe('CORS with server.cors = *', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main', '--server.cors', '*']);
  });
  after(async () => {
    await app?.close();
  });

  test('any origin is echoed (credentials forbid a literal *)', async () => {
    const res = await preflight(app, '/api/login', 'http://anything.example').expect(204);
    assert.equal(res.headers['access-control-allow-origin'], 'http://anything.example');
    const token = (await login(app.url, 'bob', 'neko')).token;
    const { ws } = await openSocket(app, token, 'http://anything.example');
    ws.close();
  });
});

describe('CORS disabled (server.cors empty, the default)', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main']);
  });
  after(async () => {
    await app?.close();
  });

  test('no CORS headers at all; OPTIONS is the router default', async () => {
    const res = await preflight(app, '/api/login', 'http://a.example');
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.match(String(res.headers.allow), /POST/);
    const get = await api(app.url).get('/health').set('Origin', 'http://a.example').expect(200);
    assert.equal(get.headers['access-control-allow-origin'], undefined);
  });

  test('the WebSocket accepts any origin', async () => {
    const token = (await login(app.url, 'cat', 'neko')).token;
    const { ws } = await openSocket(app, token, 'http://elsewhere.example');
    ws.close();
  });
});
