import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../../server/src/log.js';
import { fullProfile } from '../../../server/src/members/types.js';
import type { App } from '../../../server/src/main.js';
import { InactiveCursors } from '../../../server/src/sessions/cursors.js';
import { SessionManager } from '../../../server/src/sessions/manager.js';
import type { Session } from '../../../server/src/sessions/session.js';
import type { Settings } from '../../../server/src/sessions/types.js';
import { encodeClientMessage } from '../../../server/src/webrtc/datachannel.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { initialSettings } from '../../../server/src/sessions/settings.js';
import { loadConfig } from '../../../server/src/config/index.js';
import { SocketClient, Viewer } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

const SETTINGS: Settings = initialSettings(loadConfig([], {}).session);

describe('inactive cursors: tick rules', () => {
  const TICK = 40;
  let sessions: SessionManager;
  let cursors: InactiveCursors;
  const inbox = new Map<string, unknown[]>();

  const member = (id: string, overrides: Partial<ReturnType<typeof fullProfile>>): Session => {
    const session = sessions.create(id, { ...fullProfile(id), ...overrides });
    inbox.set(id, []);
    sessions.attachSocket(session, {
      send: (event, payload) => {
        if (event === 'session/cursors') inbox.get(id)!.push(payload);
      },
      disconnect: () => {},
    });
    return session;
  };

  before(() => {
    sessions = new SessionManager({ settings: SETTINGS, apiToken: '', logger: silentLogger() });
    cursors = new InactiveCursors({ sessions, logger: silentLogger(), intervalMs: TICK, maxSamples: 3 });
  });
  after(() => cursors.close());

  test('collects non-host moves while the room setting is on and sends them to watchers only', async () => {
    const watcher = member('watcher', { can_see_inactive_cursors: true, sends_inactive_cursor: false });
    const mover = member('mover', { can_see_inactive_cursors: false });
    const host = member('host', { can_see_inactive_cursors: false });
    const silent = member('silent', { sends_inactive_cursor: false, can_see_inactive_cursors: false });
    sessions.setHost(host, host);

    cursors.record(mover, 1, 1);
    await sleep(TICK * 3);
    assert.deepEqual(inbox.get('watcher'), [], 'nothing while the setting is off');

    sessions.updateSettings({ ...sessions.settings, inactive_cursors: true }, watcher);
    await waitFor('the first tick', () => inbox.get('watcher')!.length > 0);
    await sleep(TICK * 3);
    assert.deepEqual(inbox.get('watcher'), [[]], 'one [] for the first empty tick, then empty ticks are skipped');

    for (let i = 0; i < 5; i++) cursors.record(mover, 10 + i, 20 + i);
    cursors.record(host, 5, 5);
    cursors.record(silent, 6, 6);
    const sent = inbox.get('watcher')!;
    await waitFor('a tick with samples and an empty one', () => sent.length >= 3);
    await sleep(TICK * 3);
    assert.deepEqual(sent[1], [{ id: 'mover', cursors: [{ x: 12, y: 22 }, { x: 13, y: 23 }, { x: 14, y: 24 }] }],
      'the newest samples of the mover only; host and non-senders are not collected');
    assert.deepEqual(sent[2], [], 'the tick after is empty once');
    assert.equal(sent.length, 3);
    for (const id of ['mover', 'host', 'silent']) assert.deepEqual(inbox.get(id), [], `${id} cannot see cursors`);

    sessions.updateSettings({ ...sessions.settings, inactive_cursors: false }, watcher);
    cursors.record(mover, 1, 1);
    await waitFor('the switch-off []', () => sent.length >= 4);
    await sleep(TICK * 3);
    assert.deepEqual(sent.slice(3), [[]], 'switching off sends one [] and stops the ticker');
  });
});

describe('inactive cursors end to end: data-channel moves of a non-host reach watchers', () => {
  let app: App;
  let viewer: Viewer;
  let admin: SocketClient;
  let user: SocketClient;

  before(async () => {
    app = await startApp(['--desktop.screen', '320x240@30', '--session.inactive_cursors']);
    const login = async (username: string, password: string) => {
      const res = await api(app.url).post('/api/login').send({ username, password }).expect(200);
      const ws = await SocketClient.open(app.url, res.body.token);
      await ws.waitFor('system/init');
      return ws;
    };
    admin = await login('root', 'admin');
    user = await login('ann', 'neko');
    viewer = await Viewer.connect(app.url, 'mover', 'neko');
    await viewer.waitForDataChannel();
  });
  after(async () => {
    viewer?.close();
    admin?.close();
    user?.close();
    await app?.close();
  });

  test('a move over the data channel from a non-host shows up in session/cursors for can_see sessions', async () => {
    viewer.send(encodeClientMessage({ type: 'move', x: 123, y: 45 }));
    const got = await admin.waitFor('session/cursors', (p: Array<{ id: string }>) => p.some((c) => c.id === viewer.sessionId));
    const entry = (got.payload as Array<{ id: string; cursors: unknown[] }>).find((c) => c.id === viewer.sessionId)!;
    assert.deepEqual(entry.cursors, [{ x: 123, y: 45 }]);
    admin.send('send/broadcast', { subject: 'mark', body: null });
    await user.waitFor('send/broadcast', (p) => p.subject === 'mark');
    assert.equal(user.events.filter((e) => e.event === 'session/cursors').length, 0, 'users without can_see_inactive_cursors get none');
  });
});
