import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HttpError } from '../../../server/src/errors.js';
import { silentLogger } from '../../../server/src/log.js';
import { openFileProvider } from '../../../server/src/members/file.js';
import { MultiuserProvider, NoauthProvider } from '../../../server/src/members/multiuser.js';
import { openObjectProvider } from '../../../server/src/members/object.js';
import { sha256Base64 } from '../../../server/src/members/password.js';
import { newMemberProfile, type MemberProvider } from '../../../server/src/members/types.js';

const logger = silentLogger();

async function rejectsWith(promise: Promise<unknown>, status: number, message?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof HttpError, `expected an HttpError, got ${String(err)}`);
    assert.equal(err.status, status);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

async function readMembers(file: string): Promise<Record<string, { password: string; profile: Record<string, unknown> }>> {
  return JSON.parse(await readFile(file, 'utf8'));
}

describe('file member provider', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'members-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('management API persists every change, with scrypt hashes only', async () => {
    const file = path.join(dir, 'crud.json');
    const store = await openFileProvider({ path: file, hash: true, logger });
    assert.deepEqual(await readMembers(file), {}, 'a missing file is created empty');

    const created = await store.create('ann', 'ann-secret-pw', { ...newMemberProfile('Ann'), can_host: false });
    assert.deepEqual(created, { id: 'ann', profile: { ...newMemberProfile('Ann'), can_host: false } });
    await store.create('bob', 'bob-secret-pw', newMemberProfile('bob'));
    await rejectsWith(store.create('ann', 'x', newMemberProfile('ann')), 422, 'member already exists');

    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('ann-secret-pw') && !text.includes('bob-secret-pw'), 'no clear password on disk');
    const onDisk = await readMembers(file);
    assert.match(onDisk.ann!.password, /^scrypt\$/);
    assert.equal(onDisk.ann!.profile.can_host, false);

    assert.deepEqual((await store.list(0, 0)).map((m) => m.id), ['ann', 'bob']);
    assert.deepEqual((await store.list(1, 0)).map((m) => m.id), ['ann']);
    assert.deepEqual((await store.list(1, 1)).map((m) => m.id), ['bob']);
    assert.deepEqual((await store.list(0, 5)).map((m) => m.id), []);

    assert.deepEqual(await store.authenticate('ann', 'ann-secret-pw'), { id: 'ann', profile: { ...newMemberProfile('Ann'), can_host: false } });
    await rejectsWith(store.authenticate('ann', 'bob-secret-pw'), 401);
    await rejectsWith(store.authenticate('nobody', 'ann-secret-pw'), 401);

    await store.update('ann', { ...newMemberProfile('Ann B.'), is_admin: true });
    assert.equal((await store.get('ann')).is_admin, true);
    assert.equal((await readMembers(file)).ann!.profile.name, 'Ann B.');

    await store.setPassword('bob', 'new-bob-pw');
    await rejectsWith(store.authenticate('bob', 'bob-secret-pw'), 401);
    assert.equal((await store.authenticate('bob', 'new-bob-pw')).id, 'bob');
    assert.ok(!(await readFile(file, 'utf8')).includes('new-bob-pw'), 'a changed password is not written in clear');

    for (const op of [store.get('zed'), store.update('zed', newMemberProfile('zed')), store.delete('zed'), store.setPassword('zed', 'pw')]) {
      await rejectsWith(op, 404, 'member not found');
    }
    await store.delete('bob');
    assert.deepEqual(Object.keys(await readMembers(file)), ['ann']);
    await store.close();

    const reopened = await openFileProvider({ path: file, hash: true, logger });
    assert.equal((await reopened.authenticate('ann', 'ann-secret-pw')).profile.name, 'Ann B.');
    await rejectsWith(reopened.get('bob'), 404);
    await reopened.close();
    assert.deepEqual(await readdir(dir), ['crud.json'], 'no temp file left behind');
  });

  test('a neko file with base64(SHA-256) passwords logs in and is upgraded to scrypt', async () => {
    const file = path.join(dir, 'legacy-sha.json');
    const full = { ...newMemberProfile('Admin'), is_admin: true };
    await writeFile(file, JSON.stringify({
      admin: { password: sha256Base64('admin'), profile: full },
      user: { password: sha256Base64('neko'), profile: { name: 'User', is_admin: false, can_login: true } },
    }));
    const store = await openFileProvider({ path: file, hash: true, logger });
    await rejectsWith(store.authenticate('admin', sha256Base64('admin')), 401);
    await rejectsWith(store.authenticate('admin', 'wrong'), 401);
    assert.equal((await readMembers(file)).admin!.password, sha256Base64('admin'), 'failed logins change nothing');

    assert.deepEqual(await store.authenticate('admin', 'admin'), { id: 'admin', profile: full });
    const disk = await readMembers(file);
    assert.match(disk.admin!.password, /^scrypt\$/, 'the logged-in member is upgraded');
    assert.equal(disk.user!.password, sha256Base64('neko'), 'other legacy members wait for their own login');
    assert.equal(disk.user!.profile.can_host, true, 'absent profile keys take the new-member defaults');
    assert.equal((await store.authenticate('admin', 'admin')).id, 'admin', 'the upgraded hash verifies');

    await store.setPassword('user', 'changed');
    assert.match((await readMembers(file)).user!.password, /^scrypt\$/, 'a password change writes scrypt');
    await store.close();
  });

  test('clear passwords (member.file.hash=false) are never written back', async () => {
    const file = path.join(dir, 'legacy-plain.json');
    await writeFile(file, JSON.stringify({
      alice: { password: 'alice-pw', profile: { name: 'Alice', can_login: true } },
      carol: { password: 'carol-pw', profile: { name: 'Carol', can_login: true } },
    }));
    const store = await openFileProvider({ path: file, hash: false, logger });
    await rejectsWith(store.authenticate('alice', 'carol-pw'), 401);
    assert.equal((await store.authenticate('alice', 'alice-pw')).id, 'alice');
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('alice-pw') && !text.includes('carol-pw'), `no clear password left after a login: ${text}`);
    assert.equal((await store.authenticate('carol', 'carol-pw')).id, 'carol');
    await store.close();
    const reopened = await openFileProvider({ path: file, hash: false, logger });
    assert.equal((await reopened.authenticate('carol', 'carol-pw')).profile.name, 'Carol');
    await reopened.close();
  });

  test('odd usernames are data, not object keys', async () => {
    const file = path.join(dir, 'proto.json');
    const store = await openFileProvider({ path: file, hash: true, logger });
    await store.create('__proto__', 'pw1', newMemberProfile('proto'));
    await store.create('constructor', 'pw2', newMemberProfile('ctor'));
    await store.close();
    const reopened = await openFileProvider({ path: file, hash: true, logger });
    assert.deepEqual((await reopened.list(0, 0)).map((m) => m.id).sort(), ['__proto__', 'constructor']);
    assert.equal((await reopened.authenticate('__proto__', 'pw1')).profile.name, 'proto');
    await rejectsWith(reopened.authenticate('toString', 'pw1'), 401);
    await reopened.close();
  });

  test('a broken member file stops startup with a clear error', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"a":', /not valid JSON/],
      ['[]', /expected an object/],
      ['{"a":{"profile":{}}}', /needs a string "password"/],
      ['{"a":{"password":"x","profile":[]}}', /"profile" that is not an object/],
    ];
    for (const [content, message] of cases) {
      const file = path.join(dir, 'broken.json');
      await writeFile(file, content);
      await assert.rejects(openFileProvider({ path: file, hash: true, logger }), message);
    }
    await assert.rejects(openFileProvider({ path: '', hash: true, logger }), /member.file.path/);
    await assert.rejects(openFileProvider({ path: path.join(dir, 'no/such/dir/m.json'), hash: true, logger }), /ENOENT/);
  });
});

describe('object member provider', () => {
  test('members come from the config and are managed in memory', async () => {
    const store = await openObjectProvider([
      { username: 'admin', password: 'adminpw', profile: { is_admin: true } },
      { username: 'guest', password: 'guestpw', profile: { name: 'Guest', can_host: false } },
    ], logger);
    assert.deepEqual(await store.authenticate('admin', 'adminpw'), { id: 'admin', profile: { ...newMemberProfile('admin'), is_admin: true } });
    assert.deepEqual((await store.authenticate('guest', 'guestpw')).profile, { ...newMemberProfile('Guest'), can_host: false });
    await rejectsWith(store.authenticate('guest', 'adminpw'), 401);
    await store.create('new', 'newpw', newMemberProfile('new'));
    await store.setPassword('guest', 'other');
    await rejectsWith(store.authenticate('guest', 'guestpw'), 401);
    assert.equal((await store.authenticate('guest', 'other')).id, 'guest');
    await store.delete('admin');
    assert.deepEqual((await store.list(0, 0)).map((m) => m.id), ['guest', 'new']);
    await store.close();
    await assert.rejects(openObjectProvider([
      { username: 'a', password: 'x', profile: {} },
      { username: 'a', password: 'y', profile: {} },
    ], logger), /listed twice/);
  });
});

describe('multiuser and noauth providers', () => {
  const providers: Array<[string, MemberProvider]> = [
    ['multiuser', new MultiuserProvider({ userPassword: 'neko', adminPassword: 'admin', userProfile: {}, adminProfile: {}, logger })],
    ['noauth', new NoauthProvider(logger)],
  ];
  for (const [name, provider] of providers) {
    test(`${name}: nothing is stored, so management answers [] or 500`, async () => {
      assert.deepEqual(await provider.list(0, 0), []);
      await rejectsWith(provider.get('x-abcde'), 500, 'Internal Server Error');
      await rejectsWith(provider.create('x', 'y', newMemberProfile('x')), 500);
      await rejectsWith(provider.delete('x-abcde'), 500);
      await rejectsWith(provider.setPassword('x-abcde', 'pw'), 500);
      await provider.update('x-abcde', newMemberProfile('x'));
    });
  }

  test('multiuser: ids are <username>-xxxxx, admin password checked first, overrides merged', async () => {
    const same = new MultiuserProvider({ userPassword: 'pw', adminPassword: 'pw', userProfile: {}, adminProfile: { name: 'Boss' }, logger });
    const admin = await same.authenticate('root', 'pw');
    assert.match(admin.id, /^root-[a-z0-9]{5}$/);
    assert.equal(admin.profile.is_admin, true);
    assert.equal(admin.profile.name, 'Boss');
    const [, user] = providers[0]!;
    const first = await user.authenticate('ann', 'neko');
    const second = await user.authenticate('ann', 'neko');
    assert.notEqual(first.id, second.id, 'each login is a new id');
    assert.deepEqual(first.profile, { ...newMemberProfile('ann'), can_see_inactive_cursors: false });
    await rejectsWith(user.authenticate('ann', 'nope'), 401);
    const [, noauth] = providers[1]!;
    const anyone = await noauth.authenticate('zoe', 'whatever');
    assert.match(anyone.id, /^zoe-[a-z0-9]{5}$/);
    assert.equal(anyone.profile.is_admin, true);
  });
});
