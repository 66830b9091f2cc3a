import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../../server/src/main.js';
import { api } from '../../helpers/api.js';
import { startApp } from '../../helpers/app.js';
import { login, SocketClient, Viewer } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

/** Resolves when the viewer's own peer connection or data channel reports it is gone. */
function peerGone(viewer: Viewer): Promise<string> {
  return new Promise((resolve) => {
    const check = () => {
      const state = viewer.pc.connectionState;
      if (state === 'closed' || state === 'failed' || state === 'disconnected') resolve(`connection ${state}`);
    };
    viewer.pc.addEventListener('connectionstatechange', check);
    viewer.channel?.addEventListener('close', () => resolve('data channel closed'));
    check();
  });
}

async function watchingViewer(app: App, name: string): Promise<Viewer> {
  const viewer = await Viewer.connect(app.url, name, 'neko');
  await viewer.waitForDataChannel();
  await waitFor(`${name} watching`, () => app.sessions.get(viewer.sessionId)?.state.is_watching, 15_000);
  return viewer;
}

describe('profile side effects on live sessions', () => {
  let app: App;
  let admin: string;
  let watcher: SocketClient;
  const viewers: Viewer[] = [];

  before(async () => {
    app = await startApp(['--capture.video.ids', 'main']);
    admin = (await login(app.url, 'root', 'admin')).token;
    watcher = await SocketClient.open(app.url, admin);
    await watcher.waitFor('system/init');
  });
  after(async () => {
    watcher?.close();
    for (const v of viewers) v.close();
    await app?.close();
  });

  for (const permission of ['can_login', 'can_connect'] as const) {
    test(`revoking ${permission} closes the WebSocket ("profile changed") and the WebRTC peer`, async () => {
      const viewer = await watchingViewer(app, `lose-${permission}`);
      viewers.push(viewer);
      const gone = peerGone(viewer);
      await api(app.url, admin).post(`/api/members/${viewer.sessionId}`).send({ [permission]: false }).expect(204);

      assert.deepEqual((await viewer.socket.waitFor('system/disconnect')).payload, { message: 'profile changed' });
      assert.equal(await viewer.socket.closed, 1000, 'the server closed the socket cleanly');
      await watcher.waitFor('session/state', (p) => p.id === viewer.sessionId && p.is_connected === false && p.is_watching === false);
      const session = app.sessions.get(viewer.sessionId);
      assert.ok(session, 'the session itself remains');
      assert.equal(session.peer, null, 'the server dropped the peer');
      await gone;
    });
  }

  test('revoking can_watch closes the WebRTC peer about a second later; the WebSocket stays', async () => {
    const viewer = await watchingViewer(app, 'lose-watch');
    viewers.push(viewer);
    const gone = peerGone(viewer);
    const started = Date.now();
    await api(app.url, admin).post(`/api/members/${viewer.sessionId}`).send({ can_watch: false }).expect(204);

    const profile = await viewer.socket.waitFor('session/profile', (p) => p.id === viewer.sessionId);
    assert.equal(profile.payload.can_watch, false);
    await viewer.socket.waitFor('signal/close', (p) => p === null);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 700, `the peer outlived the profile change for a moment (${elapsed} ms)`);
    const events = viewer.socket.events.map((e) => e.event);
    assert.ok(events.indexOf('session/profile') < events.indexOf('signal/close'), 'the profile change arrives first');
    await watcher.waitFor('session/state', (p) => p.id === viewer.sessionId && p.is_watching === false);
    await gone;
    assert.equal(app.sessions.get(viewer.sessionId)?.state.is_connected, true, 'the WebSocket stays connected');

    viewer.socket.send('signal/request', { video: {}, audio: {} });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(viewer.socket.events.filter((e) => e.event === 'signal/provide').length, 1, 'no new peer without can_watch');
  });

  test('restoring can_watch within the delay keeps the peer', async () => {
    const viewer = await watchingViewer(app, 'flip-watch');
    viewers.push(viewer);
    // Straight through the manager, in one tick, so a slow machine cannot stretch the gap past the delay.
    const session = app.sessions.get(viewer.sessionId)!;
    app.sessions.updateProfile(session, { ...session.profile, can_watch: false });
    app.sessions.updateProfile(session, { ...session.profile, can_watch: true });
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!viewer.socket.events.some((e) => e.event === 'signal/close'), 'no signal/close');
    assert.equal(app.sessions.get(viewer.sessionId)?.state.is_watching, true, 'still watching');
  });

  test('revoking can_host while host clears the host', async () => {
    const { id, token } = await login(app.url, 'hosty', 'neko');
    const socket = await SocketClient.open(app.url, token);
    try {
      await socket.waitFor('system/init');
      socket.send('control/request');
      await watcher.waitFor('control/host', (p) => p.host_id === id);
      await api(app.url, admin).post(`/api/members/${id}`).send({ can_host: false }).expect(204);
      const cleared = await watcher.waitFor('control/host', (p) => p.has_host === false && p.id === id);
      assert.deepEqual(cleared.payload, { id, has_host: false });
      assert.equal(app.sessions.host, null);
      assert.equal(app.sessions.get(id)?.state.is_connected, true, 'losing can_host does not disconnect');
    } finally {
      socket.close();
    }
  });

  test('admin session delete and disconnect close the target WebRTC peer too', async () => {
    const doomed = await watchingViewer(app, 'doomed');
    const kicked = await watchingViewer(app, 'kicked');
    viewers.push(doomed, kicked);
    const doomedGone = peerGone(doomed);
    const kickedGone = peerGone(kicked);

    await api(app.url, admin).delete(`/api/sessions/${doomed.sessionId}`).expect(204);
    assert.deepEqual((await doomed.socket.waitFor('system/disconnect')).payload, { message: 'session deleted' });
    await doomedGone;

    await api(app.url, admin).post(`/api/sessions/${kicked.sessionId}/disconnect`).expect(204);
    assert.deepEqual((await kicked.socket.waitFor('system/disconnect')).payload, { message: 'session disconnected' });
    await watcher.waitFor('session/state', (p) => p.id === kicked.sessionId && p.is_connected === false && p.is_watching === false);
    await kickedGone;
  });
});
