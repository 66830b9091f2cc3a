import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../../server/src/config/index.js';
import { frameHeaders } from '../../../server/src/http/frame-policy.js';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';

describe('embed.origins', () => {
  test('defaults to same origin only; parses a space-separated env list; * only when said', () => {
    assert.deepEqual(loadConfig([], {}).embed.origins, ["'self'"]);
    assert.deepEqual(loadConfig([], { NEKO_EMBED_ORIGINS: "self https://a.example http://127.0.0.1:8081" }).embed.origins,
      ["'self'", 'https://a.example', 'http://127.0.0.1:8081']);
    assert.deepEqual(loadConfig(['--embed.origins', '*'], {}).embed.origins, ['*']);
    assert.deepEqual(loadConfig([], { NEKO_EMBED_ORIGINS: "'none'" }).embed.origins, ["'none'"]);
    assert.deepEqual(loadConfig([], { NEKO_EMBED_ORIGINS: 'https://*.example.org' }).embed.origins, ['https://*.example.org']);
  });

  test('refuses what is not an origin (paths, other schemes, header injection) and none mixed with others', () => {
    for (const bad of ['https://a.example/path', 'javascript:alert(1)', 'a.example', "https://a.example;script-src *", "'none' https://a.example"]) {
      assert.throws(() => loadConfig([], { NEKO_EMBED_ORIGINS: bad }), ConfigError, bad);
    }
  });

  test('frame headers: X-Frame-Options only where it says the same as the CSP', () => {
    assert.deepEqual(frameHeaders(["'self'"]), { 'Content-Security-Policy': "frame-ancestors 'self'", 'X-Frame-Options': 'SAMEORIGIN' });
    assert.deepEqual(frameHeaders(["'none'"]), { 'Content-Security-Policy': "frame-ancestors 'none'", 'X-Frame-Options': 'DENY' });
    assert.deepEqual(frameHeaders(['*']), { 'Content-Security-Policy': 'frame-ancestors *' });
    assert.deepEqual(frameHeaders(["'self'", 'https://a.example']), { 'Content-Security-Policy': "frame-ancestors 'self' https://a.example" });
  });
});

async function pageHeaders(app: App, path: string): Promise<Headers> {
  const res = await fetch(`${app.url}${path}`);
  await res.arrayBuffer();
  assert.equal(res.status, 200, path);
  return res.headers;
}

describe('frame policy on the viewer pages', () => {
  const apps: App[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });

  test('default: frame-ancestors self and SAMEORIGIN on index.html and other HTML; scripts are left alone; GET /api/embed', async () => {
    const app = await startApp();
    apps.push(app);
    for (const path of ['/', '/?share=abc', '/index.html', '/embed-example.html']) {
      const headers = await pageHeaders(app, path);
      assert.equal(headers.get('content-security-policy'), "frame-ancestors 'self'", path);
      assert.equal(headers.get('x-frame-options'), 'SAMEORIGIN', path);
    }
    const script = await pageHeaders(app, '/main.js');
    assert.equal(script.get('content-security-policy'), null);
    assert.deepEqual((await api(app.url).get('/api/embed').expect(200)).body, { origins: ["'self'"] });
  });

  test('a list of other origins: frame-ancestors lists them, no X-Frame-Options', async () => {
    const app = await startApp(['--embed.origins', "'self' http://127.0.0.1:9 https://b.example"]);
    apps.push(app);
    const headers = await pageHeaders(app, '/');
    assert.equal(headers.get('content-security-policy'), "frame-ancestors 'self' http://127.0.0.1:9 https://b.example");
    assert.equal(headers.get('x-frame-options'), null);
    assert.deepEqual((await api(app.url).get('/api/embed').expect(200)).body, { origins: ["'self'", 'http://127.0.0.1:9', 'https://b.example'] });
  });
});

describe('embedding with cookies: * and a partitioned SameSite=None cookie', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--embed.origins', '*', '--session.cookie.enabled', '--session.cookie.partitioned']);
  });
  after(async () => {
    await app?.close();
  });

  test('frame-ancestors *, no X-Frame-Options', async () => {
    const headers = await pageHeaders(app, '/');
    assert.equal(headers.get('content-security-policy'), 'frame-ancestors *');
    assert.equal(headers.get('x-frame-options'), null);
  });

  test('login and share login set a Secure; SameSite=None; Partitioned cookie; a failed login expires it the same way', async () => {
    const res = await api(app.url).post('/api/login').send({ username: 'root', password: 'admin' }).expect(200);
    const cookie = String(res.headers['set-cookie']);
    assert.match(cookie, /; Secure; SameSite=None; Partitioned; HttpOnly/);
    const token = /NEKO_SESSION=([^;]+)/.exec(cookie)![1]!;
    const share = (await api(app.url).post('/api/shares').set('Cookie', `NEKO_SESSION=${token}`)
      .send({ scope: 'view', name: 'framed', expires_in: 60 }).expect(201)).body as { token: string };
    const shared = await api(app.url).post('/api/login/share').send({ token: share.token }).expect(200);
    assert.match(String(shared.headers['set-cookie']), /^NEKO_SESSION=[^;]+; Expires=[^;]+; Secure; SameSite=None; Partitioned; HttpOnly$/);
    assert.equal(shared.body.token, undefined, 'with cookies the token is not in the body, as with /api/login');
    const expired = await api(app.url).get('/api/whoami').set('Cookie', 'NEKO_SESSION=stale').expect(401);
    assert.match(String(expired.headers['set-cookie']), /Partitioned/);
  });
});
