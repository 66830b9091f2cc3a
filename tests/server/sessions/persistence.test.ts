import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { silentLogger } from '../../../server/src/log.js';
import { SessionManager } from '../../../server/src/sessions/manager.js';
import { SessionPersistence } from '../../../server/src/sessions/persistence.js';
import { fullProfile, PROFILE_KEYS } from '../../../server/src/members/types.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { SocketClient } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

const SETTINGS = {
  private_mode: false, locked_logins: false, locked_controls: false, control_protection: false, implicit_hosting: false,
  inactive_cursors: false, merciful_reconnect: true, heartbeat_interval: 10, plugins: null,
};

function manager(apiToken = ''): SessionManager {
  return new SessionManager({ settings: SETTINGS, apiToken, logger: silentLogger() });
}

describe('session persistence (session.file)', () => {
  let dir: string;
  let file: string;
  let app: App | undefined;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sessions-'));
    file = path.join(dir, 'sessions.json');
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('tokens survive a restart; deleted sessions stay deleted; profiles are kept', async () => {
    app = await startApp(['--capture.video.ids', 'main', '--session.file', file]);
    const login = async (username: string, password: string) =>
      (await api(app!.url).post('/api/login').send({ username, password }).expect(200)).body as { id: string; token: string };
    const ann = await login('ann', 'neko');
    const root = await login('root', 'admin');
    const gone = await login('gus', 'neko');
    await api(app.url, ann.token).post('/api/profile').send({ name: 'Ann Persisted' }).expect(200);
    await api(app.url, gone.token).post('/api/logout').expect(200);
    const socket = await SocketClient.open(app.url, root.token);
    await socket.waitFor('system/init');
    socket.close();
    await socket.closed;
    await app.close();
    app = undefined;

    const saved = JSON.parse(await readFile(file, 'utf8')) as Array<Record<string, any>>;
    assert.ok(Array.isArray(saved), 'a JSON array');
    assert.deepEqual(saved.map((e) => Object.keys(e)), [['Id', 'Token', 'Profile'], ['Id', 'Token', 'Profile']], 'the contract key names');
    const annSaved = saved.find((e) => e.Id === ann.id)!;
    assert.equal(annSaved.Token, ann.token);
    assert.deepEqual(Object.keys(annSaved.Profile), [...PROFILE_KEYS]);
    assert.equal(annSaved.Profile.name, 'Ann Persisted');
    assert.deepEqual(await readdir(dir), ['sessions.json'], 'no temp file left');

    app = await startApp(['--capture.video.ids', 'main', '--session.file', file]);
    const me = await api(app.url, ann.token).get('/api/whoami').expect(200);
    assert.equal(me.body.id, ann.id);
    assert.equal(me.body.profile.name, 'Ann Persisted');
    assert.equal(me.body.state.is_connected, false, 'nobody is connected after a restart');
    assert.equal((await api(app.url, root.token).get('/api/whoami').expect(200)).body.profile.is_admin, true);
    await api(app.url, gone.token).get('/api/whoami').expect(401);
    const again = await SocketClient.open(app.url, root.token);
    assert.equal((await again.waitFor('system/init')).payload.session_id, root.id, 'the old token opens a WebSocket');
    again.close();
    await again.closed;

    await api(app.url, root.token).delete(`/api/sessions/${ann.id}`).expect(204);
    await waitFor('the delete is saved', async () => !(await readFile(file, 'utf8')).includes(ann.token));
  });

  test('a damaged or hostile file starts without (those) sessions', async () => {
    const damaged = path.join(dir, 'damaged.json');
    await writeFile(damaged, '[{"Id":"a","Tok');
    const sessions = manager();
    const persistence = await SessionPersistence.open({ path: damaged, sessions, logger: silentLogger() });
    assert.deepEqual(sessions.list(), []);
    await persistence.close();

    const mixed = path.join(dir, 'mixed.json');
    await writeFile(mixed, JSON.stringify([
      { Id: 'ok', Token: 't'.repeat(64), Profile: { name: 'OK', can_login: true } },
      { Id: 'dup', Token: 't'.repeat(64), Profile: {} },
      { Id: 'api', Token: 'api-token', Profile: fullProfile('x') },
      { Id: '', Token: 'x', Profile: {} },
      { Id: 'noprofile', Token: 'y' },
      'garbage',
      null,
    ]));
    const withApi = manager('api-token');
    const again = await SessionPersistence.open({ path: mixed, sessions: withApi, logger: silentLogger() });
    assert.deepEqual(withApi.list().map((s) => s.id), ['ok'], 'only the valid entry is restored');
    const ok = withApi.get('ok')!;
    assert.equal(ok.profile.can_login, true);
    assert.equal(ok.profile.is_admin, false, 'permissions missing from the file are not granted');
    assert.equal(withApi.byTokenValue('api-token')?.id, 'API', 'a saved entry cannot take over the API token');
    await again.close();
    await again.close();
  });

  test('changes are written atomically and coalesced; close waits for the last write', async () => {
    const target = path.join(dir, 'burst.json');
    const sessions = manager();
    const persistence = await SessionPersistence.open({ path: target, sessions, logger: silentLogger() });
    for (let i = 0; i < 50; i++) sessions.create(`s${i}`, fullProfile(`s${i}`));
    sessions.delete(sessions.get('s0')!);
    sessions.updateProfile(sessions.get('s1')!, fullProfile('renamed'));
    await persistence.close();
    const saved = JSON.parse(await readFile(target, 'utf8')) as Array<{ Id: string; Profile: { name: string } }>;
    assert.equal(saved.length, 49);
    assert.equal(saved.find((e) => e.Id === 's1')!.Profile.name, 'renamed');
    assert.ok(!(await readdir(dir)).includes('burst.json.tmp'), 'no temp file left');
  });
});
