import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, mock, test } from 'node:test';
import { loadConfig } from '../../../server/src/config/index.js';
import { silentLogger } from '../../../server/src/log.js';
import type { App } from '../../../server/src/main.js';
import { fullProfile } from '../../../server/src/members/types.js';
import { SessionExpiry } from '../../../server/src/sessions/expiry.js';
import { SessionManager } from '../../../server/src/sessions/manager.js';
import { initialSettings } from '../../../server/src/sessions/settings.js';
import type { SessionSocket } from '../../../server/src/sessions/types.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { login, SocketClient, type Envelope } from '../../helpers/viewer.js';

const TTL = 60_000;

class RecordingSocket implements SessionSocket {
  readonly sent: Array<{ event: string; payload?: any }> = [];
  send(event: string, payload?: unknown): void {
    this.sent.push({ event, payload });
  }
  disconnect(): void {}
  deleted(): string[] {
    return this.sent.filter((m) => m.event === 'session/deleted').map((m) => m.payload.id);
  }
}

describe('SessionExpiry (virtual clock)', () => {
  let sessions: SessionManager;
  let expiry: SessionExpiry | undefined;
  let watcher: RecordingSocket;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    sessions = new SessionManager({ settings: initialSettings(loadConfig([], {}).session), apiToken: '', logger: silentLogger() });
    watcher = new RecordingSocket();
  });
  afterEach(() => {
    expiry?.close();
    expiry = undefined;
    mock.timers.reset();
  });
  const start = () => {
    expiry = new SessionExpiry({ sessions, ttlMs: TTL, logger: silentLogger() });
    sessions.attachSocket(sessions.create('watcher', fullProfile('watcher')), watcher);
  };

  test('a session that never connects is deleted after the TTL, with session/deleted', () => {
    start();
    sessions.create('ghost', fullProfile('ghost'));
    mock.timers.tick(TTL - 1);
    assert.ok(sessions.get('ghost'), 'still there just before the TTL');
    mock.timers.tick(1);
    assert.equal(sessions.get('ghost'), undefined);
    assert.deepEqual(watcher.deleted(), ['ghost']);
    assert.ok(sessions.get('watcher'), 'a connected session never expires');
    assert.equal(expiry!.size, 0);
  });

  test('the TTL counts from the disconnect; reconnecting in time keeps the session', () => {
    start();
    const s = sessions.create('s', fullProfile('s'));
    const socket = new RecordingSocket();
    sessions.attachSocket(s, socket);
    mock.timers.tick(TTL * 3);
    assert.ok(sessions.get('s'), 'connected for three TTLs');
    sessions.detachSocket(s, socket);
    mock.timers.tick(TTL - 1);
    sessions.attachSocket(s, socket);
    mock.timers.tick(TTL * 2);
    assert.ok(sessions.get('s'), 'came back in time');
    sessions.detachSocket(s, socket);
    mock.timers.tick(TTL);
    assert.equal(sessions.get('s'), undefined);
    assert.deepEqual(watcher.deleted(), ['s']);
  });

  test('authenticated REST use postpones the expiry', () => {
    start();
    const s = sessions.create('rest', fullProfile('rest'));
    for (let i = 0; i < 5; i++) {
      mock.timers.tick(TTL / 2);
      s.touch();
    }
    assert.ok(sessions.get('rest'), 'used every half TTL');
    mock.timers.tick(TTL - 1);
    assert.ok(sessions.get('rest'));
    mock.timers.tick(1);
    assert.equal(sessions.get('rest'), undefined);
  });

  test('sessions restored before it starts expire too; close() stops it', () => {
    sessions.restore('old', 'o'.repeat(64), fullProfile('old'));
    start();
    mock.timers.tick(TTL);
    assert.equal(sessions.get('old'), undefined, 'the restored session expired');
    sessions.create('kept', fullProfile('kept'));
    expiry!.close();
    expiry!.close();
    mock.timers.tick(TTL * 2);
    assert.ok(sessions.get('kept'), 'nothing expires after close');
  });

  test('a TTL beyond the timer range still waits the whole time', () => {
    expiry = new SessionExpiry({ sessions, ttlMs: 40 * 86_400_000, logger: silentLogger() });
    sessions.create('long', fullProfile('long'));
    mock.timers.tick(2 ** 31);
    assert.ok(sessions.get('long'), 'setTimeout range passed, TTL not');
    mock.timers.tick(40 * 86_400_000 - 2 ** 31);
    assert.equal(sessions.get('long'), undefined);
  });
});

describe('many logins end as a bounded session list (multiuser, session.expire_disconnected)', () => {
  const LOGINS = 5000;
  const BATCH = 100;
  let app: App;
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'expiry-'));
    file = path.join(dir, 'sessions.json');
    app = await startApp([
      '--capture.video.ids', 'main',
      '--session.expire_disconnected', '5s',
      '--server.login_successes', String(LOGINS * 2),
      '--session.file', file,
    ]);
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test(`${LOGINS} logins: every ghost is deleted (another client sees session/deleted), system/init stays small, session.file follows`, async () => {
    const watcher = await login(app.url, 'watcher', 'admin');
    const ws = await SocketClient.open(app.url, watcher.token);
    await ws.waitFor('system/init');
    const deleted = new Set<string>();
    let allDeleted!: () => void;
    const everyGhostDeleted = new Promise<void>((resolve) => (allDeleted = resolve));
    const ghosts = new Set<string>();
    const check = () => {
      if (ghosts.size === LOGINS && [...ghosts].every((id) => deleted.has(id))) allDeleted();
    };
    ws.ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Envelope;
      if (msg.event === 'session/deleted') {
        deleted.add(msg.payload.id);
        check();
      }
    });

    for (let b = 0; b < LOGINS / BATCH; b++) {
      const items = Array.from({ length: BATCH }, (_, i) => ({
        path: '/api/login',
        method: 'POST',
        body: { username: `ghost${b * BATCH + i}`, password: 'neko' },
      }));
      const res = await api(app.url).post('/api/batch').send(items).expect(200);
      for (const item of res.body as Array<{ status: number; body: { id: string } }>) {
        assert.equal(item.status, 200);
        ghosts.add(item.body.id);
      }
    }
    check();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      everyGhostDeleted,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`only ${deleted.size} of ${LOGINS} ghosts deleted`)), 120_000);
      }),
    ]);
    clearTimeout(timer);

    assert.deepEqual(app.sessions.list().map((s) => s.id), [watcher.id], 'only the connected session is left');
    const late = await login(app.url, 'late', 'neko');
    const lateWs = await SocketClient.open(app.url, late.token);
    const init = await lateWs.waitFor('system/init');
    assert.deepEqual(Object.keys(init.payload.sessions).sort(), [late.id, watcher.id].sort());
    const size = Buffer.byteLength(JSON.stringify(init));
    assert.ok(size < 4096, `system/init is ${size} bytes`);
    ws.close();
    lateWs.close();
    await Promise.all([ws.closed, lateWs.closed]);

    await app.close();
    const saved = JSON.parse(await readFile(file, 'utf8')) as Array<{ Id: string }>;
    assert.deepEqual(saved.map((e) => e.Id).sort(), [late.id, watcher.id].sort(), 'session.file holds the live sessions only');
  });
});
