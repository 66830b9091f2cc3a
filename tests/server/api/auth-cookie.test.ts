import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';

function cookieOf(setCookie: string[] | string | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const found = all.find((c) => c.startsWith('NEKO_SESSION='));
  assert.ok(found, `a NEKO_SESSION cookie in ${JSON.stringify(all)}`);
  return found;
}

describe('session cookie transport (session.cookie.enabled)', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--session.cookie.enabled', '--session.cookie.expiration', '2h']);
  });
  after(async () => {
    await app?.close();
  });

  test('login sets an HttpOnly, Secure, SameSite=None cookie and omits the token', async () => {
    const before = Date.now();
    const res = await api(app.url).post('/api/login').send({ username: 'cora', password: 'neko' }).expect(200);
    assert.equal(res.body.token, undefined);
    const cookie = cookieOf(res.headers['set-cookie']);
    assert.match(cookie, /^NEKO_SESSION=[_0-9a-zA-Z-]{64};/);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; SameSite=None/);
    const expires = Date.parse(/Expires=([^;]+)/.exec(cookie)![1]!);
    assert.ok(Math.abs(expires - (before + 2 * 3600_000)) < 5000, `expires in 2 h, got ${new Date(expires).toISOString()}`);
  });

  test('a cookie with a malformed escape is no token (401), not a server error', async () => {
    const res = await api(app.url).get('/api/whoami').set('Cookie', 'NEKO_SESSION=%E0%A4%A').expect(401);
    assert.equal(res.body.code, 401);
  });

  test('the cookie authenticates, wins over a Bearer token, and logout clears it', async () => {
    const login = await api(app.url).post('/api/login').send({ username: 'dana', password: 'neko' }).expect(200);
    const pair = cookieOf(login.headers['set-cookie']).split(';')[0]!;
    const me = await api(app.url).get('/api/whoami').set('Cookie', pair).expect(200);
    assert.equal(me.body.id, login.body.id);

    // A stale cookie is not rescued by a valid Bearer token, and gets expired.
    const other = await api(app.url).post('/api/login').send({ username: 'eve', password: 'neko' }).expect(200);
    const otherToken = cookieOf(other.headers['set-cookie']).split(';')[0]!.split('=')[1]!;
    const stale = await api(app.url, otherToken).get('/api/whoami').set('Cookie', `NEKO_SESSION=${'x'.repeat(64)}`).expect(401);
    assert.match(cookieOf(stale.headers['set-cookie']), /Expires=Thu, 01 Jan 1970/);

    const out = await api(app.url).post('/api/logout').set('Cookie', pair).expect(200);
    assert.match(cookieOf(out.headers['set-cookie']), /^NEKO_SESSION=;.*Expires=Thu, 01 Jan 1970/);
    await api(app.url).get('/api/whoami').set('Cookie', pair).expect(401);
  });
});

describe('session cookie without Secure', () => {
  let app: App;
  before(async () => {
    app = await startApp(['--session.cookie.enabled', '--session.cookie.secure=false', '--session.cookie.path', '/']);
  });
  after(async () => {
    await app?.close();
  });

  test('no Secure and no SameSite attribute; Path as configured', async () => {
    const res = await api(app.url).post('/api/login').send({ username: 'fay', password: 'neko' }).expect(200);
    const cookie = cookieOf(res.headers['set-cookie']);
    assert.doesNotMatch(cookie, /Secure/);
    assert.doesNotMatch(cookie, /SameSite/);
    assert.match(cookie, /; Path=\//);
  });
});
