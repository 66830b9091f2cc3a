import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpError } from '../../../server/src/errors.js';
import type { App } from '../../../server/src/main.js';
import { LIMITS, checkProfileLimits, parseProfilePatch } from '../../../server/src/members/types.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { login } from '../../helpers/viewer.js';

/** `{a: {a: ... 1}}` with `levels` objects. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/** About `bytes` of plugin settings, each one small and flat. */
function hugePlugins(bytes: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i * 1024 < bytes; i++) out[`plugin.setting${i}`] = 'x'.repeat(1000);
  return out;
}

function status(fn: () => unknown): number | null {
  try {
    fn();
    return null;
  } catch (err) {
    assert.ok(err instanceof HttpError, String(err));
    return err.status;
  }
}

describe('profile limits', () => {
  test('name length, nesting and size', () => {
    assert.equal(status(() => checkProfileLimits({ name: 'n'.repeat(LIMITS.name) })), null);
    assert.equal(status(() => checkProfileLimits({ name: 'n'.repeat(LIMITS.name + 1) })), 400);
    // The profile object is level 1 and plugins level 2, so plugins may hold 3 more levels.
    assert.equal(status(() => checkProfileLimits({ plugins: nested(LIMITS.profileDepth - 1) as Record<string, unknown> })), null);
    assert.equal(status(() => checkProfileLimits({ plugins: nested(LIMITS.profileDepth) as Record<string, unknown> })), 400);
    assert.equal(status(() => checkProfileLimits({ plugins: { 'chat.can_send': false, 'filetransfer.enabled': true } })), null);
    assert.equal(status(() => checkProfileLimits({ plugins: hugePlugins(LIMITS.profileBytes + 2048) })), 413);
  });

  test('a hostile nesting depth is refused without walking it', () => {
    const deep = JSON.parse(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`) as Record<string, unknown>;
    assert.equal(status(() => parseProfilePatch({ plugins: deep })), 400);
  });
});

describe('profile limits over REST (multiuser: updates reach every client)', () => {
  let app: App;
  let admin: string;
  let userId: string;
  before(async () => {
    app = await startApp(['--capture.video.ids', 'main']);
    admin = (await login(app.url, 'admin', 'admin')).token;
    userId = (await login(app.url, 'user', 'neko')).id;
  });
  after(async () => {
    await app?.close();
  });

  const profileOf = (id: string) => JSON.stringify(app.sessions.get(id)!.profile);

  test('an admin merge of megabytes, a deep object or a long name is refused and nothing is stored', async () => {
    const before = profileOf(userId);
    const big = await api(app.url, admin).post(`/api/members/${userId}`).send({ plugins: hugePlugins(900 << 10) }).expect(413);
    assert.deepEqual(Object.keys(big.body), ['code', 'message']);
    assert.match(big.body.message, /profile is larger than/);
    const deep = await api(app.url, admin).post(`/api/members/${userId}`).send({ plugins: nested(20) }).expect(400);
    assert.match(deep.body.message, /nested deeper/);
    await api(app.url, admin).post('/api/members_bulk/update').send({ ids: [userId], profile: { plugins: hugePlugins(100 << 10) } }).expect(413);
    await api(app.url, admin).post('/api/members_bulk/update').send({ ids: [userId], profile: { plugins: nested(10) } }).expect(400);
    assert.equal(profileOf(userId), before, 'the member profile is unchanged');

    await api(app.url, admin).post(`/api/members/${userId}`).send({ plugins: { 'chat.can_send': false } }).expect(204);
    assert.equal(app.sessions.get(userId)!.profile.plugins?.['chat.can_send'], false, 'a normal update still works');
  });

  test('POST /api/profile: the same limits for the own profile, admin or not', async () => {
    const me = await api(app.url, admin).get('/api/whoami').expect(200);
    const long = await api(app.url, admin).post('/api/profile').send({ name: 'n'.repeat(LIMITS.name + 1) }).expect(400);
    assert.deepEqual(long.body, { code: 400, message: 'name is too long' });
    await api(app.url, admin).post('/api/profile').send({ plugins: hugePlugins(900 << 10) }).expect(413);
    await api(app.url, admin).post('/api/profile').send({ plugins: nested(20) }).expect(400);
    assert.deepEqual((await api(app.url, admin).get('/api/whoami').expect(200)).body.profile, me.body.profile, 'unchanged');

    const user = await login(app.url, 'someone', 'neko');
    await api(app.url, user.token).post('/api/profile').send({ name: 'n'.repeat(100_000) }).expect(400);
    await api(app.url, user.token).post('/api/profile').send({ name: 'Someone' }).expect(200);
  });

  test('a login username past the limit is refused before it becomes a profile name', async () => {
    const res = await api(app.url).post('/api/login').send({ username: 'u'.repeat(LIMITS.username + 1), password: 'neko' }).expect(400);
    assert.deepEqual(res.body, { code: 400, message: 'username is too long' });
    await api(app.url).post('/api/login').send({ username: 'u'.repeat(LIMITS.username), password: 'neko' }).expect(200);
  });
});
